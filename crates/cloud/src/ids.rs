//! AWS resource ID formats, in one place.

use rand::Rng;
use rand::distr::Alphanumeric;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `n` random lowercase hex digits.
pub fn hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| HEX[rng.random_range(0..16)] as char).collect()
}

/// An EC2-style id: `prefix-` and 17 hex digits (`vpc-0a1b2c3d4e5f67890`).
pub fn ec2(prefix: &str) -> String {
    format!("{prefix}-{}", hex(17))
}

/// An IAM unique id: a 4-letter prefix (`AROA` for roles, `ANPA` for managed policies) and
/// 17 upper-case letters and digits.
pub fn iam_unique(prefix: &str) -> String {
    let mut rng = rand::rng();
    let tail: String = (&mut rng)
        .sample_iter(Alphanumeric)
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .take(17)
        .map(char::from)
        .collect();
    format!("{prefix}{tail}")
}

/// A deterministic IAM-style unique id derived from a name (for AWS-managed policies, whose ids
/// must not change between restarts).
pub fn iam_unique_stable(prefix: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a, twice with different seeds, gives 128 bits to spell.
    let mut h1: u64 = 0xcbf29ce484222325;
    let mut h2: u64 = 0x84222325cbf29ce4;
    for b in name.bytes() {
        h1 = (h1 ^ u64::from(b)).wrapping_mul(0x100000001b3);
        h2 = (h2 ^ u64::from(b)).wrapping_mul(0x100000001b3).rotate_left(7);
    }
    let mut bits = (u128::from(h1) << 64) | u128::from(h2);
    let tail: String = (0..17)
        .map(|_| {
            let c = ALPHABET[(bits & 31) as usize] as char;
            bits >>= 5;
            c
        })
        .collect();
    format!("{prefix}{tail}")
}

/// A random UUID v4 (request ids, ECS ids that are UUIDs).
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let vpc = ec2("vpc");
        assert_eq!(vpc.len(), 21);
        assert!(
            vpc.starts_with("vpc-")
                && vpc[4..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let role = iam_unique("AROA");
        assert_eq!(role.len(), 21);
        assert!(role.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert_eq!(iam_unique_stable("ANPA", "x"), iam_unique_stable("ANPA", "x"));
        assert_ne!(iam_unique_stable("ANPA", "x"), iam_unique_stable("ANPA", "y"));
    }
}
