//! A tenant's stored choice of look and words for its recovery emails: one JSON
//! document the api saves and the worker reads. The shop name is not part of it:
//! it is the tenant's own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::branding::{BrandColor, Branding, StepCopy};
use crate::design::Design;
use crate::error::{Part, TemplateError};
use crate::locale::resolve_locale;

/// Design, branding and per-locale, per-step copy. Every field may be left out;
/// `{}` means the built-in minimal design with built-in copy.
///
/// ```
/// use cartback_templates::{Design, Experience};
/// let stored = r##"{"design":"bold_banner","brandColor":"#0f766e",
///     "copy":{"nl":[{"subject":"Je mandje wacht"}]}}"##;
/// let experience: Experience = serde_json::from_str(stored).unwrap();
/// assert_eq!(experience.design, Design::BoldBanner);
/// assert_eq!(experience.branding("Acme").shop_name, "Acme");
/// let copy = experience.copy_for("nl-NL", 0).unwrap();
/// assert_eq!(copy.subject.as_deref(), Some("Je mandje wacht"));
/// assert!(experience.copy_for("nl-NL", 1).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Experience {
    pub design: Design,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_color: Option<BrandColor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub button_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer_address: Option<String>,
    /// The language of carts that carry none, and the fallback for those whose
    /// language has no copy (BCP 47, e.g. `de`). English when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
    /// The merchant's own words: locale tag → one entry per step (index = step).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub copy: BTreeMap<String, Vec<StepCopy>>,
}

impl Default for Experience {
    fn default() -> Self {
        Experience {
            design: Design::Minimal,
            logo_url: None,
            brand_color: None,
            button_text: None,
            sender_name: None,
            footer_address: None,
            default_locale: None,
            copy: BTreeMap::new(),
        }
    }
}

impl Experience {
    /// The branding to render with, for the shop called `shop_name`.
    pub fn branding(&self, shop_name: &str) -> Branding {
        let mut branding = Branding::new(shop_name);
        branding.logo_url = self.logo_url.clone();
        if let Some(color) = &self.brand_color {
            branding.brand_color = color.clone();
        }
        branding.button_text = self.button_text.clone();
        branding.sender_name = self.sender_name.clone();
        branding.footer_address = self.footer_address.clone();
        branding
    }

    /// The merchant's copy for `step` in the language that best fits `locale`
    /// (exact tag, then its language, then the default locale).
    pub fn copy_for(&self, locale: &str, step: u32) -> Option<&StepCopy> {
        let available: Vec<&str> = self.copy.keys().map(String::as_str).collect();
        let default = self.default_locale.as_deref().unwrap_or("en");
        let chosen = resolve_locale(locale, &available, default)?;
        self.copy.get(chosen)?.get(step as usize)
    }

    /// The language a variant's words are written for, and promoted into:
    /// the default language, English when unset.
    pub fn words_locale(&self) -> &str {
        self.default_locale.as_deref().unwrap_or("en")
    }

    /// Takes an A/B test variant's words as the shop's own, in
    /// [`Experience::words_locale`]: each word the variant sets replaces the
    /// shop's for that step; the others stay. Returns whether any changed.
    ///
    /// ```
    /// use cartback_domain::{StepVariant, Variant, VariantCopy};
    /// use cartback_templates::Experience;
    /// let variant = Variant {
    ///     sequence: None,
    ///     steps: vec![StepVariant {
    ///         step: 1,
    ///         copy: Some(VariantCopy { subject: Some("Still thinking?".into()), ..VariantCopy::default() }),
    ///         ..StepVariant::default()
    ///     }],
    /// };
    /// let mut experience = Experience::default();
    /// assert!(experience.adopt_variant_words(&variant));
    /// assert_eq!(experience.copy_for("en", 1).unwrap().subject.as_deref(), Some("Still thinking?"));
    /// assert!(experience.copy_for("en", 0).unwrap().subject.is_none());
    /// assert!(!experience.adopt_variant_words(&Variant::default()));
    /// ```
    pub fn adopt_variant_words(&mut self, variant: &cartback_domain::Variant) -> bool {
        let changes: Vec<_> = variant
            .steps
            .iter()
            .filter_map(|change| Some((change.step as usize, change.copy.as_ref()?)))
            .collect();
        if changes.is_empty() {
            return false;
        }
        let locale = self.words_locale().to_owned();
        let steps = self.copy.entry(locale).or_default();
        for (step, words) in changes {
            if steps.len() <= step {
                steps.resize(step + 1, StepCopy::default());
            }
            let copy = &mut steps[step];
            let pairs = [
                (&words.subject, &mut copy.subject),
                (&words.preheader, &mut copy.preheader),
                (&words.headline, &mut copy.headline),
                (&words.body, &mut copy.body),
                (&words.button_text, &mut copy.button_text),
            ];
            for (theirs, ours) in pairs {
                if let Some(theirs) = theirs {
                    *ours = Some(theirs.clone());
                }
            }
        }
        true
    }

    /// Checks what serde cannot, as a save should: the branding and the copy's size.
    pub fn validate(&self, shop_name: &str) -> Result<(), TemplateError> {
        self.branding(shop_name).validate()?;
        if self.copy.len() > 50 || self.copy.values().any(|steps| steps.len() > 10) {
            return Err(TemplateError::invalid(
                Part::Branding,
                "copy holds at most 50 locales of at most 10 steps each",
            ));
        }
        Ok(())
    }
}
