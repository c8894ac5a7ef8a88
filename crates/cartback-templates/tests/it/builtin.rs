//! The built-in designs across every language and step, and hostile input.

use crate::common;

use cartback_templates::{
    BUILTIN_LOCALES, Branding, Coupon, Design, ErrorKind, Part, StepCopy, render_builtin,
    sample_context,
};
use common::{COUPON_CODE, RECOVERY_URL, RECOVERY_URL_ESCAPED, UNSUBSCRIBE_URL};

/// `{word}` placeholders of our own copy: braces around lower-case letters and
/// underscores only (CSS blocks always have a space or a colon inside).
fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let word: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !word.is_empty() && after[word.len()..].starts_with('}') {
            found.push(format!("{{{word}}}"));
        }
        rest = after;
    }
    found
}

fn assert_complete(html: &str, text: &str, what: &str, coupon: bool) {
    for leftover in ["{{", "}}", "{%", "%}", "<mj-", "</mj-"] {
        assert!(!html.contains(leftover), "{what}: html has {leftover:?}");
        assert!(!text.contains(leftover), "{what}: text has {leftover:?}");
    }
    assert_eq!(placeholders(html), Vec::<String>::new(), "{what}: html");
    assert_eq!(placeholders(text), Vec::<String>::new(), "{what}: text");
    assert!(
        html.contains(RECOVERY_URL_ESCAPED),
        "{what}: recovery link in html"
    );
    assert!(
        html.contains(UNSUBSCRIBE_URL),
        "{what}: unsubscribe link in html"
    );
    assert!(text.contains(RECOVERY_URL), "{what}: recovery link in text");
    assert!(
        text.contains(UNSUBSCRIBE_URL),
        "{what}: unsubscribe link in text"
    );
    assert_eq!(html.contains(COUPON_CODE), coupon, "{what}: coupon in html");
    assert_eq!(text.contains(COUPON_CODE), coupon, "{what}: coupon in text");
    assert!(html.starts_with("<!doctype html>"), "{what}");
}

#[test]
fn every_design_locale_and_step_renders_completely() {
    let branding = common::branding();
    let mut subjects = std::collections::HashSet::new();
    for design in Design::ALL {
        for locale in BUILTIN_LOCALES {
            for step in 0..=3 {
                let mut ctx = common::context(locale, "EUR");
                ctx.step = step;
                let what = format!("{design} {locale} step {step}");
                let email = render_builtin(design, &branding, None, &ctx).unwrap();
                assert_complete(&email.html, &email.text, &what, true);
                assert!(
                    !email.subject.is_empty() && !email.subject.contains('\n'),
                    "{what}"
                );
                assert!(
                    email.subject.contains("Acme Outfitters"),
                    "{what}: {}",
                    email.subject
                );
                assert!(
                    email.html.contains(&format!("<html lang=\"{locale}\"")),
                    "{what}"
                );
                // The subject is the title (no quotes or ampersands in these).
                assert!(
                    email
                        .html
                        .contains(&format!("<title>{}</title>", email.subject)),
                    "{what}"
                );
                subjects.insert(email.subject);

                // Without the optional parts.
                ctx.coupon = None;
                ctx.payment_link = None;
                ctx.customer_name = None;
                let email =
                    render_builtin(design, &Branding::new("Acme Outfitters"), None, &ctx).unwrap();
                assert_complete(&email.html, &email.text, &format!("{what} (bare)"), false);
                assert!(!email.text.contains("pay.acme.test"), "{what}");
            }
        }
    }
    // Three distinct subjects per language (step 3 reuses step 2).
    assert_eq!(subjects.len(), BUILTIN_LOCALES.len() * 3);
}

#[test]
fn designs_look_different() {
    let branding = common::branding();
    let ctx = common::context("en-US", "USD");
    let html = |design| render_builtin(design, &branding, None, &ctx).unwrap().html;
    // The grid puts two pictures side by side; the list uses thumbnails.
    assert!(html(Design::ProductGrid).contains("mj-column-per-50"));
    assert!(html(Design::BoldBanner).contains("mj-column-per-24"));
    // The banner is painted in the brand colour.
    assert!(html(Design::BoldBanner).contains("background:#0f766e;background-color:#0f766e"));
    // The letter has no button and no pictures; it is mostly text.
    let letter = html(Design::TextFirst);
    assert!(!letter.contains("<img"));
    assert!(!letter.contains("role=\"presentation\" valign=\"middle\""));
    assert!(letter.contains("Maria from Acme"));
    for design in [Design::Minimal, Design::ProductGrid, Design::BoldBanner] {
        assert!(
            html(design).contains("https://cdn.acme.test/logo.png"),
            "{design}"
        );
    }
    let all: std::collections::HashSet<String> = Design::ALL.into_iter().map(html).collect();
    assert_eq!(all.len(), 4);
}

#[test]
fn greeting_uses_the_name_when_known() {
    let mut ctx = common::context("fr-FR", "EUR");
    let email = render_builtin(Design::Minimal, &common::branding(), None, &ctx).unwrap();
    assert!(email.text.starts_with("Bonjour Sam,\n"), "{}", email.text);
    // French puts a no-break space before a colon and groups with U+202F.
    assert!(
        email.text.contains("Total\u{a0}: 1\u{202f}408,50\u{a0}€"),
        "{}",
        email.text
    );
    ctx.customer_name = None;
    let email = render_builtin(Design::Minimal, &common::branding(), None, &ctx).unwrap();
    assert!(email.text.starts_with("Bonjour,\n"), "{}", email.text);
}

#[test]
fn text_part_lists_items_total_coupon_and_footer() {
    let email = render_builtin(
        Design::Minimal,
        &common::branding(),
        None,
        &common::context("de-DE", "EUR"),
    )
    .unwrap();
    let text = email.text;
    assert!(
        text.contains("- Linen shirt\n  Menge: 2 · 90,00\u{a0}€"),
        "{text}"
    );
    assert!(
        text.contains("- Trail boots\n  Menge: 1 · 1.299,00\u{a0}€"),
        "{text}"
    );
    assert!(text.contains("Gesamtsumme: 1.408,50\u{a0}€"), "{text}");
    assert!(
        text.contains("Nutze den Code WELCOME10 an der Kasse"),
        "{text}"
    );
    assert!(
        text.contains("Lieber gleich bezahlen? Jetzt bezahlen:\nhttps://pay.acme.test/c/tok_123"),
        "{text}"
    );
    assert!(
        text.contains("Abmelden: https://acme.test/unsubscribe?token=tok_123"),
        "{text}"
    );
    assert!(
        text.contains("Du erhältst diese E-Mail, weil du bei Acme Outfitters Artikel"),
        "{text}"
    );
    assert!(
        text.ends_with("12 Harbour Road\nBristol BS1 4RN\n"),
        "{text}"
    );
    assert!(!text.contains('<'), "{text}");
}

#[test]
fn merchant_copy_overrides_the_built_in_words() {
    let copy = StepCopy {
        subject: Some("{shop} saved your basket".into()),
        preheader: Some("Your picks are waiting".into()),
        headline: Some("Forgot something?".into()),
        body: Some("Paragraph one.\n\nParagraph two.".into()),
        button_text: Some("Take me back".into()),
    };
    for design in Design::ALL {
        let email = render_builtin(
            design,
            &common::branding(),
            Some(&copy),
            &common::context("en", "USD"),
        )
        .unwrap();
        assert_eq!(email.subject, "Acme Outfitters saved your basket");
        assert!(email.html.contains("Your picks are waiting"), "{design}");
        assert!(email.html.contains("Paragraph one.") && email.html.contains("Paragraph two."));
        assert!(email.html.contains("Take me back"), "{design}");
        if design != Design::TextFirst {
            assert!(email.html.contains("Forgot something?"), "{design}");
        }
        assert!(!email.html.contains("Return to your cart"), "{design}");
    }
}

const HOSTILE: [&str; 6] = [
    "<mj-raw><script>alert(1)</script></mj-raw>",
    "</mj-text></mj-column></mj-section><mj-section><mj-column><mj-text>pwned",
    "\"><script>alert(2)</script>",
    "' onmouseover='alert(3)",
    "<img src=x onerror=alert(4)>",
    "{{ recovery_url }} {% if x %} {shop} &amp; <!-- -->",
];

#[test]
fn hostile_values_are_escaped_everywhere() {
    let benign = render_builtin(
        Design::ProductGrid,
        &common::branding(),
        None,
        &common::context("en", "USD"),
    )
    .unwrap();
    for hostile in HOSTILE {
        let mut branding = common::branding();
        branding.shop_name = format!("Shop {hostile}");
        branding.sender_name = Some(hostile.to_owned());
        branding.footer_address = Some(format!("Street\n{hostile}"));
        branding.button_text = Some(hostile.to_owned());
        let mut ctx = common::context("en", "USD");
        ctx.customer_name = Some(hostile.to_owned());
        for item in &mut ctx.items {
            item.name = hostile.to_owned();
        }
        ctx.coupon = Some(Coupon {
            // Codes are at most 64 characters.
            code: hostile.chars().take(64).collect(),
            description: Some(hostile.to_owned()),
        });
        let copy = StepCopy {
            preheader: Some(hostile.to_owned()),
            headline: Some(hostile.to_owned()),
            body: Some(hostile.to_owned()),
            ..StepCopy::default()
        };
        for design in Design::ALL {
            let email = render_builtin(design, &branding, Some(&copy), &ctx).unwrap();
            let html = &email.html;
            let what = format!("{design}: {hostile}");
            for bad in ["<script", "<mj-", "</mj-", "<img src=x", "onmouseover='"] {
                assert!(!html.contains(bad), "{what}: found {bad:?}");
            }
            assert!(
                !html.contains("pwned</div>") || html.contains("&lt;mj-text&gt;pwned"),
                "{what}"
            );
            // The layout is intact: as many links and sections as with a benign name.
            if design == Design::ProductGrid {
                assert_eq!(
                    html.matches("<a ").count(),
                    benign.html.matches("<a ").count(),
                    "{what}"
                );
                assert_eq!(
                    html.matches("<table").count(),
                    benign.html.matches("<table").count(),
                    "{what}"
                );
            }
            // The values are there, as text.
            assert!(
                html.contains("&lt;")
                    || html.contains("&#39;")
                    || html.contains("&quot;")
                    || html.contains("{{"),
                "{what}"
            );
            // The text part carries them verbatim: it is not HTML.
            assert!(email.text.contains(hostile), "{what}");
        }
    }
}

#[test]
fn hostile_strings_become_visible_text() {
    let mut ctx = common::context("en", "USD");
    ctx.items[0].name = "</mj-text><b>bold</b>".into();
    let email = render_builtin(Design::Minimal, &common::branding(), None, &ctx).unwrap();
    assert!(
        email
            .html
            .contains("&lt;/mj-text&gt;&lt;b&gt;bold&lt;/b&gt;")
    );
    assert!(!email.html.contains("<b>bold</b>"));
}

#[test]
fn bad_input_is_rejected_with_the_part() {
    let mut ctx = sample_context("en");
    ctx.recovery_url = "javascript:alert(1)".into();
    let err = render_builtin(Design::Minimal, &common::branding(), None, &ctx).unwrap_err();
    assert_eq!((err.part, err.kind), (Part::Context, ErrorKind::Invalid));
    assert!(err.message.contains("recoveryUrl"), "{err}");

    let mut branding = common::branding();
    branding.logo_url = Some("data:image/png;base64,xx".into());
    let err = render_builtin(Design::Minimal, &branding, None, &sample_context("en")).unwrap_err();
    assert_eq!(err.part, Part::Branding);

    let mut ctx = sample_context("en");
    ctx.coupon = Some(Coupon {
        code: "  ".into(),
        description: None,
    });
    assert!(render_builtin(Design::Minimal, &common::branding(), None, &ctx).is_err());
}

#[test]
fn unsafe_item_links_are_dropped_not_rendered() {
    let mut ctx = common::context("en", "USD");
    ctx.items[0].url = Some("javascript:alert(1)".into());
    ctx.items[1].image_url = Some("data:image/svg+xml,<svg onload=alert(1)>".into());
    for design in Design::ALL {
        let email = render_builtin(design, &common::branding(), None, &ctx).unwrap();
        assert!(!email.html.contains("javascript:"), "{design}");
        assert!(!email.html.contains("data:image"), "{design}");
    }
}

#[test]
fn light_brand_colours_get_dark_button_text() {
    let mut branding = common::branding();
    branding.brand_color = "#ffd600".parse().unwrap();
    let email = render_builtin(
        Design::Minimal,
        &branding,
        None,
        &common::context("en", "USD"),
    )
    .unwrap();
    assert!(
        email.html.contains("background:#ffd600;color:#111111"),
        "dark text on yellow"
    );
}

#[test]
fn sample_context_renders_in_every_design_and_language() {
    for locale in [
        "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "nl-NL", "ja-JP", "pt-BR",
    ] {
        for design in Design::ALL {
            let email = render_builtin(
                design,
                &Branding::new("Demo"),
                None,
                &sample_context(locale),
            )
            .unwrap();
            assert!(email.html.contains("COMEBACK10"), "{design} {locale}");
        }
    }
}

#[test]
fn long_carts_show_the_first_lines_and_a_count() {
    let mut ctx = common::context("en", "USD");
    let template = ctx.items[0].clone();
    ctx.items = (0..20)
        .map(|i| cartback_domain::CartItem {
            id: format!("item-{i}"),
            name: format!("Item number {i}"),
            ..template.clone()
        })
        .collect();
    for design in Design::ALL {
        let email = render_builtin(design, &common::branding(), None, &ctx).unwrap();
        assert!(email.html.contains("Item number 7"), "{design}");
        assert!(!email.html.contains("Item number 8"), "{design}");
        assert!(
            email.html.contains("…and more in your cart (12)"),
            "{design}"
        );
        assert!(email.text.contains("Item number 7\n"), "{design}");
        assert!(!email.text.contains("Item number 8"), "{design}");
        assert!(
            email.text.contains("…and more in your cart (12)"),
            "{design}"
        );
        assert!(
            email.html.len() < 100_000,
            "{design}: {} bytes",
            email.html.len()
        );
    }
}
