//! `product_grid`: the pictures lead, two to a row, on phones too.

use super::parts::{self, Doc, INK, LINE, MUTED, PAGE, WHITE, mj};
use crate::escape::Html;
use crate::view::View;

pub(super) fn build(view: &View) -> String {
    let colon = view.labels.colon;
    let mut doc = Doc::new();
    let brand = view.brand.as_str();
    parts::open(
        &mut doc,
        view,
        PAGE,
        "@media only screen and (max-width:479px) { .cb-headline div { font-size:24px !important; line-height:30px !important; } .cb-tile { width:100% !important; height:140px !important; line-height:140px !important; } }",
    );

    // A thin brand-coloured rule above the logo.
    mj!(
        doc,
        r#"<mj-section background-color="{WHITE}" border-top="4px solid {brand}" padding="28px 0 12px"><mj-column>"#
    );
    parts::logo(&mut doc, view, INK, "0 32px");
    mj!(doc, "</mj-column></mj-section>");

    mj!(
        doc,
        r#"<mj-section background-color="{WHITE}" padding="12px 0 8px"><mj-column>"#
    );
    mj!(
        doc,
        r#"<mj-text css-class="cb-headline" align="center" font-size="28px" line-height="34px" font-weight="700" padding="0 32px 16px">{}</mj-text>"#,
        Html(&view.headline)
    );
    parts::letter(&mut doc, view, "center", MUTED);
    parts::button(&mut doc, view, r#"align="center" padding="4px 32px 20px""#);
    mj!(doc, "</mj-column></mj-section>");

    if !view.items.is_empty() {
        mj!(
            doc,
            r#"<mj-section background-color="{WHITE}" padding="8px 0 4px"><mj-column>"#
        );
        mj!(
            doc,
            r#"<mj-divider border-color="{LINE}" border-width="1px" padding="0 32px 20px" />"#
        );
        parts::label(&mut doc, view.labels.your_cart, "center", "0 32px 8px");
        mj!(doc, "</mj-column></mj-section>");
    }

    for pair in view.shown_items().chunks(2) {
        mj!(
            doc,
            r#"<mj-section background-color="{WHITE}" padding="0 16px"><mj-group>"#
        );
        for item in pair {
            mj!(
                doc,
                r#"<mj-column width="50%" padding="8px 12px 20px" vertical-align="top">"#
            );
            parts::item_image(&mut doc, view, item, 260, "cb-tile");
            mj!(
                doc,
                r#"<mj-text padding="12px 0 0" font-size="15px" line-height="21px">{}</mj-text>"#,
                parts::item_name(item, &format!("color:{INK};font-weight:600;"))
            );
            mj!(
                doc,
                r#"<mj-text padding="4px 0 0" font-size="14px" line-height="20px" color="{MUTED}">{}{colon} {}</mj-text>"#,
                Html(view.labels.quantity),
                item.quantity
            );
            mj!(
                doc,
                r#"<mj-text padding="2px 0 0" font-size="16px" line-height="22px" font-weight="700">{}</mj-text>"#,
                Html(&item.line_total)
            );
            mj!(doc, "</mj-column>");
        }
        if pair.len() == 1 {
            // Keeps a lone last item at half width, on the left.
            mj!(doc, r#"<mj-column width="50%"></mj-column>"#);
        }
        mj!(doc, "</mj-group></mj-section>");
    }

    mj!(
        doc,
        r#"<mj-section background-color="{WHITE}" padding="4px 0 32px"><mj-column>"#
    );
    parts::more_items(&mut doc, view, "center", "0 32px 16px");
    mj!(
        doc,
        r#"<mj-divider border-color="{LINE}" border-width="1px" padding="0 32px 16px" />"#
    );
    mj!(
        doc,
        r#"<mj-text align="center" font-size="18px" line-height="26px" padding="0 32px 20px">{}{colon} <strong>{}</strong></mj-text>"#,
        Html(view.labels.total),
        Html(&view.total)
    );
    parts::coupon_box(&mut doc, view, "0 32px 20px");
    parts::button(&mut doc, view, r#"align="center" padding="4px 32px 12px""#);
    parts::pay_line(&mut doc, view, "center", "4px 32px 0");
    mj!(doc, "</mj-column></mj-section>");

    mj!(doc, r#"<mj-section padding="20px 0 0"><mj-column>"#);
    parts::fallback_link(&mut doc, view, "0 40px");
    mj!(doc, "</mj-column></mj-section>");
    parts::footer(&mut doc, view, "center", "20px 0 40px", "0 32px");
    parts::close(&mut doc);
    doc.finish()
}
