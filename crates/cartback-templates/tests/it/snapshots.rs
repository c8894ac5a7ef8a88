//! Every built-in design in two locales, HTML and text. The inputs are fixed
//! and rendering is deterministic, so nothing needs masking.
//! Update with `INSTA_UPDATE=always cargo test -p cartback-templates`, then
//! review the `.snap` diffs.

use crate::common;

use cartback_templates::{Design, render_builtin};

fn check(design: Design, locale: &str, currency: &str) {
    let email = render_builtin(
        design,
        &common::branding(),
        None,
        &common::context(locale, currency),
    )
    .unwrap();
    let name = format!("{}_{}", design, locale.replace('-', "_"));
    insta::assert_snapshot!(format!("{name}_html"), email.html);
    insta::assert_snapshot!(
        format!("{name}_text"),
        format!("Subject: {}\n\n{}", email.subject, email.text)
    );
}

#[test]
fn minimal() {
    check(Design::Minimal, "en-US", "USD");
    check(Design::Minimal, "nl-NL", "EUR");
}

#[test]
fn product_grid() {
    check(Design::ProductGrid, "en-US", "USD");
    check(Design::ProductGrid, "nl-NL", "EUR");
}

#[test]
fn bold_banner() {
    check(Design::BoldBanner, "en-US", "USD");
    check(Design::BoldBanner, "nl-NL", "EUR");
}

#[test]
fn text_first() {
    check(Design::TextFirst, "en-US", "USD");
    check(Design::TextFirst, "nl-NL", "EUR");
}
