//! The stored record: a versioned envelope around one event, and its decoding.
//!
//! Layout of one record (the value stored under key `e` ‖ seq):
//!
//! ```text
//! magic "OMJR" | format version u16 BE | payload length u32 BE | payload | chain hash [32]
//! ```
//!
//! The chain hash is `h_seq` ([`crate::chain::link`]) over every byte before it
//! (the *stored bytes*). The payload is the event in bincode 2 (serde mode,
//! `config::standard()`, frozen), and decoding asserts that every byte of it
//! was consumed.
//!
//! Format versions (the changelog):
//! * **1**: the first format: operations without attempts, HTTP status or
//!   durations; no plans, waits, decisions, skips, re-observations or epochs
//!   ([`v1`]); upcast on read.
//! * **2** (current): [`crate::Event`]; attempts, HTTP status and durations on
//!   outcomes, `PlanRecorded`, waits and condition changes, operator decisions,
//!   `OperationSkipped`, `OperationReobserved`, `EpochStarted`.

pub mod v1;

use crate::chain::{ChainHash, link};
use crate::event::Event;

/// Magic bytes that open every record.
pub const MAGIC: &[u8; 4] = b"OMJR";
/// The format version this build writes.
pub const CURRENT_VERSION: u16 = 2;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 4 + 2 + 4;
/// Bytes of the trailing chain hash.
pub const HASH_LEN: usize = 32;

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes an event as record `seq` after `prev`; returns the record and its hash.
pub fn encode(event: &Event, seq: u64, prev: &ChainHash) -> crate::Result<(Vec<u8>, ChainHash)> {
    let payload =
        bincode::serde::encode_to_vec(event, bincode_config()).map_err(crate::Error::Encode)?;
    Ok(seal_payload(CURRENT_VERSION, &payload, seq, prev))
}

/// Wraps an already encoded payload of `version` as record `seq` after `prev`.
pub fn seal_payload(
    version: u16,
    payload: &[u8],
    seq: u64,
    prev: &ChainHash,
) -> (Vec<u8>, ChainHash) {
    let mut rec = Vec::with_capacity(HEADER_LEN + payload.len() + HASH_LEN);
    rec.extend_from_slice(MAGIC);
    rec.extend_from_slice(&version.to_be_bytes());
    rec.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    rec.extend_from_slice(payload);
    let hash = link(seq, prev, &rec);
    rec.extend_from_slice(&hash.0);
    (rec, hash)
}

/// A record split into its parts, not yet decoded.
#[derive(Debug)]
pub struct RawRecord<'a> {
    /// Format version of the payload.
    pub version: u16,
    /// The bytes the chain hash covers.
    pub stored: &'a [u8],
    /// The payload.
    pub payload: &'a [u8],
    /// The chain hash stored with the record.
    pub hash: ChainHash,
}

/// Splits a record, checking magic and lengths; the error says what is wrong.
pub fn split(rec: &[u8]) -> Result<RawRecord<'_>, String> {
    if rec.len() < HEADER_LEN + HASH_LEN {
        return Err(format!(
            "record is {} bytes, shorter than an empty envelope",
            rec.len()
        ));
    }
    if &rec[..4] != MAGIC {
        return Err(format!("bad magic {:02x?}", &rec[..4]));
    }
    let version = u16::from_be_bytes([rec[4], rec[5]]);
    let len = u32::from_be_bytes([rec[6], rec[7], rec[8], rec[9]]) as usize;
    let want = HEADER_LEN + len + HASH_LEN;
    if rec.len() != want {
        return Err(format!(
            "record is {} bytes but its header says {want} (truncated or padded)",
            rec.len()
        ));
    }
    let stored = &rec[..HEADER_LEN + len];
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&rec[HEADER_LEN + len..]);
    Ok(RawRecord {
        version,
        stored,
        payload: &rec[HEADER_LEN..HEADER_LEN + len],
        hash: ChainHash(hash),
    })
}

/// Decodes a payload of any known version into the current [`Event`].
pub fn decode_payload(version: u16, payload: &[u8]) -> Result<Event, String> {
    match version {
        1 => decode_exact::<v1::Event>(payload).map(v1::upcast),
        2 => decode_exact::<Event>(payload),
        v => Err(format!(
            "unknown format version {v} (written by a newer ovn-migrate?)"
        )),
    }
}

/// Decodes a whole record into its version, event and stored hash.
pub fn decode(rec: &[u8]) -> Result<(u16, Event, ChainHash), String> {
    let raw = split(rec)?;
    let event = decode_payload(raw.version, raw.payload)?;
    Ok((raw.version, event, raw.hash))
}

fn decode_exact<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    let (value, used) = bincode::serde::decode_from_slice::<T, _>(payload, bincode_config())
        .map_err(|e| format!("payload does not decode: {e}"))?;
    if used != payload.len() {
        return Err(format!(
            "payload has {} trailing bytes",
            payload.len() - used
        ));
    }
    Ok(value)
}

/// Encodes a payload of an older version (for fixtures and tests of upcasting).
pub fn encode_v1(event: &v1::Event) -> crate::Result<Vec<u8>> {
    bincode::serde::encode_to_vec(event, bincode_config()).map_err(crate::Error::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rejects_bad_envelopes() {
        let (rec, _) = seal_payload(2, b"xyz", 1, &ChainHash([0; 32]));
        assert!(split(&rec).is_ok());
        assert!(
            split(&rec[..rec.len() - 1])
                .unwrap_err()
                .contains("truncated")
        );
        let mut bad = rec.clone();
        bad[0] = b'X';
        assert!(split(&bad).unwrap_err().contains("magic"));
        let mut long = rec.clone();
        long.push(0);
        assert!(split(&long).is_err());
    }

    #[test]
    fn trailing_payload_bytes_are_refused() {
        let ev = Event::RunPaused {
            reason: "x".into(),
            at_ms: 1,
        };
        let mut payload = bincode::serde::encode_to_vec(&ev, bincode_config()).unwrap();
        assert_eq!(decode_payload(2, &payload).unwrap(), ev);
        payload.push(0);
        assert!(
            decode_payload(2, &payload)
                .unwrap_err()
                .contains("trailing")
        );
        assert!(
            decode_payload(9, &payload)
                .unwrap_err()
                .contains("unknown format version")
        );
    }
}
