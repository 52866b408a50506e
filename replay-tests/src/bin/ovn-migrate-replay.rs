//! `ovn-migrate` for the replay tests: the same entry point as the real binary.

fn main() {
    ovn_migrate::entry::main()
}
