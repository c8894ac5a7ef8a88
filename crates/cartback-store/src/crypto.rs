//! Secrets at rest: XChaCha20-Poly1305 under a master key from the environment.
//!
//! A sealed value reads `cbx2.<key id>.<base64 of nonce ‖ ciphertext>`. The key id is
//! derived from the key itself, so rotation needs no bookkeeping: put the new key in
//! `CARTBACK_MASTER_KEY`, the old one in `CARTBACK_PREVIOUS_MASTER_KEYS`, and run
//! `cartback keys rotate-master`.
//!
//! The associated data `cartback/v2/{purpose}/{tenant id}` binds each value to its
//! tenant and to what it is ([`Purpose`]): a ciphertext copied to another tenant's
//! row, or from a webhook secret's column into a provider's, does not decrypt.
//! Values sealed before purposes existed read `cbx1.…` and were bound to the tenant
//! only; they still open, and `cartback keys rotate-master` re-seals them as `cbx2`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use sha2::{Digest, Sha256};

/// The current format: purpose and tenant in the associated data.
const PREFIX: &str = "cbx2";
/// The first format: the tenant id alone as associated data.
const PREFIX_V1: &str = "cbx1";

/// What a sealed value is; part of its associated data, so that one sealed value
/// cannot stand in for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A tenant's email provider settings (credentials included).
    EmailProvider,
    /// A webhook endpoint's signing secret (current or previous).
    WebhookSecret,
    /// A tenant's Stripe secret key.
    StripeSecretKey,
    /// A tenant's Stripe webhook signing secrets.
    StripeWebhookSecret,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::EmailProvider => "email-provider",
            Purpose::WebhookSecret => "webhook-secret",
            Purpose::StripeSecretKey => "stripe-secret-key",
            Purpose::StripeWebhookSecret => "stripe-webhook-secret",
        }
    }

    fn associated_data(self, tenant_id: &str) -> String {
        format!("cartback/v2/{}/{tenant_id}", self.as_str())
    }
}

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

    /// Encrypts `plaintext`, a `purpose` value of `tenant_id`, under the current key.
    pub fn seal(
        &self,
        purpose: Purpose,
        tenant_id: &str,
        plaintext: &[u8],
    ) -> Result<String, CryptoError> {
        let aad = purpose.associated_data(tenant_id);
        self.seal_with(PREFIX, aad.as_bytes(), plaintext)
    }

    /// `prefix.keyid.base64(nonce ‖ ciphertext)` under the current key.
    fn seal_with(&self, prefix: &str, aad: &[u8], plaintext: &[u8]) -> Result<String, CryptoError> {
        let key = self.current.as_ref().ok_or(CryptoError::NoKey)?;
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Corrupt)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{prefix}.{}.{}", key.id, STANDARD.encode(sealed)))
    }

    /// Seals in the first format (`cbx1`, tenant-bound only), as releases before
    /// purposes did: for tests of the upgrade path, never for new values.
    #[doc(hidden)]
    pub fn seal_first_format(
        &self,
        tenant_id: &str,
        plaintext: &[u8],
    ) -> Result<String, CryptoError> {
        self.seal_with(PREFIX_V1, tenant_id.as_bytes(), plaintext)
    }

    /// The key id a sealed value names (either format).
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        matches!(parts.next()?, PREFIX | PREFIX_V1).then_some(())?;
        parts.next()
    }

    /// Whether a sealed value is in the current format under the current key;
    /// rotation re-seals the others.
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.starts_with(PREFIX)
            && sealed.as_bytes().get(PREFIX.len()) == Some(&b'.')
            && Self::key_id_of(sealed).is_some_and(|id| Some(id) == self.current_id())
    }

    /// Decrypts a `purpose` value sealed for `tenant_id` under any configured key.
    /// Values in the first format (`cbx1`, tenant-bound only) still open; the
    /// purpose cannot be checked for them until they are re-sealed.
    pub fn open(
        &self,
        purpose: Purpose,
        tenant_id: &str,
        sealed: &str,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(prefix), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Corrupt);
        };
        let aad = match prefix {
            PREFIX => purpose.associated_data(tenant_id),
            PREFIX_V1 => tenant_id.to_owned(),
            _ => return Err(CryptoError::Corrupt),
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
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Purpose = Purpose::EmailProvider;

    #[test]
    fn seal_open_rotate() {
        let old = MasterKeys::generate();
        let new = MasterKeys::generate();
        let keys = MasterKeys::from_config(Some(&old), None).unwrap();
        let sealed = keys.seal(P, "ten_a", b"re_secret_key").unwrap();
        assert!(sealed.starts_with("cbx2."));
        assert!(!sealed.contains("re_secret_key"));
        assert_eq!(keys.open(P, "ten_a", &sealed).unwrap(), b"re_secret_key");
        assert_eq!(
            keys.open(P, "ten_b", &sealed),
            Err(CryptoError::Corrupt),
            "bound to its tenant"
        );
        assert!(keys.is_current(&sealed));
        let rotated = MasterKeys::from_config(Some(&new), Some(&old)).unwrap();
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open(P, "ten_a", &sealed).unwrap(), b"re_secret_key");
        let resealed = rotated.seal(P, "ten_a", b"re_secret_key").unwrap();
        assert_eq!(MasterKeys::key_id_of(&resealed), rotated.current_id());
        let only_new = MasterKeys::from_config(Some(&new), None).unwrap();
        assert!(matches!(
            only_new.open(P, "ten_a", &sealed),
            Err(CryptoError::UnknownKey(_))
        ));
        assert!(MasterKeys::from_config(Some("c2hvcnQ="), None).is_err());
        assert_eq!(
            MasterKeys::default().seal(P, "t", b"x"),
            Err(CryptoError::NoKey)
        );
    }

    #[test]
    fn a_value_cannot_stand_in_for_another_purpose() {
        let keys = MasterKeys::from_config(Some(&MasterKeys::generate()), None).unwrap();
        let webhook = keys
            .seal(Purpose::WebhookSecret, "ten_a", b"whsec_1")
            .unwrap();
        let stripe = keys
            .seal(Purpose::StripeSecretKey, "ten_a", b"sk_live_1")
            .unwrap();
        // Swapped columns: each value opened as the other's purpose.
        assert_eq!(
            keys.open(Purpose::StripeSecretKey, "ten_a", &webhook),
            Err(CryptoError::Corrupt)
        );
        assert_eq!(
            keys.open(Purpose::WebhookSecret, "ten_a", &stripe),
            Err(CryptoError::Corrupt)
        );
        for purpose in [Purpose::EmailProvider, Purpose::StripeWebhookSecret] {
            assert_eq!(
                keys.open(purpose, "ten_a", &webhook),
                Err(CryptoError::Corrupt)
            );
        }
        assert_eq!(
            keys.open(Purpose::WebhookSecret, "ten_a", &webhook)
                .unwrap(),
            b"whsec_1"
        );
    }

    #[test]
    fn first_format_values_still_open_and_count_as_stale() {
        let keys = MasterKeys::from_config(Some(&MasterKeys::generate()), None).unwrap();
        let old = keys.seal_first_format("ten_a", b"whsec_old").unwrap();
        assert_eq!(MasterKeys::key_id_of(&old), keys.current_id());
        assert!(!keys.is_current(&old), "same key, old format: re-seal it");
        assert_eq!(
            keys.open(Purpose::WebhookSecret, "ten_a", &old).unwrap(),
            b"whsec_old"
        );
        assert_eq!(
            keys.open(Purpose::WebhookSecret, "ten_b", &old),
            Err(CryptoError::Corrupt)
        );
        assert_eq!(
            keys.open(P, "ten_a", &old.replacen("cbx1", "cbx2", 1)),
            Err(CryptoError::Corrupt),
            "the format marker is authenticated through the associated data"
        );
        assert_eq!(
            keys.open(P, "ten_a", &old.replacen("cbx1", "cbx9", 1)),
            Err(CryptoError::Corrupt)
        );
    }
}
