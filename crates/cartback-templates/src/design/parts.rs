//! Pieces the designs share: the document head, the cart table, the coupon,
//! the calls to action and the footer. Every value goes through [`Html`].

use std::fmt;

use crate::escape::{Html, HtmlLines};
use crate::view::{ItemView, View};

pub(super) const FONT: &str =
    "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
pub(super) const INK: &str = "#1f2328";
pub(super) const MUTED: &str = "#59636e";
pub(super) const LINE: &str = "#e4e7eb";
pub(super) const PAGE: &str = "#f3f4f6";
pub(super) const WHITE: &str = "#ffffff";

/// An MJML document being written.
pub(super) struct Doc(String);

impl Doc {
    pub fn new() -> Doc {
        Doc(String::with_capacity(16 * 1024))
    }

    pub fn add(&mut self, args: fmt::Arguments<'_>) {
        use fmt::Write;
        // Writing into a String cannot fail.
        let _ = self.0.write_fmt(args);
        self.0.push('\n');
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// Shorthand for `doc.add(format_args!(...))`.
macro_rules! mj {
    ($doc:expr, $($arg:tt)*) => {
        $doc.add(format_args!($($arg)*))
    };
}
pub(super) use mj;

/// `<mjml>`, the head and the opening `<mj-body>`.
pub(super) fn open(doc: &mut Doc, view: &View, page: &str, extra_css: &str) {
    let brand = view.brand.as_str();
    mj!(doc, r#"<mjml lang="{}" dir="ltr">"#, Html(&view.lang));
    mj!(doc, "<mj-head>");
    mj!(doc, "<mj-title>{}</mj-title>", Html(&view.subject));
    mj!(doc, "<mj-preview>{}</mj-preview>", Html(&view.preheader));
    mj!(doc, "<mj-attributes>");
    mj!(doc, r#"<mj-all font-family="{FONT}" />"#);
    mj!(
        doc,
        r#"<mj-text font-size="16px" line-height="26px" color="{INK}" padding="0 32px 16px" />"#
    );
    mj!(doc, r#"<mj-section padding="0" />"#);
    mj!(doc, r#"<mj-image padding="0" />"#);
    mj!(
        doc,
        r#"<mj-button font-size="16px" font-weight="600" line-height="20px" inner-padding="14px 32px" border-radius="6px" background-color="{brand}" color="{}" />"#,
        view.brand.text_color()
    );
    mj!(doc, "</mj-attributes>");
    mj!(
        doc,
        "<mj-style>a {{ color: {brand}; }} .cb-footer a {{ color: {MUTED}; }} {extra_css}</mj-style>"
    );
    mj!(doc, "</mj-head>");
    mj!(doc, r#"<mj-body background-color="{page}" width="600px">"#);
}

pub(super) fn close(doc: &mut Doc) {
    mj!(doc, "</mj-body>");
    mj!(doc, "</mjml>");
}

/// The logo, or the shop name in text when there is none.
pub(super) fn logo(doc: &mut Doc, view: &View, text_color: &str, padding: &str) {
    match &view.logo_url {
        Some(url) => mj!(
            doc,
            r#"<mj-image src="{}" alt="{}" width="140px" align="center" padding="{padding}" />"#,
            Html(url),
            Html(&view.shop_name)
        ),
        None => mj!(
            doc,
            r#"<mj-text align="center" font-size="20px" line-height="28px" font-weight="700" color="{text_color}" padding="{padding}">{}</mj-text>"#,
            Html(&view.shop_name)
        ),
    }
}

/// The greeting and the body paragraphs.
pub(super) fn letter(doc: &mut Doc, view: &View, align: &str, color: &str) {
    mj!(
        doc,
        r#"<mj-text align="{align}" color="{color}">{}</mj-text>"#,
        Html(&view.greeting)
    );
    for paragraph in &view.paragraphs {
        mj!(
            doc,
            r#"<mj-text align="{align}" color="{color}">{}</mj-text>"#,
            HtmlLines(paragraph)
        );
    }
}

/// A small upper-case heading above the cart.
pub(super) fn label(doc: &mut Doc, text: &str, align: &str, padding: &str) {
    mj!(
        doc,
        r#"<mj-text align="{align}" font-size="12px" line-height="16px" font-weight="700" letter-spacing="1px" color="{MUTED}" padding="{padding}"><span style="text-transform:uppercase;">{}</span></mj-text>"#,
        Html(text)
    );
}

/// The item name, linked to the product when there is a URL.
pub(super) fn item_name(item: &ItemView, style: &str) -> String {
    match &item.url {
        Some(url) => format!(
            r#"<a href="{}" style="{style}text-decoration:none;">{}</a>"#,
            Html(url),
            Html(&item.name)
        ),
        None => format!(r#"<span style="{style}">{}</span>"#, Html(&item.name)),
    }
}

/// Items as table rows, then the total.
pub(super) fn cart_table(doc: &mut Doc, view: &View, padding: &str) {
    let colon = view.labels.colon;
    let cell = format!("padding:12px 0;border-bottom:1px solid {LINE};vertical-align:top;");
    mj!(
        doc,
        r#"<mj-table padding="{padding}" font-size="16px" line-height="22px" color="{INK}">"#
    );
    for item in view.shown_items() {
        mj!(
            doc,
            r#"<tr><td style="{cell}">{}<div style="font-size:14px;line-height:20px;color:{MUTED};padding-top:2px;">{}{colon} {}</div></td><td align="right" style="{cell}padding-left:16px;white-space:nowrap;font-weight:600;">{}</td></tr>"#,
            item_name(item, &format!("color:{INK};font-weight:600;")),
            Html(view.labels.quantity),
            item.quantity,
            Html(&item.line_total)
        );
    }
    if let Some(more) = view.more_items() {
        mj!(
            doc,
            r#"<tr><td colspan="2" style="{cell}font-size:14px;color:{MUTED};">{}</td></tr>"#,
            Html(&more)
        );
    }
    total_row(doc, view);
    mj!(doc, "</mj-table>");
}

/// "…and more in your cart (3)" as its own block, when lines were left out.
pub(super) fn more_items(doc: &mut Doc, view: &View, align: &str, padding: &str) {
    if let Some(more) = view.more_items() {
        mj!(
            doc,
            r#"<mj-text align="{align}" font-size="14px" line-height="20px" color="{MUTED}" padding="{padding}">{}</mj-text>"#,
            Html(&more)
        );
    }
}

/// The total as one table row (inside an `mj-table`).
pub(super) fn total_row(doc: &mut Doc, view: &View) {
    mj!(
        doc,
        r#"<tr><td style="padding:16px 0 0;font-weight:700;">{}</td><td align="right" style="padding:16px 0 0 16px;white-space:nowrap;font-size:18px;font-weight:700;">{}</td></tr>"#,
        Html(view.labels.total),
        Html(&view.total)
    );
}

/// The coupon in a dashed box tinted with the brand colour.
pub(super) fn coupon_box(doc: &mut Doc, view: &View, padding: &str) {
    let Some(coupon) = &view.coupon else {
        return;
    };
    let brand = view.brand.as_str();
    let description = coupon
        .description
        .as_deref()
        .map(|d| {
            format!(
                r#"<div style="font-size:14px;line-height:20px;color:{MUTED};padding-top:4px;">{}</div>"#,
                Html(d)
            )
        })
        .unwrap_or_default();
    mj!(
        doc,
        r#"<mj-text align="center" padding="{padding}"><div style="border:2px dashed {brand};border-radius:8px;background-color:{};padding:16px 20px;"><div style="font-size:12px;line-height:16px;font-weight:700;letter-spacing:1px;text-transform:uppercase;color:{MUTED};">{}</div><div style="font-size:16px;line-height:24px;padding-top:6px;">{}<strong style="font-size:18px;letter-spacing:1px;color:{INK};">{}</strong>{}</div>{description}</div></mj-text>"#,
        view.brand.tint(0.92),
        Html(view.labels.coupon_title),
        Html(&coupon.before),
        Html(&coupon.code),
        Html(&coupon.after)
    );
}

/// The main call to action.
pub(super) fn button(doc: &mut Doc, view: &View, attrs: &str) {
    mj!(
        doc,
        r#"<mj-button href="{}" {attrs}>{}</mj-button>"#,
        Html(&view.recovery_url),
        Html(&view.button)
    );
}

/// "Prefer to pay right away? Pay now", when there is a payment link.
pub(super) fn pay_line(doc: &mut Doc, view: &View, align: &str, padding: &str) {
    let Some(link) = &view.payment_link else {
        return;
    };
    mj!(
        doc,
        r#"<mj-text align="{align}" font-size="14px" line-height="20px" color="{MUTED}" padding="{padding}">{} <a href="{}" style="color:{};font-weight:600;">{}</a></mj-text>"#,
        Html(view.labels.pay_lead),
        Html(link),
        view.brand.as_str(),
        Html(view.labels.pay_button)
    );
}

/// The recovery link written out, for clients that break buttons.
pub(super) fn fallback_link(doc: &mut Doc, view: &View, padding: &str) {
    mj!(
        doc,
        r#"<mj-text align="center" font-size="12px" line-height="18px" color="{MUTED}" padding="{padding}">{}<br><a href="{url}" style="color:{MUTED};word-break:break-all;">{url}</a></mj-text>"#,
        Html(view.labels.link_fallback),
        url = Html(&view.recovery_url)
    );
}

/// Unsubscribe, why the email came, and the postal address.
pub(super) fn footer(doc: &mut Doc, view: &View, align: &str, padding: &str, text_padding: &str) {
    let labels = &view.labels;
    let address = view
        .footer_address
        .as_deref()
        .map(|a| format!("<br><br>{}<br>{}", Html(&view.shop_name), HtmlLines(a)))
        .unwrap_or_default();
    mj!(doc, r#"<mj-section padding="{padding}"><mj-column>"#);
    mj!(
        doc,
        r#"<mj-text css-class="cb-footer" align="{align}" font-size="12px" line-height="18px" color="{MUTED}" padding="{text_padding}">{} <a href="{}" style="color:{MUTED};text-decoration:underline;">{}</a><br>{}{address}</mj-text>"#,
        Html(labels.unsubscribe_lead),
        Html(&view.unsubscribe_url),
        Html(labels.unsubscribe_link),
        Html(&labels.reason)
    );
    mj!(doc, "</mj-column></mj-section>");
}

/// A soft tile with the item's first letter, for items without a picture:
/// `size` pixels square, never wider than its column. `class` lets a design
/// shrink it on phones, where pictures scale down with their column.
pub(super) fn image_placeholder(
    doc: &mut Doc,
    view: &View,
    item: &ItemView,
    size: u32,
    class: &str,
) {
    let initial: String = item
        .name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    mj!(
        doc,
        r#"<mj-text padding="0" align="center"><div class="{class}" style="margin:0 auto;width:{size}px;max-width:100%;height:{size}px;line-height:{size}px;border-radius:8px;background-color:{};font-size:{}px;font-weight:700;color:{};text-align:center;">{}</div></mj-text>"#,
        view.brand.tint(0.88),
        (size / 4).max(16),
        view.brand.as_str(),
        Html(&initial)
    );
}

/// The item picture (linked to the product when possible), `size` pixels
/// wide, or a placeholder of the same size.
pub(super) fn item_image(doc: &mut Doc, view: &View, item: &ItemView, size: u32, class: &str) {
    match &item.image_url {
        Some(src) => {
            let href = item
                .url
                .as_deref()
                .map(|u| format!(r#" href="{}""#, Html(u)))
                .unwrap_or_default();
            mj!(
                doc,
                r#"<mj-image src="{}" alt="{}" width="{size}px"{href} border-radius="8px" padding="0" />"#,
                Html(src),
                Html(&item.name)
            );
        }
        None => image_placeholder(doc, view, item, size, class),
    }
}
