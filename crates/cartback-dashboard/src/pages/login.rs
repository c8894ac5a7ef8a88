//! Signing in with email and password or a one-time link, and out.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use cartback_store::users::{
    ThrottleRule, account_subject, clear_failures, create_session, delete_session,
    find_user_by_email, ip_subject, locked_until, record_failure, redeem_sign_in_link,
    set_password_hash,
};

use crate::Dashboard;
use crate::error::{PageError, safe_next};
use crate::layout;
use crate::pages::html;
use crate::password;
use crate::session::{check_origin, clear_cookie, cookie_token, same_secret, set_cookie};

/// Failed sign-ins of one account before it is locked for a while: slow enough
/// to stop guessing, short enough that the owner is not locked out for long.
const ACCOUNT_RULE: ThrottleRule = ThrottleRule {
    max_failures: 5,
    window: TimeDelta::minutes(15),
    lockout: TimeDelta::minutes(15),
};

/// Failed sign-ins from one address, across accounts (a shop's office may
/// share one address, hence more room).
const IP_RULE: ThrottleRule = ThrottleRule {
    max_failures: 30,
    window: TimeDelta::minutes(15),
    lockout: TimeDelta::minutes(15),
};

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

fn login_page(email: &str, next: &str, error: Option<&str>) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            div.card.narrow.sign-in {
                h1 { "Sign in to your shop" }
                @if let Some(error) = error {
                    p.alert.error role="alert" #login-error { (error) }
                }
                form.stack method="post" action="/dashboard/login" {
                    input type="hidden" name="next" value=(next);
                    div.field {
                        label for="email" { "Email" }
                        input #email type="email" name="email" value=(email)
                            autocomplete="username" required autofocus
                            aria-describedby=[error.map(|_| "login-error")];
                    }
                    div.field {
                        label for="password" { "Password" }
                        input #password type="password" name="password"
                            autocomplete="current-password" required;
                    }
                    button.button.primary.wide type="submit" { "Sign in" }
                }
                p.muted.small {
                    "No password yet? Ask your shop's owner for a sign-in link, or run "
                    code { "cartback user invite" }
                    " on the server."
                }
            }
        },
    )
}

/// `GET /dashboard/login`.
pub async fn form(query: web::Query<NextQuery>) -> HttpResponse {
    let next = safe_next(query.next.as_deref().unwrap_or("/dashboard"));
    html(StatusCode::OK, login_page("", next, None))
}

fn minutes_until(until: NaiveDateTime, now: NaiveDateTime) -> i64 {
    ((until - now).num_seconds() + 59) / 60
}

fn signed_in_response(dashboard: &Dashboard, token: &str, next: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::SET_COOKIE, set_cookie(dashboard, token)))
        .insert_header((header::LOCATION, next.to_owned()))
        .finish()
}

enum Attempt {
    Locked(i64),
    Wrong,
    SignedIn(String),
}

/// `POST /dashboard/login`.
pub async fn submit(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Credentials>,
) -> Result<HttpResponse, PageError> {
    check_origin(&request, &dashboard)?;
    let Credentials {
        email,
        password,
        next,
    } = form.into_inner();
    let next = safe_next(next.as_deref().unwrap_or("/dashboard")).to_owned();
    let email = email.trim().to_owned();
    if email.is_empty() || password.is_empty() || email.len() > 254 {
        let page = login_page(&email, &next, Some("Enter your email and password."));
        return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    let ip = (dashboard.client_ip)(&request).map(|ip| ip_subject(&ip.to_string()));
    let account = account_subject(&email);
    let limits = dashboard.sessions;
    let typed = email.clone();
    let attempt = dashboard
        .db(move |conn| -> Result<Attempt, PageError> {
            let now = Utc::now().naive_utc();
            let mut subjects = vec![account.clone()];
            subjects.extend(ip);
            for subject in &subjects {
                if let Some(until) = locked_until(conn, subject, now)? {
                    return Ok(Attempt::Locked(minutes_until(until, now)));
                }
            }
            let user = find_user_by_email(conn, &typed)?;
            let verified = match user.as_ref().and_then(|u| u.password_hash.as_deref()) {
                Some(stored) => password::verify(&password, stored),
                None => {
                    password::verify_nothing(&password);
                    false
                }
            };
            match user {
                Some(user) if verified => {
                    clear_failures(conn, &account)?;
                    let (token, _) = create_session(conn, &user, now, limits)?;
                    tracing::info!(user = %user.id, tenant = %user.tenant_id, "dashboard sign-in");
                    Ok(Attempt::SignedIn(token))
                }
                _ => {
                    let mut locked = None;
                    for subject in &subjects {
                        let rule = if subject.starts_with("ip:") {
                            IP_RULE
                        } else {
                            ACCOUNT_RULE
                        };
                        locked = locked.or(record_failure(conn, subject, now, rule)?);
                    }
                    tracing::info!("dashboard sign-in refused");
                    Ok(match locked {
                        Some(until) => Attempt::Locked(minutes_until(until, now)),
                        None => Attempt::Wrong,
                    })
                }
            }
        })
        .await?;
    match attempt {
        Attempt::SignedIn(token) => Ok(signed_in_response(&dashboard, &token, &next)),
        Attempt::Wrong => Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            login_page(&email, &next, Some("That email and password do not match.")),
        )),
        Attempt::Locked(minutes) => Ok(html(
            StatusCode::TOO_MANY_REQUESTS,
            login_page(
                &email,
                &next,
                Some(&format!(
                    "Too many failed sign-ins. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                )),
            ),
        )),
    }
}

#[derive(Debug, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    password: String,
}

fn link_page(token: &str, error: Option<&str>) -> Markup {
    layout::bare(
        "Sign in with a link",
        html! {
            div.card.narrow.sign-in {
                h1 { "Welcome to your shop's dashboard" }
                p { "This link signs you in once. Choose a password now to sign in with it next time, or leave it empty to continue with this link only." }
                @if let Some(error) = error {
                    p.alert.error role="alert" #link-error { (error) }
                }
                form.stack method="post" action={ "/dashboard/login/link/" (token) } {
                    div.field {
                        label for="new-password" { "New password (optional)" }
                        input #new-password type="password" name="password"
                            autocomplete="new-password" minlength=(password::MIN_LENGTH)
                            aria-describedby="password-hint";
                        p.hint #password-hint { "At least " (password::MIN_LENGTH) " characters." }
                    }
                    button.button.primary.wide type="submit" { "Continue to the dashboard" }
                }
            }
        },
    )
}

/// `GET /dashboard/login/link/{token}`: a page with a button, so that mail
/// scanners that follow links do not use the link up.
pub async fn link_form(token: web::Path<String>) -> HttpResponse {
    let token: String = token
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    html(StatusCode::OK, link_page(&token, None))
}

/// `POST /dashboard/login/link/{token}`.
pub async fn link_submit(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    token: web::Path<String>,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, PageError> {
    check_origin(&request, &dashboard)?;
    let token = token.into_inner();
    let new_password = form.into_inner().password;
    // Checked before the link is used, so a too-short password costs nothing.
    let hash = if new_password.is_empty() {
        None
    } else {
        match password::hash(&new_password) {
            Ok(hash) => Some(hash),
            Err(error) => {
                let shown: String = token.chars().filter(char::is_ascii_alphanumeric).collect();
                let message = format!("The password {error}.");
                return Ok(html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    link_page(&shown, Some(&message)),
                ));
            }
        }
    };
    let limits = dashboard.sessions;
    let session = dashboard
        .db(move |conn| -> Result<Option<String>, PageError> {
            let now = Utc::now().naive_utc();
            let Some(user) = redeem_sign_in_link(conn, &token, now)? else {
                return Ok(None);
            };
            if let Some(hash) = &hash {
                set_password_hash(conn, &user.tenant_id, &user.id, hash)?;
            }
            let (session, _) = create_session(conn, &user, now, limits)?;
            tracing::info!(user = %user.id, tenant = %user.tenant_id, "dashboard sign-in by link");
            Ok(Some(session))
        })
        .await?;
    match session {
        Some(token) => Ok(signed_in_response(&dashboard, &token, "/dashboard")),
        None => Err(PageError::BadRequest(
            "This sign-in link was already used or has expired (links work once, for 24 hours). Ask for a new one."
                .to_owned(),
        )),
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

/// `POST /dashboard/logout`: ends the session on the server, so the cookie is
/// worthless on every replica even if a copy survives.
pub async fn logout(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, PageError> {
    let signed = crate::session::signed_in(&request, &dashboard).await?;
    check_origin(&request, &dashboard)?;
    let fresh = form
        .csrf
        .as_deref()
        .is_some_and(|csrf| same_secret(csrf, &signed.session.csrf_token));
    if !fresh {
        return Err(PageError::Forbidden(
            "This form has expired. Reload the page and try again.",
        ));
    }
    if let Some(token) = cookie_token(&request) {
        dashboard
            .db(move |conn| delete_session(conn, &token))
            .await?;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::SET_COOKIE, clear_cookie(&dashboard)))
        .insert_header((header::LOCATION, "/dashboard/login"))
        .finish())
}
