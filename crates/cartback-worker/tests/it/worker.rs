//! The worker against both backends, with providers that fail the way real ones do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{TimeDelta, Utc};

use cartback_domain::{CartItem, RecoveryPolicy};
use cartback_email::{
    EmailError, EmailMessage, EmailProvider, FileProvider, Idempotency, SendReceipt,
};
use cartback_store::carts::{CartKey, claim_due_carts};
use cartback_store::carts::{CartUpsert, find_cart, upsert_cart};
use cartback_store::sends::{
    BatchTenants, SendDecision, SendingThrough, StartSend, list_sends_for_cart, start_sends,
};
use cartback_store::tenants::{NewTenant, Tenant, create_tenant};
use cartback_store::{Backend, Store};
use cartback_testing::on_both_backends;
use cartback_testing::{TestDatabase, execute_raw};
use cartback_worker::{Worker, WorkerConfig};

/// Fails with `error` for the first `failures` calls, then accepts; remembers
/// the idempotency keys it was given.
struct Flaky {
    failures: u32,
    error: EmailError,
    calls: AtomicU32,
    idempotency: Idempotency,
    keys: std::sync::Mutex<Vec<String>>,
}

impl Flaky {
    fn new(failures: u32, error: EmailError, idempotency: Idempotency) -> Flaky {
        Flaky {
            failures,
            error,
            calls: AtomicU32::new(0),
            idempotency,
            keys: std::sync::Mutex::new(Vec::new()),
        }
    }
}

#[async_trait::async_trait]
impl EmailProvider for Flaky {
    fn kind(&self) -> &'static str {
        "flaky"
    }
    fn idempotency(&self) -> Idempotency {
        self.idempotency
    }
    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        self.keys
            .lock()
            .unwrap()
            .push(message.idempotency_key.clone());
        if call < self.failures {
            return Err(self.error.clone());
        }
        Ok(SendReceipt {
            provider_message_id: Some(format!("msg-{call}")),
        })
    }
}

fn setup(backend: Backend, policy: RecoveryPolicy) -> (TestDatabase, Store, Tenant, String) {
    let db = TestDatabase::new(backend);
    let store = Store::open(&db.url, 4).unwrap();
    store.migrate().unwrap();
    let mut conn = store.conn().unwrap();
    let tenant = create_tenant(
        &mut conn,
        &NewTenant {
            name: "Shop".to_owned(),
            from_email: "shop@example.com".to_owned(),
            from_name: None,
            recovery_url: Some("https://shop.example/cart".to_owned()),
            policy,
        },
        Utc::now().naive_utc(),
    )
    .unwrap();
    // Last activity long enough ago that step 0 is due now.
    let past = Utc::now() - TimeDelta::seconds(10);
    let cart = upsert_cart(
        &mut conn,
        &CartUpsert {
            tenant_id: tenant.id.clone(),
            session_id: "s-1".to_owned(),
            items: vec![CartItem {
                id: "sku".to_owned(),
                name: "Mug".to_owned(),
                unit_price_minor: 1250,
                quantity: 2,
                image_url: None,
                url: None,
                variant_id: None,
            }],
            total_minor: 2500,
            subtotal_minor: None,
            currency: "EUR".to_owned(),
            customer_email: Some("sam@example.com".to_owned()),
            customer_name: Some("Sam".to_owned()),
            locale: Some("de-DE".to_owned()),
            consent: Some(true),
            now: past,
            next_action_at: past,
        },
    )
    .unwrap();
    drop(conn);
    (db, store, tenant, cart.id)
}

/// A one-mug cart of `email`, idle since `past` and due then.
fn due_mug(
    tenant: &Tenant,
    session: &str,
    email: &str,
    consent: Option<bool>,
    past: chrono::DateTime<Utc>,
) -> CartUpsert {
    CartUpsert {
        tenant_id: tenant.id.clone(),
        session_id: session.to_owned(),
        items: vec![CartItem {
            id: "sku".to_owned(),
            name: "Mug".to_owned(),
            unit_price_minor: 1250,
            quantity: 1,
            image_url: None,
            url: None,
            variant_id: None,
        }],
        total_minor: 1250,
        subtotal_minor: None,
        currency: "EUR".to_owned(),
        customer_email: Some(email.to_owned()),
        customer_name: None,
        locale: None,
        consent,
        now: past,
        next_action_at: past,
    }
}

fn config() -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(10),
        retry_base: Duration::from_millis(1),
        max_attempts: 3,
        lease: Duration::from_secs(30),
        ..WorkerConfig::default()
    }
}

/// Runs passes until nothing is due for a short while.
async fn drain(worker: &Worker) {
    let mut idle = 0;
    while idle < 20 {
        if worker.run_once().await.unwrap() == 0 {
            idle += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        } else {
            idle = 0;
        }
    }
}

async fn transient_failures_are_retried_then_sent(backend: Backend) {
    let (_db, store, tenant, cart_id) = setup(
        backend,
        RecoveryPolicy::with_single_delay(TimeDelta::seconds(1)),
    );
    let provider = Arc::new(Flaky::new(
        2,
        EmailError::Transient {
            message: "connection reset".to_owned(),
            retry_after: None,
        },
        Idempotency::None,
    ));
    let worker = Worker::new(store.clone(), provider.clone(), config());
    drain(&worker).await;
    assert_eq!(provider.calls.load(Ordering::SeqCst), 3);
    let sends = list_sends_for_cart(&mut store.conn().unwrap(), &tenant.id, &cart_id).unwrap();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].status.as_str(), "sent");
    assert_eq!(sends[0].attempts, 3);
    assert_eq!(sends[0].provider_message_id.as_deref(), Some("msg-2"));
    let cart = find_cart(&mut store.conn().unwrap(), &tenant.id, &cart_id)
        .unwrap()
        .unwrap();
    assert_eq!(cart.status.as_str(), "abandoned");
    assert_eq!(cart.next_step, 1);
    assert!(cart.locked_by.is_none());
}

async fn too_many_failures_end_dead_with_the_reason(backend: Backend) {
    let (_db, store, tenant, cart_id) = setup(
        backend,
        RecoveryPolicy::with_single_delay(TimeDelta::seconds(1)),
    );
    let provider = Arc::new(Flaky::new(
        100,
        EmailError::RateLimited {
            message: "slow down".to_owned(),
            retry_after: Some(Duration::from_millis(5)),
        },
        Idempotency::None,
    ));
    let worker = Worker::new(store.clone(), provider.clone(), config());
    drain(&worker).await;
    assert_eq!(provider.calls.load(Ordering::SeqCst), 3, "max_attempts");
    let sends = list_sends_for_cart(&mut store.conn().unwrap(), &tenant.id, &cart_id).unwrap();
    assert_eq!(sends[0].status.as_str(), "dead");
    assert!(
        sends[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("slow down")
    );
}

async fn permanent_failures_are_not_retried(backend: Backend) {
    let (_db, store, tenant, cart_id) = setup(
        backend,
        RecoveryPolicy::with_single_delay(TimeDelta::seconds(1)),
    );
    let provider = Arc::new(Flaky::new(
        100,
        EmailError::Permanent {
            message: "550 mailbox unavailable".to_owned(),
        },
        Idempotency::None,
    ));
    let worker = Worker::new(store.clone(), provider.clone(), config());
    drain(&worker).await;
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    let sends = list_sends_for_cart(&mut store.conn().unwrap(), &tenant.id, &cart_id).unwrap();
    assert_eq!(sends[0].status.as_str(), "dead");
    assert!(sends[0].last_error.as_deref().unwrap().contains("550"));
}

/// A tenant's own provider aimed at loopback (stored by the operator, who is not
/// checked) is refused when the worker sends without private targets allowed:
/// the send is dead at once with the reason, never retried, nothing connects,
/// and the server's default provider is not used instead.
async fn a_tenant_provider_on_a_private_address_is_refused_and_dead(backend: Backend) {
    use cartback_store::crypto::MasterKeys;
    use cartback_store::email_providers::set_provider;
    let (_db, store, tenant, cart_id) = setup(
        backend,
        RecoveryPolicy::with_single_delay(TimeDelta::seconds(1)),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let keys = Arc::new(MasterKeys::from_config(Some(&MasterKeys::generate()), None).unwrap());
    let settings = format!(
        r#"{{"provider":"resend","apiKey":"re_0123456789abcdef","baseUrl":"http://localhost:{port}"}}"#
    );
    set_provider(
        &mut store.conn().unwrap(),
        &keys,
        &tenant.id,
        "resend",
        &settings,
        "{}",
        Utc::now(),
    )
    .unwrap();
    let default = Arc::new(Flaky::new(
        0,
        EmailError::Permanent {
            message: "unused".to_owned(),
        },
        Idempotency::None,
    ));
    let worker = Worker::new(store.clone(), default.clone(), config()).with_master_keys(keys);
    drain(&worker).await;
    let sends = list_sends_for_cart(&mut store.conn().unwrap(), &tenant.id, &cart_id).unwrap();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].status.as_str(), "dead");
    assert_eq!(sends[0].attempts, 1, "not retried");
    let reason = sends[0].last_error.as_deref().unwrap();
    assert!(reason.contains("refused: private address"), "{reason}");
    assert_eq!(default.calls.load(Ordering::SeqCst), 0);
    assert!(listener.accept().is_err(), "nothing connected");
}

async fn file_outbox_gets_one_email_per_step(backend: Backend) {
    let policy = RecoveryPolicy {
        steps: vec![
            cartback_domain::RecoveryStep { delay_ms: 100 },
            cartback_domain::RecoveryStep { delay_ms: 200 },
        ],
        ..RecoveryPolicy::default()
    };
    let (_db, store, tenant, cart_id) = setup(backend, policy);
    let outbox = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(),
    );
    drain(&worker).await;
    // Both steps are overdue (last activity 10 s ago): two emails, one file each,
    // never back to back: the second waits the gap between the steps' delays.
    let files: Vec<_> = std::fs::read_dir(outbox.path())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let eml = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(eml.contains("sam@example.com"));
    // The click-tracked link and RFC 8058 one-click unsubscribe.
    assert!(eml.contains("/r/"), "{eml}");
    assert!(eml.contains("List-Unsubscribe: <"), "{eml}");
    assert!(eml.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let sends = list_sends_for_cart(&mut store.conn().unwrap(), &tenant.id, &cart_id).unwrap();
    assert_eq!(
        sends.iter().filter(|s| s.status.as_str() == "sent").count(),
        2
    );
    let gap = sends[1].sent_at.unwrap() - sends[0].sent_at.unwrap();
    assert!(gap >= TimeDelta::milliseconds(100), "{gap}");
    // Nothing more happens on later passes.
    drain(&worker).await;
    assert_eq!(std::fs::read_dir(outbox.path()).unwrap().count(), 2);
}

/// One shopper, three carts due at once: with a cooldown only one sequence
/// starts; a cart whose shopper refused consent is never emailed when the tenant
/// requires consent; the email speaks the cart's language.
async fn one_sequence_per_shopper_and_consent_respected(backend: Backend) {
    let policy = RecoveryPolicy {
        customer_cooldown_ms: 3_600_000,
        require_consent: true,
        ..RecoveryPolicy::with_single_delay(TimeDelta::seconds(1))
    };
    let (_db, store, tenant, _) = setup(backend, policy);
    let past = Utc::now() - TimeDelta::seconds(10);
    let mut conn = store.conn().unwrap();
    for (session, email, consent) in [
        ("s-2", "SAM@example.com", Some(true)),
        ("s-3", "sam@example.com", Some(true)),
        ("s-4", "refused@example.com", Some(false)),
        ("s-5", "unasked@example.com", None),
    ] {
        upsert_cart(&mut conn, &due_mug(&tenant, session, email, consent, past)).unwrap();
    }
    drop(conn);
    let outbox = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(),
    );
    drain(&worker).await;
    let emails: Vec<String> = std::fs::read_dir(outbox.path())
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .collect();
    let to_sam = emails
        .iter()
        .filter(|e| {
            e.to_lowercase().contains("to: sam <sam@example.com>")
                || e.to_lowercase().contains("to: sam@example.com")
        })
        .count();
    assert_eq!(to_sam, 1, "one sequence for the shopper's three carts");
    assert!(
        !emails
            .iter()
            .any(|e| e.contains("refused@example.com") || e.contains("unasked@example.com"))
    );
    assert_eq!(emails.len(), 1);
    // Each decision is in the cart's history with its reason.
    let mut conn = store.conn().unwrap();
    let reasons = |conn: &mut cartback_store::DbConn, session: &str| -> Vec<String> {
        let cart = cartback_store::carts::find_cart_by_session(conn, &tenant.id, session)
            .unwrap()
            .unwrap();
        cartback_store::events::list_events(conn, &tenant.id, &cart.id)
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.kind.as_str(), e.detail.unwrap_or_default()))
            .collect()
    };
    assert!(reasons(&mut conn, "s-4").contains(&"skipped no_consent".to_owned()));
    assert!(reasons(&mut conn, "s-5").contains(&"skipped no_consent".to_owned()));
    let sam: Vec<Vec<String>> = ["s-1", "s-2", "s-3"]
        .iter()
        .map(|s| reasons(&mut conn, s))
        .collect();
    assert_eq!(
        sam.iter()
            .filter(|h| h.iter().any(|e| e.starts_with("sent")))
            .count(),
        1,
        "{sam:?}"
    );
    assert_eq!(
        sam.iter()
            .filter(|h| h.contains(&"skipped cooldown".to_owned()))
            .count(),
        2,
        "{sam:?}"
    );
    drop(conn);
    assert_eq!(
        cartback_store::sends::count_sends(
            &mut store.conn().unwrap(),
            &tenant.id,
            cartback_store::sends::SendStatus::Sent
        )
        .unwrap(),
        1
    );
}

/// A step with a generated coupon: the code is in the email and on the send row,
/// the same for the cart on every retry; the design of the step is the policy's.
async fn coupons_reach_the_email_and_the_send_row(backend: Backend) {
    let mut policy = RecoveryPolicy::with_single_delay(TimeDelta::seconds(1));
    policy.step_settings = vec![cartback_domain::StepSettings {
        template: Some("text_first".to_owned()),
        coupon: Some(cartback_domain::CouponRule::Generated {
            pattern: "SAVE10-{random}".to_owned(),
        }),
    }];
    policy.validate().unwrap();
    let (_db, store, tenant, cart_id) = setup(backend, policy);
    let outbox = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(),
    );
    drain(&worker).await;
    let sends = list_sends_for_cart(&mut store.conn().unwrap(), &tenant.id, &cart_id).unwrap();
    let code = sends[0]
        .coupon_code
        .clone()
        .expect("the coupon is recorded");
    assert!(
        code.starts_with("SAVE10-") && code.len() == "SAVE10-".len() + 8,
        "{code}"
    );
    let eml = std::fs::read_dir(outbox.path())
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .next()
        .unwrap();
    assert!(eml.contains(&code), "{eml}");
}

/// A step that names the tenant's own template renders it in the fitting locale.
async fn a_custom_template_is_used_in_the_carts_language(backend: Backend) {
    let mut policy = RecoveryPolicy::with_single_delay(TimeDelta::seconds(1));
    policy.step_settings = vec![cartback_domain::StepSettings {
        template: Some("custom:winback".to_owned()),
        coupon: None,
    }];
    let (_db, store, tenant, _) = setup(backend, policy);
    let mut conn = store.conn().unwrap();
    for (locale, greeting) in [("en", "Hello"), ("de", "Hallo")] {
        cartback_store::templates::save_template(
            &mut conn,
            &tenant.id,
            "winback",
            locale,
            cartback_store::templates::TemplateParts {
                subject: &format!("{greeting} from {{{{ shop_name }}}}"),
                html: &format!("<p>{greeting} {{{{ customer_name }}}}, <a href=\"{{{{ recovery_url }}}}\">back</a> <a href=\"{{{{ unsubscribe_url }}}}\">stop</a></p>"),
                text: &format!("{greeting} {{{{ customer_name }}}}: {{{{ recovery_url }}}} / {{{{ unsubscribe_url }}}}"),
            },
            Utc::now(),
        )
        .unwrap();
    }
    drop(conn);
    let outbox = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(),
    );
    drain(&worker).await;
    let eml = std::fs::read_dir(outbox.path())
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .next()
        .unwrap();
    // The cart's locale is de-DE: the German version, with the shop's name.
    assert!(eml.contains("Subject: Hallo from Shop"), "{eml}");
    assert!(eml.contains("Hallo Sam"), "{eml}");
}

/// The WARN events of this process, each as its fields (`message`, `tenant`,
/// ...): a subscriber of its own, installed once for the whole test binary
/// (the worker logs from its runtime's threads).
fn warnings() -> &'static std::sync::Mutex<Vec<std::collections::BTreeMap<String, String>>> {
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    type Events = std::sync::Mutex<Vec<std::collections::BTreeMap<String, String>>>;
    static EVENTS: std::sync::OnceLock<&'static Events> = std::sync::OnceLock::new();

    struct Fields(std::collections::BTreeMap<String, String>);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
    }
    struct Recorder(&'static Events);
    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            if *event.metadata().level() == Level::WARN {
                let mut fields = Fields(Default::default());
                event.record(&mut fields);
                self.0.lock().unwrap().push(fields.0);
            }
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
    EVENTS.get_or_init(|| {
        let events: &'static Events = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Recorder(events))
            .expect("no other global subscriber in this test binary");
        events
    })
}

/// How many WARNs of `tenant` said `what`.
fn warned(tenant: &Tenant, what: &str) -> usize {
    warnings()
        .lock()
        .unwrap()
        .iter()
        .filter(|fields| {
            fields.get("tenant") == Some(&tenant.id)
                && fields.get("message").is_some_and(|m| m.contains(what))
        })
        .count()
}

/// A stored template that cannot render an email (saved before links were
/// required: no unsubscribe link) gives way to the built-in design, and the
/// worker says so once per template version, not on every send.
async fn a_broken_custom_template_falls_back_with_one_warning_per_version(backend: Backend) {
    warnings();
    let mut policy = RecoveryPolicy::with_single_delay(TimeDelta::seconds(1));
    policy.step_settings = vec![cartback_domain::StepSettings {
        template: Some("custom:winback".to_owned()),
        coupon: None,
    }];
    let (_db, store, tenant, _) = setup(backend, policy);
    let save_broken = |at: chrono::DateTime<Utc>| {
        cartback_store::templates::save_template(
            &mut store.conn().unwrap(),
            &tenant.id,
            "winback",
            "de",
            cartback_store::templates::TemplateParts {
                subject: "Custom {{ shop_name }}",
                html: "<p>Custom <a href=\"{{ recovery_url }}\">zurück</a></p>",
                text: "Custom {{ recovery_url }} {{ unsubscribe_url }}",
            },
            at,
        )
        .unwrap();
    };
    save_broken(Utc::now() - TimeDelta::minutes(5));
    let past = Utc::now() - TimeDelta::seconds(10);
    for shopper in ["a", "b"] {
        let mut cart = due_mug(
            &tenant,
            &format!("s-{shopper}"),
            &format!("{shopper}@example.com"),
            Some(true),
            past,
        );
        cart.locale = Some("de-DE".to_owned());
        upsert_cart(&mut store.conn().unwrap(), &cart).unwrap();
    }
    let outbox = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(),
    );
    drain(&worker).await;
    let emails: Vec<String> = std::fs::read_dir(outbox.path())
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .collect();
    assert_eq!(emails.len(), 3);
    for eml in &emails {
        assert!(
            !eml.contains("Subject: Custom"),
            "the built-in design: {eml}"
        );
        assert!(eml.contains("/u/"), "with its unsubscribe link: {eml}");
    }
    let what = "custom template cannot render";
    assert_eq!(warned(&tenant, what), 1, "{:?}", warnings().lock().unwrap());

    // A new version (still broken) is worth one more warning.
    save_broken(Utc::now());
    let mut cart = due_mug(
        &tenant,
        "s-c",
        "c@example.com",
        Some(true),
        Utc::now() - TimeDelta::seconds(10),
    );
    cart.locale = Some("de-DE".to_owned());
    upsert_cart(&mut store.conn().unwrap(), &cart).unwrap();
    drain(&worker).await;
    assert_eq!(std::fs::read_dir(outbox.path()).unwrap().count(), 4);
    assert_eq!(warned(&tenant, what), 2, "{:?}", warnings().lock().unwrap());
}

/// A send due inside the tenant's quiet hours waits for the window to end: no
/// email now, the cart wakes at the end, and its history says why.
async fn quiet_hours_postpone_the_send(backend: Backend) {
    let now = Utc::now();
    let clock = |t: chrono::DateTime<Utc>| t.format("%H:%M").to_string();
    let mut policy = RecoveryPolicy::with_single_delay(TimeDelta::seconds(1));
    policy.quiet_hours = Some(cartback_domain::QuietHours {
        start: clock(now - TimeDelta::hours(1)),
        end: clock(now + TimeDelta::hours(1)),
    });
    policy.time_zone = "UTC".to_owned();
    policy.validate().unwrap();
    let (_db, store, tenant, cart_id) = setup(backend, policy);
    let outbox = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(),
    );
    drain(&worker).await;
    assert_eq!(std::fs::read_dir(outbox.path()).unwrap().count(), 0);
    let mut conn = store.conn().unwrap();
    let cart = cartback_store::carts::find_cart(&mut conn, &tenant.id, &cart_id)
        .unwrap()
        .unwrap();
    let wake = cart.next_action_at.unwrap().and_utc();
    assert!(
        wake > now + TimeDelta::minutes(58) && wake <= now + TimeDelta::minutes(61),
        "wakes when the window ends: {wake}"
    );
    let events = cartback_store::events::list_events(&mut conn, &tenant.id, &cart_id).unwrap();
    assert!(
        events.iter().any(|e| e.kind.as_str() == "waiting"
            && e.detail.as_deref().unwrap_or("").starts_with("quiet_hours")),
        "{events:?}"
    );
}

/// Carts captured in one address's name (say, with a publishable key by someone
/// else): at most the daily cap of emails reaches it; the rest wait a day and
/// say so in their history.
async fn an_address_gets_at_most_the_daily_cap(backend: Backend) {
    let policy = RecoveryPolicy {
        max_emails_per_address_per_day: 2,
        ..RecoveryPolicy::with_single_delay(TimeDelta::seconds(1))
    };
    let (_db, store, tenant, _) = setup(backend, policy);
    let past = Utc::now() - TimeDelta::seconds(10);
    let mut conn = store.conn().unwrap();
    for session in ["s-2", "s-3", "s-4", "s-5"] {
        let cart = due_mug(&tenant, session, "Sam@Example.com", Some(true), past);
        upsert_cart(&mut conn, &cart).unwrap();
    }
    drop(conn);
    let outbox = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(),
    );
    drain(&worker).await;
    assert_eq!(
        std::fs::read_dir(outbox.path()).unwrap().count(),
        2,
        "five carts of one address, a cap of two a day"
    );
    let mut conn = store.conn().unwrap();
    let mut waiting = 0;
    for session in ["s-1", "s-2", "s-3", "s-4", "s-5"] {
        let cart = cartback_store::carts::find_cart_by_session(&mut conn, &tenant.id, session)
            .unwrap()
            .unwrap();
        let events = cartback_store::events::list_events(&mut conn, &tenant.id, &cart.id).unwrap();
        if events.iter().any(|e| {
            e.kind.as_str() == "waiting"
                && e.detail
                    .as_deref()
                    .unwrap_or("")
                    .starts_with("address_daily_cap")
        }) {
            waiting += 1;
            let wake = cart.next_action_at.unwrap().and_utc();
            assert!(
                wake > Utc::now() + TimeDelta::hours(23),
                "comes back a day after the first email: {wake}"
            );
        }
    }
    assert_eq!(waiting, 3);
}

/// A provider that would send a repeat, and one that drops repeated keys (Resend's window).
const BOTH_KINDS: [Idempotency; 2] = [
    Idempotency::None,
    Idempotency::Keyed {
        window: Duration::from_secs(24 * 3600),
    },
];

fn one_step(backend: Backend) -> (TestDatabase, Store, Tenant, String) {
    setup(
        backend,
        RecoveryPolicy::with_single_delay(TimeDelta::seconds(1)),
    )
}

/// A worker takes the send, then dies before it learns the provider's answer
/// (simulated: the send is taken through the store and its lease left to run
/// out). The next worker never repeats it through a provider that would send
/// twice; through one that drops repeated keys it asks again with the same key.
async fn a_send_whose_worker_died_is_unknown_or_repeated_with_its_key(backend: Backend) {
    for idempotency in BOTH_KINDS {
        let (_db, store, tenant, cart_id) = one_step(backend);
        let now = Utc::now();
        let lease = now + TimeDelta::milliseconds(50);
        let mut conn = store.conn().unwrap();
        let claimed = claim_due_carts(&mut conn, "w-dead", now, lease, 10).unwrap();
        assert_eq!(claimed.len(), 1);
        let through = SendingThrough {
            kind: "flaky".to_owned(),
            repeat_window: None,
        };
        let batch = BatchTenants {
            link_secrets: std::iter::once((tenant.id.clone(), tenant.link_secret.clone()))
                .collect(),
            customer_history: Default::default(),
            providers: std::iter::once((tenant.id.clone(), through)).collect(),
        };
        let taken = start_sends(
            &mut conn,
            &[CartKey::of(&claimed[0])],
            "w-dead",
            now,
            lease,
            &batch,
            |_, _| {
                Ok(Some(SendDecision {
                    step: 0,
                    mark_abandoned: true,
                }))
            },
        )
        .unwrap();
        let StartSend::Ready { send, .. } = &taken[0] else {
            panic!("expected a send to take: {taken:?}");
        };
        let key = send.idempotency_key.clone();
        drop(conn);
        tokio::time::sleep(Duration::from_millis(80)).await;

        let provider = Arc::new(Flaky::new(
            0,
            EmailError::Permanent {
                message: "unused".to_owned(),
            },
            idempotency,
        ));
        let worker = Worker::new(store.clone(), provider.clone(), config());
        drain(&worker).await;
        let mut conn = store.conn().unwrap();
        let sends = list_sends_for_cart(&mut conn, &tenant.id, &cart_id).unwrap();
        assert_eq!(sends.len(), 1);
        let events = cartback_store::events::list_events(&mut conn, &tenant.id, &cart_id).unwrap();
        let cart = find_cart(&mut conn, &tenant.id, &cart_id).unwrap().unwrap();
        assert_eq!(cart.next_step, 1, "the sequence moves past the step");
        assert!(cart.last_sent_at.is_none() || idempotency != Idempotency::None);
        match idempotency {
            Idempotency::None => {
                assert_eq!(provider.calls.load(Ordering::SeqCst), 0, "never repeated");
                assert_eq!(sends[0].status.as_str(), "unknown");
                assert!(sends[0].sent_at.is_none());
                assert!(
                    sends[0]
                        .last_error
                        .as_deref()
                        .unwrap()
                        .contains("may or may not have arrived")
                );
                assert!(
                    events
                        .iter()
                        .any(|e| e.kind.as_str() == "unknown" && e.step == Some(0)),
                    "{events:?}"
                );
                assert!(!events.iter().any(|e| e.kind.as_str() == "sent"));
            }
            Idempotency::Keyed { .. } => {
                assert_eq!(*provider.keys.lock().unwrap(), vec![key], "same key");
                assert_eq!(sends[0].status.as_str(), "sent");
                assert!(!events.iter().any(|e| e.kind.as_str() == "unknown"));
            }
        }
    }
}

/// A request that went out but got no answer: unknown through a provider that
/// would send twice, tried again (same key) through one that would not.
async fn an_unanswered_request_is_unknown_unless_the_key_makes_a_repeat_safe(backend: Backend) {
    for idempotency in BOTH_KINDS {
        let (_db, store, tenant, cart_id) = one_step(backend);
        let provider = Arc::new(Flaky::new(
            1,
            EmailError::Unknown {
                message: "timed out reading the answer".to_owned(),
            },
            idempotency,
        ));
        let worker = Worker::new(store.clone(), provider.clone(), config());
        drain(&worker).await;
        let sends = list_sends_for_cart(&mut store.conn().unwrap(), &tenant.id, &cart_id).unwrap();
        match idempotency {
            Idempotency::None => {
                assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
                assert_eq!(sends[0].status.as_str(), "unknown");
                assert!(
                    sends[0]
                        .last_error
                        .as_deref()
                        .unwrap()
                        .contains("timed out")
                );
            }
            Idempotency::Keyed { .. } => {
                assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
                let keys = provider.keys.lock().unwrap().clone();
                assert_eq!(keys[0], keys[1]);
                assert_eq!(sends[0].status.as_str(), "sent");
            }
        }
    }
}

/// Accepts every email except those to a `poison` address, whose send panics
/// (a bug in a provider adapter, say).
struct PanicsOnPoison {
    sent: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl EmailProvider for PanicsOnPoison {
    fn kind(&self) -> &'static str {
        "panics"
    }
    fn idempotency(&self) -> Idempotency {
        Idempotency::None
    }
    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError> {
        if message.to.email.starts_with("poison") {
            panic!("provider adapter bug");
        }
        self.sent.lock().unwrap().push(message.to.email.clone());
        Ok(SendReceipt {
            provider_message_id: Some("ok".to_owned()),
        })
    }
}

/// A tenant and one due cart of it, the tenant's policy written straight into
/// its row (`policy_json`, bypassing validation, as a row written before the
/// bounds existed would be).
fn tenant_with_cart(
    store: &Store,
    name: &str,
    email: &str,
    policy_json: Option<&str>,
) -> (Tenant, String) {
    let mut conn = store.conn().unwrap();
    let tenant = create_tenant(
        &mut conn,
        &NewTenant {
            name: name.to_owned(),
            from_email: "shop@example.com".to_owned(),
            from_name: None,
            recovery_url: Some("https://shop.example/cart".to_owned()),
            policy: RecoveryPolicy::with_single_delay(TimeDelta::seconds(1)),
        },
        Utc::now().naive_utc(),
    )
    .unwrap();
    if let Some(json) = policy_json {
        execute_raw(
            &mut conn,
            "UPDATE tenants SET policy = $1 WHERE id = $2",
            &[json, &tenant.id],
        )
        .unwrap();
    }
    let past = Utc::now() - TimeDelta::seconds(10);
    let cart = upsert_cart(
        &mut conn,
        &CartUpsert {
            tenant_id: tenant.id.clone(),
            session_id: format!("s-{name}"),
            items: vec![CartItem {
                id: "sku".to_owned(),
                name: "Mug".to_owned(),
                unit_price_minor: 1250,
                quantity: 1,
                image_url: None,
                url: None,
                variant_id: None,
            }],
            total_minor: 1250,
            subtotal_minor: None,
            currency: "EUR".to_owned(),
            customer_email: Some(email.to_owned()),
            customer_name: None,
            locale: None,
            consent: Some(true),
            now: past,
            next_action_at: past,
        },
    )
    .unwrap();
    (tenant, cart.id)
}

/// One batch holds a healthy tenant's cart and poisoned ones: a policy with
/// extreme values written past validation, a delay that lands past year 9999,
/// an unreadable policy, an unreadable cart row, and a cart whose delivery
/// panics. The healthy email leaves in the first pass; every poisoned cart is
/// quarantined with a history entry or scheduled inside the bounds; the worker
/// keeps running and stops claiming the quarantined carts.
async fn a_poisoned_tenant_never_stops_the_others(backend: Backend) {
    let db = TestDatabase::new(backend);
    let store = Store::open(&db.url, 4).unwrap();
    store.migrate().unwrap();
    let (healthy, healthy_cart) = tenant_with_cart(&store, "healthy", "sam@example.com", None);
    let (extreme, extreme_cart) = tenant_with_cart(
        &store,
        "extreme",
        "eve@example.com",
        Some(
            r#"{"steps":[{"delayMs":1000}],"expireAfterMs":9223372036854775807,"attributionWindowMs":18446744073709551615,"customerCooldownMs":18446744073709551615,"maxEmailsPerCart":4294967295}"#,
        ),
    );
    let (far, far_cart) = tenant_with_cart(
        &store,
        "far",
        "fay@example.com",
        Some(r#"{"steps":[{"delayMs":260000000000000}],"expireAfterMs":9223372036854775807}"#),
    );
    let (unreadable, unreadable_cart) =
        tenant_with_cart(&store, "unreadable", "una@example.com", Some("{not json"));
    let (corrupt, corrupt_cart) = tenant_with_cart(&store, "corrupt", "cor@example.com", None);
    {
        let mut conn = store.conn().unwrap();
        execute_raw(
            &mut conn,
            "UPDATE carts SET status = 'bogus' WHERE id = $1",
            &[&corrupt_cart],
        )
        .unwrap();
    }
    let (panicky, panicky_cart) = tenant_with_cart(&store, "panicky", "poison@example.com", None);

    let provider = Arc::new(PanicsOnPoison {
        sent: std::sync::Mutex::new(Vec::new()),
    });
    let worker = Worker::new(store.clone(), provider.clone(), config());
    // One pass takes every cart: the healthy email leaves in it. The row that
    // cannot be read is quarantined by the claim itself, so five are processed.
    assert_eq!(worker.run_once().await.unwrap(), 5);
    assert!(
        provider
            .sent
            .lock()
            .unwrap()
            .contains(&"sam@example.com".to_owned())
    );
    drain(&worker).await;

    let mut conn = store.conn().unwrap();
    let healthy_sends = list_sends_for_cart(&mut conn, &healthy.id, &healthy_cart).unwrap();
    assert_eq!(healthy_sends.len(), 1);
    assert_eq!(healthy_sends[0].status.as_str(), "sent");
    // Extreme values saturate instead of panicking: the email goes out.
    let extreme_sends = list_sends_for_cart(&mut conn, &extreme.id, &extreme_cart).unwrap();
    assert_eq!(extreme_sends[0].status.as_str(), "sent");
    // A first step 8,000 years away is "never": no wake-up stored past 9999.
    let far_row = find_cart(&mut conn, &far.id, &far_cart).unwrap().unwrap();
    assert!(
        far_row
            .next_action_at
            .is_none_or(|t| t.and_utc() <= cartback_domain::bounds::far_future())
    );
    assert!(far_row.quarantined_at.is_none());

    for (tenant, cart, reason) in [
        (&unreadable, &unreadable_cart, "policy is unreadable"),
        (&corrupt, &corrupt_cart, "cart row unreadable"),
        (&panicky, &panicky_cart, "delivery panicked"),
    ] {
        if cart == &corrupt_cart {
            // Its row still cannot be read as a cart: ask the database itself
            // (a no-op update counts the rows in the quarantined state).
            let quarantined = execute_raw(
                &mut conn,
                "UPDATE carts SET version = version WHERE id = $1 AND quarantined_at IS NOT NULL \
                 AND next_action_at IS NULL AND locked_by IS NULL",
                &[cart],
            )
            .unwrap();
            assert_eq!(quarantined, 1, "{reason}: not quarantined");
        } else {
            let row = find_cart(&mut conn, &tenant.id, cart).unwrap().unwrap();
            assert!(row.quarantined_at.is_some(), "{reason}: not quarantined");
            assert!(row.next_action_at.is_none(), "{reason}: still scheduled");
            assert!(row.locked_by.is_none());
        }
        let events = cartback_store::events::list_events(&mut conn, &tenant.id, cart).unwrap();
        let entry = events
            .iter()
            .find(|e| e.kind.as_str() == "quarantined")
            .unwrap_or_else(|| panic!("{reason}: no history entry in {events:?}"));
        assert!(
            entry.detail.as_deref().unwrap_or_default().contains(reason),
            "{entry:?}"
        );
    }
    // The panicking delivery is an unknown send, never repeated.
    let panicky_sends = list_sends_for_cart(&mut conn, &panicky.id, &panicky_cart).unwrap();
    assert_eq!(panicky_sends.len(), 1);
    assert_eq!(panicky_sends[0].status.as_str(), "unknown");
    drop(conn);

    // Quarantined carts are not claimed again, and the worker is alive.
    assert_eq!(worker.run_once().await.unwrap(), 0);

    // The shop's next update lifts the quarantine.
    let mut conn = store.conn().unwrap();
    let now = Utc::now();
    execute_raw(
        &mut conn,
        "UPDATE carts SET status = 'abandoned' WHERE id = $1",
        &[&corrupt_cart],
    )
    .unwrap();
    let updated = upsert_cart(
        &mut conn,
        &CartUpsert {
            tenant_id: corrupt.id.clone(),
            session_id: "s-corrupt".to_owned(),
            items: vec![],
            total_minor: 0,
            subtotal_minor: None,
            currency: "EUR".to_owned(),
            customer_email: None,
            customer_name: None,
            locale: None,
            consent: None,
            now,
            next_action_at: now,
        },
    )
    .unwrap();
    assert_eq!(updated.id, corrupt_cart);
    assert!(updated.quarantined_at.is_none());
    assert!(updated.next_action_at.is_some());
}

on_both_backends!(
    async
    transient_failures_are_retried_then_sent,
    too_many_failures_end_dead_with_the_reason,
    permanent_failures_are_not_retried,
    a_tenant_provider_on_a_private_address_is_refused_and_dead,
    file_outbox_gets_one_email_per_step,
    one_sequence_per_shopper_and_consent_respected,
    coupons_reach_the_email_and_the_send_row,
    a_custom_template_is_used_in_the_carts_language,
    a_broken_custom_template_falls_back_with_one_warning_per_version,
    quiet_hours_postpone_the_send,
    a_send_whose_worker_died_is_unknown_or_repeated_with_its_key,
    an_address_gets_at_most_the_daily_cap,
    an_unanswered_request_is_unknown_unless_the_key_makes_a_repeat_safe,
    a_poisoned_tenant_never_stops_the_others,
);
