//! Random identifiers and secrets.

use rand::RngExt;
use sha2::{Digest, Sha256};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix` + `len` random base62 characters from the OS-seeded CSPRNG.
pub fn random_id(prefix: &str, len: usize) -> String {
    let mut rng = rand::rng();
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    for _ in 0..len {
        // 62 * 4 = 248 < 256: reject the top values so every character is equally likely.
        loop {
            let byte: u8 = rng.random();
            if (byte as usize) < ALPHABET.len() * 4 {
                id.push(ALPHABET[byte as usize % ALPHABET.len()] as char);
                break;
            }
        }
    }
    id
}

/// `prefix`, the current millisecond in 8 base62 characters, then `len - 8`
/// random ones: ids made later sort after earlier ones, so a table keyed by them
/// grows at the end of its primary-key index instead of touching a random page
/// of it with every insert. The random part (12 characters, 71 bits, for a
/// `len` of 20) keeps them unguessable.
pub fn time_ordered_id(prefix: &str, len: usize) -> String {
    let mut millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let mut stamp = [0u8; 8];
    // The alphabet is in ASCII order, so fixed-width base62 sorts like the number.
    for slot in stamp.iter_mut().rev() {
        *slot = ALPHABET[(millis % 62) as usize];
        millis /= 62;
    }
    let mut id = String::with_capacity(prefix.len() + len.max(8));
    id.push_str(prefix);
    id.extend(stamp.iter().map(|&b| char::from(b)));
    id.push_str(&random_id("", len.saturating_sub(8)));
    id
}

/// Hex SHA-256: how API keys and tokens are stored, never in clear.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_ids_sort_by_creation() {
        let first = time_ordered_id("cart_", 20);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = time_ordered_id("cart_", 20);
        assert_eq!(first.len(), 25);
        assert!(first.starts_with("cart_"));
        assert!(first < second, "{first} then {second}");
        assert!(first[5..].bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(first[13..], second[13..], "the random part differs");
    }
}
