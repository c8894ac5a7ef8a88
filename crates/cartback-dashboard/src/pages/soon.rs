//! Sections whose page is not built yet say so plainly, inside the layout, and
//! anything else under `/dashboard` is a 404 page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use crate::Dashboard;
use crate::error::PageError;
use crate::layout::{self, Page};
use crate::pages::html;
use crate::session::signed_in;

/// `GET /dashboard/{section}`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    section: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let Some(section) = layout::section(&section).filter(|s| !s.built) else {
        return Err(PageError::NotFound);
    };
    let body = html! {
        div.page-header {
            h1 { (section.title) }
        }
        section.card.empty-state aria-labelledby="soon-title" {
            span.badge.soon { "Coming soon" }
            h2 #soon-title { "This page is on its way" }
            p { (section.purpose) }
            p.muted {
                "Until it arrives, everything here is available through the JSON API ("
                code { "/api/v1" }
                ") with a secret key, as described in the API documentation."
            }
        }
    };
    let page = layout::page(
        Page {
            title: section.title,
            section: section.slug,
            signed: &signed,
            chart: false,
        },
        body,
    );
    Ok(html(StatusCode::OK, page))
}

/// Anything else under `/dashboard`: signed-out visitors are sent to sign in
/// (a 404 would tell them which pages exist), others get a 404 page.
pub async fn not_found(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    signed_in(&request, &dashboard).await?;
    Err(PageError::NotFound)
}
