//! Who is asking: the session cookie, the CSRF token and Origin check on every
//! change, the role rules, and the security headers of every dashboard answer.

use actix_web::HttpRequest;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use chrono::Utc;

use cartback_domain::UserRole;
use cartback_store::tenants::{Tenant, find_tenant};
use cartback_store::users::{Session, User, resume_session};

use crate::Dashboard;
use crate::error::PageError;

/// The session cookie. Path-scoped to the dashboard, so the JSON API never
/// sees it (it authenticates by key only, and must stay immune to CSRF).
pub const COOKIE: &str = "cartback_session";

/// No inline script or style, nothing from elsewhere, no framing, forms only
/// to ourselves; frames only of our own email previews (which carry a
/// sandboxing policy of their own, see `pages::frame`).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every answer under `/dashboard`; pages are
/// never cached (they show one person's data), assets set their own caching,
/// and email previews set their own policy and framing.
pub async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    let fixed: [(header::HeaderName, &'static str); 3] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// The session cookie's value, if the request carries one.
pub fn cookie_token(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// `Set-Cookie` for a new session: script cannot read it, other sites' pages
/// do not send it with their forms, and over https it never travels in clear.
pub fn set_cookie(dashboard: &Dashboard, token: &str) -> String {
    let max_age = dashboard.sessions.absolute.num_seconds();
    let secure = if dashboard.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={token}; Path=/dashboard; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

pub fn clear_cookie(dashboard: &Dashboard) -> String {
    let secure = if dashboard.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}=; Path=/dashboard; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
}

/// A signed-in request.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub role: UserRole,
    pub session: Session,
    pub tenant: Tenant,
}

impl SignedIn {
    /// The shop's time zone, for showing times (UTC if its policy is unreadable).
    pub fn zone(&self) -> cartback_domain::Tz {
        self.tenant
            .recovery_policy()
            .map(|p| p.zone())
            .unwrap_or_default()
    }
}

/// The signed-in user of `request`, or [`PageError::SignedOut`] back to it.
pub async fn signed_in(
    request: &HttpRequest,
    dashboard: &Dashboard,
) -> Result<SignedIn, PageError> {
    let next = match request.query_string() {
        "" => request.path().to_owned(),
        query => format!("{}?{query}", request.path()),
    };
    let signed_out = || PageError::SignedOut { next: next.clone() };
    let Some(token) = cookie_token(request) else {
        return Err(signed_out());
    };
    let limits = dashboard.sessions;
    let found = dashboard
        .db(move |conn| -> Result<_, PageError> {
            let Some((session, user)) =
                resume_session(conn, &token, Utc::now().naive_utc(), limits)?
            else {
                return Ok(None);
            };
            let Some(tenant) = find_tenant(conn, &session.tenant_id)? else {
                return Ok(None);
            };
            Ok(Some((session, user, tenant)))
        })
        .await?;
    let Some((session, user, tenant)) = found else {
        return Err(signed_out());
    };
    if !tenant.status.is_served() {
        return Err(PageError::Forbidden(
            "This shop is suspended or closed. Its operator can resume it.",
        ));
    }
    let role = user.role()?;
    Ok(SignedIn {
        user,
        role,
        session,
        tenant,
    })
}

/// `scheme://host[:port]` of a URL, lower-cased.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}").to_ascii_lowercase())
}

/// A state-changing request must come from a page of ours: its `Origin` (or,
/// from older browsers, its `Referer`) is the public URL's origin or the
/// request's own host. Another site's form fails here even before the CSRF
/// token is looked at.
pub fn check_origin(request: &HttpRequest, dashboard: &Dashboard) -> Result<(), PageError> {
    let refused = PageError::Forbidden("This form was not sent from this dashboard.");
    let headers = request.headers();
    let claimed = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|v| *v != "null")
        .and_then(origin_of)
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(origin_of)
        })
        .ok_or(refused)?;
    if origin_of(&dashboard.public_url).as_deref() == Some(claimed.as_str()) {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let claimed_host = claimed.split_once("://").map(|(_, host)| host);
    match (claimed_host, host) {
        (Some(claimed), Some(host)) if claimed == host => Ok(()),
        _ => Err(PageError::Forbidden(
            "This form was not sent from this dashboard.",
        )),
    }
}

/// Equal in constant time, so the token cannot be guessed byte by byte.
pub fn same_secret(left: &str, right: &str) -> bool {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The checks of every change a signed-in user makes: same origin, the
/// session's CSRF token, and a role that may change things.
pub fn check_change(
    request: &HttpRequest,
    dashboard: &Dashboard,
    signed: &SignedIn,
    csrf: Option<&str>,
) -> Result<(), PageError> {
    check_origin(request, dashboard)?;
    match csrf {
        Some(token) if same_secret(token, &signed.session.csrf_token) => {}
        _ => {
            return Err(PageError::Forbidden(
                "This form has expired. Reload the page and try again.",
            ));
        }
    }
    if !signed.role.may_change_settings() {
        return Err(PageError::Forbidden(
            "Your role (viewer) can look but not change anything.",
        ));
    }
    Ok(())
}

/// The signed-in user of a change, once it passed [`check_change`]: the
/// preamble of every handler that changes something.
pub async fn signed_for_change(
    request: &HttpRequest,
    dashboard: &Dashboard,
    csrf: Option<&str>,
) -> Result<SignedIn, PageError> {
    let signed = signed_in(request, dashboard).await?;
    check_change(request, dashboard, &signed, csrf)?;
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn dashboard(public_url: &str) -> Option<Dashboard> {
        // A store is needed only by handlers; these checks never touch it.
        let dir = tempfile::tempdir().ok()?;
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        let store = cartback_store::Store::open(&url, 1).ok()?;
        std::mem::forget(dir);
        Some(Dashboard::new(store, public_url))
    }

    #[test]
    fn origins_of_this_dashboard_pass_others_fail() {
        let Some(dash) = dashboard("https://cartback.shop.example") else {
            panic!("a store");
        };
        let post = |headers: &[(&str, &str)]| {
            let mut request = TestRequest::post()
                .uri("/dashboard/team/invite")
                .insert_header(("host", "127.0.0.1:8080"));
            for header in headers {
                request = request.insert_header(*header);
            }
            check_origin(&request.to_http_request(), &dash).is_ok()
        };
        assert!(post(&[("origin", "https://cartback.shop.example")]));
        assert!(post(&[("origin", "http://127.0.0.1:8080")]));
        assert!(post(&[("referer", "http://127.0.0.1:8080/dashboard/team")]));
        assert!(!post(&[]));
        assert!(!post(&[("origin", "null")]));
        assert!(!post(&[("origin", "https://evil.example")]));
        assert!(!post(&[("origin", "http://127.0.0.1:8081")]));
        assert!(!post(&[("referer", "https://evil.example/dashboard")]));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_https() {
        let (Some(https), Some(http)) = (
            dashboard("https://cartback.shop.example"),
            dashboard("http://127.0.0.1:8080"),
        ) else {
            panic!("a store");
        };
        let cookie = set_cookie(&https, "abc");
        assert!(cookie.starts_with("cartback_session=abc; Path=/dashboard;"));
        assert!(cookie.contains("HttpOnly; SameSite=Lax; Secure"));
        assert!(!set_cookie(&http, "abc").contains("Secure"));
        assert!(clear_cookie(&https).contains("Max-Age=0"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let request = TestRequest::get()
            .insert_header(("cookie", "theme=dark; cartback_session=tok123; x=y"))
            .to_http_request();
        assert_eq!(cookie_token(&request).as_deref(), Some("tok123"));
        let request = TestRequest::get()
            .insert_header(("cookie", "cartback_session_old=1"))
            .to_http_request();
        assert_eq!(cookie_token(&request), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
