//! Which links may go into an email.

const MAX_URL_LEN: usize = 2048;

/// An absolute `http://` or `https://` URL naming a host, without whitespace or
/// control characters. Anything else (`javascript:`, `data:`, relative paths)
/// never reaches an `href` or `src`.
pub(crate) fn is_web_url(url: &str) -> bool {
    if url.chars().count() > MAX_URL_LEN || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    // Compared as bytes: a prefix cut inside a multi-byte character is no scheme.
    let has_prefix = |prefix: &str| {
        url.as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    let rest = if has_prefix("https://") {
        &url[8..]
    } else if has_prefix("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/')
}

/// A web URL, or a `mailto:` address (List-Unsubscribe style).
pub(crate) fn is_unsubscribe_url(url: &str) -> bool {
    if is_web_url(url) {
        return true;
    }
    let lower = url
        .get(..7)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    lower == "mailto:"
        && url.len() > 7
        && url.len() <= MAX_URL_LEN
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_urls() {
        assert!(is_web_url("https://shop.test/cart?x=1"));
        assert!(is_web_url("HTTP://shop.test"));
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative",
            "https://",
            "https:///x",
            "https://shop.test/a b",
            "ftp://shop.test",
            "",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
        assert!(is_unsubscribe_url("mailto:unsubscribe@shop.test"));
        assert!(!is_unsubscribe_url("mailto:"));
    }
}
