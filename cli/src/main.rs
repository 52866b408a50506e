//! The `ovn-migrate` command line; everything is in the library ([`ovn_migrate::entry`]).

fn main() {
    ovn_migrate::entry::main()
}
