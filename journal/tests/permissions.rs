//! Permission fixing never follows a symlink out of the journal directory
//! (issue 12, #5): a 0644 file and a 0755 directory that symlinks in the
//! journal directory point at keep their modes through create, open and
//! every reader.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use journal::{Journal, OpenOptions};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn symlinks_in_the_journal_directory_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("shared.txt");
    std::fs::write(&file, "not the journal's").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = outside.path().join("shared-dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path()));
    std::os::unix::fs::symlink(&file, tmp.path().join("link-to-file")).unwrap();
    std::os::unix::fs::symlink(&dir, tmp.path().join("link-to-dir")).unwrap();
    std::fs::set_permissions(
        tmp.path().join("db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let j = Journal::open(tmp.path(), &target("c1"), &OpenOptions::default()).unwrap();
    assert_eq!(
        mode(&tmp.path().join("db")),
        0o600,
        "its own files are fixed"
    );
    assert_eq!(mode(tmp.path()), 0o700);
    drop(j);
    let _ = journal::verify(tmp.path()).unwrap();
    drop(Journal::open_read(tmp.path()).unwrap());
    assert_eq!(mode(&file), 0o644, "the symlinked file kept its mode");
    assert_eq!(mode(&dir), 0o755, "the symlinked directory kept its mode");
    assert!(
        std::fs::symlink_metadata(tmp.path().join("link-to-file"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_journal_directory_that_is_a_symlink_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    drop(create(&real));
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = Journal::open(&link, &target("c1"), &OpenOptions::default())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("symlink"), "{err}");
}

#[test]
fn the_witness_is_private_whatever_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path()));
    assert_eq!(mode(&tmp.path().join(journal::witness::FILE)), 0o600);
}
