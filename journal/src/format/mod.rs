//! The stored record: a versioned envelope around one event, and its decoding.
//!
//! Layout of one record (the value stored under key `e` ‖ seq):
//!
//! ```text
//! version 3:    magic "OMJR" | version u16 BE | at_ms i64 BE | payload length u32 BE | payload | chain hash [32]
//! versions 1-2: magic "OMJR" | version u16 BE |                payload length u32 BE | payload | chain hash [32]
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
//!   ([`v1`]); upcast to 2 on read.
//! * **2**: attempts, HTTP status and durations on outcomes, `PlanRecorded`,
//!   waits and condition changes, operator decisions, `OperationSkipped`,
//!   `OperationReobserved`, `EpochStarted` ([`v2`]); upcast to 3 on read.
//! * **3** (current): [`crate::Event`]. The time (`at_ms`) moved out of every
//!   variant into the envelope, stamped by the one append function; pause
//!   reasons ([`crate::PauseReason`]) and run outcomes ([`crate::RunOutcome`])
//!   are typed enums instead of strings; free text is a bounded
//!   [`crate::Text`] and documents a bounded [`crate::Doc`] (large ones in the
//!   blob store, by hash); observations lost their separate `blob` field
//!   (the [`crate::Doc`] carries it); `LockRecovered` was added.

pub mod v1;
pub mod v2;

use crate::chain::{ChainHash, link};
use crate::event::Event;

/// Magic bytes that open every record.
pub const MAGIC: &[u8; 4] = b"OMJR";
/// The format version this build writes.
pub const CURRENT_VERSION: u16 = 3;
/// Bytes before the payload in versions 1 and 2.
pub const HEADER_LEN_V1: usize = 4 + 2 + 4;
/// Bytes before the payload in version 3 (the time is in the envelope).
pub const HEADER_LEN: usize = 4 + 2 + 8 + 4;
/// Bytes of the trailing chain hash.
pub const HASH_LEN: usize = 32;

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes an event made at `at_ms` as record `seq` after `prev`; returns
/// the record and its hash.
pub fn encode(
    event: &Event,
    at_ms: i64,
    seq: u64,
    prev: &ChainHash,
) -> crate::Result<(Vec<u8>, ChainHash)> {
    let payload =
        bincode::serde::encode_to_vec(event, bincode_config()).map_err(crate::Error::Encode)?;
    Ok(seal_v3(at_ms, &payload, seq, prev))
}

/// Wraps an encoded version-3 payload as record `seq` after `prev`.
pub fn seal_v3(at_ms: i64, payload: &[u8], seq: u64, prev: &ChainHash) -> (Vec<u8>, ChainHash) {
    let mut rec = Vec::with_capacity(HEADER_LEN + payload.len() + HASH_LEN);
    rec.extend_from_slice(MAGIC);
    rec.extend_from_slice(&CURRENT_VERSION.to_be_bytes());
    rec.extend_from_slice(&at_ms.to_be_bytes());
    rec.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    rec.extend_from_slice(payload);
    let hash = link(seq, prev, &rec);
    rec.extend_from_slice(&hash.0);
    (rec, hash)
}

/// Wraps an already encoded payload of version 1 or 2 as record `seq` after
/// `prev` (the older envelope, without the time; for fixtures and tests).
pub fn seal_payload(
    version: u16,
    payload: &[u8],
    seq: u64,
    prev: &ChainHash,
) -> (Vec<u8>, ChainHash) {
    let mut rec = Vec::with_capacity(HEADER_LEN_V1 + payload.len() + HASH_LEN);
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
    /// The time in the envelope (version 3 on; older versions keep it in the payload).
    pub at_ms: Option<i64>,
    /// The bytes the chain hash covers.
    pub stored: &'a [u8],
    /// The payload.
    pub payload: &'a [u8],
    /// The chain hash stored with the record.
    pub hash: ChainHash,
}

/// Splits a record, checking magic and lengths; the error says what is wrong.
pub fn split(rec: &[u8]) -> Result<RawRecord<'_>, String> {
    if rec.len() < HEADER_LEN_V1 + HASH_LEN {
        return Err(format!(
            "record is {} bytes, shorter than an empty envelope",
            rec.len()
        ));
    }
    if &rec[..4] != MAGIC {
        return Err(format!("bad magic {:02x?}", &rec[..4]));
    }
    let version = u16::from_be_bytes([rec[4], rec[5]]);
    let (at_ms, header) = if version >= 3 {
        if rec.len() < HEADER_LEN + HASH_LEN {
            return Err(format!(
                "record is {} bytes, shorter than an empty version-{version} envelope",
                rec.len()
            ));
        }
        let at = i64::from_be_bytes(rec[6..14].try_into().expect("8 bytes"));
        (Some(at), HEADER_LEN)
    } else {
        (None, HEADER_LEN_V1)
    };
    let len = u32::from_be_bytes(rec[header - 4..header].try_into().expect("4 bytes")) as usize;
    let want = header + len + HASH_LEN;
    if rec.len() != want {
        return Err(format!(
            "record is {} bytes but its header says {want} (truncated or padded)",
            rec.len()
        ));
    }
    let stored = &rec[..header + len];
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&rec[header + len..]);
    Ok(RawRecord {
        version,
        at_ms,
        stored,
        payload: &rec[header..header + len],
        hash: ChainHash(hash),
    })
}

/// Decodes a payload of any known version into the current [`Event`] and its time.
pub fn decode_payload(
    version: u16,
    at_ms: Option<i64>,
    payload: &[u8],
) -> Result<(Event, i64), String> {
    match version {
        1 => decode_exact::<v1::Event>(payload).map(|e| v2::upcast(v1::upcast(e))),
        2 => decode_exact::<v2::Event>(payload).map(v2::upcast),
        3 => decode_exact::<Event>(payload).map(|e| (e, at_ms.unwrap_or_default())),
        v => Err(format!(
            "unknown format version {v} (written by a newer ovn-migrate?)"
        )),
    }
}

/// A decoded record: version, time, event and stored hash.
pub type Decoded = (u16, i64, Event, ChainHash);

/// Decodes a whole record into its version, time, event and stored hash.
pub fn decode(rec: &[u8]) -> Result<Decoded, String> {
    let raw = split(rec)?;
    let (event, at_ms) = decode_payload(raw.version, raw.at_ms, raw.payload)?;
    Ok((raw.version, at_ms, event, raw.hash))
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

/// Encodes a version-2 payload (for tests of upcasting; fixtures are never rewritten).
pub fn encode_v2(event: &v2::Event) -> crate::Result<Vec<u8>> {
    bincode::serde::encode_to_vec(event, bincode_config()).map_err(crate::Error::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{PauseReason, Text};

    #[test]
    fn split_rejects_bad_envelopes() {
        for (rec, _) in [
            seal_payload(2, b"xyz", 1, &ChainHash([0; 32])),
            seal_v3(7, b"xyz", 1, &ChainHash([0; 32])),
        ] {
            let raw = split(&rec).unwrap();
            assert_eq!(raw.payload, b"xyz");
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
        assert_eq!(
            split(&seal_v3(7, b"", 1, &ChainHash([0; 32])).0)
                .unwrap()
                .at_ms,
            Some(7)
        );
    }

    #[test]
    fn the_time_is_in_the_envelope_and_covered_by_the_hash() {
        let ev = Event::RunPaused {
            reason: PauseReason::Interrupted,
        };
        let (a, ha) = encode(&ev, 1000, 1, &ChainHash([0; 32])).unwrap();
        let (_, hb) = encode(&ev, 1001, 1, &ChainHash([0; 32])).unwrap();
        assert_ne!(ha, hb);
        let (version, at, back, _) = decode(&a).unwrap();
        assert_eq!((version, at, back), (3, 1000, ev));
    }

    #[test]
    fn trailing_payload_bytes_are_refused() {
        let ev = Event::RunPaused {
            reason: PauseReason::Stopped {
                detail: Text::short("x").unwrap(),
            },
        };
        let mut payload = bincode::serde::encode_to_vec(&ev, bincode_config()).unwrap();
        assert_eq!(decode_payload(3, Some(1), &payload).unwrap(), (ev, 1));
        payload.push(0);
        assert!(
            decode_payload(3, Some(1), &payload)
                .unwrap_err()
                .contains("trailing")
        );
        assert!(
            decode_payload(9, None, &payload)
                .unwrap_err()
                .contains("unknown format version")
        );
    }
}
