//! `minimal`: a white card on a light page with a tidy cart table.

use super::parts::{self, Doc, INK, LINE, PAGE, WHITE, mj};
use crate::escape::Html;
use crate::view::View;

pub(super) fn build(view: &View) -> String {
    let mut doc = Doc::new();
    parts::open(
        &mut doc,
        view,
        PAGE,
        "@media only screen and (max-width:479px) { .cb-headline div { font-size:24px !important; line-height:30px !important; } }",
    );

    mj!(doc, r#"<mj-section padding="32px 0 20px"><mj-column>"#);
    parts::logo(&mut doc, view, INK, "0 32px");
    mj!(doc, "</mj-column></mj-section>");

    mj!(
        doc,
        r#"<mj-section background-color="{WHITE}" border-radius="12px" padding="36px 0 24px"><mj-column>"#
    );
    mj!(
        doc,
        r#"<mj-text css-class="cb-headline" font-size="26px" line-height="32px" font-weight="700" padding="0 32px 20px">{}</mj-text>"#,
        Html(&view.headline)
    );
    parts::letter(&mut doc, view, "left", INK);
    if !view.items.is_empty() {
        mj!(
            doc,
            r#"<mj-divider border-color="{LINE}" border-width="1px" padding="8px 32px 20px" />"#
        );
        parts::label(&mut doc, view.labels.your_cart, "left", "0 32px 0");
        parts::cart_table(&mut doc, view, "0 32px 16px");
    } else {
        mj!(doc, r#"<mj-table padding="0 32px 16px">"#);
        parts::total_row(&mut doc, view);
        mj!(doc, "</mj-table>");
    }
    parts::coupon_box(&mut doc, view, "8px 32px 8px");
    parts::button(&mut doc, view, r#"align="center" padding="20px 32px 12px""#);
    parts::pay_line(&mut doc, view, "center", "4px 32px 8px");
    mj!(doc, "</mj-column></mj-section>");

    mj!(doc, r#"<mj-section padding="20px 0 0"><mj-column>"#);
    parts::fallback_link(&mut doc, view, "0 40px");
    mj!(doc, "</mj-column></mj-section>");
    parts::footer(&mut doc, view, "center", "20px 0 40px", "0 32px");
    parts::close(&mut doc);
    doc.finish()
}
