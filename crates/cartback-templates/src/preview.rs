//! Previews: one step of a tenant's recovery email rendered as the worker would
//! send it, for a sample cart (or a real one the caller fills in), with links
//! that lead nowhere. The api's preview route and the dashboard's preview
//! frames both render through here, so they can never disagree.

use cartback_domain::RecoveryPolicy;

use crate::builtin::render_builtin;
use crate::choice::{StepTemplate, custom_in_locale, template_for_step};
use crate::context::{Coupon, EmailContext, RenderedEmail, sample_context};
use crate::custom::{CustomTemplate, render_custom};
use crate::design::Design;
use crate::error::TemplateError;
use crate::experience::Experience;

/// The stand-in for a generated coupon's random characters in previews.
const PREVIEW_COUPON_RANDOM: &str = "PREVIEW0";

/// What to preview: the settings (saved or being edited) and which email.
#[derive(Debug, Clone, Copy)]
pub struct PreviewOf<'a> {
    pub shop_name: &'a str,
    pub policy: &'a RecoveryPolicy,
    pub experience: &'a Experience,
    /// 0-based step of the sequence.
    pub step: u32,
    /// A built-in design to try instead of the step's own template.
    pub design: Option<Design>,
}

/// A rendered preview and what rendered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The built-in design's name, or `custom:{name}` when the step's own
    /// template rendered it.
    pub template: String,
    pub email: RenderedEmail,
}

/// The sample cart of a preview in `locale`, its links under `base_url` (they
/// lead to a page saying it was a preview).
///
/// ```
/// let ctx = cartback_templates::preview_context("nl", "https://cartback.example/");
/// assert_eq!(ctx.recovery_url, "https://cartback.example/r/preview");
/// assert_eq!(ctx.currency.code(), "EUR");
/// ```
pub fn preview_context(locale: &str, base_url: &str) -> EmailContext {
    let base = base_url.trim_end_matches('/');
    let mut context = sample_context(locale);
    context.recovery_url = format!("{base}/r/preview");
    context.unsubscribe_url = format!("{base}/u/preview");
    context
}

/// Renders the email of `of.step` for `context` (its locale picks the copy
/// and, for a step using one of the tenant's own templates, which of `custom`
/// renders: `(locale, template)` pairs of that template's stored locales). The
/// step's coupon shows as configured, a generated one with sample characters.
/// A step whose own template exists in no fitting locale falls back to the
/// design, as the worker does.
///
/// ```
/// use cartback_domain::RecoveryPolicy;
/// use cartback_templates::{Experience, PreviewOf, preview_context, render_preview};
/// let policy = RecoveryPolicy::default();
/// let experience = Experience::default();
/// let of = PreviewOf { shop_name: "Acme", policy: &policy, experience: &experience, step: 1, design: None };
/// let preview = render_preview(of, preview_context("en", "https://cartback.example"), &[]).unwrap();
/// assert_eq!(preview.template, "minimal");
/// assert!(preview.email.html.contains("https://cartback.example/r/preview"));
/// ```
pub fn render_preview(
    of: PreviewOf<'_>,
    mut context: EmailContext,
    custom: &[(String, CustomTemplate)],
) -> Result<Preview, TemplateError> {
    let experience = of.experience;
    context.step = of.step;
    context.default_locale = experience.default_locale.clone();
    context.coupon = of
        .policy
        .settings_for(of.step)
        .coupon
        .as_ref()
        .map(|rule| Coupon {
            code: rule.code_for(PREVIEW_COUPON_RANDOM),
            description: None,
        });
    let (custom_name, design) = match of.design {
        Some(design) => (None, design),
        None => match template_for_step(of.policy, experience, of.step) {
            StepTemplate::Builtin(design) => (None, design),
            StepTemplate::Custom { name, fallback } => (Some(name), fallback),
        },
    };
    let chosen = custom_name.and_then(|_| {
        custom_in_locale(
            custom,
            |(locale, _)| locale.as_str(),
            &context.locale,
            experience.default_locale.as_deref(),
        )
    });
    let branding = experience.branding(of.shop_name);
    match (custom_name, chosen) {
        (Some(name), Some((_, template))) => Ok(Preview {
            template: format!("custom:{name}"),
            email: render_custom(template, &branding, &context)?,
        }),
        _ => Ok(Preview {
            template: design.as_str().to_owned(),
            email: render_builtin(
                design,
                &branding,
                experience.copy_for(&context.locale, of.step),
                &context,
            )?,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartback_domain::{CouponRule, StepSettings};

    fn policy_with(template: &str, coupon: Option<CouponRule>) -> RecoveryPolicy {
        RecoveryPolicy {
            step_settings: vec![StepSettings {
                template: Some(template.to_owned()),
                coupon,
            }],
            ..RecoveryPolicy::default()
        }
    }

    fn template(subject: &str) -> CustomTemplate {
        CustomTemplate {
            subject: subject.to_owned(),
            html: "<p>{{ shop_name }}</p><a href=\"{{ recovery_url }}\">x</a><a href=\"{{ unsubscribe_url }}\">y</a>".to_owned(),
            text: "{{ recovery_url }} {{ unsubscribe_url }}".to_owned(),
        }
    }

    #[test]
    fn a_custom_step_renders_its_template_in_the_fitting_locale() {
        let policy = policy_with("custom:spring", None);
        let experience = Experience::default();
        let of = PreviewOf {
            shop_name: "Acme",
            policy: &policy,
            experience: &experience,
            step: 0,
            design: None,
        };
        let custom = vec![
            ("en".to_owned(), template("Hello")),
            ("nl".to_owned(), template("Hallo")),
        ];
        let nl = render_preview(of, preview_context("nl-BE", "https://x.test"), &custom).unwrap();
        assert_eq!(nl.template, "custom:spring");
        assert_eq!(nl.email.subject, "Hallo");
        // No fitting locale and no English: the design renders it.
        let fr = render_preview(of, preview_context("fr", "https://x.test"), &custom[1..]).unwrap();
        assert_eq!(fr.template, "minimal");
    }

    #[test]
    fn the_coupon_shows_and_a_design_asked_for_wins() {
        let policy = policy_with(
            "text_first",
            Some(CouponRule::Generated {
                pattern: "SAVE-{random}".to_owned(),
            }),
        );
        let experience = Experience::default();
        let of = PreviewOf {
            shop_name: "Acme",
            policy: &policy,
            experience: &experience,
            step: 0,
            design: Some(Design::BoldBanner),
        };
        let preview = render_preview(of, preview_context("en", "https://x.test"), &[]).unwrap();
        assert_eq!(preview.template, "bold_banner");
        assert!(
            preview.email.text.contains("SAVE-PREVIEW0"),
            "{}",
            preview.email.text
        );
    }
}
