//! Browser access per tenant. A storefront's browser may capture carts with the
//! tenant's publishable key only from the origins the tenant listed
//! (`GET/PUT /api/v1/settings/allowed-origins`); an empty list allows no browser.
//!
//! On the browser routes (public capture, and tracking with a publishable key) a
//! request with an `Origin` header from a listed origin is answered with that
//! origin in `Access-Control-Allow-Origin`; from any other origin it is refused
//! with 403 before its body is read. Requests without `Origin` (servers, curl)
//! are not browser requests and are not checked. Preflights carry no key, so they
//! cannot be tied to a tenant: they are answered for any origin, and the rule is
//! enforced on the request that follows. Merchant routes never send CORS headers.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use cartback_store::origins::{get_allowed_origins, parse_origins, set_allowed_origins};
use cartback_store::tenants::Tenant;

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::body::json_body;
use crate::state::AppState;

/// Most origins a tenant may list.
pub const MAX_ALLOWED_ORIGINS: usize = 50;

/// The origin a browser request was allowed from, left on the request for the
/// response layer to echo (on errors as well, so the page can read them).
#[derive(Debug, Clone)]
pub(crate) struct AllowedOrigin(pub(crate) HeaderValue);

/// Refuses a browser request whose `Origin` the tenant did not list; remembers
/// an allowed one for the answer. Requests without `Origin` pass.
pub(crate) fn enforce_origin(request: &HttpRequest, tenant: &Tenant) -> Result<(), ApiError> {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let allowed = origin.to_str().ok().is_some_and(|origin| {
        parse_origins(&tenant.allowed_origins)
            .iter()
            .any(|listed| listed.eq_ignore_ascii_case(origin))
    });
    if !allowed {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this origin may not capture carts for the shop: add it with PUT /api/v1/settings/allowed-origins",
        ));
    }
    request
        .extensions_mut()
        .insert(AllowedOrigin(origin.clone()));
    Ok(())
}

/// `OPTIONS` on the browser routes.
#[utoipa::path(
    options,
    path = "/api/v1/track",
    tag = "tracking",
    operation_id = "trackPreflight",
    summary = "CORS preflight of the tracking route",
    description = "Answered for any origin (a preflight carries no key); the tenant's allowed \
        origins are enforced on the request that follows.",
    responses(crate::openapi::PreflightAnswer),
    // Open to anyone: no key.
    security()
)]
pub async fn preflight(request: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        response.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()));
    }
    response
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "content-type, x-api-key, authorization",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .insert_header((header::VARY, "Origin"))
        .finish()
}

/// Longest origin accepted, in characters (ASCII: longer is refused first).
pub(crate) const MAX_ORIGIN_LEN: usize = 300;

/// `scheme://host[:port]` in the form browsers send in `Origin`: lower case, no
/// default port, no path. Host names must be ASCII (punycode for IDNs).
pub fn normalize_origin(text: &str) -> Result<String, String> {
    let shape = "must be an origin such as https://shop.example or http://localhost:3000 (scheme, host and optional port; no path)";
    let lower = text.trim().to_ascii_lowercase();
    // Long enough for any real origin; the document states the same limit.
    if lower.len() > MAX_ORIGIN_LEN {
        return Err(format!("must be at most {MAX_ORIGIN_LEN} characters"));
    }
    let (scheme, rest) = lower.split_once("://").ok_or(shape)?;
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return Err("the scheme must be http or https".to_owned()),
    };
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@', '\\'])
        || rest.contains(char::is_whitespace)
    {
        return Err(shape.to_owned());
    }
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (address, after) = inner.split_once(']').ok_or(shape)?;
        address
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("{address:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(shape)?),
        };
        (format!("[{address}]"), port)
    } else {
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        valid_host(host)?;
        (host.to_owned(), port)
    };
    let port = match port {
        None => None,
        Some(digits) => {
            let number = digits
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0 && digits.bytes().all(|b| b.is_ascii_digit()))
                .ok_or("the port must be a number from 1 to 65535")?;
            (number != default_port).then_some(number)
        }
    };
    Ok(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

fn valid_host(host: &str) -> Result<(), String> {
    let bad = || format!("{host:?} is not a host name");
    if host.is_empty() {
        return Err(bad());
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if labels_ok { Ok(()) } else { Err(bad()) }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OriginsAnswer {
    success: bool,
    allowed_origins: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OriginsUpdate {
    allowed_origins: Vec<String>,
}

/// `GET /api/v1/settings/allowed-origins`.
#[utoipa::path(
    get,
    path = "/api/v1/settings/allowed-origins",
    tag = "browser capture",
    operation_id = "getAllowedOrigins",
    summary = "The origins whose pages may capture carts with the publishable key",
    responses(
        (status = 200, description = "The list (empty: no browser)", body = crate::openapi::AllowedOrigins),
        crate::openapi::SecretKeyErrors,
    )
)]
pub async fn get_origins(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    // Read afresh: the caller's tenant may be a few seconds old (auth cache).
    let origins = state
        .db(move |conn| get_allowed_origins(conn, &caller.tenant.id))
        .await?;
    Ok(HttpResponse::Ok().json(OriginsAnswer {
        success: true,
        allowed_origins: origins,
    }))
}

/// `PUT /api/v1/settings/allowed-origins`: replaces the list.
#[utoipa::path(
    put,
    path = "/api/v1/settings/allowed-origins",
    tag = "browser capture",
    operation_id = "putAllowedOrigins",
    summary = "Replace the allowed origins",
    request_body = crate::openapi::AllowedOriginsUpdate,
    responses(
        (status = 200, description = "The list as stored (normalised, without duplicates)", body = crate::openapi::AllowedOrigins),
        (status = 400, description = "BAD_REQUEST: the body is not JSON", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: an entry that is not an origin (`allowedOrigins[2]`), or more than 50", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    )
)]
pub async fn put_origins(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let update: OriginsUpdate = serde_json::from_slice(&body).map_err(|e| {
        ApiError::validation(vec![FieldError {
            field: "allowedOrigins".into(),
            message: format!("expected {{\"allowedOrigins\": [\"https://shop.example\"]}}: {e}"),
        }])
    })?;
    if update.allowed_origins.len() > MAX_ALLOWED_ORIGINS {
        return Err(ApiError::validation(vec![FieldError {
            field: "allowedOrigins".into(),
            message: format!(
                "at most {MAX_ALLOWED_ORIGINS} origins, got {}",
                update.allowed_origins.len()
            ),
        }]));
    }
    let mut problems = Vec::new();
    let mut origins: Vec<String> = Vec::with_capacity(update.allowed_origins.len());
    for (index, text) in update.allowed_origins.iter().enumerate() {
        match normalize_origin(text) {
            Ok(origin) if !origins.contains(&origin) => origins.push(origin),
            Ok(_) => {}
            Err(message) => problems.push(FieldError {
                field: format!("allowedOrigins[{index}]"),
                message,
            }),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let saved = origins.clone();
    state
        .db(move |conn| {
            set_allowed_origins(conn, &caller.tenant.id, &saved, Utc::now().naive_utc())
        })
        .await?;
    Ok(HttpResponse::Ok().json(OriginsAnswer {
        success: true,
        allowed_origins: origins,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_like_browsers_send_them() {
        for (given, expected) in [
            ("https://shop.example", "https://shop.example"),
            ("HTTPS://Shop.Example", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://shop.example:80", "http://shop.example"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            (
                " https://xn--bcher-kva.example ",
                "https://xn--bcher-kva.example",
            ),
        ] {
            assert_eq!(normalize_origin(given).as_deref(), Ok(expected), "{given}");
        }
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "",
            "shop.example",
            "ftp://shop.example",
            "https://",
            "https://shop.example/",
            "https://shop.example/cart",
            "https://shop.example?x=1",
            "https://user@shop.example",
            "https://shop.example:0",
            "https://shop.example:99999",
            "https://shop.example:",
            "https://-shop.example",
            "https://shop..example",
            "https://shop example",
            "https://bücher.example",
            "https://*.shop.example",
            "http://[::1",
            "null",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
