//! Workers SIGKILLed again and again while they send, through each kind of
//! provider, on both backends: no shopper ever gets a second email, and no send
//! says `sent` unless the provider really has the email. Every cart either
//! received exactly one email or has exactly one `unknown` send.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use cartback_store::carts::find_cart_by_session;
use cartback_store::sends::{SendStatus, count_sends, list_sends_for_cart};
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, Tenant, cart_update, create_tenant, spawn_worker};
use cartback_testing::http_stub::{HttpStub, Recorded, Reply};
use cartback_testing::maildev::Maildev;
use cartback_testing::moto::Moto;
use cartback_testing::process::{Running, wait_for};

/// Enough carts that sending outlasts dozens of kills (one every 300 ms) on
/// every backend and provider.
const CARTS: usize = 500;
const WORKERS: usize = 3;
/// A stub provider takes this long to answer, so sending lasts long enough for
/// many kills to land while requests are in flight.
const PROVIDER_LATENCY: Duration = Duration::from_millis(25);

/// The far end of the emails, and how to read back who got what.
enum Peer {
    Smtp(Maildev),
    /// SendGrid's API shape: every request is an email.
    SendGrid(HttpStub),
    /// Resend's API shape, honouring `Idempotency-Key` as Resend documents: a
    /// repeated key is answered as the first was, without a second email.
    Resend(HttpStub),
    Ses(Moto),
}

impl Peer {
    fn start(kind: &str) -> Peer {
        match kind {
            "smtp" => Peer::Smtp(Maildev::start()),
            "sendgrid" => Peer::SendGrid(HttpStub::start_with(|_, index| {
                std::thread::sleep(PROVIDER_LATENCY);
                Reply::json(202, "").with_header("x-message-id", &format!("sg-{index}"))
            })),
            "resend" => {
                let keys: Arc<Mutex<HashMap<String, String>>> = Arc::default();
                let stub = HttpStub::start_with(move |request: &Recorded, index| {
                    std::thread::sleep(PROVIDER_LATENCY);
                    let key = request.header("idempotency-key").unwrap_or("").to_owned();
                    let id = keys
                        .lock()
                        .unwrap()
                        .entry(key)
                        .or_insert_with(|| format!("re-{index}"))
                        .clone();
                    Reply::json(200, &format!("{{\"id\":\"{id}\"}}"))
                });
                Peer::Resend(stub)
            }
            "ses" => {
                let moto = Moto::start();
                moto.verify_identity("shop@example.com");
                Peer::Ses(moto)
            }
            other => panic!("no peer for {other}"),
        }
    }

    fn worker_env(&self) -> Vec<(&'static str, String)> {
        match self {
            Peer::Smtp(maildev) => vec![
                ("CARTBACK_EMAIL_PROVIDER", "smtp".to_owned()),
                ("CARTBACK_SMTP_URL", maildev.smtp_url()),
            ],
            Peer::SendGrid(stub) => vec![
                ("CARTBACK_EMAIL_PROVIDER", "sendgrid".to_owned()),
                ("CARTBACK_PROVIDER_API_KEY", "SG.kill-test".to_owned()),
                ("CARTBACK_PROVIDER_BASE_URL", stub.base_url.clone()),
            ],
            Peer::Resend(stub) => vec![
                ("CARTBACK_EMAIL_PROVIDER", "resend".to_owned()),
                ("CARTBACK_PROVIDER_API_KEY", "re_kill_test".to_owned()),
                ("CARTBACK_PROVIDER_BASE_URL", stub.base_url.clone()),
            ],
            Peer::Ses(moto) => vec![
                ("CARTBACK_EMAIL_PROVIDER", "ses".to_owned()),
                ("CARTBACK_SES_REGION", "us-east-1".to_owned()),
                ("CARTBACK_SES_ACCESS_KEY_ID", "AKIDTEST".to_owned()),
                ("CARTBACK_SES_SECRET_ACCESS_KEY", "secret".to_owned()),
                ("CARTBACK_PROVIDER_BASE_URL", moto.endpoint.clone()),
            ],
        }
    }

    /// How many emails each address received.
    fn received(&self) -> HashMap<String, usize> {
        let addresses: Vec<String> = match self {
            Peer::Smtp(maildev) => maildev.recipients(),
            Peer::SendGrid(stub) => stub
                .requests()
                .iter()
                .map(|r| sendgrid_recipient(&r.body))
                .collect(),
            Peer::Resend(stub) => {
                // Only the first request of each key is an email.
                let mut keys = HashSet::new();
                stub.requests()
                    .iter()
                    .filter(|r| keys.insert(r.header("idempotency-key").unwrap_or("").to_owned()))
                    .map(|r| {
                        let body: Value = serde_json::from_slice(&r.body).unwrap();
                        address_in(body["to"][0].as_str().unwrap())
                    })
                    .collect()
            }
            Peer::Ses(moto) => moto
                .sent_raw_messages()
                .iter()
                .map(|raw| {
                    let to = raw
                        .lines()
                        .find(|l| l.to_ascii_lowercase().starts_with("to:"))
                        .expect("a To header");
                    address_in(to)
                })
                .collect(),
        };
        let mut counts = HashMap::new();
        for address in addresses {
            *counts.entry(address).or_insert(0) += 1;
        }
        counts
    }

    /// Whether a provider that honours idempotency keys stands at the far end:
    /// then no send may end unknown.
    fn exactly_once(&self) -> bool {
        matches!(self, Peer::Resend(..))
    }
}

fn sendgrid_recipient(body: &[u8]) -> String {
    let body: Value = serde_json::from_slice(body).unwrap();
    body["personalizations"][0]["to"][0]["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `buyerN@example.com` out of a header or a display-name mailbox.
fn address_in(text: &str) -> String {
    let start = text.find("buyer").expect("a buyer address");
    text[start..]
        .split(|c: char| c == '>' || c.is_whitespace() || c == '"')
        .next()
        .unwrap()
        .to_owned()
}

fn seed(api: &Api, tenant: &Tenant) {
    std::thread::scope(|scope| {
        for part in 0..4 {
            scope.spawn(move || {
                for i in (part..CARTS).step_by(4) {
                    let body =
                        cart_update(&format!("kill-{i}"), Some(&format!("buyer{i}@example.com")));
                    let (status, answer) = api.track(&tenant.secret, &body);
                    assert_eq!(status, 200, "{answer}");
                }
            });
        }
    });
}

fn start_worker(db: &TestDatabase, peer_env: &[(&'static str, String)]) -> Running {
    let mut env = vec![
        ("CARTBACK_POLL_INTERVAL", "20ms".to_owned()),
        ("CARTBACK_NO_MIGRATE", "true".to_owned()),
        ("CARTBACK_BATCH_SIZE", "20".to_owned()),
        ("CARTBACK_CONCURRENCY", "4".to_owned()),
        // A killed worker's carts come back quickly.
        ("CARTBACK_LEASE", "1s".to_owned()),
        ("CARTBACK_RETRY_BASE", "50ms".to_owned()),
        ("CARTBACK_ALLOW_PRIVATE_WEBHOOK_TARGETS", "true".to_owned()),
    ];
    env.extend(peer_env.iter().cloned());
    spawn_worker(&db.url, &env)
}

fn killed_workers_never_send_twice(backend: Backend, kind: &str) {
    let db = TestDatabase::new(backend);
    let peer = Peer::start(kind);
    let tenant = create_tenant(&db.url, "100ms");
    let api = Api::start(&db.url, &[]);
    seed(&api, &tenant);
    let store = Store::open(&db.url, 2).unwrap();
    let settled = || {
        let mut conn = store.conn().unwrap();
        count_sends(&mut conn, &tenant.id, SendStatus::Sent).unwrap()
            + count_sends(&mut conn, &tenant.id, SendStatus::Unknown).unwrap()
    };

    let env = peer.worker_env();
    let mut workers: Vec<Running> = (0..WORKERS).map(|_| start_worker(&db, &env)).collect();
    let mut kills = 0;
    let started = Instant::now();
    // Kill one worker every ~300 ms (a different one each time) and start a new
    // one in its place, until every cart's email has settled.
    while settled() < CARTS as i64 {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "sending did not finish: {} of {CARTS} settled after {kills} kills",
            settled()
        );
        std::thread::sleep(Duration::from_millis(300));
        if settled() >= CARTS as i64 {
            break;
        }
        let victim = kills % WORKERS;
        workers[victim].kill_hard();
        kills += 1;
        workers[victim] = start_worker(&db, &env);
    }
    drop(workers);
    assert!(kills >= 5, "only {kills} kills landed while sending");
    // Emails handed over just before the last settle have arrived by now.
    std::thread::sleep(Duration::from_millis(500));

    let received = peer.received();
    let mut conn = store.conn().unwrap();
    let (mut sent, mut unknown, mut unknown_received) = (0, 0, 0);
    for i in 0..CARTS {
        let address = format!("buyer{i}@example.com");
        let got = received.get(&address).copied().unwrap_or(0);
        assert!(got <= 1, "{address} received {got} emails");
        let cart = find_cart_by_session(&mut conn, &tenant.id, &format!("kill-{i}"))
            .unwrap()
            .unwrap();
        let sends = list_sends_for_cart(&mut conn, &tenant.id, &cart.id).unwrap();
        assert_eq!(sends.len(), 1, "one send row per step: {sends:?}");
        match sends[0].status.as_str() {
            "sent" => {
                assert_eq!(
                    got, 1,
                    "{address}: the row says sent, the provider has nothing"
                );
                sent += 1;
            }
            "unknown" => {
                unknown += 1;
                unknown_received += got;
            }
            other => panic!("{address}: send ended {other}"),
        }
    }
    eprintln!(
        "{kind} on {backend:?}: {CARTS} carts, {kills} kills: {sent} sent, {unknown} unknown \
         ({unknown_received} of them arrived)"
    );
    if peer.exactly_once() {
        assert_eq!(
            unknown, 0,
            "a provider with idempotency keys is asked again"
        );
    }
    wait_for("nothing left to send", Duration::from_secs(5), || {
        let mut conn = store.conn().unwrap();
        count_sends(&mut conn, &tenant.id, SendStatus::Sending).unwrap() == 0
    });
}

macro_rules! per_provider_on_both_backends {
    ($($name:ident => $kind:literal),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::killed_workers_never_send_twice(cartback_store::Backend::Sqlite, $kind);
            }
            #[test]
            fn postgres() {
                super::killed_workers_never_send_twice(cartback_store::Backend::Postgres, $kind);
            }
        }
    )+};
}

per_provider_on_both_backends!(
    smtp => "smtp",
    sendgrid_without_keys => "sendgrid",
    resend_with_keys => "resend",
    ses_on_moto => "ses",
);
