//! One module per page.

pub mod cart;
pub mod carts;
pub mod login;
pub mod overview;
pub mod soon;
pub mod suppressions;
pub mod team;
pub mod webhooks;

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use maud::Markup;

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
