//! Which template renders a recovery step's email: one rule for the worker
//! that sends it and the api that previews it.

use cartback_domain::{RecoveryPolicy, TemplateChoice};

use crate::design::Design;
use crate::experience::Experience;
use crate::locale::resolve_locale;

/// The template of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepTemplate<'a> {
    /// A built-in design.
    Builtin(Design),
    /// One of the tenant's own templates, by name; `fallback` renders the email
    /// when the template exists in no fitting locale (recovery does not stop
    /// for a missing template).
    Custom { name: &'a str, fallback: Design },
}

/// The template `step` (0-based) uses: the policy's per-step choice when it
/// names one, else the tenant's design. A stored choice that does not parse
/// (the api validates it on save) falls back to the tenant's design too.
///
/// ```
/// use cartback_domain::RecoveryPolicy;
/// use cartback_templates::{template_for_step, Design, Experience, StepTemplate};
/// let mut policy = RecoveryPolicy::default();
/// let experience = Experience::default();
/// assert_eq!(template_for_step(&policy, &experience, 0), StepTemplate::Builtin(experience.design));
/// policy.step_settings = vec![Default::default()];
/// policy.step_settings[0].template = Some("custom:spring".to_owned());
/// assert_eq!(
///     template_for_step(&policy, &experience, 0),
///     StepTemplate::Custom { name: "spring", fallback: experience.design }
/// );
/// ```
pub fn template_for_step<'a>(
    policy: &'a RecoveryPolicy,
    experience: &Experience,
    step: u32,
) -> StepTemplate<'a> {
    if let Some(name) = custom_template_of(policy, step) {
        return StepTemplate::Custom {
            name,
            fallback: experience.design,
        };
    }
    match policy.settings_for(step).template_choice() {
        Some(Ok(TemplateChoice::Builtin(name))) => {
            StepTemplate::Builtin(name.parse().unwrap_or(experience.design))
        }
        _ => StepTemplate::Builtin(experience.design),
    }
}

/// The tenant's own template `step` asks for (`"template": "custom:{name}"`),
/// if any: what to read from the store before rendering.
pub fn custom_template_of(policy: &RecoveryPolicy, step: u32) -> Option<&str> {
    match policy.settings_for(step).template_choice() {
        Some(Ok(TemplateChoice::Custom(name))) => Some(name),
        _ => None,
    }
}

/// Of the stored locales of one custom template, the one to render for a
/// shopper asking for `locale` (exact tag, language, then the tenant's default
/// language, then English; see [`resolve_locale`]).
pub fn custom_in_locale<'t, T>(
    templates: &'t [T],
    locale_of: impl Fn(&T) -> &str,
    locale: &str,
    default_locale: Option<&str>,
) -> Option<&'t T> {
    let locales: Vec<&str> = templates.iter().map(&locale_of).collect();
    let chosen = resolve_locale(locale, &locales, default_locale.unwrap_or("en"))?;
    templates.iter().find(|t| locale_of(t) == chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_with(template: &str) -> RecoveryPolicy {
        RecoveryPolicy {
            step_settings: vec![cartback_domain::StepSettings {
                template: Some(template.to_owned()),
                ..Default::default()
            }],
            ..RecoveryPolicy::default()
        }
    }

    #[test]
    fn a_step_names_a_builtin_design() {
        let experience = Experience::default();
        assert_eq!(
            template_for_step(&policy_with("bold_banner"), &experience, 0),
            StepTemplate::Builtin(Design::BoldBanner)
        );
    }

    #[test]
    fn an_unreadable_choice_uses_the_tenants_design() {
        let experience = Experience {
            design: Design::TextFirst,
            ..Experience::default()
        };
        assert_eq!(
            template_for_step(&policy_with("fancy"), &experience, 0),
            StepTemplate::Builtin(Design::TextFirst)
        );
    }

    #[test]
    fn the_custom_locale_falls_back_to_the_language_then_the_default() {
        let stored = ["de", "nl-BE", "en"];
        let pick = |locale: &str, default: Option<&str>| {
            custom_in_locale(&stored, |s| s, locale, default).copied()
        };
        assert_eq!(pick("nl-NL", None), Some("nl-BE"));
        assert_eq!(pick("fr", Some("de")), Some("de"));
        assert_eq!(pick("fr", None), Some("en"));
        assert_eq!(custom_in_locale(&["fr"], |s| *s, "de", None), None);
    }
}
