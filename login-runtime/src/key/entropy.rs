//! The entropy estimate that decides whether a secret key is strong enough.

/// Entropy estimate of a candidate key, in bits; see [`SecretKey::try_from_bytes`](crate::SecretKey::try_from_bytes).
pub(super) fn estimated_entropy_bits(key: &[u8]) -> f64 {
    let unit = key.get(..smallest_period(key)).unwrap_or(key);
    let successive_differences = unit.windows(2).map(|pair| match pair {
        [a, b] => b.wrapping_sub(*a),
        _ => 0,
    });
    let bits_per_byte = corrected_shannon_entropy(unit.iter().copied())
        .min(corrected_shannon_entropy(successive_differences))
        .min(character_class_bits(unit));
    bits_per_byte * unit.len() as f64
}

/// Length of the shortest `p` with `key[i] == key[i - p]` for every `i >= p` (Knuth–Morris–
/// Pratt failure function): `"abcabcab"` has period 3, a key without repetition its length.
fn smallest_period(key: &[u8]) -> usize {
    let mut border = vec![0_usize; key.len()];
    let mut matched = 0;
    for (i, &byte) in key.iter().enumerate().skip(1) {
        while matched > 0 && key.get(matched) != Some(&byte) {
            matched = border.get(matched - 1).copied().unwrap_or(0);
        }
        if key.get(matched) == Some(&byte) {
            matched += 1;
        }
        if let Some(slot) = border.get_mut(i) {
            *slot = matched;
        }
    }
    key.len() - border.last().copied().unwrap_or(0)
}

/// Shannon entropy in bits per symbol of the symbols' frequencies, plus the Miller–Madow
/// correction `(distinct - 1) / (2 n ln 2)` for the underestimate of small samples.
fn corrected_shannon_entropy(symbols: impl Iterator<Item = u8>) -> f64 {
    let mut counts = [0_u32; 256];
    let mut n = 0_u32;
    for symbol in symbols {
        counts[usize::from(symbol)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    let mut distinct = 0_u32;
    let mut entropy = 0.0;
    for &count in counts.iter().filter(|&&count| count > 0) {
        distinct += 1;
        let p = f64::from(count) / n;
        entropy -= p * p.log2();
    }
    entropy + f64::from(distinct - 1) / (2.0 * n * std::f64::consts::LN_2)
}

/// `log2` of the number of byte values in the character classes `key` uses.
fn character_class_bits(key: &[u8]) -> f64 {
    let mut digits = false;
    let mut lower = false;
    let mut upper = false;
    let mut punctuation = false;
    let mut other = false;
    for &byte in key {
        match byte {
            b'0'..=b'9' => digits = true,
            b'a'..=b'z' => lower = true,
            b'A'..=b'Z' => upper = true,
            b' '..=b'~' => punctuation = true,
            _ => other = true,
        }
    }
    let alphabet = [
        (digits, 10),
        (lower, 26),
        (upper, 26),
        (punctuation, 33),
        (other, 161),
    ]
    .iter()
    .filter(|(used, _)| *used)
    .map(|(_, size)| size)
    .sum::<u32>();
    f64::from(alphabet.max(1)).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_period_finds_repetitions() {
        assert_eq!(smallest_period(b"abcabcab"), 3);
        assert_eq!(smallest_period(b"aaaa"), 1);
        assert_eq!(smallest_period(b"abcd"), 4);
        assert_eq!(smallest_period(b""), 0);
    }
}
