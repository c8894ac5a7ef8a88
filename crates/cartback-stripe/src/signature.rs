//! `Stripe-Signature` verification, as Stripe documents it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Stripe's own default tolerance, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Longest `Stripe-Signature` accepted, in bytes. Stripe's own header is about
/// 150 bytes (`t=`, one `v1=` and one `v0=` of 64 hex digits each); while an
/// endpoint secret is rolled it carries one `v1` per live secret. 1 KiB leaves
/// room for several, and bounds the parsing an attacker can ask for.
pub const MAX_HEADER_BYTES: usize = 1024;

/// Most `v1` entries accepted. Stripe sends one per live signing secret (two
/// during a roll); more is not Stripe.
pub const MAX_V1_SIGNATURES: usize = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StripeSignatureError {
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the Stripe-Signature header is longer than {MAX_HEADER_BYTES} bytes")]
    TooLong,
    #[error("the Stripe-Signature header has more than {MAX_V1_SIGNATURES} v1 signatures")]
    TooManySignatures,
    #[error("the Stripe-Signature timestamp is outside the tolerance")]
    Expired,
    #[error("no Stripe signature matches the payload")]
    Mismatch,
}

fn signed_mac(secret: &str, payload: &[u8], t: i64) -> HmacSha256 {
    // Stripe keys with the whole "whsec_..." string, not a decoded key.
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Equality whose time depends on the lengths only, never on where the bytes
/// differ (the length of a SHA-256 signature is no secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

/// A parsed `Stripe-Signature` header: its timestamp and its `v1` signatures.
/// Parsing is bounded ([`MAX_HEADER_BYTES`], [`MAX_V1_SIGNATURES`]) and cheap,
/// so a hostile header is refused before the body is read or hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSignature {
    pub timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

impl StripeSignature {
    /// Parses `t=<unix>,v1=<hex>,v1=<hex>,v0=...`; schemes other than `v1` are
    /// ignored.
    pub fn parse(header: &str) -> Result<StripeSignature, StripeSignatureError> {
        if header.len() > MAX_HEADER_BYTES {
            return Err(StripeSignatureError::TooLong);
        }
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for item in header.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (key, value) = item
                .split_once('=')
                .ok_or(StripeSignatureError::Malformed)?;
            match key.trim() {
                "t" => {
                    let t: i64 = value
                        .trim()
                        .parse()
                        .map_err(|_| StripeSignatureError::Malformed)?;
                    timestamp = Some(t);
                }
                "v1" => {
                    if signatures.len() == MAX_V1_SIGNATURES {
                        return Err(StripeSignatureError::TooManySignatures);
                    }
                    let bytes =
                        hex::decode(value.trim()).map_err(|_| StripeSignatureError::Malformed)?;
                    signatures.push(bytes);
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(StripeSignatureError::Missing)?;
        if signatures.is_empty() {
            return Err(StripeSignatureError::Missing);
        }
        Ok(StripeSignature {
            timestamp,
            signatures,
        })
    }

    /// Checks the signatures against `payload` and returns the timestamp. Any
    /// v1 matching any of `secrets` passes (several secrets cover a rolled
    /// endpoint secret). One HMAC is computed per secret, whatever the number of
    /// signatures, and compared with each in constant time. The signature is
    /// checked before the timestamp, so `Expired` means a genuine but stale
    /// (possibly replayed) event.
    pub fn verify(
        &self,
        payload: &[u8],
        secrets: &[&str],
        now_unix: i64,
        tolerance_secs: i64,
    ) -> Result<i64, StripeSignatureError> {
        let mut matched = false;
        for secret in secrets {
            let expected = signed_mac(secret, payload, self.timestamp)
                .finalize()
                .into_bytes();
            for signature in &self.signatures {
                // No early exit: every comparison is made.
                matched |= constant_time_eq(&expected, signature);
            }
        }
        if !matched {
            return Err(StripeSignatureError::Mismatch);
        }
        if now_unix.abs_diff(self.timestamp) > tolerance_secs.max(0).unsigned_abs() {
            return Err(StripeSignatureError::Expired);
        }
        Ok(self.timestamp)
    }
}

/// Verifies a `Stripe-Signature` header (`t=<unix>,v1=<hex>,v1=<hex>,v0=...`)
/// and returns its timestamp: [`StripeSignature::parse`] then
/// [`StripeSignature::verify`].
pub fn verify_stripe_signature(
    header: &str,
    payload: &[u8],
    secrets: &[&str],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<i64, StripeSignatureError> {
    StripeSignature::parse(header)?.verify(payload, secrets, now_unix, tolerance_secs)
}

/// Builds a header the way Stripe does: "t={t},v1={hex}".
pub fn stripe_signature_header(secret: &str, payload: &[u8], t: i64) -> String {
    let digest = signed_mac(secret, payload, t).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_for_cartback";
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","object":"event"}"#;
    const T: i64 = 1_700_000_000;

    #[test]
    fn matches_openssl() {
        // printf '%s' '1700000000.{"id":"evt_1","object":"event"}' \
        //   | openssl dgst -sha256 -hmac 'whsec_test_secret_for_cartback'
        assert_eq!(
            stripe_signature_header(SECRET, PAYLOAD, T),
            "t=1700000000,v1=87b512efecf8a2fed99898e525c1a3f044e64d6c9b0ef4552c3c507ae67a2a9b"
        );
    }

    #[test]
    fn own_header_verifies() {
        let header = stripe_signature_header(SECRET, PAYLOAD, T);
        assert_eq!(
            verify_stripe_signature(&header, PAYLOAD, &[SECRET], T + 10, 300),
            Ok(T)
        );
        assert_eq!(
            verify_stripe_signature(&header, PAYLOAD, &["whsec_other", SECRET], T - 300, 300),
            Ok(T)
        );
    }

    #[test]
    fn failures() {
        let header = stripe_signature_header(SECRET, PAYLOAD, T);
        let verify = |header: &str, payload: &[u8], secret: &str, now: i64| {
            verify_stripe_signature(header, payload, &[secret], now, 300)
        };
        assert_eq!(
            verify(&header, br#"{"id":"evt_2","object":"event"}"#, SECRET, T),
            Err(StripeSignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, PAYLOAD, "whsec_wrong", T),
            Err(StripeSignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, PAYLOAD, SECRET, T + 301),
            Err(StripeSignatureError::Expired)
        );
        assert_eq!(
            verify(&header, PAYLOAD, SECRET, T - 3600),
            Err(StripeSignatureError::Expired)
        );
        assert_eq!(
            verify_stripe_signature(&header, PAYLOAD, &[], T, 300),
            Err(StripeSignatureError::Mismatch)
        );
        // The timestamp is signed: moving it breaks the signature.
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(
            verify(&moved, PAYLOAD, SECRET, T),
            Err(StripeSignatureError::Mismatch)
        );
    }

    #[test]
    fn several_signatures_and_other_schemes() {
        let good = stripe_signature_header(SECRET, PAYLOAD, T);
        let good_hex = good.split("v1=").nth(1).unwrap();
        let wrong_hex = "0".repeat(64);
        let header = format!("t={T},v1={wrong_hex},v1={good_hex},v0=abcdef");
        assert_eq!(
            verify_stripe_signature(&header, PAYLOAD, &[SECRET], T, 300),
            Ok(T)
        );
        let spaced = format!(" t={T} , v0=00 , v1={good_hex} ");
        assert_eq!(
            verify_stripe_signature(&spaced, PAYLOAD, &[SECRET], T, 300),
            Ok(T)
        );
    }

    #[test]
    fn garbage() {
        let verify = |header: &str| verify_stripe_signature(header, PAYLOAD, &[SECRET], T, 300);
        assert_eq!(verify(""), Err(StripeSignatureError::Missing));
        assert_eq!(verify("t=1700000000"), Err(StripeSignatureError::Missing));
        assert_eq!(
            verify("t=1700000000,v0=abcd"),
            Err(StripeSignatureError::Missing)
        );
        assert_eq!(verify("v1=abcd"), Err(StripeSignatureError::Missing));
        assert_eq!(verify("garbage"), Err(StripeSignatureError::Malformed));
        assert_eq!(
            verify("t=soon,v1=abcd"),
            Err(StripeSignatureError::Malformed)
        );
        assert_eq!(
            verify("t=1700000000,v1=zz"),
            Err(StripeSignatureError::Malformed)
        );
        assert_eq!(
            verify("t=1700000000,v1=abcd"),
            Err(StripeSignatureError::Mismatch)
        );
    }

    #[test]
    fn hostile_headers_are_refused_while_parsing() {
        let verify = |header: &str| verify_stripe_signature(header, PAYLOAD, &[SECRET], T, 300);
        // The reported attack: thousands of empty v1 entries.
        let empty_entries = format!("t={T}{}", ",v1=".repeat(2000));
        assert_eq!(verify(&empty_entries), Err(StripeSignatureError::TooLong));
        assert_eq!(
            StripeSignature::parse(&empty_entries),
            Err(StripeSignatureError::TooLong)
        );
        // Short enough, but too many v1 entries.
        let nine = format!("t={T}{}", ",v1=".repeat(MAX_V1_SIGNATURES + 1));
        assert!(nine.len() <= MAX_HEADER_BYTES);
        assert_eq!(verify(&nine), Err(StripeSignatureError::TooManySignatures));
        // Exactly the maximum is parsed (and simply does not match).
        let eight = format!("t={T}{}", ",v1=00".repeat(MAX_V1_SIGNATURES));
        assert_eq!(verify(&eight), Err(StripeSignatureError::Mismatch));
        let long = format!("t={T},v0={}", "a".repeat(MAX_HEADER_BYTES));
        assert_eq!(verify(&long), Err(StripeSignatureError::TooLong));
    }

    #[test]
    fn a_rolled_secret_header_fits_and_verifies() {
        // During a roll Stripe signs with every live secret: one v1 each, plus v0.
        let secrets = ["whsec_old_secret_for_cartback_rollover", SECRET];
        let v1 = |secret: &str| {
            stripe_signature_header(secret, PAYLOAD, T)
                .split("v1=")
                .nth(1)
                .unwrap()
                .to_owned()
        };
        let header = format!(
            "t={T},v1={},v1={},v0={}",
            v1(secrets[0]),
            v1(secrets[1]),
            "0".repeat(64)
        );
        assert!(header.len() < MAX_HEADER_BYTES / 4);
        let parsed = StripeSignature::parse(&header).unwrap();
        assert_eq!(parsed.timestamp, T);
        assert_eq!(parsed.verify(PAYLOAD, &[SECRET], T, 300), Ok(T));
        assert_eq!(parsed.verify(PAYLOAD, &[secrets[0]], T, 300), Ok(T));
        assert_eq!(
            parsed.verify(PAYLOAD, &["whsec_unrelated_secret"], T, 300),
            Err(StripeSignatureError::Mismatch)
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
