//! Signing: Standard Webhooks (`webhook-*` headers) plus Retake's
//! `x-webhook-signature`, so receivers written for either keep working.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::{SecretError, secret_key_bytes};

type HmacSha256 = Hmac<Sha256>;

#[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
fn mac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// Retake's header value: "sha256=" + lowercase hex HMAC-SHA256 over the body,
/// keyed with the secret string's UTF-8 bytes (as Node's
/// `crypto.createHmac('sha256', secret)` does).
pub fn retake_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = mac(secret.as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn standard_mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = mac(key);
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Standard Webhooks: one `v1,<base64 HMAC>` per secret, joined with a space.
pub fn standard_signature(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SecretError> {
    if secrets.is_empty() {
        return Err(SecretError::NoSecrets);
    }
    let mut entries = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let key = secret_key_bytes(secret)?;
        let digest = standard_mac(&key, id, timestamp, body)
            .finalize()
            .into_bytes();
        entries.push(format!("v1,{}", STANDARD.encode(digest)));
    }
    Ok(entries.join(" "))
}

/// Verifies a Standard Webhooks signature header: any v1 entry matching any
/// secret (constant-time), with the timestamp within `tolerance_secs` of `now`.
/// Unusable secrets are skipped rather than failing the whole check.
pub fn verify_standard(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
    signature_header: &str,
    now: i64,
    tolerance_secs: i64,
) -> bool {
    if now.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return false;
    }
    let candidates: Vec<Vec<u8>> = signature_header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .collect();
    secrets
        .iter()
        .filter_map(|secret| secret_key_bytes(secret).ok())
        .any(|key| {
            candidates.iter().any(|candidate| {
                standard_mac(&key, id, timestamp, body)
                    .verify_slice(candidate)
                    .is_ok()
            })
        })
}

/// All headers of one delivery attempt, in order. `secrets` is newest first:
/// every secret signs `webhook-signature` (so receivers survive a rotation),
/// only the newest signs the Retake header, which has room for one.
pub fn signed_headers(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, SecretError> {
    let newest = secrets.first().ok_or(SecretError::NoSecrets)?;
    Ok(vec![
        ("content-type", "application/json".to_owned()),
        ("user-agent", crate::USER_AGENT.to_owned()),
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            standard_signature(secrets, id, timestamp, body)?,
        ),
        ("x-webhook-signature", retake_signature(newest, body)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn standard_webhooks_spec_vector() {
        assert_eq!(
            standard_signature(&[SPEC_SECRET], SPEC_ID, SPEC_TS, SPEC_BODY).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn retake_matches_openssl() {
        // printf '%s' BODY | openssl dgst -sha256 -hmac 'whsec_retake_test_secret'
        assert_eq!(
            retake_signature(
                "whsec_retake_test_secret",
                br#"{"event":"cart.recovered","id":"c_1"}"#
            ),
            "sha256=3b96674fc615b2a29876705f20545ea37a4ed2675572d37698249c49f21a6b82"
        );
    }

    #[test]
    fn verify_accepts_good_and_refuses_tampered_or_stale() {
        let header = standard_signature(&[SPEC_SECRET], SPEC_ID, SPEC_TS, SPEC_BODY).unwrap();
        let verify = |body: &[u8], header: &str, now: i64| {
            verify_standard(&[SPEC_SECRET], SPEC_ID, SPEC_TS, body, header, now, 300)
        };
        assert!(verify(SPEC_BODY, &header, SPEC_TS + 10));
        assert!(verify(SPEC_BODY, &header, SPEC_TS - 300));
        assert!(!verify(br#"{"test": 2432232315}"#, &header, SPEC_TS));
        assert!(!verify(SPEC_BODY, &header, SPEC_TS + 301));
        assert!(!verify(SPEC_BODY, "v1,AAAA", SPEC_TS));
        assert!(!verify(SPEC_BODY, "", SPEC_TS));
        assert!(!verify(SPEC_BODY, "garbage v1,%%%", SPEC_TS));
        // The id and timestamp are signed too.
        assert!(!verify_standard(
            &[SPEC_SECRET],
            "msg_other",
            SPEC_TS,
            SPEC_BODY,
            &header,
            SPEC_TS,
            300
        ));
        assert!(!verify_standard(
            &["whsec_c2VjcmV0"],
            SPEC_ID,
            SPEC_TS,
            SPEC_BODY,
            &header,
            SPEC_TS,
            300
        ));
    }

    #[test]
    fn rotation_signs_with_both_and_either_verifies() {
        let newer = crate::generate_secret();
        let header =
            standard_signature(&[&newer, SPEC_SECRET], SPEC_ID, SPEC_TS, SPEC_BODY).unwrap();
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1],
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        for secret in [newer.as_str(), SPEC_SECRET] {
            assert!(verify_standard(
                &[secret],
                SPEC_ID,
                SPEC_TS,
                SPEC_BODY,
                &header,
                SPEC_TS,
                300
            ));
        }
        // Only the old entry present: a receiver holding both secrets still accepts.
        assert!(verify_standard(
            &[&newer, SPEC_SECRET],
            SPEC_ID,
            SPEC_TS,
            SPEC_BODY,
            entries[1],
            SPEC_TS,
            300
        ));
    }

    #[test]
    fn signed_headers_in_order() {
        let newer = crate::generate_secret();
        let headers = signed_headers(&[&newer, SPEC_SECRET], SPEC_ID, SPEC_TS, SPEC_BODY).unwrap();
        let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "user-agent",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "x-webhook-signature"
            ]
        );
        assert_eq!(
            headers[1].1,
            format!("cartback-webhooks/{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(headers[3].1, "1614265330");
        assert_eq!(
            headers[4].1,
            standard_signature(&[&newer, SPEC_SECRET], SPEC_ID, SPEC_TS, SPEC_BODY).unwrap()
        );
        assert_eq!(headers[5].1, retake_signature(&newer, SPEC_BODY));
        assert_eq!(
            signed_headers(&[], SPEC_ID, SPEC_TS, SPEC_BODY),
            Err(SecretError::NoSecrets)
        );
        assert_eq!(
            signed_headers(&["nope"], SPEC_ID, SPEC_TS, SPEC_BODY),
            Err(SecretError::MissingPrefix)
        );
    }
}
