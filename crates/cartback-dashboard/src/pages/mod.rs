//! One module per page.

pub mod cart;
mod duration;
pub mod emails;
mod fields;
mod frame;
pub mod login;
pub mod overview;
pub mod recovery;
pub mod soon;
pub mod team;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use maud::Markup;

use cartback_store::templates::TemplateRow;
use cartback_store::tenants::Tenant;
use cartback_templates::{CustomTemplate, Experience};

use crate::Dashboard;
use crate::error::PageError;
use crate::session::{SignedIn, check_change, signed_in};
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
    let signed = signed_in(request, dashboard).await?;
    let fields = fields_of(form);
    check_change(
        request,
        dashboard,
        &signed,
        fields.get("csrf").map(String::as_str),
    )?;
    Ok((signed, fields))
}
