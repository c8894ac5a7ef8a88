//! One step's recovery email, rendered the one way the worker sends it and
//! the dashboard previews it.

use cartback_domain::RecoveryPolicy;

use crate::builtin::render_builtin;
use crate::choice::{StepTemplate, custom_in_locale, template_for_step};
use crate::context::{EmailContext, RenderedEmail};
use crate::custom::{CustomTemplate, render_custom};
use crate::experience::Experience;

/// A rendered step, and the tenant's template it could not use (the step names
/// one that exists in no fitting locale, so the built-in design stood in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStep {
    pub email: RenderedEmail,
    pub missing_template: Option<String>,
}

/// Renders step `ctx.step` in `ctx.locale`: the template
/// [`template_for_step`] picks, the tenant's own one from `stored` (its
/// versions per locale; `locale_of` and `template_of` read them) in the
/// fitting locale, else the built-in design with the tenant's words for the
/// step, all with the tenant's branding.
pub fn render_step<T>(
    policy: &RecoveryPolicy,
    experience: &Experience,
    shop_name: &str,
    ctx: &EmailContext,
    stored: &[T],
    locale_of: impl Fn(&T) -> &str,
    template_of: impl Fn(&T) -> CustomTemplate,
) -> Result<RenderedStep, crate::TemplateError> {
    let branding = experience.branding(shop_name);
    let (custom, design, missing_template) = match template_for_step(policy, experience, ctx.step) {
        StepTemplate::Builtin(design) => (None, design, None),
        StepTemplate::Custom { name, fallback } => {
            let found = custom_in_locale(
                stored,
                &locale_of,
                &ctx.locale,
                experience.default_locale.as_deref(),
            );
            let missing = found.is_none().then(|| name.to_owned());
            (found.map(&template_of), fallback, missing)
        }
    };
    let email = match &custom {
        Some(template) => render_custom(template, &branding, ctx)?,
        None => render_builtin(
            design,
            &branding,
            experience.copy_for(&ctx.locale, ctx.step),
            ctx,
        )?,
    };
    Ok(RenderedStep {
        email,
        missing_template,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::sample_context;

    struct Stored {
        locale: &'static str,
        template: CustomTemplate,
    }

    #[test]
    fn a_step_renders_the_tenants_template_in_the_fitting_locale_or_falls_back() {
        let policy = RecoveryPolicy {
            step_settings: vec![cartback_domain::StepSettings {
                template: Some("custom:spring".to_owned()),
                ..Default::default()
            }],
            ..RecoveryPolicy::default()
        };
        let experience = Experience::default();
        let stored = [Stored {
            locale: "en",
            template: CustomTemplate {
                subject: "Spring for {{ shop_name }}".to_owned(),
                html: "<p>Hi</p>".to_owned(),
                text: "Hi".to_owned(),
            },
        }];
        let ctx = sample_context("en");
        let rendered = render_step(
            &policy,
            &experience,
            "Shop",
            &ctx,
            &stored,
            |s| s.locale,
            |s| s.template.clone(),
        )
        .unwrap();
        assert_eq!(rendered.missing_template, None);
        assert!(
            rendered.email.subject.starts_with("Spring"),
            "{}",
            rendered.email.subject
        );
        let none: [Stored; 0] = [];
        let fallback = render_step(
            &policy,
            &experience,
            "Shop",
            &ctx,
            &none,
            |s| s.locale,
            |s| s.template.clone(),
        )
        .unwrap();
        assert_eq!(fallback.missing_template.as_deref(), Some("spring"));
        assert!(fallback.email.html.contains("<html"));
    }
}
