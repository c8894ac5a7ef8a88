//! The documents shown inside preview frames: a rendered email, under a policy
//! of its own. Emails need inline styles and remote images, which the
//! dashboard's pages forbid, so a frame's document gets `sandbox` (no script,
//! no same-origin access, no forms, no popups) and may only be framed by the
//! dashboard itself.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

use cartback_templates::RenderedEmail;

/// Styles inline only, images from the web (the shop's logo and products), no
/// script of any kind, framed only by our own pages.
pub const FRAME_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src https: http: data:; font-src https: data:; sandbox; \
     frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

fn escape(text: &str) -> String {
    maud::html! { (text) }.into_string()
}

/// A subject line above the email, inside its `<body>` so the email's own
/// `<head>` stays first.
fn with_subject(email: &RenderedEmail, caption: &str) -> String {
    let banner = format!(
        "<div style=\"font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
         background:#ffffff;color:#16191f;border-bottom:1px solid #e3e6eb;padding:10px 14px\">\
         <div style=\"color:#5b6472;font-size:12px\">{}</div>\
         <div data-preview-subject style=\"font-weight:650\">{}</div></div>",
        escape(caption),
        escape(&email.subject)
    );
    let html = &email.html;
    let lower = html.to_ascii_lowercase();
    match lower
        .find("<body")
        .and_then(|at| lower[at..].find('>').map(|end| at + end + 1))
    {
        Some(after_body) => format!("{}{banner}{}", &html[..after_body], &html[after_body..]),
        None => format!("{banner}{html}"),
    }
}

fn frame(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, FRAME_POLICY))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .body(body)
}

/// A rendered email with its subject and `caption` (which template, which language).
pub fn email(email: &RenderedEmail, caption: &str) -> HttpResponse {
    frame(StatusCode::OK, with_subject(email, caption))
}

/// A short note instead of an email (a draft with errors, a template that
/// does not render).
pub fn note(status: StatusCode, message: &str) -> HttpResponse {
    frame(
        status,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Preview</title></head>\
             <body style=\"font:15px/1.5 system-ui,sans-serif;color:#5b6472;margin:0;padding:24px\">\
             <p>{}</p></body></html>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_goes_inside_the_body_escaped() {
        let rendered = RenderedEmail {
            subject: "Your <cart>".to_owned(),
            html: "<!doctype html><html><head></head><BODY style=\"x\"><p>Hi</p></body></html>"
                .to_owned(),
            text: String::new(),
        };
        let shown = with_subject(&rendered, "minimal · en");
        let body_at = shown.find("<BODY style=\"x\">").unwrap_or(usize::MAX);
        let subject_at = shown.find("Your &lt;cart&gt;").unwrap_or(0);
        assert!(body_at < subject_at, "{shown}");
        let bare = RenderedEmail {
            html: "<p>no body tag</p>".to_owned(),
            ..rendered
        };
        assert!(with_subject(&bare, "c").ends_with("<p>no body tag</p>"));
    }
}
