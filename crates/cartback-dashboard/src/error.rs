//! What a page answers when it cannot show itself: a sign-in redirect, or an
//! HTML error page with the right status (never a stack trace or a 500 for a
//! client's mistake).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use cartback_store::StoreError;

use crate::layout;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in: to the sign-in page, then back to `next`.
    #[error("sign in first")]
    SignedOut { next: String },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// The change does not fit the object's state; the text says why.
    #[error("{0}")]
    Conflict(String),
    /// A service we called (Stripe) refused or could not be reached.
    #[error("{0}")]
    Upstream(String),
    #[error("the database is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> PageError {
        if matches!(error, StoreError::NotFound) {
            return PageError::NotFound;
        }
        if error.is_unavailable() {
            tracing::warn!(%error, "dashboard: database unavailable");
            return PageError::Unavailable;
        }
        tracing::error!(%error, "dashboard: store error");
        PageError::Internal
    }
}

impl From<actix_web::error::BlockingError> for PageError {
    fn from(error: actix_web::error::BlockingError) -> PageError {
        tracing::error!(%error, "dashboard: blocking task failed");
        PageError::Internal
    }
}

/// Where sign-in sends back to: only a path of the dashboard, never another
/// site (an open redirect would make the sign-in page a phishing tool).
pub fn safe_next(next: &str) -> &str {
    let inside = next == "/dashboard" || next.starts_with("/dashboard/");
    if inside && !next.contains("//") && !next.contains('\\') && !next.contains("/login") {
        next
    } else {
        "/dashboard"
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignedOut { .. } => StatusCode::SEE_OTHER,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::Upstream(_) => StatusCode::BAD_GATEWAY,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::SignedOut { next } = self {
            let next = safe_next(next);
            let location = if next == "/dashboard" {
                "/dashboard/login".to_owned()
            } else {
                format!(
                    "/dashboard/login?next={}",
                    crate::format::query_escape(next)
                )
            };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
        }
        let (title, message) = match self {
            PageError::Forbidden(why) => ("Not allowed", (*why).to_owned()),
            PageError::NotFound => (
                "Page not found",
                "There is nothing here, or it belongs to another shop.".to_owned(),
            ),
            PageError::BadRequest(why) | PageError::Conflict(why) | PageError::Upstream(why) => {
                ("That did not work", why.clone())
            }
            PageError::Unavailable => (
                "Temporarily unavailable",
                "The database cannot be reached right now. Try again in a moment.".to_owned(),
            ),
            _ => (
                "Something went wrong",
                "The error was logged. Try again, or tell your administrator.".to_owned(),
            ),
        };
        let body = layout::bare(
            title,
            html! {
                div.card.narrow {
                    h1 { (title) }
                    p { (message) }
                    p { a href="/dashboard" { "Back to the overview" } }
                }
            },
        );
        let mut response = HttpResponse::build(self.status_code());
        if let PageError::Unavailable = self {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body.into_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_only_sends_back_into_the_dashboard() {
        assert_eq!(
            safe_next("/dashboard/carts?page=2"),
            "/dashboard/carts?page=2"
        );
        assert_eq!(safe_next("/dashboard"), "/dashboard");
        assert_eq!(safe_next("https://evil.example/"), "/dashboard");
        assert_eq!(safe_next("//evil.example/dashboard/"), "/dashboard");
        assert_eq!(safe_next("/dashboard/..//evil.example"), "/dashboard");
        assert_eq!(safe_next("/dashboardx"), "/dashboard");
        assert_eq!(safe_next("/dashboard/login"), "/dashboard");
    }
}
