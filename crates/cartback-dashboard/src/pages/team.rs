//! `/dashboard/team`: the shop's users. Owners invite people (a one-time
//! sign-in link to hand over) and remove them; everyone else reads.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use cartback_domain::UserRole;
use cartback_store::users::{User, delete_user, list_users};

use crate::Dashboard;
use crate::accounts::{self, AccountError};
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Page, csrf_field};
use crate::pages::{html, see_other};
use crate::session::{SignedIn, signed_for_change, signed_in};

/// What the page shows besides the list after an invitation.
enum Notice {
    Link { email: String, url: String },
    Error(String),
}

async fn load(dashboard: &Dashboard, tenant_id: &str) -> Result<Vec<User>, PageError> {
    let tenant_id = tenant_id.to_owned();
    dashboard.db(move |conn| list_users(conn, &tenant_id)).await
}

fn render(signed: &SignedIn, users: &[User], notice: Option<&Notice>) -> Markup {
    let zone = signed
        .tenant
        .recovery_policy()
        .map(|p| p.zone())
        .unwrap_or_default();
    let owner = signed.role.may_manage_users();
    let body = html! {
        div.page-header {
            div {
                h1 { "Team" }
                p.muted { "People who can sign in to " (signed.tenant.name) "'s dashboard." }
            }
        }
        @match notice {
            Some(Notice::Link { email, url }) => {
                section.alert.success role="status" aria-labelledby="link-title" {
                    h2 #link-title { "Sign-in link for " (email) }
                    p { "Send them this link. It works once, within 24 hours, and is not shown again." }
                    label.visually-hidden for="invite-link" { "Sign-in link" }
                    input.copy-field #invite-link type="text" readonly value=(url);
                }
            }
            Some(Notice::Error(message)) => {
                p.alert.error role="alert" #invite-error { (message) }
            }
            None => {}
        }
        section.card aria-labelledby="people-title" {
            h2 #people-title { "People" }
            div.table-scroll {
                table.people {
                    thead {
                        tr {
                            th scope="col" { "Email" }
                            th scope="col" { "Role" }
                            th scope="col" { "Last sign-in" }
                            @if owner { th scope="col" { span.visually-hidden { "Actions" } } }
                        }
                    }
                    tbody {
                        @for user in users {
                            tr {
                                td { (user.email) @if user.id == signed.user.id { " " span.muted { "(you)" } } }
                                td { span.badge.role { (user.role) } }
                                td {
                                    @match user.last_sign_in_at {
                                        Some(at) => (format::local_time(at, zone)),
                                        None => span.muted { "Never" },
                                    }
                                }
                                @if owner {
                                    td.actions {
                                        @if user.id != signed.user.id {
                                            form.inline method="post" action={ "/dashboard/team/" (user.id) "/remove" } {
                                                (csrf_field(signed))
                                                button.button.danger.small type="submit" aria-label={ "Remove " (user.email) } { "Remove" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if owner {
            section.card aria-labelledby="invite-title" {
                h2 #invite-title { "Invite someone" }
                form.inline-form method="post" action="/dashboard/team/invite" {
                    (csrf_field(signed))
                    div.field.grow {
                        label for="invite-email" { "Email" }
                        input #invite-email type="email" name="email" required autocomplete="off";
                    }
                    div.field {
                        label for="invite-role" { "Role" }
                        select #invite-role name="role" {
                            option value="viewer" { "Viewer — reads only" }
                            option value="admin" { "Admin — changes settings and carts" }
                            option value="owner" { "Owner — also manages people" }
                        }
                    }
                    button.button.primary type="submit" { "Create sign-in link" }
                }
            }
        } @else {
            p.muted { "Only owners invite and remove people." }
        }
    };
    layout::page(
        Page {
            title: "Team",
            section: "team",
            signed,
            chart: false,
        },
        body,
    )
}

/// `GET /dashboard/team`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let users = load(&dashboard, &signed.tenant.id).await?;
    Ok(html(StatusCode::OK, render(&signed, &users, None)))
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

fn require_owner(signed: &SignedIn) -> Result<(), PageError> {
    if signed.role.may_manage_users() {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "Only the shop's owners manage people.",
        ))
    }
}

/// `POST /dashboard/team/invite`.
pub async fn invite(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    require_owner(&signed)?;
    let InviteForm { email, role, .. } = form.into_inner();
    let role = match UserRole::parse(&role) {
        Ok(role) => role,
        Err(_) => {
            return Err(PageError::BadRequest(
                "Pick owner, admin or viewer.".to_owned(),
            ));
        }
    };
    let tenant_id = signed.tenant.id.clone();
    let public_url = dashboard.public_url.clone();
    let typed = email.clone();
    let outcome = dashboard
        .db(
            move |conn| -> Result<Result<(User, String), AccountError>, PageError> {
                let now = Utc::now().naive_utc();
                match accounts::invite(conn, &tenant_id, &typed, role, &public_url, now) {
                    Err(AccountError::Store(error)) => Err(error.into()),
                    other => Ok(other),
                }
            },
        )
        .await?;
    let (status, notice) = match outcome {
        Ok((user, url)) => {
            tracing::info!(user = %user.id, tenant = %user.tenant_id, by = %signed.user.id, "dashboard invitation");
            (
                StatusCode::OK,
                Notice::Link {
                    email: user.email,
                    url,
                },
            )
        }
        Err(AccountError::OtherTenant) => (
            StatusCode::CONFLICT,
            Notice::Error(
                "This email already signs in to another shop; use another address.".to_owned(),
            ),
        ),
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Notice::Error(format!("Could not invite: {error}.")),
        ),
    };
    let users = load(&dashboard, &signed.tenant.id).await?;
    Ok(html(status, render(&signed, &users, Some(&notice))))
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /dashboard/team/{id}/remove`: the user and every session of theirs.
pub async fn remove(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    require_owner(&signed)?;
    let id = id.into_inner();
    if id == signed.user.id {
        return Err(PageError::BadRequest(
            "You cannot remove yourself.".to_owned(),
        ));
    }
    let tenant_id = signed.tenant.id.clone();
    dashboard
        .db(move |conn| delete_user(conn, &tenant_id, &id))
        .await?;
    Ok(see_other("/dashboard/team"))
}
