//! Standard Webhooks secrets: `whsec_` followed by the base64 of the key bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;

pub const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a webhook secret must start with \"whsec_\"")]
    MissingPrefix,
    #[error("a webhook secret must be base64 after \"whsec_\"")]
    BadBase64,
    #[error("a webhook secret must not be empty")]
    Empty,
    #[error("at least one webhook secret is needed")]
    NoSecrets,
}

/// "whsec_" + standard base64 (with padding) of 32 random bytes.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The HMAC key bytes of a Standard Webhooks secret: the base64-decode of what
/// follows "whsec_".
pub fn secret_key_bytes(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SecretError::MissingPrefix)?;
    if encoded.is_empty() {
        return Err(SecretError::Empty);
    }
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| SecretError::BadBase64)?;
    if bytes.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_round_trips() {
        let secret = generate_secret();
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(secret_key_bytes(&secret).unwrap().len(), 32);
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert_eq!(secret_key_bytes("abc"), Err(SecretError::MissingPrefix));
        assert_eq!(secret_key_bytes("whsec_"), Err(SecretError::Empty));
        assert_eq!(secret_key_bytes("whsec_!!!"), Err(SecretError::BadBase64));
        assert_eq!(
            secret_key_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .unwrap()
                .len(),
            24
        );
    }
}
