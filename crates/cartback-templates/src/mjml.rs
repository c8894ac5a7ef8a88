//! MJML to HTML with mrml: no include loader, no remote fonts.

use std::collections::HashMap;

use mrml::mj_head::{MjHead, MjHeadChild};
use mrml::mj_title::MjTitle;
use mrml::prelude::parser::Error as ParseError;
use mrml::prelude::render::RenderOptions;

use crate::escape::Html;

/// Why MJML did not become HTML. Positions are byte offsets into the MJML.
#[derive(Debug)]
pub(crate) enum MjmlError {
    Parse {
        message: String,
        position: Option<usize>,
    },
    Render(String),
}

/// What the HTML document gets where the MJML does not say: without them
/// mrml writes `lang="und"` and an empty `<title>`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadDefaults<'a> {
    /// A BCP 47 tag.
    pub lang: &'a str,
    /// Plain text (the subject); escaped here.
    pub title: &'a str,
}

/// Renders a complete `<mjml>` document, with `defaults` for a missing (or
/// empty) `<mjml lang>` and `<mj-title>`. `mj-include` fails (the loader is
/// mrml's no-op one) and fonts are never imported from a URL.
pub(crate) fn to_html(source: &str, defaults: HeadDefaults<'_>) -> Result<String, MjmlError> {
    let mut parsed = mrml::parse(source).map_err(|e| parse_error(e, source))?;
    let root = &mut parsed.element;
    if root
        .attributes
        .lang
        .as_deref()
        .is_none_or(|lang| lang.trim().is_empty())
    {
        root.attributes.lang = Some(defaults.lang.to_owned());
    }
    let head = root.children.head.get_or_insert_with(MjHead::default);
    if head
        .title()
        .is_none_or(|title| title.content().trim().is_empty())
    {
        head.children.retain(|child| child.as_mj_title().is_none());
        head.children.push(MjHeadChild::MjTitle(MjTitle::from(
            Html(defaults.title).to_string(),
        )));
    }
    let options = RenderOptions {
        disable_comments: true,
        social_icon_origin: None,
        fonts: HashMap::new(),
    };
    parsed
        .element
        .render(&options)
        .map_err(|e| MjmlError::Render(e.to_string()))
}

fn parse_error(error: ParseError, source: &str) -> MjmlError {
    let (message, position) = match &error {
        ParseError::UnexpectedElement { position, .. } => (
            "an element that is not allowed here".to_owned(),
            Some(position.start),
        ),
        ParseError::UnexpectedToken { position, .. } => {
            ("unexpected content".to_owned(), Some(position.start))
        }
        ParseError::MissingAttribute { name, position, .. } => {
            (format!("missing attribute {name:?}"), Some(position.start))
        }
        ParseError::InvalidAttribute { position, .. } => {
            ("an invalid attribute".to_owned(), Some(position.start))
        }
        ParseError::InvalidFormat { position, .. } => {
            ("an invalid value".to_owned(), Some(position.start))
        }
        ParseError::IncludeLoaderError { position, .. } => (
            "mj-include is not supported".to_owned(),
            Some(position.start),
        ),
        ParseError::EndOfStream { .. } => match unclosed_element(source) {
            Some((name, at)) => (format!("<{name}> is never closed"), Some(at)),
            None => (
                "the document ends too early (an element is not closed)".to_owned(),
                None,
            ),
        },
        ParseError::NoRootNode => ("no <mjml> root element".to_owned(), None),
        ParseError::SizeLimit { .. } => ("the document is too large".to_owned(), None),
        ParseError::ParserError { source: cause, .. } => {
            // htmlparser says "invalid attribute at 5:11 cause ..."; the
            // position is turned into a line by the caller.
            let text = cause.to_string();
            let what = text.split(" at ").next().unwrap_or("broken markup");
            let why = text
                .split(" cause ")
                .nth(1)
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let pos = cause.pos();
            (
                format!("malformed markup: {what}{why}"),
                offset_of(source, pos.row, pos.col),
            )
        }
    };
    MjmlError::Parse {
        message: format!("invalid MJML: {message}"),
        position,
    }
}

/// The byte offset of a 1-based row and column (in characters).
fn offset_of(source: &str, row: u32, col: u32) -> Option<usize> {
    let row = usize::try_from(row).ok()?.checked_sub(1)?;
    let line_start = if row == 0 {
        0
    } else {
        source.match_indices('\n').nth(row - 1)?.0 + 1
    };
    let col = usize::try_from(col).ok()?.saturating_sub(1);
    let within = source[line_start..]
        .char_indices()
        .nth(col)
        .map_or(source.len() - line_start, |(i, _)| i);
    Some(line_start + within)
}

/// Elements whose content mrml reads as raw text up to their closing tag.
const RAW_CONTENT: [&str; 8] = [
    "mj-text",
    "mj-button",
    "mj-raw",
    "mj-table",
    "mj-style",
    "mj-title",
    "mj-preview",
    "mj-navbar-link",
];

/// When mrml hits the end of the document, finds the MJML element that was
/// left open: its name and the offset of its opening tag.
fn unclosed_element(source: &str) -> Option<(String, usize)> {
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut rest = 0;
    while let Some(found) = source[rest..].find('<') {
        let at = rest + found;
        let tag_end = source[at..].find('>').map_or(source.len(), |e| at + e + 1);
        let tag = &source[at..tag_end];
        rest = tag_end;
        let closing = tag.starts_with("</");
        let name: String = tag
            .trim_start_matches("</")
            .trim_start_matches('<')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if !(name == "mjml" || name.starts_with("mj-")) {
            continue;
        }
        // Inside raw content only the matching closing tag counts.
        if let Some((top, _)) = open.last()
            && RAW_CONTENT.contains(&top.as_str())
            && !(closing && name == *top)
        {
            continue;
        }
        if closing {
            match open.iter().rposition(|(n, _)| *n == name) {
                // Closing an outer element while an inner one is still open.
                Some(index) if index + 1 < open.len() => return open.pop(),
                Some(index) => open.truncate(index),
                None => {}
            }
        } else if !tag.ends_with("/>") {
            open.push((name, at));
        }
    }
    open.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: HeadDefaults<'static> = HeadDefaults {
        lang: "de-DE",
        title: "Dein Warenkorb & du",
    };

    #[test]
    fn lang_and_title_are_filled_in_unless_the_mjml_has_them() {
        let html = to_html(
            "<mjml><mj-body><mj-text>x</mj-text></mj-body></mjml>",
            DEFAULTS,
        )
        .unwrap();
        assert!(html.contains("<html lang=\"de-DE\""), "{html}");
        assert!(
            html.contains("<title>Dein Warenkorb &amp; du</title>"),
            "{html}"
        );
        let own = to_html(
            "<mjml lang=\"fr\"><mj-head><mj-title>Mon panier</mj-title></mj-head><mj-body><mj-text>x</mj-text></mj-body></mjml>",
            DEFAULTS,
        )
        .unwrap();
        assert!(own.contains("<html lang=\"fr\""), "{own}");
        assert!(own.contains("<title>Mon panier</title>"), "{own}");
        let empty = to_html(
            "<mjml lang=\"\"><mj-head><mj-title> </mj-title></mj-head><mj-body></mj-body></mjml>",
            DEFAULTS,
        )
        .unwrap();
        assert!(empty.contains("<html lang=\"de-DE\""), "{empty}");
        assert!(
            empty.contains("<title>Dein Warenkorb &amp; du</title>"),
            "{empty}"
        );
    }

    #[test]
    fn renders_and_reports_positions() {
        let html = to_html("<mjml><mj-body><mj-section><mj-column><mj-text>Hi &amp; bye</mj-text></mj-column></mj-section></mj-body></mjml>", DEFAULTS).unwrap();
        assert!(html.contains("Hi &amp; bye"));
        assert!(!html.contains("<mj-"));
        assert!(!html.contains("fonts.googleapis"));
        match to_html(
            "<mjml><mj-body><mj-include path=\"x.mjml\" /></mj-body></mjml>",
            DEFAULTS,
        ) {
            Err(MjmlError::Parse { message, position }) => {
                assert!(message.contains("mj-include"), "{message}");
                assert!(position.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            to_html("<p>not mjml</p>", DEFAULTS),
            Err(MjmlError::Parse { .. })
        ));
    }

    #[test]
    fn finds_the_unclosed_element() {
        let source = "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text>hi\n</mj-column>\n</mj-section>\n</mj-body>\n</mjml>\n";
        let at = source.find("<mj-text>").unwrap();
        assert_eq!(unclosed_element(source), Some(("mj-text".to_owned(), at)));
        match to_html(source, DEFAULTS) {
            Err(MjmlError::Parse { message, position }) => {
                assert_eq!(message, "invalid MJML: <mj-text> is never closed");
                assert_eq!(position, Some(at));
            }
            other => panic!("{other:?}"),
        }
        let source = "<mjml><mj-body><mj-section><mj-column><mj-image src=\"x\" /><mj-column></mj-section></mj-body></mjml>";
        let second = source.rfind("<mj-column>").unwrap();
        assert_eq!(
            unclosed_element(source),
            Some(("mj-column".to_owned(), second))
        );
        assert_eq!(unclosed_element("<mjml><mj-body></mj-body></mjml>"), None);
        assert_eq!(
            unclosed_element("<mjml><mj-body><mj-text><mj-x></mj-text></mj-body>"),
            Some(("mjml".to_owned(), 0))
        );
    }

    #[test]
    fn broken_attributes_have_a_position() {
        let source = "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-button href=\"x>go</mj-button>\n</mj-column>\n</mj-section>\n</mj-body>\n</mjml>\n";
        match to_html(source, DEFAULTS) {
            Err(MjmlError::Parse { message, position }) => {
                assert!(
                    message.starts_with("invalid MJML: malformed markup: invalid attribute"),
                    "{message}"
                );
                let line = 1 + source[..position.unwrap()].matches('\n').count();
                assert_eq!(line, 5);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(offset_of("ab\ncd", 2, 2), Some(4));
        assert_eq!(offset_of("ab\ncd", 1, 1), Some(0));
        assert_eq!(offset_of("ab", 3, 1), None);
    }
}
