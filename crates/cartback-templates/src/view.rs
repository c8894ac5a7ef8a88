//! One email worked out: the words picked, placeholders filled, prices
//! formatted and links checked. Designs, the plain-text part and custom
//! templates all read from it, so they can never disagree.

use cartback_domain::{MAX_ITEMS_PER_CART, Money};

use crate::branding::{BrandColor, Branding, StepCopy};
use crate::context::EmailContext;
use crate::copy::{self, Copy, fill};
use crate::error::{Part, TemplateError};
use crate::money::format_money;
use crate::url::{is_unsubscribe_url, is_web_url};

const MAX_CUSTOMER_NAME_CHARS: usize = 100;
const MAX_COUPON_CODE_CHARS: usize = 64;
const MAX_COPY_CHARS: usize = 5_000;
/// Lines shown in a built-in design; a longer cart ends with "…and more in
/// your cart (12)", so the email stays under Gmail's clipping size.
pub(crate) const MAX_SHOWN_ITEMS: usize = 8;

pub(crate) struct ItemView {
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    pub line_total: String,
    pub unit_price_minor: i64,
    pub line_total_minor: i64,
    /// Only http(s) URLs; anything else is dropped.
    pub image_url: Option<String>,
    pub url: Option<String>,
}

pub(crate) struct CouponView {
    pub code: String,
    pub description: Option<String>,
    /// The coupon sentence around the code: "Use code " + code + " at checkout".
    pub before: String,
    pub after: String,
}

impl CouponView {
    pub fn sentence(&self) -> String {
        format!("{}{}{}", self.before, self.code, self.after)
    }
}

/// The fixed words of an email, with placeholders filled.
pub(crate) struct Labels {
    pub colon: &'static str,
    pub your_cart: &'static str,
    pub total: &'static str,
    pub quantity: &'static str,
    pub coupon_title: &'static str,
    pub pay_lead: &'static str,
    pub pay_button: &'static str,
    pub link_fallback: &'static str,
    pub unsubscribe_lead: &'static str,
    pub unsubscribe_link: &'static str,
    pub reason: String,
    pub signoff: &'static str,
    /// "…and more in your cart ({count})", unfilled.
    more_items: &'static str,
}

pub(crate) struct View {
    pub lang: String,
    pub locale: String,
    pub step: u32,
    pub subject: String,
    pub preheader: String,
    pub headline: String,
    pub paragraphs: Vec<String>,
    pub button: String,
    pub greeting: String,
    pub customer_name: Option<String>,
    pub items: Vec<ItemView>,
    pub total: String,
    pub total_minor: i64,
    pub currency: &'static str,
    pub coupon: Option<CouponView>,
    pub recovery_url: String,
    pub unsubscribe_url: String,
    pub payment_link: Option<String>,
    pub shop_name: String,
    pub logo_url: Option<String>,
    pub brand: BrandColor,
    /// Who signs: the sender name, else "The {shop} team".
    pub sender: String,
    pub footer_address: Option<String>,
    pub labels: Labels,
}

fn context_error(message: impl Into<String>) -> TemplateError {
    TemplateError::invalid(Part::Context, message)
}

/// `text` trimmed, or `None` when that leaves nothing.
fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// One line: runs of whitespace (line breaks included) become one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Paragraphs split on blank lines; single line breaks are kept inside.
fn paragraphs(text: &str) -> Vec<String> {
    let normalized = text.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join("\n"))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn check_copy(field: &str, text: Option<&String>) -> Result<(), TemplateError> {
    if let Some(text) = text
        && text.chars().count() > MAX_COPY_CHARS
    {
        return Err(TemplateError::invalid(
            Part::Context,
            format!("copy {field} must be at most {MAX_COPY_CHARS} characters"),
        ));
    }
    Ok(())
}

impl View {
    /// The lines a built-in design shows.
    pub fn shown_items(&self) -> &[ItemView] {
        &self.items[..self.items.len().min(MAX_SHOWN_ITEMS)]
    }

    /// "…and more in your cart (3)" when some lines are not shown.
    pub fn more_items(&self) -> Option<String> {
        let hidden = self.items.len().saturating_sub(MAX_SHOWN_ITEMS);
        (hidden > 0).then(|| fill(self.labels.more_items, &[("count", &hidden.to_string())]))
    }

    pub fn build(
        branding: &Branding,
        overrides: Option<&StepCopy>,
        ctx: &EmailContext,
    ) -> Result<View, TemplateError> {
        branding.validate()?;
        let built_in: &Copy =
            copy::for_locale(&ctx.locale, ctx.default_locale.as_deref().unwrap_or("en"));
        let step_text = built_in.step(ctx.step);
        let shop_name = one_line(&branding.shop_name);
        let shop = [("shop", shop_name.as_str())];

        if !is_web_url(&ctx.recovery_url) {
            return Err(context_error("recoveryUrl must be an absolute http(s) URL"));
        }
        if !is_unsubscribe_url(&ctx.unsubscribe_url) {
            return Err(context_error(
                "unsubscribeUrl must be an absolute http(s) URL or a mailto: address",
            ));
        }
        if let Some(link) = &ctx.payment_link
            && !is_web_url(link)
        {
            return Err(context_error("paymentLink must be an absolute http(s) URL"));
        }
        if ctx.items.len() > MAX_ITEMS_PER_CART {
            return Err(context_error(format!(
                "a cart has at most {MAX_ITEMS_PER_CART} items"
            )));
        }
        if let Some(overrides) = overrides {
            check_copy("subject", overrides.subject.as_ref())?;
            check_copy("preheader", overrides.preheader.as_ref())?;
            check_copy("headline", overrides.headline.as_ref())?;
            check_copy("body", overrides.body.as_ref())?;
            check_copy("buttonText", overrides.button_text.as_ref())?;
        }

        let pick = |custom: Option<&String>, fallback: &str| {
            fill(
                non_blank(custom.map(String::as_str)).unwrap_or(fallback),
                &shop,
            )
        };
        let over = |f: fn(&StepCopy) -> Option<&String>| overrides.and_then(f);
        let subject = one_line(&pick(over(|c| c.subject.as_ref()), step_text.subject));
        let preheader = one_line(&pick(over(|c| c.preheader.as_ref()), step_text.preheader));
        let headline = one_line(&pick(over(|c| c.headline.as_ref()), step_text.headline));
        let body = pick(over(|c| c.body.as_ref()), step_text.body);
        let button_default = non_blank(branding.button_text.as_deref()).unwrap_or(step_text.button);
        let button = one_line(&pick(over(|c| c.button_text.as_ref()), button_default));

        let customer_name = non_blank(ctx.customer_name.as_deref())
            .map(one_line)
            .map(|name| {
                name.chars()
                    .take(MAX_CUSTOMER_NAME_CHARS)
                    .collect::<String>()
            });
        let greeting = match &customer_name {
            Some(name) => fill(built_in.greeting_named, &[("name", name)]),
            None => built_in.greeting.to_owned(),
        };

        let money = |minor: i64| format_money(Money::from_minor(minor, ctx.currency), &ctx.locale);
        let items = ctx
            .items
            .iter()
            .map(|item| {
                let line = item
                    .line_total(ctx.currency)
                    .map_err(|e| context_error(format!("item {:?}: {e}", item.id)))?;
                Ok(ItemView {
                    name: one_line(&item.name),
                    quantity: item.quantity,
                    unit_price: money(item.unit_price_minor),
                    line_total: money(line.minor()),
                    unit_price_minor: item.unit_price_minor,
                    line_total_minor: line.minor(),
                    image_url: item.image_url.clone().filter(|u| is_web_url(u)),
                    url: item.url.clone().filter(|u| is_web_url(u)),
                })
            })
            .collect::<Result<Vec<_>, TemplateError>>()?;

        let coupon = match &ctx.coupon {
            None => None,
            Some(coupon) => {
                let code = one_line(&coupon.code);
                if code.is_empty() || code.chars().count() > MAX_COUPON_CODE_CHARS {
                    return Err(context_error(format!(
                        "coupon code must be 1 to {MAX_COUPON_CODE_CHARS} characters"
                    )));
                }
                let (before, after) = built_in
                    .coupon_line
                    .split_once("{code}")
                    .unwrap_or((built_in.coupon_line, ""));
                Some(CouponView {
                    code,
                    description: non_blank(coupon.description.as_deref()).map(one_line),
                    before: before.to_owned(),
                    after: after.to_owned(),
                })
            }
        };

        let sender = match non_blank(branding.sender_name.as_deref()) {
            Some(name) => one_line(name),
            None => fill(built_in.team, &shop),
        };

        Ok(View {
            lang: copy::html_lang(&ctx.locale, built_in),
            locale: ctx.locale.clone(),
            step: ctx.step,
            subject,
            preheader,
            headline,
            paragraphs: paragraphs(&body),
            button,
            greeting,
            customer_name,
            items,
            total: money(ctx.total_minor),
            total_minor: ctx.total_minor,
            currency: ctx.currency.code(),
            coupon,
            recovery_url: ctx.recovery_url.clone(),
            unsubscribe_url: ctx.unsubscribe_url.clone(),
            payment_link: ctx.payment_link.clone(),
            logo_url: branding.logo_url.clone(),
            brand: branding.brand_color.clone(),
            sender,
            footer_address: non_blank(branding.footer_address.as_deref()).map(|a| {
                a.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            labels: Labels {
                colon: built_in.colon,
                your_cart: built_in.your_cart,
                total: built_in.total,
                quantity: built_in.quantity,
                coupon_title: built_in.coupon_title,
                pay_lead: built_in.pay_lead,
                pay_button: built_in.pay_button,
                link_fallback: built_in.link_fallback,
                unsubscribe_lead: built_in.unsubscribe_lead,
                unsubscribe_link: built_in.unsubscribe_link,
                reason: fill(built_in.reason, &shop),
                signoff: built_in.signoff,
                more_items: built_in.more_items,
            },
            shop_name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::sample_context;

    #[test]
    fn overrides_win_and_blank_overrides_do_not() {
        let mut branding = Branding::new("Acme");
        branding.button_text = Some("Back to Acme".into());
        let ctx = sample_context("en");
        let view = View::build(&branding, None, &ctx).unwrap();
        assert_eq!(view.subject, "You left something in your cart at Acme");
        assert_eq!(view.button, "Back to Acme");
        let copy = StepCopy {
            subject: Some("  {shop}:\nyour\tcart ".into()),
            body: Some("First.\n\n\n Second line\r\nthird line ".into()),
            button_text: Some("Go".into()),
            headline: Some("   ".into()),
            ..StepCopy::default()
        };
        let view = View::build(&branding, Some(&copy), &ctx).unwrap();
        assert_eq!(view.subject, "Acme: your cart");
        assert_eq!(view.paragraphs, vec!["First.", "Second line\nthird line"]);
        assert_eq!(view.button, "Go");
        assert_eq!(view.headline, "Your cart is waiting");
    }

    #[test]
    fn steps_and_greeting() {
        let branding = Branding::new("Acme");
        let mut ctx = sample_context("de-DE");
        ctx.step = 9;
        ctx.customer_name = Some("  Jörg ".into());
        let view = View::build(&branding, None, &ctx).unwrap();
        assert!(
            view.subject.starts_with("Letzte Erinnerung"),
            "{}",
            view.subject
        );
        assert_eq!(view.greeting, "Hallo Jörg,");
        ctx.customer_name = Some(" ".into());
        assert_eq!(
            View::build(&branding, None, &ctx).unwrap().greeting,
            "Hallo,"
        );
    }

    #[test]
    fn tenant_default_locale_is_used_for_unknown_languages() {
        let mut ctx = sample_context("pt-BR");
        ctx.default_locale = Some("nl".into());
        let view = View::build(&Branding::new("Acme"), None, &ctx).unwrap();
        assert_eq!(view.labels.total, "Totaal");
        assert_eq!(view.lang, "pt-BR");
    }

    #[test]
    fn bad_links_are_rejected_or_dropped() {
        let branding = Branding::new("Acme");
        let mut ctx = sample_context("en");
        ctx.items[0].image_url = Some("javascript:alert(1)".into());
        ctx.items[1].url = Some("data:text/html,x".into());
        let view = View::build(&branding, None, &ctx).unwrap();
        assert_eq!(view.items[0].image_url, None);
        assert_eq!(view.items[1].url, None);
        ctx.recovery_url = "javascript:alert(1)".into();
        let err = View::build(&branding, None, &ctx).err().unwrap();
        assert_eq!(err.part, Part::Context);
        let mut ctx = sample_context("en");
        ctx.unsubscribe_url = "mailto:leave@shop.example".into();
        assert!(View::build(&branding, None, &ctx).is_ok());
        ctx.payment_link = Some("ftp://x".into());
        assert!(View::build(&branding, None, &ctx).is_err());
    }

    #[test]
    fn overflowing_lines_are_an_error() {
        let mut ctx = sample_context("en");
        ctx.items[0].unit_price_minor = i64::MAX;
        assert!(View::build(&Branding::new("Acme"), None, &ctx).is_err());
    }
}
