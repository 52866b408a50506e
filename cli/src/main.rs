//! The `ovn-migrate` command line.
fn main() {
    println!("ovn-migrate {}", env!("CARGO_PKG_VERSION"));
}
