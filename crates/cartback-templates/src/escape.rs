//! Escaping for text placed in HTML and MJML.
//!
//! MJML is parsed as markup, and mrml passes entity references through
//! untouched, so text escaped for HTML is also safe inside MJML: `</mj-text>`
//! becomes `&lt;/mj-text&gt;` and cannot close the element around it.

use std::fmt;

/// Writes `text` with `& < > " '` escaped; safe in element content and in
/// double- or single-quoted attribute values.
pub(crate) struct Html<'a>(pub &'a str);

impl fmt::Display for Html<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = 0;
        for (i, c) in self.0.char_indices() {
            let entity = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[last..i])?;
            f.write_str(entity)?;
            last = i + c.len_utf8();
        }
        f.write_str(&self.0[last..])
    }
}

/// Escaped text with line breaks turned into `<br>`.
pub(crate) struct HtmlLines<'a>(pub &'a str);

impl fmt::Display for HtmlLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.lines().enumerate() {
            if i > 0 {
                f.write_str("<br>")?;
            }
            write!(f, "{}", Html(line))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            Html("<a href=\"x\">&'</mj-text>").to_string(),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/mj-text&gt;"
        );
        assert_eq!(Html("plain é €").to_string(), "plain é €");
        assert_eq!(
            HtmlLines("1 Main St\n<b>Town</b>").to_string(),
            "1 Main St<br>&lt;b&gt;Town&lt;/b&gt;"
        );
    }
}
