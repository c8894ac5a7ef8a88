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

/// Hex SHA-256: how API keys and tokens are stored, never in clear.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
