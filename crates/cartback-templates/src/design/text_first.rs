//! `text_first`: a plain, personal-looking letter. Almost only text, a link
//! rather than a button, and a signature.

use super::parts::{self, Doc, INK, LINE, MUTED, WHITE, mj};
use crate::escape::Html;
use crate::view::View;

pub(super) fn build(view: &View) -> String {
    let colon = view.labels.colon;
    let mut doc = Doc::new();
    let brand = view.brand.as_str();
    parts::open(&mut doc, view, WHITE, "");
    let pad = "0 24px 16px";

    mj!(doc, r#"<mj-section padding="32px 0 0"><mj-column>"#);
    mj!(
        doc,
        r#"<mj-text padding="{pad}">{}</mj-text>"#,
        Html(&view.greeting)
    );
    for paragraph in &view.paragraphs {
        mj!(
            doc,
            r#"<mj-text padding="{pad}">{}</mj-text>"#,
            crate::escape::HtmlLines(paragraph)
        );
    }

    if !view.items.is_empty() {
        let mut lines = String::new();
        for item in view.shown_items() {
            lines.push_str(&format!(
                r#"<li style="margin:0 0 8px;">{}<br><span style="color:{MUTED};">{}{colon} {} · {}</span></li>"#,
                parts::item_name(item, &format!("color:{INK};")),
                Html(view.labels.quantity),
                item.quantity,
                Html(&item.line_total)
            ));
        }
        if let Some(more) = view.more_items() {
            lines.push_str(&format!(
                r#"<li style="margin:0 0 8px;list-style:none;color:{MUTED};">{}</li>"#,
                Html(&more)
            ));
        }
        mj!(
            doc,
            r#"<mj-text padding="{pad}">{}{colon}<ul style="margin:8px 0 0;padding:0 0 0 20px;">{lines}</ul></mj-text>"#,
            Html(view.labels.your_cart)
        );
    }
    mj!(
        doc,
        r#"<mj-text padding="{pad}">{}{colon} <strong>{}</strong></mj-text>"#,
        Html(view.labels.total),
        Html(&view.total)
    );

    if let Some(coupon) = &view.coupon {
        let description = coupon
            .description
            .as_deref()
            .map(|d| format!(r#"<br><span style="color:{MUTED};">{}</span>"#, Html(d)))
            .unwrap_or_default();
        mj!(
            doc,
            r#"<mj-text padding="{pad}">{}<strong>{}</strong>{}{description}</mj-text>"#,
            Html(&coupon.before),
            Html(&coupon.code),
            Html(&coupon.after)
        );
    }

    mj!(
        doc,
        r#"<mj-text padding="{pad}"><a href="{}" style="color:{brand};font-weight:600;text-decoration:underline;">{} &rarr;</a></mj-text>"#,
        Html(&view.recovery_url),
        Html(&view.button)
    );
    if let Some(link) = &view.payment_link {
        mj!(
            doc,
            r#"<mj-text padding="{pad}">{} <a href="{}" style="color:{brand};text-decoration:underline;">{}</a></mj-text>"#,
            Html(view.labels.pay_lead),
            Html(link),
            Html(view.labels.pay_button)
        );
    }
    mj!(
        doc,
        r#"<mj-text padding="8px 24px 24px">{}<br>{}</mj-text>"#,
        Html(view.labels.signoff),
        Html(&view.sender)
    );
    mj!(
        doc,
        r#"<mj-divider border-color="{LINE}" border-width="1px" padding="0 24px" />"#
    );
    mj!(doc, "</mj-column></mj-section>");
    parts::footer(&mut doc, view, "left", "16px 0 40px", "0 24px");
    parts::close(&mut doc);
    doc.finish()
}
