//! A small per-thread memo for digests that every request recomputes from the same inputs.

/// A per-thread memo of digests already computed: `DIGEST_MEMO_SLOTS` direct-mapped slots,
/// each one input (at most `DIGEST_MEMO_MAX_INPUT` bytes) and its 32-byte answer, for the
/// digests every request recomputes from the same inputs (a user's session hash tag, a
/// client's session-protection identifier). A hit is an exact match of the owner and every
/// input byte, compared in constant time, so the answer is always the one the computation
/// gives; a miss computes and takes the slot. Bounded: about 35 KiB per worker thread.
pub(crate) struct DigestMemo {
    slots: Vec<Option<MemoEntry>>,
}

struct MemoEntry {
    /// Which computation (and key) the answer belongs to.
    owner: u64,
    input: Vec<u8>,
    output: [u8; 32],
}

const DIGEST_MEMO_SLOTS: usize = 64;
const DIGEST_MEMO_MAX_INPUT: usize = 512;

impl DigestMemo {
    pub(crate) const fn new() -> Self {
        DigestMemo { slots: Vec::new() }
    }

    /// The answer for `input` under `owner`, from the memo or from `compute`.
    pub(crate) fn get_or_compute(
        &mut self,
        owner: u64,
        input: &[u8],
        compute: impl FnOnce() -> [u8; 32],
    ) -> [u8; 32] {
        if input.len() > DIGEST_MEMO_MAX_INPUT {
            return compute();
        }
        if self.slots.is_empty() {
            self.slots.resize_with(DIGEST_MEMO_SLOTS, || None);
        }
        // FNV-1a picks the slot; collisions only cost a miss.
        let hash = input
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64 ^ owner, |hash, byte| {
                (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
            });
        let Some(slot) = self
            .slots
            .get_mut((hash % DIGEST_MEMO_SLOTS as u64) as usize)
        else {
            return compute();
        };
        if let Some(entry) = slot
            && entry.owner == owner
            && entry.input.len() == input.len()
            // Constant time: the inputs may be users' password hashes.
            && bool::from(subtle::ConstantTimeEq::ct_eq(entry.input.as_slice(), input))
        {
            return entry.output;
        }
        let output = compute();
        match slot {
            Some(entry) => {
                entry.owner = owner;
                entry.input.clear();
                entry.input.extend_from_slice(input);
                entry.output = output;
            }
            None => {
                *slot = Some(MemoEntry {
                    owner,
                    input: input.to_vec(),
                    output,
                })
            }
        }
        output
    }
}
