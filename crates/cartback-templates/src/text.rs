//! The plain-text alternative, written for reading, not stripped from HTML.

use crate::view::View;

/// The text part of the built-in designs (the letter-like one has no headline). Blocks are separated by a
/// blank line; nothing is hard-wrapped, so mail clients can reflow it.
pub(crate) fn plain_text(view: &View, with_headline: bool) -> String {
    let labels = &view.labels;
    let colon = labels.colon;
    let mut blocks: Vec<Vec<String>> = Vec::new();
    blocks.push(vec![view.greeting.clone()]);
    if with_headline {
        blocks.push(vec![view.headline.clone()]);
    }
    blocks.extend(view.paragraphs.iter().map(|p| vec![p.clone()]));

    if !view.items.is_empty() {
        let mut cart = vec![
            labels.your_cart.to_owned(),
            "-".repeat(labels.your_cart.chars().count()),
        ];
        for item in view.shown_items() {
            cart.push(format!("- {}", item.name));
            cart.push(format!(
                "  {}{colon} {} · {}",
                labels.quantity, item.quantity, item.line_total
            ));
        }
        cart.extend(view.more_items());
        blocks.push(cart);
    }
    blocks.push(vec![format!("{}{colon} {}", labels.total, view.total)]);

    if let Some(coupon) = &view.coupon {
        let mut block = vec![labels.coupon_title.to_owned(), coupon.sentence()];
        block.extend(coupon.description.clone());
        blocks.push(block);
    }

    blocks.push(vec![
        format!("{}{colon}", view.button),
        view.recovery_url.clone(),
    ]);
    if let Some(link) = &view.payment_link {
        blocks.push(vec![
            format!("{} {}{colon}", labels.pay_lead, labels.pay_button),
            link.clone(),
        ]);
    }
    blocks.push(vec![labels.signoff.to_owned(), view.sender.clone()]);

    let mut footer = vec![
        "--".to_owned(),
        format!(
            "{} {}{colon} {}",
            labels.unsubscribe_lead, labels.unsubscribe_link, view.unsubscribe_url
        ),
        labels.reason.clone(),
    ];
    if let Some(address) = &view.footer_address {
        footer.push(view.shop_name.clone());
        footer.extend(address.lines().map(str::to_owned));
    }
    blocks.push(footer);

    let mut text = blocks
        .iter()
        .map(|block| block.join("\n"))
        .collect::<Vec<_>>()
        .join("\n\n");
    text.push('\n');
    text
}
