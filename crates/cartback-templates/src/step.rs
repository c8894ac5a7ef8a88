//! One step's recovery email, rendered the one way the worker sends it and
//! the dashboard previews it.

use cartback_domain::RecoveryPolicy;

use crate::builtin::render_builtin;
use crate::choice::{StepTemplate, custom_in_locale, template_for_step};
use crate::context::{EmailContext, RenderedEmail};
use crate::custom::{CustomTemplate, render_custom};
use crate::error::{Part, TemplateError};
use crate::experience::Experience;

/// A rendered step, and why the tenant's own template did not render it when
/// the step names one and the built-in design stood in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStep {
    pub email: RenderedEmail,
    pub fallback: Option<Fallback>,
}

/// Why the built-in design rendered a step that names the tenant's template
/// (recovery does not stop for a template that cannot be used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// The template exists in no fitting locale.
    Missing { name: String },
    /// The template (its version in `locale`) failed for this email: it
    /// misses a required link (saved before that was checked), or this cart
    /// makes it fail (a loop too long for the work budget, ...).
    Failed {
        name: String,
        locale: String,
        error: TemplateError,
    },
}

/// Renders step `ctx.step` in `ctx.locale`: the template
/// [`template_for_step`] picks, the tenant's own one from `stored` (its
/// versions per locale; `locale_of` and `template_of` read them) in the
/// fitting locale, else the built-in design with the tenant's words for the
/// step, all with the tenant's branding. The built-in design also stands in
/// when the tenant's template fails for this email; an error only when the
/// email cannot be rendered at all (a bad link or value in `ctx`).
pub fn render_step<T>(
    policy: &RecoveryPolicy,
    experience: &Experience,
    shop_name: &str,
    ctx: &EmailContext,
    stored: &[T],
    locale_of: impl Fn(&T) -> &str,
    template_of: impl Fn(&T) -> CustomTemplate,
) -> Result<RenderedStep, TemplateError> {
    let branding = experience.branding(shop_name);
    let builtin = |design| {
        render_builtin(
            design,
            &branding,
            experience.copy_for(&ctx.locale, ctx.step),
            ctx,
        )
    };
    let (name, design) = match template_for_step(policy, experience, ctx.step) {
        StepTemplate::Builtin(design) => {
            return Ok(RenderedStep {
                email: builtin(design)?,
                fallback: None,
            });
        }
        StepTemplate::Custom { name, fallback } => (name, fallback),
    };
    let found = custom_in_locale(
        stored,
        &locale_of,
        &ctx.locale,
        experience.default_locale.as_deref(),
    );
    let Some(found) = found else {
        return Ok(RenderedStep {
            email: builtin(design)?,
            fallback: Some(Fallback::Missing {
                name: name.to_owned(),
            }),
        });
    };
    match render_custom(&template_of(found), &branding, ctx) {
        Ok(email) => Ok(RenderedStep {
            email,
            fallback: None,
        }),
        // The email's own values are bad: no design can render it.
        Err(error) if matches!(error.part, Part::Context | Part::Branding) => Err(error),
        Err(error) => Ok(RenderedStep {
            email: builtin(design)?,
            fallback: Some(Fallback::Failed {
                name: name.to_owned(),
                locale: locale_of(found).to_owned(),
                error,
            }),
        }),
    }
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
                html: "<p>Hi</p><a href=\"{{ recovery_url }}\">Back</a><a href=\"{{ unsubscribe_url }}\">Stop</a>".to_owned(),
                text: "Hi {{ recovery_url }} {{ unsubscribe_url }}".to_owned(),
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
        assert_eq!(rendered.fallback, None);
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
        assert_eq!(
            fallback.fallback,
            Some(Fallback::Missing {
                name: "spring".to_owned()
            })
        );
        assert!(fallback.email.html.contains("<html"));

        // Saved before links were required: the design stands in, and says why.
        let legacy = [Stored {
            locale: "en",
            template: CustomTemplate {
                html: "<p>Hi</p>".to_owned(),
                ..stored[0].template.clone()
            },
        }];
        let rendered = render_step(
            &policy,
            &experience,
            "Shop",
            &ctx,
            &legacy,
            |s| s.locale,
            |s| s.template.clone(),
        )
        .unwrap();
        match rendered.fallback {
            Some(Fallback::Failed {
                name,
                locale,
                error,
            }) => {
                assert_eq!((name.as_str(), locale.as_str()), ("spring", "en"));
                assert_eq!(
                    (error.part, error.kind),
                    (Part::Html, crate::ErrorKind::MissingLink)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            rendered.email.html.contains("unsubscribe"),
            "the design's own link"
        );
        assert!(!rendered.email.subject.starts_with("Spring"));

        // A bad link in the email itself is an error whatever the template.
        let mut bad = ctx.clone();
        bad.recovery_url = "javascript:x".to_owned();
        let error = render_step(
            &policy,
            &experience,
            "Shop",
            &bad,
            &stored,
            |s| s.locale,
            |s| s.template.clone(),
        )
        .unwrap_err();
        assert_eq!(error.part, Part::Context);
    }
}
