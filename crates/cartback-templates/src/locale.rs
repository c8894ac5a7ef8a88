//! BCP 47 locale tags, as far as emails need them: a language, maybe a region.

/// The parts of a tag that matter here, in canonical case: `("nl", Some("NL"))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LanguageTag {
    pub language: String,
    pub region: Option<String>,
}

impl LanguageTag {
    /// Reads `nl-NL`, `nl_nl`, `zh-Hant-TW` (the script is skipped), `es-419`.
    pub fn parse(tag: &str) -> LanguageTag {
        let mut subtags = tag.trim().split(['-', '_']).filter(|s| !s.is_empty());
        let language = subtags.next().unwrap_or_default().to_ascii_lowercase();
        let region = subtags
            .take_while(|s| s.len() != 1) // a singleton starts an extension
            .find(|s| {
                (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
                    || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(str::to_ascii_uppercase);
        LanguageTag { language, region }
    }

    fn normalized(tag: &str) -> String {
        tag.trim().replace('_', "-").to_ascii_lowercase()
    }
}

/// Picks the locale to use among `available`, for a shopper asking for
/// `requested` and a tenant whose default is `default`.
///
/// In order: the exact tag; the bare language (`nl` for `nl-NL`); any other tag
/// of that language, the first listed (`nl-BE`); then the same two steps for the
/// tenant default; then for `en`. Comparison ignores case and accepts `_` for
/// `-`. Returns the entry of `available` as it is spelled there, or `None` when
/// nothing matches (an empty list, or one without the default and without English).
///
/// ```
/// use cartback_templates::resolve_locale;
/// let available = ["en", "de", "nl"];
/// assert_eq!(resolve_locale("nl-NL", &available, "de"), Some("nl"));
/// assert_eq!(resolve_locale("fr_FR", &available, "de"), Some("de"));
/// assert_eq!(resolve_locale("fr", &available, "it"), Some("en"));
/// assert_eq!(resolve_locale("fr", &["de"], "it"), None);
/// ```
pub fn resolve_locale<'a, S: AsRef<str>>(
    requested: &str,
    available: &'a [S],
    default: &str,
) -> Option<&'a str> {
    [requested, default, "en"]
        .into_iter()
        .find_map(|wanted| best_match(wanted, available))
}

fn best_match<'a, S: AsRef<str>>(wanted: &str, available: &'a [S]) -> Option<&'a str> {
    let wanted_norm = LanguageTag::normalized(wanted);
    let language = LanguageTag::parse(wanted).language;
    if language.is_empty() {
        return None;
    }
    let tags = || available.iter().map(AsRef::as_ref);
    tags()
        .find(|tag| LanguageTag::normalized(tag) == wanted_norm)
        .or_else(|| tags().find(|tag| LanguageTag::normalized(tag) == language))
        .or_else(|| tags().find(|tag| LanguageTag::parse(tag).language == language))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags() {
        assert_eq!(
            LanguageTag::parse("nl_nl"),
            LanguageTag {
                language: "nl".into(),
                region: Some("NL".into())
            }
        );
        assert_eq!(
            LanguageTag::parse("zh-Hant-TW").region.as_deref(),
            Some("TW")
        );
        assert_eq!(LanguageTag::parse("es-419").region.as_deref(), Some("419"));
        assert_eq!(LanguageTag::parse("DE").region, None);
        assert_eq!(LanguageTag::parse("en-x-ab").region, None);
        assert_eq!(LanguageTag::parse("").language, "");
    }

    #[test]
    fn resolution_order() {
        let available = ["en", "en-GB", "nl", "de-AT", "fr-FR"];
        // Exact, in any case and with either separator.
        assert_eq!(resolve_locale("en-GB", &available, "en"), Some("en-GB"));
        assert_eq!(resolve_locale("EN_gb", &available, "en"), Some("en-GB"));
        assert_eq!(resolve_locale("fr-fr", &available, "en"), Some("fr-FR"));
        // The bare language.
        assert_eq!(resolve_locale("nl-BE", &available, "en"), Some("nl"));
        assert_eq!(resolve_locale("en-US", &available, "de"), Some("en"));
        // Another region of the language.
        assert_eq!(resolve_locale("de-DE", &available, "en"), Some("de-AT"));
        assert_eq!(resolve_locale("fr-CA", &available, "en"), Some("fr-FR"));
        // The tenant default, itself matched the same way.
        assert_eq!(resolve_locale("ja-JP", &available, "nl"), Some("nl"));
        assert_eq!(resolve_locale("ja-JP", &available, "de"), Some("de-AT"));
        // English last.
        assert_eq!(resolve_locale("ja-JP", &available, "it"), Some("en"));
        assert_eq!(resolve_locale("", &available, ""), Some("en"));
        // Nothing fits.
        assert_eq!(resolve_locale("ja", &["de", "fr"], "it"), None);
        assert_eq!(resolve_locale::<&str>("ja", &[], "en"), None);
        // Works with owned strings too.
        let owned = vec!["de".to_owned(), "en-US".to_owned()];
        assert_eq!(resolve_locale("en-GB", &owned, "de"), Some("en-US"));
    }
}
