//! The four built-in designs, written in MJML. Each takes a worked-out
//! [`View`](crate::view::View) and returns an `<mjml>` document in which every
//! shopper or merchant value is escaped.

mod bold_banner;
mod minimal;
mod parts;
mod product_grid;
mod text_first;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Part, TemplateError};
use crate::view::View;

/// A built-in email design. JSON names: `minimal`, `product_grid`,
/// `bold_banner`, `text_first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// A white card on a light page: logo, headline, a tidy table of the cart,
    /// one button.
    Minimal,
    /// Product pictures in a two-column grid, also on phones.
    ProductGrid,
    /// A full-width banner in the brand colour carrying the headline and the
    /// button, then the cart with thumbnails.
    BoldBanner,
    /// A personal-looking letter: almost only text, a link instead of a
    /// button, signed by the sender. Like a letter, it has no headline (the
    /// subject does that job); the preheader still shows in inbox previews.
    TextFirst,
}

impl Design {
    pub const ALL: [Design; 4] = [
        Design::Minimal,
        Design::ProductGrid,
        Design::BoldBanner,
        Design::TextFirst,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Design::Minimal => "minimal",
            Design::ProductGrid => "product_grid",
            Design::BoldBanner => "bold_banner",
            Design::TextFirst => "text_first",
        }
    }

    pub(crate) fn mjml(&self, view: &View) -> String {
        match self {
            Design::Minimal => minimal::build(view),
            Design::ProductGrid => product_grid::build(view),
            Design::BoldBanner => bold_banner::build(view),
            Design::TextFirst => text_first::build(view),
        }
    }
}

impl fmt::Display for Design {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Design {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Design::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let shown: String = s.chars().take(40).collect();
                TemplateError::invalid(
                    Part::Context,
                    format!("unknown design {shown:?}; use minimal, product_grid, bold_banner or text_first"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for design in Design::ALL {
            assert_eq!(design.as_str().parse::<Design>().unwrap(), design);
            assert_eq!(
                serde_json::to_value(design).unwrap(),
                serde_json::Value::String(design.to_string())
            );
        }
        assert!("fancy".parse::<Design>().is_err());
    }
}
