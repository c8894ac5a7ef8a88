//! Fixed inputs shared by the integration tests: nothing random, nothing dated.

use cartback_domain::{CartItem, Currency};
use cartback_templates::{Branding, Coupon, EmailContext};

pub const RECOVERY_URL: &str = "https://acme.test/cart/recover?token=tok_123&utm_source=email";
pub const RECOVERY_URL_ESCAPED: &str =
    "https://acme.test/cart/recover?token=tok_123&amp;utm_source=email";
pub const UNSUBSCRIBE_URL: &str = "https://acme.test/unsubscribe?token=tok_123";
pub const COUPON_CODE: &str = "WELCOME10";

pub fn branding() -> Branding {
    let mut branding = Branding::new("Acme Outfitters");
    branding.logo_url = Some("https://cdn.acme.test/logo.png".to_owned());
    branding.brand_color = "#0f766e".parse().unwrap();
    branding.sender_name = Some("Maria from Acme".to_owned());
    branding.footer_address = Some("12 Harbour Road\nBristol BS1 4RN".to_owned());
    branding
}

fn item(id: &str, name: &str, unit: i64, quantity: u32, image: bool) -> CartItem {
    CartItem {
        id: id.to_owned(),
        name: name.to_owned(),
        unit_price_minor: unit,
        quantity,
        image_url: image.then(|| format!("https://cdn.acme.test/img/{id}.jpg")),
        url: Some(format!("https://acme.test/products/{id}")),
        variant_id: None,
    }
}

/// Three lines (one without a picture), a coupon and a payment link.
pub fn context(locale: &str, currency: &str) -> EmailContext {
    let items = vec![
        item("linen-shirt", "Linen shirt", 4500, 2, true),
        item("trail-boots", "Trail boots", 129_900, 1, true),
        item("wool-socks", "Wool socks (3 pairs)", 1950, 1, false),
    ];
    let total_minor = items
        .iter()
        .map(|i| i.unit_price_minor * i64::from(i.quantity))
        .sum();
    EmailContext {
        locale: locale.to_owned(),
        default_locale: None,
        step: 0,
        customer_name: Some("Sam".to_owned()),
        items,
        currency: Currency::parse(currency).unwrap(),
        total_minor,
        recovery_url: RECOVERY_URL.to_owned(),
        unsubscribe_url: UNSUBSCRIBE_URL.to_owned(),
        coupon: Some(Coupon {
            code: COUPON_CODE.to_owned(),
            description: Some("10% off your first order".to_owned()),
        }),
        payment_link: Some("https://pay.acme.test/c/tok_123".to_owned()),
    }
}
