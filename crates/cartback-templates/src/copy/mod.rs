//! The built-in words of every email, per language and step.
//!
//! Placeholders in braces are filled in by [`fill`]: `{shop}`, `{name}`,
//! `{code}` and `{count}`. Every language has three steps, in order: a friendly reminder, a
//! "still interested?" nudge and a last chance. Later steps reuse the last one.

mod de;
mod en;
mod es;
mod fr;
mod nl;

use crate::branding::StepCopy;
use crate::locale::LanguageTag;
use crate::resolve_locale;

/// Subject, preheader, headline, body and button of one step.
pub(crate) struct StepText {
    pub subject: &'static str,
    pub preheader: &'static str,
    pub headline: &'static str,
    /// Paragraphs separated by a blank line.
    pub body: &'static str,
    pub button: &'static str,
}

/// Everything an email says in one language.
pub(crate) struct Copy {
    pub tag: &'static str,
    pub steps: [StepText; 3],
    /// With `{name}`.
    pub greeting_named: &'static str,
    pub greeting: &'static str,
    /// ":" after a label; French puts a no-break space before it.
    pub colon: &'static str,
    pub your_cart: &'static str,
    pub total: &'static str,
    pub quantity: &'static str,
    /// With `{count}`: the lines not shown in a long cart.
    pub more_items: &'static str,
    /// With `{code}`.
    pub coupon_line: &'static str,
    pub coupon_title: &'static str,
    pub pay_lead: &'static str,
    pub pay_button: &'static str,
    pub link_fallback: &'static str,
    pub unsubscribe_lead: &'static str,
    pub unsubscribe_link: &'static str,
    /// With `{shop}`.
    pub reason: &'static str,
    pub signoff: &'static str,
    /// With `{shop}`.
    pub team: &'static str,
}

const ALL: [&Copy; 5] = [&en::COPY, &de::COPY, &fr::COPY, &es::COPY, &nl::COPY];

/// The languages the built-in copy is written in.
pub const BUILTIN_LOCALES: [&str; 5] = ["en", "de", "fr", "es", "nl"];

/// The built-in copy for `locale`, falling back to `default`, then English.
pub(crate) fn for_locale(locale: &str, default: &str) -> &'static Copy {
    let tag = resolve_locale(locale, &BUILTIN_LOCALES, default).unwrap_or("en");
    ALL.iter()
        .copied()
        .find(|copy| copy.tag == tag)
        .unwrap_or(&en::COPY)
}

impl Copy {
    /// Step `step` (0-based); steps past the last reuse the last.
    pub fn step(&self, step: u32) -> &StepText {
        let index = usize::try_from(step)
            .unwrap_or(usize::MAX)
            .min(self.steps.len() - 1);
        &self.steps[index]
    }
}

/// The built-in words of `step` for `locale` as a fully set [`StepCopy`], with
/// `{shop}` left in place: what an editor shows before a merchant changes
/// anything.
///
/// ```
/// use cartback_templates::default_copy;
/// let copy = default_copy("de-DE", 0);
/// assert_eq!(copy.button_text.as_deref(), Some("Zum Warenkorb"));
/// assert_eq!(default_copy("nl", 7), default_copy("nl", 2));
/// ```
pub fn default_copy(locale: &str, step: u32) -> StepCopy {
    let text = for_locale(locale, "en").step(step);
    StepCopy {
        subject: Some(text.subject.to_owned()),
        preheader: Some(text.preheader.to_owned()),
        headline: Some(text.headline.to_owned()),
        body: Some(text.body.to_owned()),
        button_text: Some(text.button.to_owned()),
    }
}

/// Replaces each `{key}` of `values` in `template`, in one pass: a value that
/// itself contains braces is never expanded again. Unknown `{...}` stay as they
/// are.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let hit = values.iter().find_map(|(key, value)| {
            let len = key.len() + 2;
            let matches = after.len() >= len
                && after.as_bytes()[len - 1] == b'}'
                && &after[1..len - 1] == *key;
            matches.then_some((len, *value))
        });
        match hit {
            Some((len, value)) => {
                out.push_str(value);
                rest = &after[len..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The language part of `locale`, for `<html lang>`: the tag as given when it
/// looks like one, else the language of the copy.
pub(crate) fn html_lang(locale: &str, copy: &Copy) -> String {
    let tag = LanguageTag::parse(locale);
    let valid = (2..=3).contains(&tag.language.len())
        && tag.language.bytes().all(|b| b.is_ascii_alphabetic());
    if !valid {
        return copy.tag.to_owned();
    }
    match tag.region {
        Some(region) => format!("{}-{}", tag.language, region),
        None => tag.language,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_one_pass() {
        assert_eq!(
            fill(
                "Hi {name}, {shop}!",
                &[("name", "{shop}"), ("shop", "Acme")]
            ),
            "Hi {shop}, Acme!"
        );
        assert_eq!(
            fill("{unknown} {shop", &[("shop", "Acme")]),
            "{unknown} {shop"
        );
        assert_eq!(fill("{{shop}}", &[("shop", "Acme")]), "{Acme}");
        assert_eq!(fill("é{shop}é", &[("shop", "€")]), "é€é");
    }

    #[test]
    fn every_language_is_complete() {
        for copy in ALL {
            assert!(BUILTIN_LOCALES.contains(&copy.tag));
            assert!(copy.greeting_named.contains("{name}"), "{}", copy.tag);
            assert!(copy.coupon_line.contains("{code}"), "{}", copy.tag);
            assert!(copy.more_items.contains("{count}"), "{}", copy.tag);
            assert!(copy.reason.contains("{shop}"), "{}", copy.tag);
            assert!(copy.team.contains("{shop}"), "{}", copy.tag);
            for (i, step) in copy.steps.iter().enumerate() {
                for text in [
                    step.subject,
                    step.preheader,
                    step.headline,
                    step.body,
                    step.button,
                ] {
                    assert!(!text.trim().is_empty(), "{} step {i}", copy.tag);
                    // Only {shop} may appear in step texts.
                    let filled = fill(text, &[("shop", "")]);
                    assert!(
                        !filled.contains('{') && !filled.contains('}'),
                        "{} step {i}: {text}",
                        copy.tag
                    );
                }
            }
            // Steps read differently.
            assert_ne!(copy.steps[0].subject, copy.steps[1].subject);
            assert_ne!(copy.steps[1].subject, copy.steps[2].subject);
            assert_ne!(copy.steps[0].body, copy.steps[2].body);
        }
    }

    /// The built-in copy knows neither the cart's expiry nor the policy's, so
    /// it never claims a cart expires soon (the default expiry is 30 days after
    /// a last step sent at 72 hours).
    #[test]
    fn no_step_claims_the_cart_expires_soon() {
        let claims = ["expir", "läuft", "ablauf", "verloopt", "verlopen", "caduc"];
        for copy in ALL {
            for (i, step) in copy.steps.iter().enumerate() {
                for text in [step.subject, step.preheader, step.headline, step.body] {
                    let lower = text.to_lowercase();
                    for claim in claims {
                        assert!(!lower.contains(claim), "{} step {i}: {text}", copy.tag);
                    }
                }
            }
        }
    }

    #[test]
    fn locale_lookup() {
        assert_eq!(for_locale("nl-BE", "en").tag, "nl");
        assert_eq!(for_locale("pt-BR", "de").tag, "de");
        assert_eq!(for_locale("pt-BR", "pt").tag, "en");
        assert_eq!(for_locale("FR_ca", "en").tag, "fr");
        assert_eq!(html_lang("nl_nl", &en::COPY), "nl-NL");
        assert_eq!(html_lang("\"><x", &en::COPY), "en");
    }
}
