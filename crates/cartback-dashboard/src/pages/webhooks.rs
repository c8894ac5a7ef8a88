//! `/dashboard/webhooks`: where the shop's signed webhooks go (endpoints:
//! list, create with the signing secret shown once, enable, disable, delete
//! after a confirmation) and what became of each delivery (status, attempts,
//! the receiver's last answer), with replay. The same store functions and
//! rules as `/api/v1/webhook-endpoints`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use cartback_domain::Tz;
use cartback_store::crypto::Purpose;
use cartback_store::webhooks::{
    AbandonedEvent, DeliveryRow, DeliveryStatus, EndpointChanges, EndpointRow, MAX_ENDPOINTS,
    NewEndpoint, Replay, WEBHOOK_EVENTS, create_endpoint_within_limit, delete_endpoint,
    get_endpoint, list_deliveries, list_endpoints, replay_delivery, update_endpoint,
};
use cartback_webhooks::{TargetError, check_url, generate_secret};

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::csrf_field;
use crate::pages::{
    Confirmation, CsrfOnly, checked_id, confirmation, page_number, section_page, see_other,
};
use crate::session::{SignedIn, signed_for_change, signed_in};
use crate::widgets;

/// Deliveries per page.
const PAGE_SIZE: i64 = 20;
/// The API's bound on a description.
const MAX_DESCRIPTION_CHARS: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    endpoint: Option<String>,
    page: Option<String>,
    replayed: Option<String>,
}

/// What the create form was given back with, when it failed.
#[derive(Debug, Default)]
struct Typed {
    url: String,
    description: String,
    events: Vec<String>,
    /// `all` or `unemailable`; empty reads as `all`.
    abandoned_event: String,
}

enum Notice {
    /// A new endpoint and its secret, shown this once.
    Created {
        endpoint: EndpointRow,
        secret: String,
    },
    /// The create form's problems: (field, message).
    Invalid(Problems, Typed),
    /// Creation is impossible (no master key, too many endpoints).
    Refused(String),
    Replayed,
}

struct Loaded {
    endpoints: Vec<EndpointRow>,
    selected: Option<EndpointRow>,
    deliveries: Vec<DeliveryRow>,
    total: i64,
    page: i64,
}

async fn load(
    dashboard: &Dashboard,
    tenant_id: &str,
    wanted: Option<String>,
    page: i64,
) -> Result<Loaded, PageError> {
    let tenant_id = tenant_id.to_owned();
    dashboard
        .db(move |conn| -> Result<Loaded, PageError> {
            let endpoints = list_endpoints(conn, &tenant_id)?;
            let selected = match wanted {
                // Another shop's endpoint is not found, like a missing one.
                Some(id) => Some(
                    endpoints
                        .iter()
                        .find(|e| e.id == id)
                        .cloned()
                        .ok_or(PageError::NotFound)?,
                ),
                None => endpoints.first().cloned(),
            };
            let (deliveries, total) = match &selected {
                Some(endpoint) => {
                    list_deliveries(conn, &tenant_id, &endpoint.id, None, page, PAGE_SIZE)?
                }
                None => (Vec::new(), 0),
            };
            Ok(Loaded {
                endpoints,
                selected,
                deliveries,
                total,
                page,
            })
        })
        .await
}

/// `GET /dashboard/webhooks?endpoint=…&page=…`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let wanted = query.endpoint.clone().filter(|id| !id.is_empty());
    if wanted.as_ref().is_some_and(|id| id.len() > 64) {
        return Err(PageError::NotFound);
    }
    let loaded = load(
        &dashboard,
        &signed.tenant.id,
        wanted,
        page_number(query.page.as_deref()),
    )
    .await?;
    let notice = query.replayed.is_some().then_some(Notice::Replayed);
    let body = render(&signed, &dashboard, &loaded, notice.as_ref());
    Ok(section_page(
        StatusCode::OK,
        &signed,
        "Webhooks",
        "webhooks",
        body,
    ))
}

/// The create form's fields; `events` repeats, so the form is read as pairs.
fn typed(pairs: &[(String, String)]) -> (Option<&str>, Typed) {
    let mut csrf = None;
    let mut typed = Typed::default();
    for (name, value) in pairs {
        match name.as_str() {
            "csrf" => csrf = Some(value.as_str()),
            "url" => typed.url = value.clone(),
            "description" => typed.description = value.clone(),
            "events" => typed.events.push(value.clone()),
            "abandoned_event" => typed.abandoned_event = value.clone(),
            _ => {}
        }
    }
    (csrf, typed)
}

/// A create form that passed the checks.
#[derive(Debug)]
struct Checked {
    url: String,
    description: Option<String>,
    events: Vec<String>,
    abandoned_event: AbandonedEvent,
}

/// What is wrong with a form: (field, why) each.
type Problems = Vec<(&'static str, String)>;

/// The create form checked like the API's body, or every problem.
fn checked(typed: &Typed, allow_private: bool) -> Result<Checked, Problems> {
    let mut problems = Vec::new();
    let url = match check_url(typed.url.trim(), allow_private) {
        Ok(url) => Some(url),
        Err(TargetError::Forbidden(host)) => {
            problems.push((
                "url",
                format!(
                    "{host} is a private or loopback address; the server refuses such targets unless it runs with --allow-private-targets"
                ),
            ));
            None
        }
        Err(error) => {
            problems.push(("url", error.to_string()));
            None
        }
    };
    let description = typed.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        problems.push((
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    } else if description.chars().any(char::is_control) {
        problems.push((
            "description",
            "must not contain control characters".to_owned(),
        ));
    }
    let mut events: Vec<String> = Vec::new();
    for name in &typed.events {
        if name != "*" && !WEBHOOK_EVENTS.contains(&name.as_str()) {
            problems.push(("events", "pick events from the list".to_owned()));
            break;
        }
        if !events.contains(name) {
            events.push(name.clone());
        }
    }
    if typed.events.is_empty() {
        problems.push((
            "events",
            "pick at least one event, or all of them".to_owned(),
        ));
    }
    let abandoned_event = match typed.abandoned_event.as_str() {
        "" => AbandonedEvent::All,
        text => AbandonedEvent::parse(text).unwrap_or_else(|| {
            problems.push(("abandoned_event", "pick one of the two choices".to_owned()));
            AbandonedEvent::All
        }),
    };
    // "All events" wins over single ones, as the API's ["*"].
    if events.iter().any(|e| e == "*") {
        events = vec!["*".to_owned()];
    }
    match (url, problems.is_empty()) {
        (Some(url), true) => Ok(Checked {
            url,
            description: (!description.is_empty()).then(|| description.to_owned()),
            events,
            abandoned_event,
        }),
        _ => Err(problems),
    }
}

/// `POST /dashboard/webhooks`: a new endpoint; its secret is on the answer
/// page only.
pub async fn create(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let pairs = form.into_inner();
    let (csrf, typed) = typed(&pairs);
    let signed = signed_for_change(&request, &dashboard, csrf).await?;
    let (status, notice) = match checked(&typed, dashboard.allow_private_targets) {
        Err(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Notice::Invalid(problems, typed),
        ),
        Ok(_) if !dashboard.master_keys.is_configured() => (
            StatusCode::CONFLICT,
            Notice::Refused(
                "The server has no CARTBACK_MASTER_KEY, so it cannot keep signing secrets. Ask your operator to set one (cartback keys generate-master).".to_owned(),
            ),
        ),
        Ok(Checked {
            url,
            description,
            events,
            abandoned_event,
        }) => {
            let secret = generate_secret();
            let tenant_id = signed.tenant.id.clone();
            let sealed = dashboard
                .master_keys
                .seal(Purpose::WebhookSecret, &tenant_id, secret.as_bytes())
                .map_err(|error| {
                    tracing::error!(%error, "dashboard: sealing a webhook secret failed");
                    PageError::Internal
                })?;
            let created = dashboard.db(move |conn| {
                create_endpoint_within_limit(
                    conn,
                    &NewEndpoint {
                        tenant_id: &tenant_id,
                        url: &url,
                        description: description.as_deref(),
                        events: &events,
                        sealed_secret: &sealed,
                        enabled: true,
                        abandoned_event,
                        now: Utc::now(),
                    },
                )
            })
            .await?;
            match created {
                Some(endpoint) => {
                    tracing::info!(endpoint = %endpoint.id, by = %signed.user.id, "dashboard: webhook endpoint created");
                    (StatusCode::OK, Notice::Created { endpoint, secret })
                }
                None => (
                    StatusCode::CONFLICT,
                    Notice::Refused(format!(
                        "A shop may have at most {MAX_ENDPOINTS} endpoints: delete one first."
                    )),
                ),
            }
        }
    };
    let wanted = match &notice {
        Notice::Created { endpoint, .. } => Some(endpoint.id.clone()),
        _ => None,
    };
    let loaded = load(&dashboard, &signed.tenant.id, wanted, 1).await?;
    let body = render(&signed, &dashboard, &loaded, Some(&notice));
    Ok(section_page(status, &signed, "Webhooks", "webhooks", body))
}

#[derive(Debug, Deserialize)]
pub struct EnabledForm {
    csrf: Option<String>,
    #[serde(default)]
    enabled: String,
}

/// `POST /dashboard/webhooks/{id}/enabled` `enabled=true|false`: disabling
/// cancels its waiting deliveries.
pub async fn set_enabled(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<EnabledForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let id = checked_id(&id)?.to_owned();
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(PageError::BadRequest(
                "Choose enable or disable.".to_owned(),
            ));
        }
    };
    let tenant_id = signed.tenant.id.clone();
    let changes = EndpointChanges {
        enabled: Some(enabled),
        ..EndpointChanges::default()
    };
    let target = id.clone();
    dashboard
        .db(move |conn| update_endpoint(conn, &tenant_id, &target, &changes, Utc::now()))
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(see_other(&format!("/dashboard/webhooks?endpoint={id}")))
}

/// `GET /dashboard/webhooks/{id}/delete`: the confirmation.
pub async fn delete_form(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let id = checked_id(&id)?.to_owned();
    let tenant_id = signed.tenant.id.clone();
    let endpoint = dashboard
        .db(move |conn| get_endpoint(conn, &tenant_id, &id))
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(confirmation(
        &signed,
        Confirmation {
            section: "webhooks",
            title: "Delete this endpoint?",
            crumbs: html! { a href="/dashboard/webhooks" { "Webhooks" } " / " },
            explanation: html! {
                p.break { strong { (endpoint.url) } }
                p { "It gets no more webhooks, and its delivery history is deleted with it. To pause it instead, disable it." }
            },
            action: format!("/dashboard/webhooks/{}/delete", endpoint.id),
            button: "Delete endpoint",
            button_id: "confirm-delete",
            cancel: format!("/dashboard/webhooks?endpoint={}", endpoint.id),
        },
    ))
}

/// `POST /dashboard/webhooks/{id}/delete`.
pub async fn delete(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let id = checked_id(&id)?.to_owned();
    let tenant_id = signed.tenant.id.clone();
    let deleted = dashboard
        .db(move |conn| delete_endpoint(conn, &tenant_id, &id))
        .await?;
    if !deleted {
        return Err(PageError::NotFound);
    }
    Ok(see_other("/dashboard/webhooks"))
}

/// `POST /dashboard/webhooks/{id}/deliveries/{delivery}/replay`: one more
/// attempt now, with the same webhook-id.
pub async fn replay(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let (id, delivery) = path.into_inner();
    let id = checked_id(&id)?.to_owned();
    let delivery = checked_id(&delivery)?.to_owned();
    let tenant_id = signed.tenant.id.clone();
    let endpoint = id.clone();
    let outcome = dashboard
        .db(move |conn| replay_delivery(conn, &tenant_id, &endpoint, &delivery, Utc::now()))
        .await?;
    match outcome {
        Replay::Queued(_) => Ok(see_other(&format!(
            "/dashboard/webhooks?endpoint={id}&replayed=1"
        ))),
        Replay::NotFound => Err(PageError::NotFound),
        Replay::EndpointDisabled => Err(PageError::Conflict(
            "The endpoint is disabled: enable it first.".to_owned(),
        )),
        Replay::AlreadyPending => Err(PageError::Conflict(
            "This delivery is still waiting for its next attempt.".to_owned(),
        )),
    }
}

fn event_label(event: &str) -> &str {
    if event == "*" { "All events" } else { event }
}

fn delivery_badge(status: DeliveryStatus) -> Markup {
    let tone = match status {
        DeliveryStatus::Succeeded => "good",
        DeliveryStatus::Dead => "bad",
        DeliveryStatus::Pending => "info",
        DeliveryStatus::Cancelled => "muted",
    };
    html! { span class={ "badge tone-" (tone) } { (status.as_str()) } }
}

fn render(
    signed: &SignedIn,
    dashboard: &Dashboard,
    loaded: &Loaded,
    notice: Option<&Notice>,
) -> Markup {
    let zone: Tz = signed
        .tenant
        .recovery_policy()
        .map(|p| p.zone())
        .unwrap_or_default();
    let may_change = signed.role.may_change_settings();
    let (problems, typed): (&[(&str, String)], Option<&Typed>) = match notice {
        Some(Notice::Invalid(problems, typed)) => (problems, Some(typed)),
        _ => (&[], None),
    };
    let error_of = |name: &str| {
        problems
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, m)| m.as_str())
    };
    let checked_event = |name: &str| typed.is_some_and(|t| t.events.iter().any(|e| e == name));
    let pages = (loaded.total + PAGE_SIZE - 1) / PAGE_SIZE;
    let body = html! {
        div.page-header {
            div {
                h1 { "Webhooks" }
                p.muted { "Signed HTTP calls to your systems when a cart is abandoned or recovered, an email goes out, a link is clicked. Retried with backoff until your endpoint answers 2xx." }
            }
        }
        @match notice {
            Some(Notice::Created { endpoint, secret }) => {
                section.alert.success role="status" aria-labelledby="secret-title" {
                    h2 #secret-title { "Endpoint added. Copy its signing secret now" }
                    p { "Your receiver checks each webhook's signature with it. It is not shown again; if it is lost, rotate it through the API." }
                    (widgets::copy_field("webhook-secret", "Signing secret", secret))
                    p.small.break { "For " (endpoint.url) }
                }
            }
            Some(Notice::Refused(why)) => p.alert.error role="alert" #webhook-error { (why) },
            Some(Notice::Replayed) => p.alert.success role="status" { "The delivery is queued for another attempt." },
            _ => {}
        }
        section.card.flush aria-labelledby="endpoints-title" {
            div.card-header.padded {
                h2 #endpoints-title { "Endpoints" span.count { (loaded.endpoints.len()) " of " (MAX_ENDPOINTS) } }
            }
            @if loaded.endpoints.is_empty() {
                div.empty {
                    p { strong { "No endpoints yet." } }
                    p.muted { "Add one below and your systems hear about every cart." }
                }
            } @else {
                table.records.endpoints-table {
                    thead {
                        tr {
                            th scope="col" { "URL" }
                            th scope="col" { "Events" }
                            th scope="col" { "State" }
                            th scope="col" { "Added" }
                            th scope="col" { span.visually-hidden { "Actions" } }
                        }
                    }
                    tbody {
                        @for endpoint in &loaded.endpoints {
                            @let current = loaded.selected.as_ref().is_some_and(|s| s.id == endpoint.id);
                            tr.selected[current] {
                                td data-label="URL" {
                                    a.record-link.break href={ "/dashboard/webhooks?endpoint=" (endpoint.id) } aria-current=[current.then_some("true")] { (endpoint.url) }
                                    @if let Some(description) = &endpoint.description {
                                        span.muted.small.block { (description) }
                                    }
                                }
                                td data-label="Events" {
                                    ul.tags {
                                        @for event in &endpoint.events { li { code { (event_label(event)) } } }
                                    }
                                    @if endpoint.abandoned_event == AbandonedEvent::Unemailable {
                                        span.muted.small.block { "cart.abandoned: only carts cartback cannot email" }
                                    }
                                }
                                td data-label="State" {
                                    @if endpoint.enabled != 0 {
                                        span.badge.tone-good { "Enabled" }
                                    } @else {
                                        span.badge.tone-muted { "Disabled" }
                                        @if let Some(reason) = &endpoint.disabled_reason {
                                            span.muted.small.block { (reason) }
                                        }
                                    }
                                }
                                td data-label="Added" { (format::local_time(endpoint.created_at, zone)) }
                                td.actions {
                                    @if may_change {
                                        div.button-row {
                                            form.inline method="post" action={ "/dashboard/webhooks/" (endpoint.id) "/enabled" } {
                                                (csrf_field(signed))
                                                @if endpoint.enabled != 0 {
                                                    input type="hidden" name="enabled" value="false";
                                                    button.button.small type="submit" aria-label={ "Disable " (endpoint.url) } { "Disable" }
                                                } @else {
                                                    input type="hidden" name="enabled" value="true";
                                                    button.button.small type="submit" aria-label={ "Enable " (endpoint.url) } { "Enable" }
                                                }
                                            }
                                            a.button.small.danger href={ "/dashboard/webhooks/" (endpoint.id) "/delete" } aria-label={ "Delete " (endpoint.url) } { "Delete…" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(endpoint) = &loaded.selected {
            section.card.flush aria-labelledby="deliveries-title" {
                div.card-header.padded {
                    h2 #deliveries-title { "Deliveries" span.count { (format::count(u64::try_from(loaded.total).unwrap_or(0))) } }
                    p.muted.small.break { "To " (endpoint.url) ", newest first" }
                }
                @if loaded.deliveries.is_empty() {
                    div.empty { p.muted { "Nothing sent to this endpoint yet." } }
                } @else {
                    table.records.deliveries-table {
                        thead {
                            tr {
                                th scope="col" { "Event" }
                                th scope="col" { "Status" }
                                th.num scope="col" { "Attempts" }
                                th scope="col" { "Last answer" }
                                th scope="col" { "Created" }
                                th scope="col" { "Next attempt" }
                                th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        }
                        tbody {
                            @for delivery in &loaded.deliveries {
                                tr {
                                    td data-label="Event" {
                                        code { (delivery.event) }
                                        @if let Some(cart) = &delivery.cart_id {
                                            a.small.block href={ "/dashboard/carts/" (cart) } { "Cart" }
                                        }
                                    }
                                    td data-label="Status" { (delivery_badge(delivery.status)) }
                                    td.num data-label="Attempts" { (delivery.attempts) }
                                    td data-label="Last answer" {
                                        @if let Some(code) = delivery.last_status_code { "HTTP " (code) }
                                        @if let Some(error) = &delivery.last_error {
                                            span.error-text.small.block.break { (error) }
                                        }
                                        @if delivery.last_status_code.is_none() && delivery.last_error.is_none() { "—" }
                                    }
                                    td data-label="Created" { (format::local_time(delivery.created_at, zone)) }
                                    td data-label="Next attempt" {
                                        @match (delivery.status, delivery.next_attempt_at) {
                                            (DeliveryStatus::Pending, Some(at)) => (format::local_time(at, zone)),
                                            _ => "—",
                                        }
                                    }
                                    td.actions {
                                        @if may_change && delivery.status != DeliveryStatus::Pending && endpoint.enabled != 0 {
                                            form.inline method="post" action={ "/dashboard/webhooks/" (endpoint.id) "/deliveries/" (delivery.id) "/replay" } {
                                                (csrf_field(signed))
                                                button.button.small type="submit" aria-label={ "Replay " (delivery.event) " of " (format::local_time(delivery.created_at, zone)) } { "Replay" }
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
                        @if loaded.page > 1 {
                            a.button.small rel="prev" href={ "/dashboard/webhooks?endpoint=" (endpoint.id) "&page=" (loaded.page - 1) } { "← Newer" }
                        }
                        span.muted.small { "Page " (loaded.page) " of " (pages) }
                        @if loaded.page < pages {
                            a.button.small rel="next" href={ "/dashboard/webhooks?endpoint=" (endpoint.id) "&page=" (loaded.page + 1) } { "Older →" }
                        }
                    }
                }
            }
        }
        @if may_change {
            section.card aria-labelledby="add-endpoint-title" {
                h2 #add-endpoint-title { "Add an endpoint" }
                @if !dashboard.master_keys.is_configured() {
                    p.alert.error { "The server has no CARTBACK_MASTER_KEY, so it cannot keep signing secrets; adding an endpoint needs one." }
                }
                form.stack method="post" action="/dashboard/webhooks" novalidate {
                    (csrf_field(signed))
                    div.field.invalid[error_of("url").is_some()] {
                        label for="webhook-url" { "Endpoint URL" }
                        input #webhook-url type="url" name="url" required placeholder="https://example.com/hooks/cartback"
                            value=(typed.map_or("", |t| t.url.as_str()))
                            aria-invalid=[error_of("url").map(|_| "true")]
                            aria-describedby=[error_of("url").map(|_| "webhook-url-error")];
                        @if let Some(message) = error_of("url") {
                            p.field-error #webhook-url-error { "URL: " (message) "." }
                        }
                    }
                    div.field.invalid[error_of("description").is_some()] {
                        label for="webhook-description" { "Description (optional)" }
                        input #webhook-description type="text" name="description" maxlength="200"
                            value=(typed.map_or("", |t| t.description.as_str()))
                            aria-invalid=[error_of("description").map(|_| "true")]
                            aria-describedby=[error_of("description").map(|_| "webhook-description-error")];
                        @if let Some(message) = error_of("description") {
                            p.field-error #webhook-description-error { "Description " (message) "." }
                        }
                    }
                    fieldset.events.invalid[error_of("events").is_some()] aria-describedby=[error_of("events").map(|_| "webhook-events-error")] {
                        legend { "Events" }
                        div.checks {
                            label.check {
                                input type="checkbox" name="events" value="*" checked[typed.is_none() || checked_event("*")];
                                span { "All events" }
                            }
                            @for event in WEBHOOK_EVENTS {
                                label.check {
                                    input type="checkbox" name="events" value=(event) checked[checked_event(event)];
                                    code { (event) }
                                }
                            }
                        }
                        @if let Some(message) = error_of("events") {
                            p.field-error #webhook-events-error { "Events: " (message) "." }
                        }
                    }
                    @let unemailable_only = typed.is_some_and(|t| t.abandoned_event == "unemailable");
                    fieldset.invalid[error_of("abandoned_event").is_some()] aria-describedby=[error_of("abandoned_event").map(|_| "webhook-abandoned-error")] {
                        legend { "Which abandoned carts " code { "cart.abandoned" } " tells of" }
                        div.checks {
                            label.check {
                                input type="radio" name="abandoned_event" value="all" checked[!unemailable_only];
                                span { "Every abandoned cart" }
                            }
                            label.check {
                                input type="radio" name="abandoned_event" value="unemailable" checked[unemailable_only];
                                span { "Only carts cartback has no usable address for (none, or it bounced): for a handler that sends its own email, like Retake's" }
                            }
                        }
                        @if let Some(message) = error_of("abandoned_event") {
                            p.field-error #webhook-abandoned-error { "cart.abandoned: " (message) "." }
                        }
                    }
                    div {
                        button.button.primary type="submit" { "Add endpoint" }
                    }
                }
            }
        } @else {
            p.muted.small { "Your role (viewer) can look but not change webhooks." }
        }
    };
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(url: &str, events: &[&str]) -> Typed {
        Typed {
            url: url.to_owned(),
            description: String::new(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            abandoned_event: String::new(),
        }
    }

    #[test]
    fn the_create_form_is_checked_like_the_api_body() {
        let fields = |typed: Typed, private: bool| -> Vec<&'static str> {
            checked(&typed, private)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|(f, _)| f)
                .collect()
        };
        assert_eq!(fields(form("ftp://x.example", &["*"]), false), ["url"]);
        assert_eq!(fields(form("http://127.0.0.1:9/h", &["*"]), false), ["url"]);
        assert!(fields(form("http://127.0.0.1:9/h", &["*"]), true).is_empty());
        assert_eq!(fields(form("https://x.example/h", &[]), false), ["events"]);
        assert_eq!(
            fields(form("https://x.example/h", &["cart.lost"]), false),
            ["events"]
        );
        let Ok(Checked {
            url,
            description,
            events,
            abandoned_event,
        }) = checked(
            &form("https://x.example/h", &["*", "email.sent", "email.sent"]),
            false,
        )
        else {
            panic!("a valid form");
        };
        assert_eq!(url, "https://x.example/h");
        assert_eq!(description, None);
        assert_eq!(events, ["*"]);
        assert_eq!(abandoned_event, AbandonedEvent::All);
        let pairs = [
            ("csrf".to_owned(), "t".to_owned()),
            ("events".to_owned(), "email.sent".to_owned()),
            ("events".to_owned(), "cart.abandoned".to_owned()),
        ];
        let (csrf, typed) = typed(&pairs);
        assert_eq!(csrf, Some("t"));
        assert_eq!(typed.events, ["email.sent", "cart.abandoned"]);
    }
}
