//! Just enough HTML reading for custom templates: the links a shopper can
//! click, and the document's language and title. Not a parser: it finds tags
//! (quotes and comments respected) in the HTML the templates render.

use crate::escape::Html;

/// An `<a href>` of a document.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Link {
    /// The href, entities decoded.
    pub href: String,
    /// Whether the link shows anything: text, or a picture.
    pub visible: bool,
}

/// A tag of `html`: where it starts and ends (after its `>`).
#[derive(Debug, Clone, Copy)]
struct Tag {
    start: usize,
    end: usize,
}

/// The tags of `html` in order, comments, doctypes and processing
/// instructions skipped.
fn tags(html: &str) -> impl Iterator<Item = Tag> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let start = at + html.get(at..)?.find('<')?;
            let rest = &html[start..];
            if rest.starts_with("<!--") {
                at = start + rest.find("-->").map_or(rest.len(), |end| end + 3);
                continue;
            }
            let end = start + tag_length(rest)?;
            at = end;
            let second = rest[1..].chars().next();
            if second.is_some_and(|c| c.is_ascii_alphabetic() || c == '/') {
                return Some(Tag { start, end });
            }
        }
    })
}

/// The length of the tag `text` starts with, up to and with its `>` (outside
/// quotes).
fn tag_length(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Whether `tag` (`<a href…>`) opens an element called `name`.
fn opens(tag: &str, name: &str) -> bool {
    let rest = &tag[1..];
    rest.get(..name.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(name))
        && rest[name.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_whitespace() || c == '>' || c == '/')
}

/// Whether `tag` closes an element called `name`.
fn closes(tag: &str, name: &str) -> bool {
    tag.starts_with("</") && opens(&tag[1..], name)
}

/// The value of attribute `name` in `tag`, entities not decoded.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let inner = tag.trim_end_matches('>').trim_end_matches('/');
    // Skip the element's name.
    let mut rest = inner[1..].trim_start_matches(|c: char| !c.is_ascii_whitespace());
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let attribute_name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let end = body.find(q).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = remaining;
            value
        } else {
            // A bare attribute: an empty value where it stands.
            &rest[..0]
        };
        if attribute_name.eq_ignore_ascii_case(name) {
            return Some(value);
        }
    }
}

/// Where `part`, a slice of `whole`, starts in it.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Whether attribute value `value` (a slice of `tag`) is written in quotes.
fn is_quoted(tag: &str, value: &str) -> bool {
    let at = offset_in(tag, value);
    at > 0 && matches!(tag.as_bytes().get(at - 1), Some(b'"' | b'\''))
}

/// The few entities an href written by a template can hold.
fn decode(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Whether markup between `<a>` and `</a>` shows anything.
fn shows_something(content: &str) -> bool {
    let mut text = String::new();
    let mut last = 0;
    for tag in tags(content) {
        let markup = &content[tag.start..tag.end];
        if opens(markup, "img") {
            return true;
        }
        text.push_str(&content[last..tag.start]);
        last = tag.end;
    }
    text.push_str(&content[last..]);
    let text = text
        .replace("&nbsp;", " ")
        .replace("&#160;", " ")
        .replace("&zwnj;", "");
    text.chars()
        .any(|c| !c.is_whitespace() && c != '\u{200b}' && c != '\u{200c}')
}

/// The links of `html`, outside comments.
pub(crate) fn links(html: &str) -> Vec<Link> {
    let all: Vec<Tag> = tags(html).collect();
    all.iter()
        .enumerate()
        .filter_map(|(index, tag)| {
            let markup = &html[tag.start..tag.end];
            if !opens(markup, "a") {
                return None;
            }
            let href = attribute(markup, "href")?;
            let content_end = all[index + 1..]
                .iter()
                .find(|t| closes(&html[t.start..t.end], "a"))
                .map_or(html.len(), |t| t.start);
            Some(Link {
                href: decode(href.trim()),
                visible: shows_something(&html[tag.end..content_end]),
            })
        })
        .collect()
}

/// `html` without its comments.
pub(crate) fn without_comments(html: &str) -> String {
    let mut kept = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        kept.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    kept.push_str(rest);
    kept
}

/// Whether `href` leads to `url` (query or fragment added to it allowed).
pub(crate) fn leads_to(href: &str, url: &str) -> bool {
    href.strip_prefix(url)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['?', '&', '#']))
}

/// A complete document from a template's HTML, with `lang` and `<title>`
/// where the template left them out (or empty): a fragment is wrapped in a
/// document; a document keeps its own `<html lang>` and non-empty `<title>`.
pub(crate) fn with_lang_and_title(html: &str, lang: &str, title: &str) -> String {
    let all: Vec<Tag> = tags(html).collect();
    let find = |name: &str| all.iter().position(|t| opens(&html[t.start..t.end], name));
    let Some(root) = find("html") else {
        return format!(
            "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n</head>\n<body>\n{html}\n</body>\n</html>\n",
            Html(lang),
            Html(title)
        );
    };
    // Ranges replaced by text (empty ranges insert), applied back to front.
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let root_tag = all[root];
    let root_markup = &html[root_tag.start..root_tag.end];
    match attribute(root_markup, "lang") {
        Some(value) if !value.trim().is_empty() => {}
        // `lang=""`: filled in.
        Some(value) if is_quoted(root_markup, value) => {
            let at = root_tag.start + offset_in(root_markup, value);
            edits.push((at..at + value.len(), Html(lang).to_string()));
        }
        // None, or a bare `lang`: a first attribute, which wins over a later one.
        _ => {
            let at = root_tag.start + "<html".len();
            edits.push((at..at, format!(" lang=\"{}\"", Html(lang))));
        }
    }
    let title_markup = format!("<title>{}</title>", Html(title));
    match find("title") {
        Some(index) => {
            let open = all[index];
            let close = all[index + 1..]
                .iter()
                .find(|t| closes(&html[t.start..t.end], "title"));
            if let Some(close) = close
                && html[open.end..close.start].trim().is_empty()
            {
                edits.push((open.end..close.start, Html(title).to_string()));
            }
        }
        // At the end of the head (after a `<meta charset>`, which should come first).
        None => match find("head") {
            Some(head) => {
                let at = all[head + 1..]
                    .iter()
                    .find(|t| closes(&html[t.start..t.end], "head"))
                    .map_or(all[head].end, |close| close.start);
                edits.push((at..at, title_markup));
            }
            None => {
                let at = root_tag.end;
                edits.push((at..at, format!("<head>{title_markup}</head>")));
            }
        },
    }
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut document = html.to_owned();
    for (range, text) in edits {
        document.replace_range(range, &text);
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_with_their_href_and_visibility() {
        let html = r#"<p><!-- <a href="https://x.test/hidden">no</a> -->
<a class="b" HREF='https://x.test/r?a=1&amp;b=2'>Back <b>now</b></a>
<a href=https://x.test/u></a>
<a title="a > b" href="https://x.test/img"><img src="x.png"></a>
<a name="top">anchor</a></p>"#;
        assert_eq!(
            links(html),
            vec![
                Link {
                    href: "https://x.test/r?a=1&b=2".to_owned(),
                    visible: true
                },
                Link {
                    href: "https://x.test/u".to_owned(),
                    visible: false
                },
                Link {
                    href: "https://x.test/img".to_owned(),
                    visible: true
                },
            ]
        );
        assert!(!shows_something(" &nbsp; <span> </span>\u{200b}"));
        assert_eq!(without_comments("a<!-- b -->c<!-- d"), "ac");
        assert!(leads_to(
            "https://x.test/r/tok?utm=1",
            "https://x.test/r/tok"
        ));
        assert!(leads_to("https://x.test/r/tok", "https://x.test/r/tok"));
        assert!(!leads_to("https://x.test/r/tok2", "https://x.test/r/tok"));
    }

    #[test]
    fn a_fragment_becomes_a_document() {
        let document = with_lang_and_title("<p>Hi</p>", "de-DE", "Dein Warenkorb & mehr");
        assert!(document.starts_with("<!doctype html>\n<html lang=\"de-DE\">"));
        assert!(document.contains("<title>Dein Warenkorb &amp; mehr</title>"));
        assert!(document.contains("<body>\n<p>Hi</p>\n</body>"));
    }

    #[test]
    fn a_document_keeps_its_own_lang_and_title() {
        let own = "<!DOCTYPE html><HTML lang=\"fr\"><head><title>Mon panier</title></head><body>x</body></HTML>";
        assert_eq!(with_lang_and_title(own, "de", "Subject"), own);
        let bare = "<html><head><meta charset=\"utf-8\"></head><body>x</body></html>";
        assert_eq!(
            with_lang_and_title(bare, "nl", "A <b>"),
            "<html lang=\"nl\"><head><meta charset=\"utf-8\"><title>A &lt;b&gt;</title></head><body>x</body></html>"
        );
        let headless = "<html lang=\"\"><body>x</body></html>";
        assert_eq!(
            with_lang_and_title(headless, "en", "S"),
            "<html lang=\"en\"><head><title>S</title></head><body>x</body></html>"
        );
        let empty_title = "<html lang=\"en\"><head><title> </title></head></html>";
        assert_eq!(
            with_lang_and_title(empty_title, "en", "S"),
            "<html lang=\"en\"><head><title>S</title></head></html>"
        );
    }
}
