//! `bold_banner`: a big brand-coloured banner with the headline and the
//! button, then the cart as a list with thumbnails.

use super::parts::{self, Doc, INK, LINE, MUTED, PAGE, WHITE, mj};
use crate::escape::Html;
use crate::view::View;

pub(super) fn build(view: &View) -> String {
    let colon = view.labels.colon;
    let mut doc = Doc::new();
    let brand = view.brand.as_str();
    let on_brand = view.brand.text_color();
    parts::open(
        &mut doc,
        view,
        PAGE,
        "@media only screen and (max-width:479px) { .cb-banner-title div { font-size:28px !important; line-height:34px !important; } .cb-thumb { width:64px !important; height:64px !important; line-height:64px !important; } }",
    );

    mj!(
        doc,
        r#"<mj-section background-color="{brand}" padding="40px 0 44px"><mj-column>"#
    );
    match &view.logo_url {
        Some(_) => parts::logo(&mut doc, view, on_brand, "0 32px 20px"),
        None => mj!(
            doc,
            r#"<mj-text align="center" font-size="13px" line-height="18px" font-weight="700" letter-spacing="2px" color="{on_brand}" padding="0 32px 20px"><span style="text-transform:uppercase;">{}</span></mj-text>"#,
            Html(&view.shop_name)
        ),
    }
    mj!(
        doc,
        r#"<mj-text css-class="cb-banner-title" align="center" font-size="36px" line-height="42px" font-weight="800" color="{on_brand}" padding="0 32px 14px">{}</mj-text>"#,
        Html(&view.headline)
    );
    mj!(
        doc,
        r#"<mj-text align="center" font-size="17px" line-height="26px" color="{on_brand}" padding="0 48px 28px">{}</mj-text>"#,
        Html(&view.preheader)
    );
    parts::button(
        &mut doc,
        view,
        &format!(
            r#"align="center" background-color="{on_brand}" color="{brand}" font-weight="700" padding="0 32px""#
        ),
    );
    mj!(doc, "</mj-column></mj-section>");

    mj!(
        doc,
        r#"<mj-section background-color="{WHITE}" padding="32px 0 8px"><mj-column>"#
    );
    parts::letter(&mut doc, view, "left", INK);
    mj!(doc, "</mj-column></mj-section>");

    if !view.items.is_empty() {
        mj!(
            doc,
            r#"<mj-section background-color="{WHITE}" padding="0"><mj-column>"#
        );
        mj!(
            doc,
            r#"<mj-text font-size="18px" line-height="24px" font-weight="700" padding="8px 32px 8px">{}</mj-text>"#,
            Html(view.labels.your_cart)
        );
        mj!(doc, "</mj-column></mj-section>");
    }
    for item in view.shown_items() {
        mj!(
            doc,
            r#"<mj-section background-color="{WHITE}" padding="0 24px"><mj-group>"#
        );
        mj!(
            doc,
            r#"<mj-column width="24%" vertical-align="middle" padding="8px">"#
        );
        parts::item_image(&mut doc, view, item, 100, "cb-thumb");
        mj!(doc, "</mj-column>");
        mj!(
            doc,
            r#"<mj-column width="76%" vertical-align="middle" padding="8px">"#
        );
        mj!(
            doc,
            r#"<mj-text padding="0 0 0 8px" font-size="16px" line-height="22px">{}</mj-text>"#,
            parts::item_name(item, &format!("color:{INK};font-weight:600;"))
        );
        mj!(
            doc,
            r#"<mj-text padding="4px 0 0 8px" font-size="14px" line-height="20px" color="{MUTED}">{}{colon} {} · <strong style="color:{INK};">{}</strong></mj-text>"#,
            Html(view.labels.quantity),
            item.quantity,
            Html(&item.line_total)
        );
        mj!(doc, "</mj-column>");
        mj!(doc, "</mj-group></mj-section>");
    }
    if view.more_items().is_some() {
        mj!(
            doc,
            r#"<mj-section background-color="{WHITE}" padding="8px 0 0"><mj-column>"#
        );
        parts::more_items(&mut doc, view, "left", "0 32px");
        mj!(doc, "</mj-column></mj-section>");
    }

    mj!(
        doc,
        r#"<mj-section background-color="{WHITE}" padding="8px 0 24px"><mj-column>"#
    );
    mj!(
        doc,
        r#"<mj-divider border-color="{LINE}" border-width="1px" padding="0 32px 4px" />"#
    );
    mj!(
        doc,
        r#"<mj-table padding="0 32px" font-size="16px" line-height="22px" color="{INK}">"#
    );
    parts::total_row(&mut doc, view);
    mj!(doc, "</mj-table>");
    mj!(doc, "</mj-column></mj-section>");

    if let Some(coupon) = &view.coupon {
        let description = coupon
            .description
            .as_deref()
            .map(|d| {
                format!(
                    "<br><span style=\"font-size:14px;color:{MUTED};\">{}</span>",
                    Html(d)
                )
            })
            .unwrap_or_default();
        mj!(
            doc,
            r#"<mj-section background-color="{}" padding="24px 0"><mj-column>"#,
            view.brand.tint(0.9)
        );
        mj!(
            doc,
            r#"<mj-text align="center" font-size="12px" line-height="16px" font-weight="700" letter-spacing="1px" color="{MUTED}" padding="0 32px 8px"><span style="text-transform:uppercase;">{}</span></mj-text>"#,
            Html(view.labels.coupon_title)
        );
        mj!(
            doc,
            r#"<mj-text align="center" font-size="17px" line-height="26px" padding="0 32px">{}<strong style="font-size:20px;letter-spacing:1px;color:{brand};">{}</strong>{}{description}</mj-text>"#,
            Html(&coupon.before),
            Html(&coupon.code),
            Html(&coupon.after)
        );
        mj!(doc, "</mj-column></mj-section>");
    }

    mj!(
        doc,
        r#"<mj-section background-color="{WHITE}" padding="28px 0 32px"><mj-column>"#
    );
    parts::button(&mut doc, view, r#"align="center" padding="0 32px 12px""#);
    parts::pay_line(&mut doc, view, "center", "4px 32px 0");
    mj!(doc, "</mj-column></mj-section>");

    mj!(doc, r#"<mj-section padding="20px 0 0"><mj-column>"#);
    parts::fallback_link(&mut doc, view, "0 40px");
    mj!(doc, "</mj-column></mj-section>");
    parts::footer(&mut doc, view, "center", "20px 0 40px", "0 32px");
    parts::close(&mut doc);
    doc.finish()
}
