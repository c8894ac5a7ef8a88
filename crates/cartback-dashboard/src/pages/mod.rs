//! One module per page.

pub mod cart;
pub mod carts;
pub mod developers;
mod duration;
pub mod emails;
pub mod experiments;
mod fields;
mod frame;
pub mod login;
pub mod overview;
pub mod provider;
pub mod recovery;
pub mod sending;
pub mod soon;
pub mod suppressions;
pub mod team;
pub mod webhooks;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use maud::Markup;

use cartback_store::templates::TemplateRow;
use cartback_store::tenants::Tenant;
use cartback_templates::{CustomTemplate, Experience};

use crate::Dashboard;
use crate::error::PageError;
use crate::session::{SignedIn, signed_for_change};
use fields::{Fields, fields_of};

/// An HTML page with `status`.
pub fn html(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(markup.into_string())
}

/// After a successful form: see `location` (POST → redirect → GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A form that only carries the CSRF token (a button that changes one thing).
#[derive(Debug, serde::Deserialize)]
pub struct CsrfOnly {
    pub csrf: Option<String>,
}

/// An id from a path, not looked up when it cannot be one (ours are short;
/// a shop's own ids are at most 128 characters by the api's bounds).
pub fn checked_id(id: &str) -> Result<&str, crate::error::PageError> {
    if id.is_empty() || id.len() > 128 {
        Err(crate::error::PageError::NotFound)
    } else {
        Ok(id)
    }
}

/// The deepest page a link can ask for (a search narrows better beyond).
const MAX_PAGE: i64 = 100_000;

/// `?page=N`, 1 when absent or unreadable.
pub fn page_number(text: Option<&str>) -> i64 {
    text.and_then(|t| t.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE)
}

/// A signed-in page of `section`, answered with `status`.
pub fn section_page(
    status: StatusCode,
    signed: &crate::session::SignedIn,
    title: &str,
    section: &str,
    body: Markup,
) -> HttpResponse {
    let page = crate::layout::page(
        crate::layout::Page {
            title,
            section,
            signed,
            chart: false,
        },
        body,
    );
    html(status, page)
}

/// What a confirmation page asks before something that cannot be undone.
pub struct Confirmation<'a> {
    pub section: &'a str,
    pub title: &'a str,
    /// The breadcrumb's links, ending in " / ".
    pub crumbs: Markup,
    /// What goes, said plainly.
    pub explanation: Markup,
    pub action: String,
    pub button: &'a str,
    pub button_id: &'a str,
    pub cancel: String,
}

/// The confirmation page: the explanation, the red button (a form with the
/// CSRF token) and a way back.
pub fn confirmation(signed: &crate::session::SignedIn, asked: Confirmation<'_>) -> HttpResponse {
    let body = maud::html! {
        div.page-header {
            div {
                p.breadcrumb { (asked.crumbs) }
                h1 { (asked.title) }
            }
        }
        section.card.narrow-left.danger-zone aria-labelledby="confirm-title" {
            h2 #confirm-title { "This cannot be undone" }
            (asked.explanation)
            form.confirm-actions method="post" action=(asked.action) {
                (crate::layout::csrf_field(signed))
                button.button.danger.solid type="submit" id=(asked.button_id) { (asked.button) }
                a.button href=(asked.cancel) { "Cancel" }
            }
        }
    };
    section_page(StatusCode::OK, signed, asked.title, asked.section, body)
}

/// The shop's stored look and words of its emails; unreadable ones read as the
/// built-in defaults, as the worker treats them.
pub fn stored_experience(tenant: &Tenant) -> Experience {
    serde_json::from_str(&tenant.experience).unwrap_or_else(|error| {
        tracing::warn!(tenant = %tenant.id, %error, "stored email settings unreadable");
        Experience::default()
    })
}

/// A stored template as previews take it: its locale and its parts.
pub fn custom_of_row(row: TemplateRow) -> (String, CustomTemplate) {
    (
        row.locale,
        CustomTemplate {
            subject: row.subject,
            html: row.html,
            text: row.text,
        },
    )
}

/// `nl-BE` → `Dutch (nl-BE)`'s first part: the language's English name, or the
/// tag itself for languages without one here.
pub fn language_name(tag: &str) -> String {
    let language = tag.split('-').next().unwrap_or(tag);
    let name = match language {
        "en" => "English",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "nl" => "Dutch",
        "it" => "Italian",
        "pt" => "Portuguese",
        "da" => "Danish",
        "sv" => "Swedish",
        "nb" | "no" => "Norwegian",
        "fi" => "Finnish",
        "pl" => "Polish",
        "cs" => "Czech",
        "ja" => "Japanese",
        _ => return tag.to_owned(),
    };
    name.to_owned()
}

/// A change posted by a signed-in user, once it passed the Origin, CSRF and
/// role checks: who, and the form's fields.
pub async fn signed_change(
    dashboard: &Dashboard,
    request: &HttpRequest,
    form: Vec<(String, String)>,
) -> Result<(SignedIn, Fields), PageError> {
    let fields = fields_of(form);
    let signed =
        signed_for_change(request, dashboard, fields.get("csrf").map(String::as_str)).await?;
    Ok((signed, fields))
}
