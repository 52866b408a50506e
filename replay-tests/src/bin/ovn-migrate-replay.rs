//! `ovn-migrate` for the replay tests: the same entry point as the real binary.
//!
//! With `OVN_MIGRATE_REPLAY_ORIGIN=1` it prints the source directory it was
//! built from and exits, so the harness can refuse a binary that another
//! worktree built into a shared `CARGO_TARGET_DIR` (cargo copies every
//! build's binary to the same `target/debug/ovn-migrate-replay`).

fn main() {
    if std::env::var_os("OVN_MIGRATE_REPLAY_ORIGIN").is_some() {
        println!("{}", env!("CARGO_MANIFEST_DIR"));
        return;
    }
    ovn_migrate::entry::main()
}
