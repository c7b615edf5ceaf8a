//! Shared by the remember-cookie targets: a fixed key and a way to let the fuzzer edit a
//! valid cookie, so it explores near-valid values and not only noise.

use std::time::{Duration, SystemTime};

/// A fixed, high-entropy key (fuzzing must be reproducible; it protects nothing).
pub const KEY_HEX: &str = "17a119ed0a2e209ca58dc0d21dd7877e1b0845fa72b5e08aaf7ece6f66dd700b";

/// The clock every target decodes at.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

pub fn key_bytes() -> Vec<u8> {
    (0..KEY_HEX.len())
        .step_by(2)
        .filter_map(|i| KEY_HEX.get(i..i + 2))
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect()
}

/// `valid` edited by `ops`, read as (op, position, byte) triples: replace, insert, delete,
/// truncate, or flip one bit.
pub fn mutate(valid: &str, ops: &[u8]) -> Vec<u8> {
    let mut bytes = valid.as_bytes().to_vec();
    for op in ops.chunks_exact(3) {
        let (kind, position, value) = (op[0], usize::from(op[1]), op[2]);
        let at = if bytes.is_empty() {
            0
        } else {
            position % bytes.len()
        };
        match kind % 5 {
            0 if !bytes.is_empty() => bytes[at] = value,
            1 => bytes.insert(at, value),
            2 if !bytes.is_empty() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            4 if !bytes.is_empty() => bytes[at] ^= 1 << (value % 8),
            _ => {}
        }
    }
    bytes
}
