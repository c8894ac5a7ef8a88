//! `/dashboard/suppressions`: the addresses the shop never emails
//! (unsubscribed, bounced, complained, or added by hand), searchable; owners
//! and admins add and remove them. The same store functions as
//! `/api/v1/suppressions`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use cartback_domain::{EmailAddress, Tz};
use cartback_store::suppressions::{
    HASHED_PREFIX, Suppression, SuppressionReason, add_suppression, list_suppressions_matching,
    remove_suppression,
};

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::csrf_field;
use crate::pages::{page_number, section_page};
use crate::session::{SignedIn, signed_for_change, signed_in};

/// Entries per page.
const PAGE_SIZE: i64 = 50;
/// The API's bound on a note.
const MAX_NOTE_CHARS: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

/// What the page says besides the list.
enum Notice {
    Added(String),
    AlreadyThere(String),
    Removed(String),
    /// The add form's problem: the field and why, and what was typed.
    Invalid {
        field: &'static str,
        message: String,
        email: String,
        note: String,
    },
}

struct Listing {
    rows: Vec<Suppression>,
    total: i64,
    page: i64,
}

async fn load(
    dashboard: &Dashboard,
    tenant_id: &str,
    search: &str,
    page: i64,
) -> Result<Listing, PageError> {
    let tenant_id = tenant_id.to_owned();
    let search = search.trim().to_owned();
    let (rows, total) = dashboard
        .db(move |conn| {
            list_suppressions_matching(
                conn,
                &tenant_id,
                Some(search.as_str()).filter(|s| !s.is_empty()),
                (page - 1) * PAGE_SIZE,
                PAGE_SIZE,
            )
        })
        .await?;
    Ok(Listing { rows, total, page })
}

/// `GET /dashboard/suppressions?q=…&page=…`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    if query.q.chars().count() > 320 {
        return Err(PageError::BadRequest(
            "A search is at most 320 characters.".to_owned(),
        ));
    }
    let listing = load(
        &dashboard,
        &signed.tenant.id,
        &query.q,
        page_number(query.page.as_deref()),
    )
    .await?;
    let body = render(&signed, &query.q, &listing, None);
    Ok(section_page(
        StatusCode::OK,
        &signed,
        "Suppressions",
        "suppressions",
        body,
    ))
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    note: String,
}

/// `POST /dashboard/suppressions/add`: a manual entry (the API's
/// `POST /api/v1/suppressions` without a reason).
pub async fn add(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let AddForm { email, note, .. } = form.into_inner();
    let note = note.trim().to_owned();
    let checked = EmailAddress::parse(email.trim())
        .map_err(|e| ("email", e.to_string()))
        .and_then(|address| {
            if note.chars().count() > MAX_NOTE_CHARS {
                Err((
                    "note",
                    format!("must be at most {MAX_NOTE_CHARS} characters"),
                ))
            } else if note.chars().any(char::is_control) {
                Err(("note", "must not contain control characters".to_owned()))
            } else {
                Ok(address)
            }
        });
    let (status, notice) = match checked {
        Err((field, message)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Notice::Invalid {
                field,
                message,
                email,
                note,
            },
        ),
        Ok(address) => {
            let tenant_id = signed.tenant.id.clone();
            let plain = address.as_str().to_lowercase();
            let stored_note = (!note.is_empty()).then_some(note);
            let added = dashboard
                .db(move |conn| {
                    add_suppression(
                        conn,
                        &tenant_id,
                        address.as_str(),
                        SuppressionReason::Manual,
                        stored_note.as_deref(),
                        Utc::now(),
                    )
                })
                .await?;
            tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, added, "dashboard: suppression added");
            if added {
                (StatusCode::OK, Notice::Added(plain))
            } else {
                (StatusCode::OK, Notice::AlreadyThere(plain))
            }
        }
    };
    let listing = load(&dashboard, &signed.tenant.id, "", 1).await?;
    let body = render(&signed, "", &listing, Some(&notice));
    Ok(section_page(
        status,
        &signed,
        "Suppressions",
        "suppressions",
        body,
    ))
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
}

/// `POST /dashboard/suppressions/remove`: the address may be emailed again.
pub async fn remove(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let email = form.into_inner().email.trim().to_owned();
    if email.is_empty() || email.len() > 400 {
        return Err(PageError::BadRequest(
            "Name the address to remove.".to_owned(),
        ));
    }
    let tenant_id = signed.tenant.id.clone();
    let shown = email.clone();
    let removed = dashboard
        .db(move |conn| remove_suppression(conn, &tenant_id, &email))
        .await?;
    if !removed {
        return Err(PageError::NotFound);
    }
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, "dashboard: suppression removed");
    let listing = load(&dashboard, &signed.tenant.id, "", 1).await?;
    let body = render(&signed, "", &listing, Some(&Notice::Removed(shown)));
    Ok(section_page(
        StatusCode::OK,
        &signed,
        "Suppressions",
        "suppressions",
        body,
    ))
}

fn reason_label(reason: SuppressionReason) -> &'static str {
    match reason {
        SuppressionReason::Unsubscribed => "Unsubscribed",
        SuppressionReason::Bounced => "Bounced",
        SuppressionReason::Complained => "Complained",
        SuppressionReason::Manual => "Added by hand",
    }
}

fn page_link(search: &str, page: i64) -> String {
    let mut link = format!("/dashboard/suppressions?page={page}");
    if !search.trim().is_empty() {
        link.push_str("&q=");
        link.push_str(&format::query_escape(search.trim()));
    }
    link
}

fn render(signed: &SignedIn, search: &str, listing: &Listing, notice: Option<&Notice>) -> Markup {
    let zone: Tz = signed
        .tenant
        .recovery_policy()
        .map(|p| p.zone())
        .unwrap_or_default();
    let may_change = signed.role.may_change_settings();
    let (typed_email, typed_note, problem) = match notice {
        Some(Notice::Invalid {
            field,
            message,
            email,
            note,
        }) => (
            email.as_str(),
            note.as_str(),
            Some((*field, message.as_str())),
        ),
        _ => ("", "", None),
    };
    let error_of = |name: &str| problem.filter(|(field, _)| *field == name).map(|(_, m)| m);
    let pages = (listing.total + PAGE_SIZE - 1) / PAGE_SIZE;
    let body = html! {
        div.page-header {
            div {
                h1 { "Suppressions" }
                p.muted { "Addresses that never get a recovery email, checked right before every send. Unsubscribes land here by themselves." }
            }
        }
        @match notice {
            Some(Notice::Added(email)) => p.alert.success role="status" #suppression-notice { (email) " will not be emailed again." },
            Some(Notice::AlreadyThere(email)) => p.alert.success role="status" #suppression-notice { (email) " was already on the list." },
            Some(Notice::Removed(email)) => p.alert.success role="status" #suppression-notice { (email) " may be emailed again." },
            _ => {}
        }
        @if may_change {
            section.card aria-labelledby="add-title" {
                h2 #add-title { "Add an address" }
                form.inline-form method="post" action="/dashboard/suppressions/add" novalidate {
                    (csrf_field(signed))
                    div.field.grow.invalid[error_of("email").is_some()] {
                        label for="suppress-email" { "Email address" }
                        input #suppress-email type="email" name="email" required value=(typed_email)
                            autocomplete="off" aria-invalid=[error_of("email").map(|_| "true")]
                            aria-describedby=[error_of("email").map(|_| "suppress-email-error")];
                        @if let Some(message) = error_of("email") {
                            p.field-error #suppress-email-error { "Email address " (message) "." }
                        }
                    }
                    div.field.grow.invalid[error_of("note").is_some()] {
                        label for="suppress-note" { "Note (optional)" }
                        input #suppress-note type="text" name="note" value=(typed_note) maxlength="500"
                            aria-invalid=[error_of("note").map(|_| "true")]
                            aria-describedby=[error_of("note").map(|_| "suppress-note-error")];
                        @if let Some(message) = error_of("note") {
                            p.field-error #suppress-note-error { "Note " (message) "." }
                        }
                    }
                    button.button.primary type="submit" { "Suppress" }
                }
            }
        }
        section.card.flush aria-labelledby="list-title" {
            div.card-header.padded {
                h2 #list-title { "The list" span.count { (format::count(u64::try_from(listing.total).unwrap_or(0))) } }
                form.search-form role="search" method="get" action="/dashboard/suppressions" {
                    label.visually-hidden for="suppression-search" { "Search addresses" }
                    input #suppression-search type="search" name="q" value=(search) placeholder="Search addresses";
                    button.button type="submit" { "Search" }
                }
            }
            @if listing.rows.is_empty() {
                div.empty {
                    @if search.trim().is_empty() {
                        p { strong { "Nobody is suppressed." } }
                        p.muted { "Shoppers who unsubscribe from a recovery email appear here." }
                    } @else {
                        p { strong { "No address contains “" (search.trim()) "”." } }
                    }
                }
            } @else {
                table.records.suppressions-table {
                    thead {
                        tr {
                            th scope="col" { "Address" }
                            th scope="col" { "Reason" }
                            th scope="col" { "Note" }
                            th scope="col" { "Since" }
                            @if may_change { th scope="col" { span.visually-hidden { "Actions" } } }
                        }
                    }
                    tbody {
                        @for row in &listing.rows {
                            @let hashed = row.email.starts_with(HASHED_PREFIX);
                            tr {
                                td data-label="Address" {
                                    @if hashed { span.muted { "Erased shopper (kept as a hash)" } }
                                    @else { (row.email) }
                                }
                                td data-label="Reason" { span class={ "badge reason-" (row.reason.as_str()) } { (reason_label(row.reason)) } }
                                td data-label="Note" { (row.note.as_deref().unwrap_or("—")) }
                                td data-label="Since" { (format::local_time(row.created_at, zone)) }
                                @if may_change {
                                    td.actions {
                                        @if !hashed {
                                            form.inline method="post" action="/dashboard/suppressions/remove" {
                                                (csrf_field(signed))
                                                input type="hidden" name="email" value=(row.email);
                                                button.button.small type="submit" aria-label={ "Remove " (row.email) } { "Remove" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav.pager aria-label="Pages" {
                    @if listing.page > 1 {
                        a.button.small rel="prev" href=(page_link(search, listing.page - 1)) { "← Previous" }
                    }
                    span.muted.small { "Page " (listing.page) " of " (pages) }
                    @if listing.page < pages {
                        a.button.small rel="next" href=(page_link(search, listing.page + 1)) { "Next →" }
                    }
                }
            }
        }
        @if !may_change {
            p.muted.small { "Your role (viewer) can look but not change the list." }
        }
    };
    body
}
