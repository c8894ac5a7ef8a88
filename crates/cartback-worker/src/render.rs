//! The recovery email of one send: the tenant's design, branding and words
//! (cartback-templates) in the cart's language, with the send's own click-tracked
//! recovery link and one-click unsubscribe link (RFC 8058 headers).

use std::collections::BTreeSet;
use std::sync::Mutex;

use cartback_domain::Currency;
use cartback_domain::{RecoveryPolicy, VariantCopy};
use cartback_email::{EmailError, EmailMessage, Mailbox};
use cartback_store::carts::CartRow;
use cartback_store::links::{LinkPurpose, coupon_seed, link_token};
use cartback_store::sends::SendRow;
use cartback_store::templates::TemplateRow;
use cartback_store::tenants::Tenant;
use cartback_templates::{
    Coupon, CustomTemplate, EmailContext, Experience, Fallback, StepCopy, render_step,
};

/// The fallbacks this process has already warned about, by tenant, template,
/// locale and version: a broken template warns once, not on every send.
static WARNED_FALLBACKS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
/// Past this many remembered fallbacks the memory starts over (a warning may
/// then repeat once), so a process never grows without bound.
const MAX_WARNED_FALLBACKS: usize = 10_000;

/// Logs a WARN about `fallback` the first time this process meets it for this
/// version of the template (`custom`: the rows the step's template has).
fn warn_fallback_once(tenant: &Tenant, fallback: &Fallback, custom: &[TemplateRow], locale: &str) {
    let key = match fallback {
        Fallback::Missing { name } => format!("{}\0{name}\0missing\0{locale}", tenant.id),
        Fallback::Failed { name, locale, .. } => {
            let version = custom
                .iter()
                .find(|row| &row.name == name && &row.locale == locale)
                .map(|row| row.updated_at.and_utc().timestamp_micros())
                .unwrap_or_default();
            format!("{}\0{name}\0{locale}\0{version}", tenant.id)
        }
    };
    let first = match WARNED_FALLBACKS.lock() {
        Ok(mut warned) => {
            if warned.len() >= MAX_WARNED_FALLBACKS {
                warned.clear();
            }
            warned.insert(key)
        }
        // A panic elsewhere while holding the lock: warn rather than stay silent.
        Err(_) => true,
    };
    if !first {
        return;
    }
    match fallback {
        Fallback::Missing { name } => tracing::warn!(
            tenant = %tenant.id,
            template = %name,
            %locale,
            "no such custom template in a fitting locale; using the built-in design (said once per template and locale)"
        ),
        Fallback::Failed {
            name,
            locale,
            error,
        } => tracing::warn!(
            tenant = %tenant.id,
            template = %name,
            %locale,
            %error,
            "the custom template cannot render this email; using the built-in design (said once per template version)"
        ),
    }
}

/// The tenant's stored look and words; unreadable settings fall back to the
/// built-in ones rather than stop recovery (the api validates them on save).
pub fn experience_of(tenant: &Tenant) -> Experience {
    serde_json::from_str(&tenant.experience).unwrap_or_else(|error| {
        tracing::warn!(tenant = %tenant.id, %error, "stored email settings unreadable; using the built-in design");
        Experience::default()
    })
}

/// The coupon code `step` of `cart` offers, if the policy gives that step one:
/// a static code, or one generated for the cart cycle (stable across steps and
/// retries).
pub fn coupon_code(
    tenant: &Tenant,
    policy: &RecoveryPolicy,
    cart: &CartRow,
    step: u32,
) -> Option<String> {
    let rule = policy.settings_for(step).coupon.as_ref()?;
    Some(rule.code_for(&coupon_seed(&tenant.link_secret, &cart.id, cart.cycle)))
}

/// The experience with `words` (an A/B variant's) in place of the shop's own
/// for `step` in `locale`: the variant's words win in whatever language the
/// email is in; what it leaves out stays the shop's.
fn with_variant_words(
    mut experience: Experience,
    locale: &str,
    step: u32,
    words: &VariantCopy,
) -> Experience {
    let steps: Vec<StepCopy> = (0..=step)
        .map(|i| {
            let mut copy = experience.copy_for(locale, i).cloned().unwrap_or_default();
            if i == step {
                let pick = |ours: &Option<String>, theirs: Option<String>| ours.clone().or(theirs);
                copy = StepCopy {
                    subject: pick(&words.subject, copy.subject),
                    preheader: pick(&words.preheader, copy.preheader),
                    headline: pick(&words.headline, copy.headline),
                    body: pick(&words.body, copy.body),
                    button_text: pick(&words.button_text, copy.button_text),
                };
            }
            copy
        })
        .collect();
    experience.copy.insert(locale.to_owned(), steps);
    experience
}

/// What an email offers beyond the cart and the shop's settings: a coupon
/// code, a direct payment link, and for a cart in an A/B group its variant's
/// words for the step.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offer<'a> {
    pub coupon: Option<&'a str>,
    pub payment_link: Option<&'a str>,
    pub words: Option<&'a VariantCopy>,
}

/// Builds the email for `send` of `cart` with its `offer`; `public_url` is
/// where the api answers the links.
pub fn render_recovery_email(
    tenant: &Tenant,
    policy: &RecoveryPolicy,
    cart: &CartRow,
    send: &SendRow,
    offer: Offer<'_>,
    custom: &[TemplateRow],
    public_url: &str,
) -> Result<EmailMessage, EmailError> {
    let Some(email) = cart.customer_email.clone() else {
        return Err(EmailError::InvalidMessage(
            "the cart has no email address".to_owned(),
        ));
    };
    let currency = Currency::parse(&cart.currency)
        .map_err(|e| EmailError::InvalidMessage(format!("cart currency: {e}")))?;
    let items = cart.items.clone();
    let base = public_url.trim_end_matches('/');
    let recovery_url = format!(
        "{base}/r/{}",
        link_token(&tenant.link_secret, LinkPurpose::Recover, &send.id)
    );
    let unsubscribe_url = format!(
        "{base}/u/{}",
        link_token(&tenant.link_secret, LinkPurpose::Unsubscribe, &send.id)
    );
    let experience = experience_of(tenant);
    let default_locale = experience.default_locale.clone();
    let locale = cart
        .locale
        .clone()
        .or_else(|| default_locale.clone())
        .unwrap_or_else(|| "en".to_owned());
    let step = u32::try_from(send.step).unwrap_or(0);
    let experience = match offer.words {
        Some(words) => with_variant_words(experience, &locale, step, words),
        None => experience,
    };
    let context = EmailContext {
        locale: locale.clone(),
        default_locale,
        step,
        customer_name: cart.customer_name.clone(),
        items,
        currency,
        total_minor: cart.total_minor,
        recovery_url,
        unsubscribe_url: unsubscribe_url.clone(),
        coupon: offer.coupon.map(|code| Coupon {
            code: code.to_owned(),
            description: None,
        }),
        payment_link: offer.payment_link.map(str::to_owned),
    };
    let rendered = render_step(
        policy,
        &experience,
        &tenant.name,
        &context,
        custom,
        |t| t.locale.as_str(),
        |t| CustomTemplate {
            subject: t.subject.clone(),
            html: t.html.clone(),
            text: t.text.clone(),
        },
    )
    .map_err(|e| EmailError::InvalidMessage(format!("rendering the email: {e}")))?;
    if let Some(fallback) = &rendered.fallback {
        warn_fallback_once(tenant, fallback, custom, &locale);
    }
    let rendered = rendered.email;
    Ok(EmailMessage {
        from: Mailbox {
            name: experience
                .sender_name
                .clone()
                .or_else(|| tenant.from_name.clone())
                .or_else(|| Some(tenant.name.clone())),
            email: tenant.from_email.clone(),
        },
        to: Mailbox {
            name: cart.customer_name.clone(),
            email,
        },
        reply_to: tenant
            .reply_to
            .clone()
            .map(|email| Mailbox { name: None, email }),
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        // RFC 8058: mailbox providers show an unsubscribe button that POSTs here.
        headers: vec![
            (
                "List-Unsubscribe".to_owned(),
                format!("<{unsubscribe_url}>"),
            ),
            (
                "List-Unsubscribe-Post".to_owned(),
                "List-Unsubscribe=One-Click".to_owned(),
            ),
        ],
        idempotency_key: send.idempotency_key.clone(),
        tags: vec![
            "cart-recovery".to_owned(),
            format!("step-{}", send.step + 1),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_words_win_in_the_emails_language_and_keep_the_rest() {
        let experience: Experience = serde_json::from_str(
            r#"{"copy":{"nl":[{"subject":"Je mandje","headline":"Nog even kijken?"}]}}"#,
        )
        .unwrap();
        let words = VariantCopy {
            subject: Some("Nog twijfels?".into()),
            ..VariantCopy::default()
        };
        let changed = with_variant_words(experience.clone(), "nl-BE", 0, &words);
        let copy = changed.copy_for("nl-BE", 0).unwrap();
        assert_eq!(copy.subject.as_deref(), Some("Nog twijfels?"));
        assert_eq!(copy.headline.as_deref(), Some("Nog even kijken?"));
        // Another step, or another language, keeps the shop's words.
        let later = with_variant_words(experience.clone(), "de", 1, &words);
        assert_eq!(
            later.copy_for("de", 1).unwrap().subject.as_deref(),
            Some("Nog twijfels?")
        );
        assert_eq!(later.copy_for("nl", 0), experience.copy_for("nl", 0));
    }
}
