//! What one email is about: the shopper, the cart and the links.

use cartback_domain::{CartItem, Currency};
use serde::{Deserialize, Serialize};

use crate::copy;
use crate::locale::LanguageTag;

/// A discount code offered in the email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coupon {
    pub code: String,
    /// What the code gives, in the merchant's words ("10% off your order").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Everything about one recovery email that is not the tenant's branding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailContext {
    /// The shopper's locale, a BCP 47 tag such as `nl-NL` (`_` accepted). It
    /// picks the built-in copy and the money format.
    pub locale: String,
    /// The tenant's default locale, used for the built-in copy when the
    /// shopper's language has none (then English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
    /// Index of this email in the policy's steps (0 for the first); custom
    /// templates and every answer show it counted from 1 (`step` + 1).
    #[serde(default)]
    pub step: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    pub items: Vec<CartItem>,
    pub currency: Currency,
    /// The cart total in minor units, as the shop computed it (it may include
    /// discounts or shipping the lines do not show).
    pub total_minor: i64,
    /// Where the button goes: an absolute http(s) URL.
    pub recovery_url: String,
    /// An absolute http(s) URL or a `mailto:` address.
    pub unsubscribe_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<Coupon>,
    /// A direct payment link, shown as a second, quieter call to action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_link: Option<String>,
}

/// A finished email, ready for a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

struct SampleNames {
    shirt: &'static str,
    mug: &'static str,
    tote: &'static str,
    coupon: &'static str,
}

fn sample_names(language: &str) -> SampleNames {
    match language {
        "de" => SampleNames {
            shirt: "Leinenhemd, Sand",
            mug: "Keramikbecher",
            tote: "Canvas-Tasche",
            coupon: "10 % Rabatt auf deine Bestellung",
        },
        "fr" => SampleNames {
            shirt: "Chemise en lin, sable",
            mug: "Mug en céramique",
            tote: "Sac cabas en toile",
            coupon: "10\u{a0}% de réduction sur votre commande",
        },
        "es" => SampleNames {
            shirt: "Camisa de lino, arena",
            mug: "Taza de cerámica",
            tote: "Bolsa de lona",
            coupon: "10 % de descuento en tu pedido",
        },
        "nl" => SampleNames {
            shirt: "Linnen overhemd, zand",
            mug: "Keramische mok",
            tote: "Canvas tas",
            coupon: "10% korting op je bestelling",
        },
        _ => SampleNames {
            shirt: "Linen shirt, sand",
            mug: "Ceramic mug",
            tote: "Canvas tote bag",
            coupon: "10% off your order",
        },
    }
}

fn sample_currency(tag: &LanguageTag) -> Currency {
    let code = match (tag.language.as_str(), tag.region.as_deref()) {
        (_, Some("GB")) => "GBP",
        (_, Some("CH")) => "CHF",
        ("ja", _) => "JPY",
        ("en", _) | (_, Some("US")) => "USD",
        _ => "EUR",
    };
    Currency::parse(code).unwrap_or(Currency::EUR)
}

/// A realistic, fixed context for previews and template validation: three items
/// named in the locale's language, a coupon, a shopper called Alex, and a
/// currency that fits the locale (USD for en, GBP for en-GB, JPY for ja, EUR
/// otherwise). Items have no images, so previews never show broken pictures.
///
/// ```
/// let ctx = cartback_templates::sample_context("de-DE");
/// assert_eq!(ctx.currency.code(), "EUR");
/// assert_eq!(ctx.items.len(), 3);
/// ```
pub fn sample_context(locale: &str) -> EmailContext {
    let tag = LanguageTag::parse(locale);
    let language = copy::for_locale(locale, "en").tag;
    let names = sample_names(language);
    let currency = sample_currency(&tag);
    // Whole units for zero-decimal currencies, cents-like prices otherwise.
    let scale = if currency.exponent() == 0 {
        1
    } else {
        10_i64.pow(currency.exponent()) / 100
    };
    let price = |minor: i64| {
        if currency.exponent() == 0 {
            minor * 2
        } else {
            minor * scale
        }
    };
    let item = |id: &str, name: &str, unit: i64, quantity: u32| CartItem {
        id: id.to_owned(),
        name: name.to_owned(),
        unit_price_minor: price(unit),
        quantity,
        image_url: None,
        url: Some(format!("https://shop.example/products/{id}")),
        variant_id: None,
    };
    let items = vec![
        item("linen-shirt", names.shirt, 4500, 2),
        item("ceramic-mug", names.mug, 1800, 1),
        item("canvas-tote", names.tote, 2450, 1),
    ];
    let total_minor = items
        .iter()
        .map(|i| i.unit_price_minor * i64::from(i.quantity))
        .sum();
    EmailContext {
        locale: locale.to_owned(),
        default_locale: None,
        step: 0,
        customer_name: Some("Alex".to_owned()),
        items,
        currency,
        total_minor,
        recovery_url: "https://shop.example/cart/recover?token=sample".to_owned(),
        unsubscribe_url: "https://shop.example/unsubscribe?token=sample".to_owned(),
        coupon: Some(Coupon {
            code: "COMEBACK10".to_owned(),
            description: Some(names.coupon.to_owned()),
        }),
        payment_link: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_fit_the_locale() {
        assert_eq!(sample_context("en-US").currency.code(), "USD");
        assert_eq!(sample_context("en-GB").currency.code(), "GBP");
        assert_eq!(sample_context("nl-NL").currency.code(), "EUR");
        assert_eq!(sample_context("nl-NL").items[1].name, "Keramische mok");
        let jpy = sample_context("ja-JP");
        assert_eq!(jpy.currency.code(), "JPY");
        assert_eq!(jpy.items[0].unit_price_minor, 9000);
        let en = sample_context("en");
        assert_eq!(en.total_minor, 4500 * 2 + 1800 + 2450);
    }

    #[test]
    fn json_is_camel_case() {
        let ctx = sample_context("en");
        let json = serde_json::to_value(&ctx).unwrap();
        assert_eq!(
            json["recoveryUrl"],
            "https://shop.example/cart/recover?token=sample"
        );
        assert_eq!(json["totalMinor"], 13250);
        assert_eq!(json["currency"], "USD");
        assert_eq!(json["items"][0]["unitPriceMinor"], 4500);
        let back: EmailContext = serde_json::from_value(json).unwrap();
        assert_eq!(back, ctx);
    }
}
