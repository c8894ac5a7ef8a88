//! `Stripe-Signature` verification, as Stripe documents it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Stripe's own default tolerance, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StripeSignatureError {
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the Stripe-Signature timestamp is outside the tolerance")]
    Expired,
    #[error("no Stripe signature matches the payload")]
    Mismatch,
}

fn signed_mac(secret: &str, payload: &[u8], t: i64) -> HmacSha256 {
    // Stripe keys with the whole "whsec_..." string, not a decoded key.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Verifies a `Stripe-Signature` header (`t=<unix>,v1=<hex>,v1=<hex>,v0=...`)
/// and returns its timestamp. Any v1 matching any of `secrets` passes (several
/// secrets cover a rolled endpoint secret); other schemes are ignored. The
/// signature is checked before the timestamp, so `Expired` means a genuine but
/// stale (possibly replayed) event.
pub fn verify_stripe_signature(
    header: &str,
    payload: &[u8],
    secrets: &[&str],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<i64, StripeSignatureError> {
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
                let bytes =
                    hex::decode(value.trim()).map_err(|_| StripeSignatureError::Malformed)?;
                signatures.push(bytes);
            }
            _ => {}
        }
    }
    let t = timestamp.ok_or(StripeSignatureError::Missing)?;
    if signatures.is_empty() {
        return Err(StripeSignatureError::Missing);
    }
    let matched = secrets.iter().any(|secret| {
        signatures.iter().any(|signature| {
            signed_mac(secret, payload, t)
                .verify_slice(signature)
                .is_ok()
        })
    });
    if !matched {
        return Err(StripeSignatureError::Mismatch);
    }
    if now_unix.abs_diff(t) > tolerance_secs.max(0).unsigned_abs() {
        return Err(StripeSignatureError::Expired);
    }
    Ok(t)
}

/// Builds a header the way Stripe does: "t={t},v1={hex}".
pub fn stripe_signature_header(secret: &str, payload: &[u8], t: i64) -> String {
    let digest = signed_mac(secret, payload, t).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
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
}
