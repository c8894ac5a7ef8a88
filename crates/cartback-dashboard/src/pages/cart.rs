//! `/dashboard/carts/{id}`: one cart's customer, items, totals and full
//! timeline (events, each email with its rendered preview, clicks, orders,
//! webhook deliveries), and what a merchant does with it: stop its recovery,
//! erase it, copy its restore link. Another shop's cart is a 404.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, Utc};
use maud::{Markup, html};

use cartback_domain::{CartStatus, Currency, OrderAttribution, Tz};
use cartback_store::StoreError;
use cartback_store::cart_admin::{
    CartPatch, PatchOutcome, erase_cart_for_good, find_cart_by_any_id, patch_cart,
};
use cartback_store::carts::CartRow;
use cartback_store::crypto::Purpose;
use cartback_store::events::{CartEvent, CartEventKind};
use cartback_store::links::{LinkPurpose, link_token, restore_url};
use cartback_store::orders::OrderRow;
use cartback_store::sends::{SendRow, SendStatus, list_sends_for_cart};
use cartback_store::stripe::find_stripe_account;
use cartback_store::templates::templates_named;
use cartback_store::tenants::{Tenant, find_tenant};
use cartback_store::timeline::{CartTimeline, TimelineEntry, cart_timeline};
use cartback_store::webhooks::{DeliveryRow, DeliveryStatus, EndpointRow, list_endpoints};
use cartback_stripe::{CartLink, MAX_LINK_SECS, cart_checkout};
use cartback_templates::{
    Coupon, CustomTemplate, EmailContext, Experience, custom_template_of, render_step,
};

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::csrf_field;
use crate::pages::{Confirmation, CsrfOnly, checked_id, confirmation, section_page, see_other};
use crate::session::{SignedIn, signed_for_change, signed_in};
use crate::widgets;

struct Loaded {
    timeline: CartTimeline,
    endpoints: Vec<EndpointRow>,
    tenant: Tenant,
    /// The shop's Stripe settings hold a secret key: payment links work.
    stripe_connected: bool,
}

/// A payment link just made, shown above the cart.
struct MadeLink {
    url: String,
    expires_at: Option<i64>,
}

/// `GET /dashboard/carts/{id}`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let id = checked_id(&id)?.to_owned();
    show(&dashboard, &signed, id, None).await
}

/// The cart's page, with `made` when a payment link was just created.
async fn show(
    dashboard: &Dashboard,
    signed: &SignedIn,
    id: String,
    made: Option<MadeLink>,
) -> Result<HttpResponse, PageError> {
    let tenant_id = signed.tenant.id.clone();
    let loaded = dashboard
        .db(move |conn| -> Result<Loaded, PageError> {
            let timeline =
                cart_timeline(conn, &tenant_id, &id, true)?.ok_or(PageError::NotFound)?;
            // An endpoint's URL names it in the timeline (a tenant has at most 20).
            let endpoints = if timeline.deliveries.is_empty() {
                Vec::new()
            } else {
                list_endpoints(conn, &tenant_id)?
            };
            let tenant = find_tenant(conn, &tenant_id)?.ok_or(PageError::NotFound)?;
            let stripe_connected = find_stripe_account(conn, &tenant_id)?
                .is_some_and(|account| account.secret_key.is_some());
            Ok(Loaded {
                timeline,
                endpoints,
                tenant,
                stripe_connected,
            })
        })
        .await?;
    let zone = signed.tenant.recovery_policy()?.zone();
    let body = render(signed, dashboard, &loaded, made.as_ref(), zone);
    let title = format!("Cart of {}", widgets::shopper(&loaded.timeline.cart));
    Ok(section_page(StatusCode::OK, signed, &title, "carts", body))
}

/// The address that brings the shopper back to this cart, as the recovery
/// link would (without counting a click): None without a recovery URL, or for
/// a cart that can no longer be restored.
fn restore_link(tenant: &Tenant, cart: &CartRow, sends: &[SendRow]) -> Option<String> {
    let recovery_url = tenant.recovery_url.as_deref()?;
    if cart.erased_at.is_some() || cart.status == CartStatus::Expired {
        return None;
    }
    // The newest email of the cart's current round carries the token the
    // storefront's restore call accepts.
    let token = sends
        .iter()
        .filter(|s| s.cycle == cart.cycle && s.recovery_token_hash.is_some())
        .max_by_key(|s| s.step)
        .map(|s| link_token(&tenant.link_secret, LinkPurpose::Recover, &s.id));
    Some(restore_url(
        recovery_url,
        &cart.session_id,
        token.as_deref(),
    ))
}

fn render(
    signed: &SignedIn,
    dashboard: &Dashboard,
    loaded: &Loaded,
    made: Option<&MadeLink>,
    zone: Tz,
) -> Markup {
    let timeline = &loaded.timeline;
    let cart = &timeline.cart;
    let may_change = signed.role.may_change_settings();
    let restore = restore_link(&loaded.tenant, cart, &timeline.sends);
    let time = |at: NaiveDateTime| format::local_time(at, zone);
    let optional_time = |at: Option<NaiveDateTime>| at.map_or_else(|| "—".to_owned(), time);
    html! {
        div.page-header {
            div {
                p.breadcrumb { a href="/dashboard/carts" { "Carts" } " / " }
                h1 { (widgets::shopper(cart)) }
                p.muted.small { "Cart " code { (cart.id) } }
            }
            div.header-status {
                span #cart-status class={ "badge large status-" (cart.status.as_str()) } { (cart.status.as_str()) }
            }
        }
        section.card.actions-card aria-labelledby="actions-title" {
            h2 #actions-title { "Actions" }
            div.action-grid {
                div.action {
                    h3 { "Restore link" }
                    @match &restore {
                        Some(link) => {
                            p.hint { "Opens your shop's cart page with this cart, like the email's button (copying it counts no click)." }
                            (widgets::copy_field("restore-link", "Restore link", link))
                        }
                        None if loaded.tenant.recovery_url.is_none() => {
                            p.hint { "Set the shop's recovery URL (the page that rebuilds a cart) to get a restore link." }
                        }
                        None => {
                            p.hint { "This cart can no longer be restored." }
                        }
                    }
                }
                div.action {
                    h3 { "Recovery" }
                    @if cart.status.is_open() {
                        p.hint { "Stopping marks the cart expired: no further recovery email is sent." }
                        @if may_change {
                            form method="post" action={ "/dashboard/carts/" (cart.id) "/stop" } {
                                (csrf_field(signed))
                                button.button type="submit" #stop-recovery { "Stop recovery" }
                            }
                        }
                    } @else {
                        p.hint { "Recovery is over for this cart (" (cart.status.as_str()) ")." }
                    }
                }
                div.action {
                    h3 { "Payment link" }
                    @if let Some(made) = made {
                        p.hint {
                            "A Stripe Checkout page for exactly this cart"
                            @if let Some(at) = made.expires_at.and_then(|at| chrono::DateTime::from_timestamp(at, 0)) {
                                ", open until " (format::local_time(at.naive_utc(), zone))
                            }
                            "."
                        }
                        (widgets::copy_field("payment-link", "Payment link", &made.url))
                    } @else if matches!(cart.status, CartStatus::Recovered | CartStatus::Converted) {
                        p.hint { "The cart has already been ordered." }
                    } @else if !loaded.stripe_connected || dashboard.stripe.is_none() {
                        p.hint #payment-link-setup { "Connect Stripe to send a shopper straight to payment: save your Stripe secret key with " code { "PUT /api/v1/integrations/stripe" } "." }
                    } @else {
                        p.hint { "A Stripe Checkout page for exactly what the cart holds, open for 24 hours." }
                        @if may_change {
                            form method="post" action={ "/dashboard/carts/" (cart.id) "/payment-link" } {
                                (csrf_field(signed))
                                button.button type="submit" #create-payment-link { "Create payment link" }
                            }
                        }
                    }
                }
                div.action {
                    h3 { "Erase" }
                    p.hint { "Removes the shopper's personal data for good (GDPR). Totals and dates stay in your figures." }
                    @if may_change {
                        a.button.danger href={ "/dashboard/carts/" (cart.id) "/erase" } #erase-cart { "Erase…" }
                    }
                }
            }
            @if !may_change {
                p.muted.small { "Your role (viewer) can look but not change carts." }
            }
        }
        div.grid-2.cart-columns {
            section.card aria-labelledby="items-title" {
                h2 #items-title { "Items" }
                div.table-scroll {
                    table {
                        thead { tr { th scope="col" { "Item" } th.num scope="col" { "Qty" } th.num scope="col" { "Price" } th.num scope="col" { "Subtotal" } } }
                        tbody {
                            @for item in &cart.items {
                                tr {
                                    td {
                                        @match &item.url {
                                            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                                                a href=(url) rel="noopener noreferrer" target="_blank" { (item.name) }
                                            }
                                            _ => { (item.name) }
                                        }
                                        span.muted.small.block { (item.id) }
                                    }
                                    td.num { (item.quantity) }
                                    td.num { (widgets::money(item.unit_price_minor, &cart.currency)) }
                                    td.num { (widgets::money(item.unit_price_minor.saturating_mul(i64::from(item.quantity)), &cart.currency)) }
                                }
                            }
                        }
                        tfoot { tr { th scope="row" colspan="3" { "Total" } td.num #cart-total { (widgets::money(cart.total_minor, &cart.currency)) } } }
                    }
                }
            }
            div {
                section.card aria-labelledby="customer-title" {
                    h2 #customer-title { "Customer" }
                    dl.facts {
                        dt { "Email" }
                        dd #cart-email {
                            @if cart.erased_at.is_some() { "Erased" }
                            @else { (cart.customer_email.as_deref().unwrap_or("—")) }
                        }
                        dt { "Name" }
                        dd { (cart.customer_name.as_deref().unwrap_or("—")) }
                        dt { "Language" }
                        dd { (cart.locale.as_deref().unwrap_or("—")) }
                        dt { "Consent" }
                        dd { @match cart.consent { Some(0) => "Refused", Some(_) => "Given", None => "—" } }
                        dt { "Session" }
                        dd { code { (cart.session_id) } }
                        @if let Some(external) = &cart.external_id {
                            dt { "Shop's id" }
                            dd { code { (external) } }
                        }
                    }
                }
                section.card aria-labelledby="dates-title" {
                    h2 #dates-title { "Activity" }
                    dl.facts {
                        dt { "Created" } dd { (time(cart.created_at)) }
                        dt { "Last activity" } dd { (time(cart.last_activity_at)) }
                        dt { "Abandoned" } dd { (optional_time(cart.abandoned_at)) }
                        dt { "Emails sent" } dd { (cart.next_step) }
                        dt { "Next check" } dd { (optional_time(cart.next_action_at)) }
                        dt { "Ordered" } dd { (optional_time(cart.ordered_at)) }
                        dt { "Unsubscribed" } dd { (optional_time(cart.unsubscribed_at)) }
                    }
                }
            }
        }
        section.card aria-labelledby="timeline-title" {
            div.card-header {
                h2 #timeline-title { "Timeline" }
                p.muted.small { "Oldest first, times in " (zone.name()) }
            }
            ol.timeline {
                // A "sent" event says what the email's own entry says in more detail.
                @for (at, entry) in timeline.entries().into_iter().filter(|(_, e)| !matches!(e, TimelineEntry::Event(ev) if ev.kind == CartEventKind::Sent)) {
                    (timeline_entry(cart, &loaded.endpoints, at, entry, zone))
                }
            }
        }
    }
}

fn event_title(event: &CartEvent) -> String {
    let step = event.step.map(|s| s + 1);
    let email = |what: &str| match step {
        Some(step) => format!("Email {step} {what}"),
        None => format!("Email {what}"),
    };
    match event.kind {
        CartEventKind::Abandoned => "Cart abandoned".to_owned(),
        CartEventKind::Sent => email("sent"),
        CartEventKind::Skipped => email("skipped"),
        CartEventKind::Waiting => email("waiting"),
        CartEventKind::Failed => email("failed"),
        CartEventKind::Unknown => email("outcome unknown"),
        CartEventKind::Clicked => match step {
            Some(step) => format!("Link in email {step} clicked"),
            None => "Recovery link clicked".to_owned(),
        },
        CartEventKind::Unsubscribed => "Shopper unsubscribed".to_owned(),
        CartEventKind::Expired => "Cart expired".to_owned(),
        CartEventKind::Recovered => "Recovered by an order".to_owned(),
        CartEventKind::Converted => "Ordered without a recovery email".to_owned(),
        CartEventKind::Quarantined => "Held back by the worker".to_owned(),
    }
}

fn event_tone(kind: CartEventKind) -> &'static str {
    match kind {
        CartEventKind::Recovered | CartEventKind::Converted => "good",
        CartEventKind::Failed | CartEventKind::Unknown | CartEventKind::Quarantined => "bad",
        CartEventKind::Abandoned | CartEventKind::Skipped | CartEventKind::Waiting => "warn",
        _ => "info",
    }
}

fn send_tone(status: SendStatus) -> &'static str {
    match status {
        SendStatus::Sent => "info",
        SendStatus::Dead | SendStatus::Unknown => "bad",
        _ => "warn",
    }
}

fn delivery_tone(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Succeeded => "good",
        DeliveryStatus::Dead => "bad",
        DeliveryStatus::Pending | DeliveryStatus::Cancelled => "warn",
    }
}

fn timeline_entry(
    cart: &CartRow,
    endpoints: &[EndpointRow],
    at: NaiveDateTime,
    entry: TimelineEntry<'_>,
    zone: Tz,
) -> Markup {
    let when = html! { time.entry-time datetime=(at.and_utc().to_rfc3339()) { (format::local_time(at, zone)) } };
    match entry {
        TimelineEntry::Created => html! {
            li.entry.tone-info data-kind="created" {
                div.entry-head { span.entry-title { "Cart created" } (when) }
            }
        },
        TimelineEntry::Event(event) => html! {
            li class={ "entry tone-" (event_tone(event.kind)) } data-kind={ "event-" (event.kind.as_str()) } {
                div.entry-head { span.entry-title { (event_title(event)) } (when) }
                @if let Some(detail) = &event.detail {
                    p.entry-detail { (detail) }
                }
            }
        },
        TimelineEntry::Email(send) => email_entry(cart, send, when),
        TimelineEntry::Order(order) => order_entry(order, when),
        TimelineEntry::Delivery(delivery) => delivery_entry(endpoints, delivery, when),
    }
}

fn email_entry(cart: &CartRow, send: &SendRow, when: Markup) -> Markup {
    let step = send.step + 1;
    html! {
        li class={ "entry email tone-" (send_tone(send.status)) } data-kind="email" data-step=(step) {
            div.entry-head {
                span.entry-title { "Email " (step) " · " span.badge.send-status { (send.status.as_str()) } }
                (when)
            }
            ul.entry-facts {
                @if let Some(provider) = &send.provider { li { "via " (provider) } }
                li { (send.attempts) @if send.attempts == 1 { " attempt" } @else { " attempts" } }
                li { (send.click_count) @if send.click_count == 1 { " click" } @else { " clicks" } }
                @if let Some(coupon) = &send.coupon_code { li { "coupon " code { (coupon) } } }
                @if send.cycle > 1 { li { "round " (send.cycle) } }
            }
            @if let Some(error) = &send.last_error {
                p.entry-detail.error-text { (error) }
            }
            details.email-preview {
                summary { "Preview email " (step) }
                iframe.preview-frame src={ "/dashboard/carts/" (cart.id) "/emails/" (send.id) }
                    title={ "Preview of email " (step) } sandbox="" referrerpolicy="no-referrer" {}
                p.hint { "As your current design renders it for this cart; its links lead nowhere." }
            }
        }
    }
}

fn order_entry(order: &OrderRow, when: Markup) -> Markup {
    let tone = if order.attribution == OrderAttribution::Recovered {
        "good"
    } else {
        "info"
    };
    html! {
        li class={ "entry tone-" (tone) } data-kind="order" {
            div.entry-head {
                span.entry-title { "Order " code { (order.order_ref) } " · " (order.attribution.as_str()) }
                (when)
            }
            ul.entry-facts {
                @if let Some(total) = order.total_minor { li { (widgets::money(total, &order.currency)) } }
                @if let Some(matched) = order.matched_by { li { "matched by " (matched.as_str().replace('_', " ")) } }
                li { "from " (order.source.as_str()) }
            }
        }
    }
}

fn delivery_entry(endpoints: &[EndpointRow], delivery: &DeliveryRow, when: Markup) -> Markup {
    let endpoint = endpoints.iter().find(|e| e.id == delivery.endpoint_id);
    let target = endpoint.map_or("a deleted endpoint", |e| e.url.as_str());
    html! {
        li class={ "entry tone-" (delivery_tone(delivery.status)) } data-kind="webhook" {
            div.entry-head {
                span.entry-title { "Webhook " code { (delivery.event) } " · " span.badge { (delivery.status.as_str()) } }
                (when)
            }
            ul.entry-facts {
                li.break { "to " (target) }
                li { (delivery.attempts) @if delivery.attempts == 1 { " attempt" } @else { " attempts" } }
                @if let Some(code) = delivery.last_status_code { li { "HTTP " (code) } }
                @if endpoint.is_some() {
                    li { a href={ "/dashboard/webhooks?endpoint=" (delivery.endpoint_id) } { "Deliveries" } }
                }
            }
            @if let Some(error) = &delivery.last_error {
                p.entry-detail.error-text { (error) }
            }
        }
    }
}

/// `POST /dashboard/carts/{id}/stop`: the cart is marked expired, which the
/// domain's merchant-edit rule turns into "no more emails" (the API's
/// `PATCH /api/v1/carts/{id}` with `{"status": "expired"}`).
pub async fn stop(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let id = checked_id(&id)?.to_owned();
    let tenant_id = signed.tenant.id.clone();
    let change = CartPatch {
        status: Some(CartStatus::Expired),
        ..CartPatch::default()
    };
    let outcome = dashboard
        .db(move |conn| patch_cart(conn, &tenant_id, &id, &change, Utc::now()))
        .await?;
    match outcome {
        PatchOutcome::Updated(cart) => {
            tracing::info!(cart = %cart.id, by = %signed.user.id, "dashboard: recovery stopped");
            Ok(see_other(&format!("/dashboard/carts/{}", cart.id)))
        }
        PatchOutcome::NotFound => Err(PageError::NotFound),
        PatchOutcome::Refused(why) => Err(PageError::Conflict(why)),
        // No If-Match and no attributes: neither can happen; say so plainly.
        PatchOutcome::Stale { .. } | PatchOutcome::Invalid { .. } => Err(PageError::Conflict(
            "The cart changed meanwhile. Reload the page and try again.".to_owned(),
        )),
    }
}

/// `POST /dashboard/carts/{id}/payment-link`: a Stripe Checkout Session for
/// exactly what the cart holds, open 24 hours (the API's
/// `POST /api/v1/carts/{id}/payment-link` without `expiresInSeconds`), shown
/// on the cart's page.
pub async fn payment_link(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let id = checked_id(&id)?.to_owned();
    let tenant_id = signed.tenant.id.clone();
    let (cart, account) = dashboard
        .db(move |conn| -> Result<_, PageError> {
            let cart =
                find_cart_by_any_id(conn, &tenant_id, &id, false)?.ok_or(PageError::NotFound)?;
            Ok((cart, find_stripe_account(conn, &tenant_id)?))
        })
        .await?;
    if matches!(cart.status, CartStatus::Recovered | CartStatus::Converted) {
        return Err(PageError::Conflict(
            "The cart has already been ordered.".to_owned(),
        ));
    }
    let not_connected = || {
        PageError::Conflict(
            "Connect Stripe first: save your Stripe secret key with PUT /api/v1/integrations/stripe."
                .to_owned(),
        )
    };
    let account = account.ok_or_else(not_connected)?;
    let sealed_key = account.secret_key.as_deref().ok_or_else(not_connected)?;
    let stripe = dashboard.stripe.as_ref().ok_or_else(not_connected)?;
    let link = CartLink {
        cart_id: &cart.id,
        session_id: &cart.session_id,
        customer_email: cart.customer_email.as_deref(),
        currency: &cart.currency,
        items: &cart.items,
        success_url: account.success_url.as_deref(),
        cancel_url: account.cancel_url.as_deref(),
        recovery_url: signed.tenant.recovery_url.as_deref(),
        updated_at: cart.updated_at.and_utc().timestamp(),
    };
    let (checkout, idempotency_key) = cart_checkout(link, Utc::now().timestamp(), MAX_LINK_SECS)
        .map_err(|refusal| PageError::Conflict(format!("No payment link: {refusal}.")))?;
    let key = dashboard
        .master_keys
        .open(Purpose::StripeSecretKey, &signed.tenant.id, sealed_key)
        .map_err(|error| {
            PageError::Conflict(format!("The Stripe key cannot be opened: {error}."))
        })?;
    let key = String::from_utf8(key).map_err(|_| PageError::Internal)?;
    let session = stripe
        .create_checkout_session(&key, &checkout, Some(&idempotency_key))
        .await
        .map_err(|error| {
            tracing::warn!(%error, "dashboard: Stripe refused a payment link");
            PageError::Upstream(format!("Stripe did not make the link: {error}"))
        })?;
    tracing::info!(cart = %cart.id, by = %signed.user.id, "dashboard: payment link created");
    let made = MadeLink {
        url: session.url,
        expires_at: session.expires_at.or(checkout.expires_at),
    };
    show(&dashboard, &signed, cart.id.clone(), Some(made)).await
}

/// `GET /dashboard/carts/{id}/erase`: what erasing does, and the button.
pub async fn erase_form(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let id = checked_id(&id)?.to_owned();
    let tenant_id = signed.tenant.id.clone();
    let cart = dashboard
        .db(move |conn| find_cart_by_any_id(conn, &tenant_id, &id, false))
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(confirmation(
        &signed,
        Confirmation {
            section: "carts",
            title: "Erase this cart?",
            crumbs: html! {
                a href="/dashboard/carts" { "Carts" } " / "
                a href={ "/dashboard/carts/" (cart.id) } { (widgets::shopper(&cart)) } " / "
            },
            explanation: html! {
                p { "Erasing removes, for good:" }
                ul.plain-list {
                    li { "the shopper's email address, name and session id" }
                    li { "the item names, pictures and links, and the cart's attributes" }
                    li { "the links in its emails (they stop working), its history details and the personal fields of its webhook deliveries" }
                    li { "the address and session on its orders" }
                }
                p { "Counts, totals, currency, statuses and dates stay, so your figures do not change. The cart disappears from the list. An address on the suppression list stays suppressed, in hashed form." }
            },
            action: format!("/dashboard/carts/{}/erase", cart.id),
            button: "Erase for good",
            button_id: "confirm-erase",
            cancel: format!("/dashboard/carts/{}", cart.id),
        },
    ))
}

/// `POST /dashboard/carts/{id}/erase`: the API's erase, then back to the list.
pub async fn erase(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_for_change(&request, &dashboard, form.csrf.as_deref()).await?;
    let id = checked_id(&id)?.to_owned();
    let tenant_id = signed.tenant.id.clone();
    let erased = dashboard
        .db(move |conn| erase_cart_for_good(conn, &tenant_id, &id, Utc::now()))
        .await?
        .ok_or(PageError::NotFound)?;
    tracing::info!(cart = %erased.cart.id, by = %signed.user.id, "dashboard: cart erased");
    Ok(see_other("/dashboard/carts?erased=1"))
}

/// The email preview's own policy: the email's inline styles and remote
/// pictures, no script at all, no forms, sandboxed, framed only by us.
const PREVIEW_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src https: http: data:; font-src https: data:; form-action 'none'; \
     base-uri 'none'; frame-ancestors 'self'; sandbox";

/// `GET /dashboard/carts/{id}/emails/{send}`: the email of one send, as the
/// worker renders it for this cart with the shop's current design and words
/// (emails are not stored), its links replaced by inert preview ones.
pub async fn email_preview(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let (id, send_id) = path.into_inner();
    let id = checked_id(&id)?.to_owned();
    let send_id = checked_id(&send_id)?.to_owned();
    let tenant_id = signed.tenant.id.clone();
    let public_url = dashboard.public_url.trim_end_matches('/').to_owned();
    let html_text = dashboard.db(move |conn| -> Result<String, PageError> {
        let cart = find_cart_by_any_id(conn, &tenant_id, &id, false)?
            .ok_or(PageError::NotFound)?;
        let send = list_sends_for_cart(conn, &tenant_id, &cart.id)?
            .into_iter()
            .find(|s| s.id == send_id)
            .ok_or(PageError::NotFound)?;
        let tenant = find_tenant(conn, &tenant_id)?.ok_or(PageError::NotFound)?;
        let policy = tenant.recovery_policy()?;
        let experience: Experience = serde_json::from_str(&tenant.experience).unwrap_or_default();
        let step = u32::try_from(send.step).unwrap_or(0);
        let stored = match custom_template_of(&policy, step) {
            Some(name) => templates_named(conn, &tenant_id, &[name])?,
            None => Vec::new(),
        };
        let currency = Currency::parse(&cart.currency)
            .map_err(|e| StoreError::Corrupt(format!("cart currency: {e}")))?;
        let locale = cart
            .locale
            .clone()
            .or_else(|| experience.default_locale.clone())
            .unwrap_or_else(|| "en".to_owned());
        let context = EmailContext {
            locale,
            default_locale: experience.default_locale.clone(),
            step,
            customer_name: cart.customer_name.clone(),
            items: cart.items.clone(),
            currency,
            total_minor: cart.total_minor,
            recovery_url: format!("{public_url}/r/preview"),
            unsubscribe_url: format!("{public_url}/u/preview"),
            coupon: send.coupon_code.clone().map(|code| Coupon {
                code,
                description: None,
            }),
            payment_link: None,
        };
        let rendered = render_step(
            &policy,
            &experience,
            &tenant.name,
            &context,
            &stored,
            |t| t.locale.as_str(),
            |t| CustomTemplate {
                subject: t.subject.clone(),
                html: t.html.clone(),
                text: t.text.clone(),
            },
        );
        match rendered {
            Ok(rendered) => Ok(rendered.email.html),
            Err(error) => {
                tracing::warn!(%error, "dashboard: an email preview could not be rendered");
                Ok(format!(
                    "<!doctype html><p style=\"font-family:sans-serif\">This email cannot be rendered with the current settings: {}</p>",
                    maud::html! { (error.to_string()) }.into_string()
                ))
            }
        }
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, PREVIEW_POLICY))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .body(html_text))
}
