//! The key layout of the one sled tree a journal uses. One tree, so that an
//! event and its index entries go in one atomic `Batch`.
//!
//! | key | value |
//! | --- | --- |
//! | `e` ‖ seq (u64 BE) | the record ([`crate::format`]) |
//! | `o` ‖ op id | index: last intent seq, last outcome seq, outcome kind, attempts |
//! | `d` ‖ op id | seq of the intent while the operation is in doubt |
//! | `w` ‖ wait id | seq of the `WaitFinished { Met }` of that wait |
//! | `B` ‖ blob hash | blob manifest: length (u64 BE), chunk count (u32 BE) |
//! | `b` ‖ blob hash ‖ chunk (u32 BE) | blob chunk of at most [`BLOB_CHUNK`] bytes |
//! | `m` ‖ name | run metadata |
//!
//! sled writes any log item over about 128 KiB (a quarter of its 512 KiB
//! segment) into a separate file under `blobs/` that it never syncs, and a
//! leaf node is serialised whole with up to 17 entries (it splits only past 16,
//! whatever their size). So every value stays at most 4 KiB: 17 of them are
//! well under the threshold, and everything lives in the `db` file the journal
//! `fdatasync`s. Larger data goes into the blob store in 4 KiB chunks, and
//! events reference it by hash. Operation ids are bounded for the same reason
//! (index nodes hold up to 256 keys).

/// Largest chunk of a blob.
pub const BLOB_CHUNK: usize = 4 * 1024;
/// Largest event record accepted; put larger data in the blob store.
pub const MAX_RECORD: usize = 4 * 1024;
/// Longest operation id accepted, in bytes.
pub const MAX_OP_ID: usize = 200;

pub(crate) fn event(seq: u64) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

pub(crate) fn seq_of(key: &[u8]) -> Option<u64> {
    (key.len() == 9 && key[0] == b'e').then(|| u64::from_be_bytes(key[1..].try_into().unwrap()))
}

pub(crate) fn prefixed(p: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(p);
    k.extend_from_slice(rest);
    k
}

pub(crate) fn chunk(hash: &[u8; 32], i: u32) -> Vec<u8> {
    let mut k = prefixed(b'b', hash);
    k.extend_from_slice(&i.to_be_bytes());
    k
}

pub(crate) const META_TARGET: &[u8] = b"mtarget";
pub(crate) const META_RUN: &[u8] = b"mrun";
/// Present when the journal has a head witness (every journal made since format 3).
pub(crate) const META_WITNESS: &[u8] = b"mwitness";
pub(crate) const EVENTS_START: [u8; 9] = [b'e', 0, 0, 0, 0, 0, 0, 0, 0];
pub(crate) const EVENTS_END: [u8; 9] = [b'e', 255, 255, 255, 255, 255, 255, 255, 255];
