//! Secrets at rest: XChaCha20-Poly1305 under a master key from the environment.
//!
//! A sealed value reads `cbx1.<key id>.<base64 of nonce ‖ ciphertext>`. The key id is
//! derived from the key itself, so rotation needs no bookkeeping: put the new key in
//! `CARTBACK_MASTER_KEY`, the old one in `CARTBACK_PREVIOUS_MASTER_KEYS`, and run
//! `cartback keys rotate-master`. The associated data binds each value to its tenant,
//! so a ciphertext copied to another tenant's row does not decrypt.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use sha2::{Digest, Sha256};

const PREFIX: &str = "cbx1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("a master key must be 32 bytes, base64-encoded: {0}")]
    BadKey(String),
    #[error("no CARTBACK_MASTER_KEY is configured: provider credentials cannot be stored or read")]
    NoKey,
    #[error("sealed with master key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the sealed value is corrupt or was tampered with")]
    Corrupt,
}

/// One master key and its derived id.
#[derive(Clone)]
struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl MasterKey {
    fn parse(encoded: &str) -> Result<MasterKey, CryptoError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|e| CryptoError::BadKey(e.to_string()))?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey(format!("got {} bytes", bytes.len())));
        }
        let id = hex::encode(&Sha256::digest(&bytes)[..4]);
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|e| CryptoError::BadKey(e.to_string()))?;
        Ok(MasterKey { id, cipher })
    }
}

/// The current master key, which seals, and older ones, which still open.
#[derive(Clone, Default)]
pub struct MasterKeys {
    current: Option<MasterKey>,
    previous: Vec<MasterKey>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeys")
            .field("current", &self.current.as_ref().map(|k| &k.id))
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl MasterKeys {
    /// `current`: base64 of 32 bytes; `previous`: comma-separated, same format.
    pub fn from_config(
        current: Option<&str>,
        previous: Option<&str>,
    ) -> Result<MasterKeys, CryptoError> {
        let current = current
            .filter(|k| !k.trim().is_empty())
            .map(MasterKey::parse)
            .transpose()?;
        let previous = previous
            .unwrap_or_default()
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(MasterKey::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MasterKeys { current, previous })
    }

    /// A fresh random key, base64-encoded (for `cartback keys generate-master`).
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        STANDARD.encode(bytes)
    }

    pub fn is_configured(&self) -> bool {
        self.current.is_some()
    }

    /// The id of the key that seals, if any.
    pub fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(|k| k.id.as_str())
    }

    /// Encrypts `plaintext` for `tenant_id` under the current key.
    pub fn seal(&self, tenant_id: &str, plaintext: &[u8]) -> Result<String, CryptoError> {
        let key = self.current.as_ref().ok_or(CryptoError::NoKey)?;
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: tenant_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{PREFIX}.{}.{}", key.id, STANDARD.encode(sealed)))
    }

    /// The key id a sealed value names.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        (parts.next()? == PREFIX).then_some(())?;
        parts.next()
    }

    /// Decrypts a value sealed for `tenant_id` under any configured key.
    pub fn open(&self, tenant_id: &str, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(PREFIX), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Corrupt);
        };
        let key = self
            .current
            .iter()
            .chain(self.previous.iter())
            .find(|k| k.id == id)
            .ok_or_else(|| {
                if self.current.is_none() {
                    CryptoError::NoKey
                } else {
                    CryptoError::UnknownKey(id.to_owned())
                }
            })?;
        let bytes = STANDARD.decode(body).map_err(|_| CryptoError::Corrupt)?;
        if bytes.len() < 24 {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: tenant_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_rotate() {
        let old = MasterKeys::generate();
        let new = MasterKeys::generate();
        let keys = MasterKeys::from_config(Some(&old), None).unwrap();
        let sealed = keys.seal("ten_a", b"re_secret_key").unwrap();
        assert!(!sealed.contains("re_secret_key"));
        assert_eq!(keys.open("ten_a", &sealed).unwrap(), b"re_secret_key");
        assert_eq!(
            keys.open("ten_b", &sealed),
            Err(CryptoError::Corrupt),
            "bound to its tenant"
        );
        let rotated = MasterKeys::from_config(Some(&new), Some(&old)).unwrap();
        assert_eq!(rotated.open("ten_a", &sealed).unwrap(), b"re_secret_key");
        let resealed = rotated.seal("ten_a", b"re_secret_key").unwrap();
        assert_eq!(MasterKeys::key_id_of(&resealed), rotated.current_id());
        let only_new = MasterKeys::from_config(Some(&new), None).unwrap();
        assert!(matches!(
            only_new.open("ten_a", &sealed),
            Err(CryptoError::UnknownKey(_))
        ));
        assert!(MasterKeys::from_config(Some("c2hvcnQ="), None).is_err());
        assert_eq!(
            MasterKeys::default().seal("t", b"x"),
            Err(CryptoError::NoKey)
        );
    }
}
