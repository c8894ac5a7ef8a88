//! The rules of a tenant's Stripe credentials, shared by `PUT
//! /api/v1/integrations/stripe` and the dashboard's Developers page.

/// How many webhook signing secrets a tenant may keep at once (Stripe rolls a
/// secret with an overlap, and a shop may have several endpoints).
pub const MAX_WEBHOOK_SECRETS: usize = 5;
/// Longest key or secret accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A secret (`sk_…`) or restricted (`rk_…`) key, or why it is not one.
///
/// ```
/// use cartback_stripe::check_secret_key;
/// assert!(check_secret_key("sk_test_abcdefgh").is_ok());
/// assert!(check_secret_key("pk_test_abcdefgh").unwrap_err().contains("publishable"));
/// ```
pub fn check_secret_key(key: &str) -> Result<(), String> {
    if key.starts_with("pk_") {
        Err("that is a publishable key: give the secret (sk_…) or restricted (rk_…) key".into())
    } else if !(key.starts_with("sk_") || key.starts_with("rk_")) {
        Err("must start with sk_ or rk_".into())
    } else if key.len() < 8 || key.len() > MAX_KEY_LEN {
        Err(format!("must be 8 to {MAX_KEY_LEN} characters"))
    } else if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Err("may hold only letters, digits and _".into())
    } else {
        Ok(())
    }
}

/// One webhook signing secret (`whsec_…`), or why it is not one.
///
/// ```
/// use cartback_stripe::check_webhook_secret;
/// assert!(check_webhook_secret("whsec_abcdefgh12").is_ok());
/// assert!(check_webhook_secret("sk_test_abcdefgh").is_err());
/// ```
pub fn check_webhook_secret(secret: &str) -> Result<(), String> {
    let Some(rest) = secret.strip_prefix("whsec_") else {
        return Err("must start with whsec_ (Stripe's signing secret)".into());
    };
    if rest.len() < 8 || secret.len() > MAX_KEY_LEN {
        Err(format!("must be 14 to {MAX_KEY_LEN} characters"))
    } else if !rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'/' | b'=' | b'-'))
    {
        Err("may hold only letters, digits and _ + / = -".into())
    } else {
        Ok(())
    }
}

/// `sk_test_…4242`: the mode stays visible, the rest is hidden.
///
/// ```
/// use cartback_stripe::key_hint;
/// assert_eq!(key_hint("sk_live_51Habcdefghijklmnop4242"), "sk_live_…4242");
/// ```
pub fn key_hint(key: &str) -> String {
    let prefix = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
        .into_iter()
        .find(|p| key.starts_with(p))
        .unwrap_or(&key[..3.min(key.len())]);
    // Short keys would give too much away with their last four.
    let tail = if key.len() >= prefix.len() + 12 {
        &key[key.len() - 4..]
    } else {
        ""
    };
    format!("{prefix}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_keep_the_mode_and_hide_short_keys() {
        assert_eq!(key_hint("sk_test_123"), "sk_test_…");
        assert_eq!(key_hint("sk_live_51Habcdefghijklmnop4242"), "sk_live_…4242");
        assert_eq!(key_hint("rk_abcdefghijklmnopqrst"), "rk_…qrst");
    }

    #[test]
    fn keys_and_secrets_are_checked() {
        assert!(check_secret_key("sk_x").unwrap_err().contains("8 to"));
        assert!(
            check_secret_key("sk_test_abc-defg")
                .unwrap_err()
                .contains("letters")
        );
        assert!(check_secret_key("rk_live_abcdefgh").is_ok());
        assert!(
            check_webhook_secret("whsec_short")
                .unwrap_err()
                .contains("14 to")
        );
        assert!(
            check_webhook_secret("whsec_abcdefgh!")
                .unwrap_err()
                .contains("letters")
        );
    }
}
