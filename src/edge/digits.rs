//! Integers as the spec declares them: ASCII digits and nothing else.
//! Rust's `from_str` also takes a leading `+` (and poem-openapi's integer
//! parameters use it), so `+2` or `Last-Event-ID: +2` would pass although
//! the spec says digits only. Every integer read from a query, a path or a
//! header goes through one of these.

/// A JSON-style integer: `0`, or digits without a sign or a leading zero,
/// as an `integer` parameter's value is written.
pub fn canonical<T: std::str::FromStr>(raw: &str) -> Option<T> {
    let form_ok = match raw.as_bytes() {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        bytes => bytes.iter().all(u8::is_ascii_digit),
    };
    form_ok.then(|| raw.parse().ok()).flatten()
}

/// 1 to `max` ASCII digits (leading zeros allowed), as a `^[0-9]{1,max}$`
/// pattern declares.
pub fn pattern<T: std::str::FromStr>(raw: &str, max: usize) -> Option<T> {
    let form_ok = (1..=max).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit());
    form_ok.then(|| raw.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_a_leading_zero_or_anything_but_digits_is_not_an_integer() {
        for raw in [
            "+2", "-2", "02", "00", "", " 2", "2 ", "2.0", "1e3", "0x1", "٣",
        ] {
            assert_eq!(canonical::<i64>(raw), None, "{raw:?}");
        }
        assert_eq!(canonical::<i64>("0"), Some(0));
        assert_eq!(canonical::<i64>("120"), Some(120));
        assert_eq!(canonical::<u32>("4294967296"), None, "out of range");
    }

    #[test]
    fn a_pattern_of_digits_allows_leading_zeros_up_to_its_length() {
        assert_eq!(pattern::<i64>("007", 18), Some(7));
        assert_eq!(pattern::<i64>("+2", 18), None);
        assert_eq!(pattern::<i64>("", 18), None);
        assert_eq!(pattern::<i64>(&"9".repeat(19), 18), None);
        assert_eq!(
            pattern::<i64>(&"9".repeat(18), 18),
            Some(999_999_999_999_999_999)
        );
    }
}
