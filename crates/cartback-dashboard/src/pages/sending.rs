//! `/dashboard/sending`: the shop's settings (name, recovery URL, sender,
//! reply-to, time zone, default currency and language), changed through the
//! same rules as `PUT /api/v1/settings/shop` (`ShopSettings::edited`), and the
//! email provider the shop sends through (`pages::provider`), shown masked as
//! the API shows it, changed and tested as the API does.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use cartback_domain::{Currency, Edit, EmailAddress, ShopSettings, ShopSettingsEdit};
use cartback_store::email_providers::{ProviderRow, find_provider};
use cartback_store::tenants::{find_tenant, update_shop_settings};

use crate::Dashboard;
use crate::error::PageError;
use crate::layout::{self, Page, csrf_field};
use crate::pages::emails::test_send::TestResult;
use crate::pages::fields::FieldErrors;
use crate::pages::provider::{self, ProviderForm};
use crate::pages::{html, see_other};
use crate::session::{SignedIn, signed_for_change, signed_in};

/// A settings card's title with the API route that does the same, so a
/// developer knows where to script it.
pub(crate) fn card_header(id: &str, title: &str, how: &str, route: &str) -> Markup {
    html! {
        div.card-header {
            h2 id=(id) { (title) }
            p.muted.small { (how) " " code { (route) } }
        }
    }
}

/// The problems of a submitted form, by the API's field name.
type Problems = BTreeMap<String, String>;

/// What the form shows: the stored settings, or what was typed when refused.
struct Shown {
    name: String,
    recovery_url: String,
    from_email: String,
    from_name: String,
    reply_to: String,
    time_zone: String,
    default_currency: String,
    default_locale: String,
}

impl From<&ShopSettings> for Shown {
    fn from(shop: &ShopSettings) -> Shown {
        Shown {
            name: shop.name.clone(),
            recovery_url: shop.recovery_url.clone().unwrap_or_default(),
            from_email: shop.from_email.clone(),
            from_name: shop.from_name.clone().unwrap_or_default(),
            reply_to: shop.reply_to.clone().unwrap_or_default(),
            time_zone: shop.time_zone.clone(),
            default_currency: shop.default_currency.code().to_owned(),
            default_locale: shop.default_locale.clone(),
        }
    }
}

/// The shop form's fields as posted; a field the browser left out stays as it is.
#[derive(Debug, Deserialize)]
pub struct ShopForm {
    csrf: Option<String>,
    name: Option<String>,
    recovery_url: Option<String>,
    from_email: Option<String>,
    from_name: Option<String>,
    reply_to: Option<String>,
    time_zone: Option<String>,
    default_currency: Option<String>,
    default_locale: Option<String>,
}

impl ShopForm {
    fn edit(&self) -> ShopSettingsEdit<'_> {
        fn field(value: &Option<String>) -> Edit<'_> {
            value.as_deref().map_or(Edit::Keep, Edit::from_form)
        }
        ShopSettingsEdit {
            name: field(&self.name),
            recovery_url: field(&self.recovery_url),
            from_email: field(&self.from_email),
            from_name: field(&self.from_name),
            reply_to: field(&self.reply_to),
            time_zone: field(&self.time_zone),
            default_currency: field(&self.default_currency),
            default_locale: field(&self.default_locale),
        }
    }

    /// What was typed, over the stored values, to show again beside its errors.
    fn shown(&self, stored: &ShopSettings) -> Shown {
        let mut shown = Shown::from(stored);
        let typed = |value: &Option<String>, slot: &mut String| {
            if let Some(value) = value {
                slot.clone_from(value);
            }
        };
        typed(&self.name, &mut shown.name);
        typed(&self.recovery_url, &mut shown.recovery_url);
        typed(&self.from_email, &mut shown.from_email);
        typed(&self.from_name, &mut shown.from_name);
        typed(&self.reply_to, &mut shown.reply_to);
        typed(&self.time_zone, &mut shown.time_zone);
        typed(&self.default_currency, &mut shown.default_currency);
        typed(&self.default_locale, &mut shown.default_locale);
        shown
    }
}

/// One labelled input with its hint and, when refused, its error beside it.
struct Input<'a> {
    id: &'a str,
    /// The API's field name, which is also the form's.
    field: &'a str,
    label: &'a str,
    kind: &'a str,
    value: &'a str,
    hint: &'a str,
    required: bool,
    autocomplete: &'a str,
}

fn form_name(field: &str) -> String {
    // `recoveryUrl` → `recovery_url`: the form posts snake_case names.
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn input(spec: &Input<'_>, problems: &Problems) -> Markup {
    let error = problems.get(spec.field);
    let hint_id = format!("{}-hint", spec.id);
    let error_id = format!("{}-error", spec.id);
    let described = match error {
        Some(_) => format!("{error_id} {hint_id}"),
        None => hint_id.clone(),
    };
    html! {
        div.field.grow.invalid[error.is_some()] {
            label for=(spec.id) {
                (spec.label)
                @if !spec.required { " " span.optional { "optional" } }
            }
            input id=(spec.id) type=(spec.kind) name=(form_name(spec.field)) value=(spec.value)
                autocomplete=(spec.autocomplete) aria-describedby=(described)
                aria-invalid=[error.map(|_| "true")] required[spec.required];
            @if let Some(message) = error {
                p.field-error id=(error_id) { (message) }
            }
            p.hint id=(hint_id) { (spec.hint) }
        }
    }
}

/// A text input's spec; `kind` may be changed with struct update syntax.
fn text<'a>(
    id: &'a str,
    field: &'a str,
    label: &'a str,
    value: &'a str,
    hint: &'a str,
    required: bool,
    autocomplete: &'a str,
) -> Input<'a> {
    Input {
        id,
        field,
        label,
        kind: "text",
        value,
        hint,
        required,
        autocomplete,
    }
}

fn currency_select(value: &str, problems: &Problems) -> Markup {
    let error = problems.get("defaultCurrency");
    let known = Currency::parse(value).ok();
    html! {
        div.field.grow.invalid[error.is_some()] {
            label for="shop-currency" { "Default currency" }
            select #shop-currency name="default_currency" aria-describedby="shop-currency-hint"
                aria-invalid=[error.map(|_| "true")] {
                @if known.is_none() {
                    option value=(value) selected { (value) }
                }
                @for currency in Currency::all() {
                    option value=(currency.code()) selected[Some(currency) == known] { (currency.code()) }
                }
            }
            @if let Some(message) = error {
                p.field-error #shop-currency-error { (message) }
            }
            p.hint #shop-currency-hint { "For carts your store sends without a currency." }
        }
    }
}

fn shop_form(signed: &SignedIn, shown: &Shown, problems: &Problems) -> Markup {
    let may_change = signed.role.may_change_settings();
    html! {
        section.card aria-labelledby="shop-title" {
            (card_header("shop-title", "Shop", "Also available as", "GET/PUT /api/v1/settings/shop"))
            @if !problems.is_empty() {
                div.alert.error role="alert" #shop-errors {
                    p { "Nothing was saved: " (problems.len()) " "
                        (if problems.len() == 1 { "field needs" } else { "fields need" }) " another look." }
                }
            }
            form #shop-form method="post" action="/dashboard/sending/shop" novalidate {
                (csrf_field(signed))
                fieldset.plain disabled[!may_change] {
                    legend.visually-hidden { "Shop settings" }
                    div.form-grid {
                        (input(&text("shop-name", "name", "Shop name", &shown.name,
                            "Shown in your emails and here; up to 200 characters.", true, "organization"), problems))
                        (input(&Input { kind: "url", ..text("shop-recovery-url", "recoveryUrl", "Recovery URL", &shown.recovery_url,
                            "Your cart page. Links in recovery emails lead here, with the cart's session added.", false, "url") }, problems))
                        (input(&Input { kind: "email", ..text("shop-from-email", "fromEmail", "Sender email", &shown.from_email,
                            "Recovery emails come from this address; your provider must allow it.", true, "email") }, problems))
                        (input(&text("shop-from-name", "fromName", "Sender name", &shown.from_name,
                            "The name shoppers see; empty uses the shop name.", false, "off"), problems))
                        (input(&Input { kind: "email", ..text("shop-reply-to", "replyTo", "Reply-to", &shown.reply_to,
                            "Where shoppers' replies go; empty sends them to the sender.", false, "email") }, problems))
                        (input(&text("shop-time-zone", "timeZone", "Time zone", &shown.time_zone,
                            "An IANA name such as Europe/Amsterdam: quiet hours and report days use it.", true, "off"), problems))
                        (currency_select(&shown.default_currency, problems))
                        (input(&text("shop-locale", "defaultLocale", "Default language", &shown.default_locale,
                            "For carts without a language, such as en, nl or de-DE.", true, "off"), problems))
                    }
                }
                @if may_change {
                    div.form-actions {
                        button.button.primary type="submit" { "Save shop settings" }
                    }
                } @else {
                    p.muted.small { "Your role (viewer) can look but not change anything." }
                }
            }
        }
    }
}

/// The provider card's form and test, as the page starts them.
struct ProviderState {
    form: ProviderForm,
    errors: FieldErrors,
    test_to: String,
    test_errors: FieldErrors,
    test: Option<TestResult>,
}

impl ProviderState {
    fn of(signed: &SignedIn, row: Option<&ProviderRow>) -> ProviderState {
        ProviderState {
            form: ProviderForm::of_stored(row),
            errors: FieldErrors::default(),
            test_to: signed.user.email.clone(),
            test_errors: FieldErrors::default(),
            test: None,
        }
    }
}

fn render(
    signed: &SignedIn,
    shown: &Shown,
    problems: &Problems,
    provider: Option<&ProviderRow>,
    state: &ProviderState,
    notice: Option<&str>,
) -> Markup {
    let body = html! {
        div.page-header {
            div {
                h1 { "Sending" }
                p.muted { "Who recovery emails come from, where their links lead, the shop's defaults and the provider that sends them." }
            }
        }
        @if let Some(notice) = notice {
            p.alert.success role="status" #saved { (notice) }
        }
        (shop_form(signed, shown, problems))
        (provider::card(signed, provider, &provider::CardState {
            form: &state.form,
            errors: &state.errors,
            test_to: &state.test_to,
            test_errors: &state.test_errors,
            test: state.test.as_ref(),
        }))
    };
    layout::page(
        Page {
            title: "Sending",
            section: "sending",
            signed,
            chart: false,
        },
        body,
    )
}

async fn load(
    dashboard: &Dashboard,
    tenant_id: &str,
) -> Result<(ShopSettings, Option<ProviderRow>), PageError> {
    let tenant_id = tenant_id.to_owned();
    dashboard
        .db(move |conn| -> Result<_, PageError> {
            // Read afresh: the session's copy of the tenant is from this request's start.
            let tenant = find_tenant(conn, &tenant_id)?.ok_or(PageError::NotFound)?;
            let provider = find_provider(conn, &tenant_id)?;
            Ok((tenant.shop_settings()?, provider))
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct SendingQuery {
    saved: Option<String>,
}

/// `GET /dashboard/sending`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<SendingQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let (shop, provider) = load(&dashboard, &signed.tenant.id).await?;
    let notice = match query.saved.as_deref() {
        Some("provider") => Some("Email provider saved. The next email goes through it."),
        Some("default") => Some("The shop now sends through the server's default provider."),
        Some(_) => Some("Saved. The next recovery email uses these settings."),
        None => None,
    };
    let state = ProviderState::of(&signed, provider.as_ref());
    Ok(with_provider(
        StatusCode::OK,
        &signed,
        &shop,
        provider.as_ref(),
        &state,
        notice,
    ))
}

/// The page with the stored shop settings and the provider card in `state`.
fn with_provider(
    status: StatusCode,
    signed: &SignedIn,
    shop: &ShopSettings,
    provider: Option<&ProviderRow>,
    state: &ProviderState,
    notice: Option<&str>,
) -> HttpResponse {
    let shown = Shown::from(shop);
    html(
        status,
        render(signed, &shown, &Problems::new(), provider, state, notice),
    )
}

/// `POST /dashboard/sending/shop`: saved and back to the page, or the form
/// again with each error beside its field (422).
pub async fn save_shop(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<ShopForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let form = form.into_inner();
    let tenant_id = signed.tenant.id.clone();
    let (outcome, form) = dashboard
        .db(move |conn| -> Result<_, PageError> {
            let now = Utc::now().naive_utc();
            let mut refused_at = None;
            let outcome = update_shop_settings(conn, &tenant_id, now, |current| {
                current.edited(&form.edit()).inspect_err(|_| {
                    refused_at = Some(current.clone());
                })
            })?;
            Ok((outcome.map_err(|errors| (errors, refused_at)), form))
        })
        .await?;
    match outcome {
        Ok(_) => {
            tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, "shop settings changed in the dashboard");
            Ok(see_other("/dashboard/sending?saved=1"))
        }
        Err((errors, stored)) => {
            let stored = stored.ok_or(PageError::Internal)?;
            let problems: Problems = errors
                .into_iter()
                .map(|e| (e.field.unwrap_or_default(), e.message))
                .collect();
            let (_, provider) = load(&dashboard, &signed.tenant.id).await?;
            let state = ProviderState::of(&signed, provider.as_ref());
            Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(
                    &signed,
                    &form.shown(&stored),
                    &problems,
                    provider.as_ref(),
                    &state,
                    None,
                ),
            ))
        }
    }
}

/// `POST /dashboard/sending/provider`: the shop's own provider stored (or
/// removed, back to the server's default) and back to the page; refused
/// settings come back with each problem beside its field (422).
pub async fn save_provider(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<ProviderForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let to_default = form.is_default();
    match provider::save(&dashboard, &signed, form.into_inner()).await? {
        provider::Saved::Done => Ok(see_other(if to_default {
            "/dashboard/sending?saved=default"
        } else {
            "/dashboard/sending?saved=provider"
        })),
        provider::Saved::Refused(form, errors, status) => {
            let (shop, row) = load(&dashboard, &signed.tenant.id).await?;
            let state = ProviderState {
                form: *form,
                errors,
                ..ProviderState::of(&signed, row.as_ref())
            };
            Ok(with_provider(
                status,
                &signed,
                &shop,
                row.as_ref(),
                &state,
                None,
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TestForm {
    csrf: Option<String>,
    #[serde(default)]
    to: String,
}

/// `POST /dashboard/sending/test`: a real test email through the shop's own
/// provider; the page again with what the provider answered.
pub async fn test_provider(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<TestForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let (shop, row) = load(&dashboard, &signed.tenant.id).await?;
    let mut state = ProviderState::of(&signed, row.as_ref());
    state.test_to = form.to.trim().to_owned();
    let status = match EmailAddress::parse(form.to.trim()) {
        Ok(to) => {
            state.test = Some(provider::test_send(&dashboard, &signed, &to).await?);
            StatusCode::OK
        }
        Err(error) => {
            state.test_errors.add(
                "provider-test-to",
                format!("The address {}.", error.message),
            );
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    Ok(with_provider(
        status,
        &signed,
        &shop,
        row.as_ref(),
        &state,
        None,
    ))
}
