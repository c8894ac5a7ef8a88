//! `/dashboard/developers`: the shop's API keys (list, create with the key
//! shown once, revoke after a confirmation), the browser origins allowed to
//! capture carts, the tracker snippet with the shop's publishable key, and the
//! Stripe integration (key and signing secret set, replaced or removed) with
//! the webhook URL to paste into Stripe. Every change
//! goes through the same store functions and domain rules as the JSON API.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use cartback_domain::{InvalidValue, parse_key_label, parse_origins_list};
use cartback_store::api_keys::{
    ApiKey, KeyKind, RevokeRefusal, create_key, list_keys, revoke_own_key,
};
use cartback_store::origins::{get_allowed_origins, set_allowed_origins};
use cartback_store::stripe::{
    StripeAccountRow, StripeChange, change_stripe_account, delete_stripe_account,
    find_stripe_account,
};
use cartback_stripe::{check_secret_key, check_webhook_secret, key_hint};

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Page, csrf_field};
use crate::pages::fields::FieldErrors;
use crate::pages::sending::card_header;
use crate::pages::{html, see_other};
use crate::session::{SignedIn, signed_for_change, signed_in};

/// Where Stripe's events for a tenant are received (the api's intake route).
fn stripe_webhook_url(public_url: &str, tenant_id: &str) -> String {
    format!(
        "{}/api/v1/integrations/stripe/webhook/{tenant_id}",
        public_url.trim_end_matches('/')
    )
}

/// What the page shows besides its data, after a form.
#[derive(Default)]
struct Notice {
    /// A key just made: the only time it is shown.
    created: Option<(ApiKey, String)>,
    key_error: Option<(String, String)>,
    /// The origins as typed, and the problem of each refused line.
    origins_typed: Option<String>,
    origin_errors: Vec<InvalidValue>,
    stripe_errors: FieldErrors,
    message: Option<&'static str>,
}

struct Data {
    keys: Vec<ApiKey>,
    origins: Vec<String>,
    stripe: Option<StripeAccountRow>,
}

async fn load(dashboard: &Dashboard, tenant_id: &str) -> Result<Data, PageError> {
    let tenant_id = tenant_id.to_owned();
    dashboard
        .db(move |conn| -> Result<Data, PageError> {
            Ok(Data {
                keys: list_keys(conn, &tenant_id)?,
                origins: get_allowed_origins(conn, &tenant_id)?,
                stripe: find_stripe_account(conn, &tenant_id)?,
            })
        })
        .await
}

fn kind_text(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Secret => "Secret",
        KeyKind::Publishable => "Publishable",
    }
}

fn keys_card(signed: &SignedIn, keys: &[ApiKey], notice: &Notice) -> Markup {
    let may_change = signed.role.may_change_settings();
    let zone = signed.zone();
    html! {
        section.card aria-labelledby="keys-title" {
            (card_header("keys-title", "API keys", "Also available as", "/api/v1/api-keys"))
            p.muted {
                "Secret keys (" code { "sk_…" } ") can do everything: keep them on your servers. "
                "Publishable keys (" code { "pk_…" } ") only capture carts and are safe in your storefront's pages."
            }
            @if let Some((key, secret)) = &notice.created {
                section.alert.success role="status" aria-labelledby="new-key-title" {
                    h3 #new-key-title { "Your new " (kind_text(key.kind).to_lowercase()) " key" }
                    p { "Copy it now: it is not shown again." }
                    label.visually-hidden for="new-key" { "The new key" }
                    input.copy-field #new-key type="text" readonly value=(secret);
                }
            }
            @if let Some((_, message)) = &notice.key_error {
                p.alert.error role="alert" #key-error { (message) }
            }
            div.table-scroll {
                table.keys {
                    thead {
                        tr {
                            th scope="col" { "Key" }
                            th scope="col" { "Kind" }
                            th scope="col" { "Label" }
                            th scope="col" { "Created" }
                            th scope="col" { "Last used" }
                            th scope="col" { "Status" }
                            @if may_change { th scope="col" { span.visually-hidden { "Actions" } } }
                        }
                    }
                    tbody {
                        @for key in keys {
                            tr.revoked[key.revoked_at.is_some()] data-key-id=(key.id) {
                                td { code { (key.prefix) "…" } }
                                td { span.badge { (kind_text(key.kind)) } }
                                td { (key.label.as_deref().unwrap_or("—")) }
                                td { (format::local_time(key.created_at, zone)) }
                                td {
                                    @match key.last_used_at {
                                        Some(at) => (format::local_time(at, zone)),
                                        None => span.muted { "Never" },
                                    }
                                }
                                td {
                                    @match key.revoked_at {
                                        Some(at) => span.badge.status-expired title=(format::local_time(at, zone)) { "Revoked" },
                                        None => span.badge.status-recovered { "Active" },
                                    }
                                }
                                @if may_change {
                                    td.actions {
                                        @if key.revoked_at.is_none() {
                                            details.confirm {
                                                summary.button.danger.small aria-label={ "Revoke " (key.prefix) "…" } { "Revoke" }
                                                div.confirm-panel {
                                                    p { "Anything using " code { (key.prefix) "…" } " stops working within seconds." }
                                                    form.inline method="post" action={ "/dashboard/developers/keys/" (key.id) "/revoke" } {
                                                        (csrf_field(signed))
                                                        button.button.danger.small type="submit" { "Yes, revoke " (key.prefix) "…" }
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
            }
            @if may_change {
                h3.subhead { "Create a key" }
                form.inline-form method="post" action="/dashboard/developers/keys" {
                    (csrf_field(signed))
                    div.field {
                        label for="key-kind" { "Kind" }
                        select #key-kind name="kind" {
                            option value="publishable" { "Publishable — for the storefront" }
                            option value="secret" { "Secret — for your servers" }
                        }
                    }
                    div.field.grow {
                        label for="key-label" { "Label " span.optional { "optional" } }
                        input #key-label type="text" name="label" maxlength="100" autocomplete="off"
                            placeholder="storefront, ERP…"
                            aria-invalid=[notice.key_error.as_ref().filter(|(f, _)| f == "label").map(|_| "true")];
                    }
                    button.button.primary type="submit" { "Create key" }
                }
            }
        }
    }
}

fn origins_card(signed: &SignedIn, origins: &[String], notice: &Notice) -> Markup {
    let may_change = signed.role.may_change_settings();
    let typed = notice
        .origins_typed
        .clone()
        .unwrap_or_else(|| origins.join("\n"));
    let invalid = !notice.origin_errors.is_empty();
    html! {
        section.card aria-labelledby="origins-title" {
            (card_header("origins-title", "Allowed origins", "Also available as", "/api/v1/settings/allowed-origins"))
            p.muted { "Pages on these origins may capture carts with your publishable key. With none, no browser can." }
            form method="post" action="/dashboard/developers/origins" novalidate {
                (csrf_field(signed))
                div.field.invalid[invalid] {
                    label for="origins" { "Origins, one per line" }
                    textarea #origins name="origins" rows="4" spellcheck="false" disabled[!may_change]
                        aria-describedby=(if invalid { "origins-error origins-hint" } else { "origins-hint" })
                        aria-invalid=[invalid.then_some("true")] { (typed) }
                    @if invalid {
                        ul.field-error #origins-error {
                            @for error in &notice.origin_errors {
                                li { (origin_error_text(error, &typed)) }
                            }
                        }
                    }
                    p.hint #origins-hint { "Scheme, host and port only, such as https://shop.example or http://localhost:3000 (at most 50)." }
                }
                @if may_change {
                    div.form-actions {
                        button.button.primary type="submit" { "Save origins" }
                    }
                }
            }
        }
    }
}

/// `allowedOrigins[2]: …` as a person reads it: the line and what is wrong.
fn origin_error_text(error: &InvalidValue, typed: &str) -> String {
    let index = error
        .field
        .as_deref()
        .and_then(|f| f.strip_prefix("allowedOrigins["))
        .and_then(|f| f.strip_suffix(']'))
        .and_then(|i| i.parse::<usize>().ok());
    match index {
        Some(index) => {
            let line = typed
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .nth(index)
                .unwrap_or("");
            format!("{line}: {}", error.message)
        }
        None => error.message.clone(),
    }
}

fn snippet_card(dashboard: &Dashboard, keys: &[ApiKey]) -> Markup {
    let base = dashboard.public_url.trim_end_matches('/');
    // The newest active publishable key whose whole value is kept.
    let active = keys
        .iter()
        .filter(|k| k.kind == KeyKind::Publishable && k.revoked_at.is_none());
    let key = active
        .clone()
        .filter_map(|k| k.public_key.as_deref())
        .next_back();
    let older = active.clone().next_back().filter(|_| key.is_none());
    let shown_key = key.map_or_else(
        || older.map_or("pk_…".to_owned(), |k| format!("{}…", k.prefix)),
        str::to_owned,
    );
    let snippet = format!(
        "<script src=\"{base}/tracker.js\" data-key=\"{shown_key}\"></script>\n<script>\n  cartback.updateCart({{ items: [{{ itemId: \"sku_1\", name: \"Blue mug\", quantity: 2,\n                                  unitPriceInCents: 1250 }}], currency: \"USD\" }});\n  cartback.setEmail(\"shopper@example.com\");   // once the shopper has typed it\n</script>"
    );
    html! {
        section.card aria-labelledby="snippet-title" {
            h2 #snippet-title { "Tracker snippet" }
            @if key.is_some() {
                p.muted { "Paste this into your storefront's pages, and call " code { "cartback.updateCart" } " whenever the cart changes." }
            } @else if older.is_some() {
                p.alert.error #snippet-missing-key {
                    "Your publishable key was made before cartback kept publishable keys, so only its start is shown: paste the whole key in its place, or create a new publishable key above and it is filled in here."
                }
            } @else {
                p.alert.error #snippet-missing-key {
                    "This shop has no active publishable key. Create one above (kind: Publishable) and it is filled in here."
                }
            }
            label.visually-hidden for="tracker-snippet" { "Tracker snippet" }
            textarea.copy-field #tracker-snippet readonly rows="6" spellcheck="false" { (snippet) }
            p.hint { "Allow your shop's origin above first. Every call is described in docs/api/public-capture.md." }
        }
    }
}

fn stripe_card(
    dashboard: &Dashboard,
    signed: &SignedIn,
    stripe: Option<&StripeAccountRow>,
    errors: &FieldErrors,
) -> Markup {
    let may_change = signed.role.may_change_settings();
    let url = stripe_webhook_url(&dashboard.public_url, &signed.tenant.id);
    let secret_hint = stripe.and_then(StripeAccountRow::secret_key_hint);
    let webhook_secrets = stripe.map_or(0, StripeAccountRow::webhook_secret_count);
    let links_in_emails = stripe.is_some_and(|r| r.links_in_emails != 0);
    let connected = stripe.is_some();
    html! {
        section.card aria-labelledby="stripe-title" {
            (card_header("stripe-title", "Stripe", "Also available as", "/api/v1/integrations/stripe"))
            p.muted { "Orders paid through Stripe close their carts and count as recovered. In Stripe, add a webhook endpoint with this URL for "
                code { "checkout.session.completed" } " and " code { "payment_intent.succeeded" } ":" }
            div.field {
                label for="stripe-webhook-url" { "Webhook URL" }
                input.copy-field #stripe-webhook-url type="text" readonly value=(url);
            }
            dl.facts.spaced #stripe-facts {
                dt { "Secret key" }
                dd { @match &secret_hint { Some(hint) => code { (hint) }, None => span.muted { "Not set: payment links are off" } } }
                dt { "Webhook signing secrets" }
                dd { @if webhook_secrets == 0 { span.muted { "None: Stripe's events are refused until one is set" } } @else { (webhook_secrets) } }
                dt { "Payment links in emails" }
                dd { @if links_in_emails { "On" } @else { "Off" } }
            }
            @if may_change {
                form #stripe-form method="post" action="/dashboard/developers/stripe" novalidate autocomplete="off" {
                    (csrf_field(signed))
                    (errors.summary())
                    div.form-grid {
                        (stripe_secret_input(errors, "stripe-secret-key", "secret_key", "Secret key",
                            "Your secret (sk_…) or restricted (rk_…) key, from Stripe's API keys page.",
                            secret_hint.as_deref()))
                        (stripe_secret_input(errors, "stripe-webhook-secret", "webhook_secret", "Webhook signing secret",
                            "The endpoint's signing secret (whsec_…), shown in Stripe after adding the URL above.",
                            (webhook_secrets > 0).then_some("••••••")))
                    }
                    div.check {
                        input #stripe-links type="checkbox" name="links_in_emails" value="on" checked[links_in_emails];
                        label for="stripe-links" { "Put a payment link in recovery emails (needs the secret key)" }
                    }
                    input type="hidden" name="links_shown" value="1";
                    div.form-actions {
                        button.button.primary type="submit" { "Save Stripe settings" }
                    }
                }
                @if connected {
                    details.confirm.stripe-remove {
                        summary.button.danger.small { "Disconnect Stripe" }
                        div.confirm-panel {
                            p { "The key, the signing secrets and the payment link settings are forgotten; Stripe's events are refused from then on." }
                            form.inline method="post" action="/dashboard/developers/stripe/remove" {
                                (csrf_field(signed))
                                button.button.danger.small type="submit" { "Yes, disconnect Stripe" }
                            }
                        }
                    }
                }
            }
            p.hint { "Secrets are stored sealed and only ever shown masked; docs/api/stripe.md explains each setting." }
        }
    }
}

/// A Stripe secret's input: never filled, its hint says what is stored.
fn stripe_secret_input(
    errors: &FieldErrors,
    control: &str,
    name: &str,
    label: &str,
    hint: &str,
    stored: Option<&str>,
) -> Markup {
    let hint_id = format!("{control}-hint");
    let described = match errors.described_by(control) {
        Some(error) => format!("{error} {hint_id}"),
        None => hint_id.clone(),
    };
    html! {
        div.field {
            label for=(control) { (label) }
            input id=(control) type="password" name=(name) value="" autocomplete="new-password"
                spellcheck="false" aria-invalid=[errors.invalid(control)] aria-describedby=(described);
            p.hint id=(hint_id) {
                (hint)
                @if let Some(stored) = stored { " Stored: " code { (stored) } "; leave empty to keep it." }
            }
            (errors.beside(control))
        }
    }
}

fn render(dashboard: &Dashboard, signed: &SignedIn, data: &Data, notice: &Notice) -> Markup {
    let body = html! {
        div.page-header {
            div {
                h1 { "Developers" }
                p.muted { "Keys, browser access, the tracker and Stripe: what your storefront needs to talk to cartback." }
            }
        }
        @if let Some(message) = notice.message {
            p.alert.success role="status" #saved { (message) }
        }
        (keys_card(signed, &data.keys, notice))
        (origins_card(signed, &data.origins, notice))
        (snippet_card(dashboard, &data.keys))
        (stripe_card(dashboard, signed, data.stripe.as_ref(), &notice.stripe_errors))
    };
    layout::page(
        Page {
            title: "Developers",
            section: "developers",
            signed,
            chart: false,
        },
        body,
    )
}

#[derive(Debug, Deserialize)]
pub struct DevelopersQuery {
    saved: Option<String>,
}

/// `GET /dashboard/developers`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<DevelopersQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let data = load(&dashboard, &signed.tenant.id).await?;
    let notice = Notice {
        message: match query.saved.as_deref() {
            Some("origins") => Some("Allowed origins saved."),
            Some("revoked") => {
                Some("Key revoked. Anything still using it is refused within seconds.")
            }
            Some("stripe") => Some("Stripe settings saved."),
            Some("stripe-removed") => {
                Some("Stripe disconnected: its key and signing secrets are forgotten.")
            }
            _ => None,
        },
        ..Notice::default()
    };
    Ok(html(
        StatusCode::OK,
        render(&dashboard, &signed, &data, &notice),
    ))
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    csrf: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    label: String,
}

/// `POST /dashboard/developers/keys`: the page again, with the new key shown once.
pub async fn create(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<KeyForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let Some(kind) = KeyKind::parse(&form.kind) else {
        return Err(PageError::BadRequest(
            "Pick a publishable or a secret key.".to_owned(),
        ));
    };
    let label = match parse_key_label(&form.label) {
        Ok(label) => label,
        Err(error) => {
            let data = load(&dashboard, &signed.tenant.id).await?;
            let notice = Notice {
                key_error: Some(("label".to_owned(), format!("Label {}.", error.message))),
                ..Notice::default()
            };
            return Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&dashboard, &signed, &data, &notice),
            ));
        }
    };
    let tenant_id = signed.tenant.id.clone();
    let created = dashboard
        .db(move |conn| {
            let now = Utc::now().naive_utc();
            create_key(conn, &tenant_id, kind, label.as_deref(), now)
        })
        .await?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, key = %created.key.id, kind = kind.as_str(), "api key created in the dashboard");
    let data = load(&dashboard, &signed.tenant.id).await?;
    let notice = Notice {
        created: Some((created.key, created.secret)),
        ..Notice::default()
    };
    // 200, not a redirect: the key exists only in this answer (never cached).
    Ok(html(
        StatusCode::OK,
        render(&dashboard, &signed, &data, &notice),
    ))
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /dashboard/developers/keys/{id}/revoke`.
pub async fn revoke(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let id = id.into_inner();
    if id.is_empty() || id.len() > 128 {
        return Err(PageError::NotFound);
    }
    let tenant_id = signed.tenant.id.clone();
    let outcome = dashboard
        .db(move |conn| {
            let now = Utc::now().naive_utc();
            revoke_own_key(conn, &tenant_id, &id, now)
        })
        .await?;
    match outcome {
        Ok(key) => {
            tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, key = %key.id, "api key revoked in the dashboard");
            Ok(see_other("/dashboard/developers?saved=revoked"))
        }
        Err(RevokeRefusal::NotFound) => Err(PageError::NotFound),
        Err(RevokeRefusal::LastSecretKey) => {
            let data = load(&dashboard, &signed.tenant.id).await?;
            let notice = Notice {
                key_error: Some((
                    "key".to_owned(),
                    "That is the shop's last active secret key: create another secret key first, so your systems are never locked out.".to_owned(),
                )),
                ..Notice::default()
            };
            Ok(html(
                StatusCode::CONFLICT,
                render(&dashboard, &signed, &data, &notice),
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct OriginsForm {
    csrf: Option<String>,
    #[serde(default)]
    origins: String,
}

/// `POST /dashboard/developers/origins`: the list replaced, one origin a line.
pub async fn save_origins(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<OriginsForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let lines: Vec<&str> = form
        .origins
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let origins = match parse_origins_list(&lines) {
        Ok(origins) => origins,
        Err(errors) => {
            let data = load(&dashboard, &signed.tenant.id).await?;
            let notice = Notice {
                origins_typed: Some(form.origins.clone()),
                origin_errors: errors,
                ..Notice::default()
            };
            return Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&dashboard, &signed, &data, &notice),
            ));
        }
    };
    let tenant_id = signed.tenant.id.clone();
    dashboard
        .db(move |conn| {
            let now = Utc::now().naive_utc();
            set_allowed_origins(conn, &tenant_id, &origins, now)
        })
        .await?;
    Ok(see_other("/dashboard/developers?saved=origins"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StripeForm {
    csrf: Option<String>,
    secret_key: String,
    webhook_secret: String,
    links_in_emails: Option<String>,
    /// The checkbox was on the form (an unticked box is not posted).
    links_shown: Option<String>,
}

impl StripeForm {
    /// The change the form asks for, with the API's rules; empty secrets keep
    /// the stored ones.
    fn change(&self) -> Result<StripeChange, FieldErrors> {
        let mut errors = FieldErrors::default();
        let key = self.secret_key.trim();
        let secret_key = if key.is_empty() {
            None
        } else if let Err(message) = check_secret_key(key) {
            errors.add("stripe-secret-key", format!("The secret key {message}."));
            None
        } else {
            Some(Some((key.to_owned(), key_hint(key))))
        };
        let secret = self.webhook_secret.trim();
        let webhook_secrets = if secret.is_empty() {
            None
        } else if let Err(message) = check_webhook_secret(secret) {
            errors.add(
                "stripe-webhook-secret",
                format!("The signing secret {message}."),
            );
            None
        } else {
            Some(Some(vec![secret.to_owned()]))
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(StripeChange {
            secret_key,
            webhook_secrets,
            links_in_emails: self
                .links_shown
                .as_ref()
                .map(|_| self.links_in_emails.is_some()),
            ..StripeChange::default()
        })
    }
}

/// The page again with the Stripe form's problems.
async fn stripe_refused(
    dashboard: &Dashboard,
    signed: &SignedIn,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let data = load(dashboard, &signed.tenant.id).await?;
    let notice = Notice {
        stripe_errors: errors,
        ..Notice::default()
    };
    Ok(html(status, render(dashboard, signed, &data, &notice)))
}

/// `POST /dashboard/developers/stripe`: the Stripe key and signing secret set
/// or replaced (sealed, as `PUT /api/v1/integrations/stripe` seals them).
pub async fn save_stripe(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<StripeForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let change = match form.change() {
        Ok(change) => change,
        Err(errors) => {
            return stripe_refused(
                &dashboard,
                &signed,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    if change.seals() && !dashboard.master_keys.is_configured() {
        let mut errors = FieldErrors::default();
        errors.add_general("The server has no CARTBACK_MASTER_KEY, so it cannot store Stripe secrets: ask whoever runs cartback to set one.");
        return stripe_refused(&dashboard, &signed, errors, StatusCode::CONFLICT).await;
    }
    let (keys, tenant_id) = (dashboard.master_keys.clone(), signed.tenant.id.clone());
    dashboard
        .db(move |conn| change_stripe_account(conn, &keys, &tenant_id, change, Utc::now()))
        .await?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, "dashboard: stripe settings changed");
    Ok(see_other("/dashboard/developers?saved=stripe"))
}

/// `POST /dashboard/developers/stripe/remove`: Stripe forgotten, as `DELETE
/// /api/v1/integrations/stripe` does.
pub async fn remove_stripe(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let tenant_id = signed.tenant.id.clone();
    let removed = dashboard
        .db(move |conn| delete_stripe_account(conn, &tenant_id))
        .await?;
    if !removed {
        return Err(PageError::NotFound);
    }
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, "dashboard: stripe disconnected");
    Ok(see_other("/dashboard/developers?saved=stripe-removed"))
}
