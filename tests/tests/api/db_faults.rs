//! A database fault is not a server error: PostgreSQL connections terminated
//! under load (as a failover does) cost at most a `503` with `Retry-After`,
//! never a `500`; every acknowledged event is stored; the api is ready
//! afterwards; and the worker keeps sending.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use cartback_store::carts::find_cart_by_session;
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, cart_update, create_tenant, spawn_worker_to_outbox};
use cartback_testing::process::wait_for;

const CLIENTS: usize = 6;
const TERMINATIONS: usize = 5;

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// session → cart id, for every 200.
    acknowledged: BTreeMap<String, String>,
    unavailable: usize,
    /// Anything but 200 and 503: (status, body).
    other: Vec<(u16, String)>,
}

#[test]
fn terminated_connections_answer_503_at_worst_and_the_worker_carries_on() {
    let db = TestDatabase::new(Backend::Postgres);
    // The load goes to a shop whose carts are not due for an hour, so the
    // worker's queue holds only the one cart that must be mailed.
    let tenant = create_tenant(&db.url, "1h");
    let mailed = create_tenant(&db.url, "1s");
    let outbox = tempfile::tempdir().unwrap();
    let api = Api::start(&db.url, &[]);
    let _worker = spawn_worker_to_outbox(
        &db.url,
        outbox.path(),
        &[
            ("CARTBACK_EMAIL_PROVIDER", "file".to_owned()),
            ("CARTBACK_POLL_INTERVAL", "100ms".to_owned()),
        ],
    );

    let seen: Arc<Mutex<Seen>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (base, key) = (api.base.clone(), tenant.secret.clone());
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    // No email: these carts are load, not recipients.
                    let session = format!("fault-{client}-{n}");
                    let response = http
                        .post(format!("{base}/api/v1/track"))
                        .header("X-API-Key", &key)
                        .json(&cart_update(&session, None))
                        .send()
                        .unwrap();
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body: Value = response.json().unwrap_or(Value::Null);
                    let mut seen = seen.lock().unwrap();
                    match status {
                        200 => {
                            let cart = body["cartId"].as_str().unwrap().to_owned();
                            seen.acknowledged.insert(session, cart);
                        }
                        503 => {
                            assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
                            assert!(retry_after.is_some(), "a 503 without Retry-After");
                            seen.unavailable += 1;
                        }
                        _ => seen.other.push((status, body.to_string())),
                    }
                }
            })
        })
        .collect();

    let acknowledged = || seen.lock().unwrap().acknowledged.len();
    wait_for("events flowing", Duration::from_secs(60), || {
        acknowledged() >= 200
    });
    for _ in 0..TERMINATIONS {
        let before = acknowledged();
        db.terminate_connections();
        // Carry on until the api has answered more events after the cut.
        wait_for(
            "events acknowledged after a termination",
            Duration::from_secs(60),
            || acknowledged() >= before + 100,
        );
    }
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let seen = Arc::try_unwrap(seen).ok().unwrap().into_inner().unwrap();
    assert!(
        seen.other.is_empty(),
        "answers other than 200 and 503: {:?}",
        &seen.other[..seen.other.len().min(10)]
    );
    eprintln!(
        "{} events acknowledged, {} answered 503",
        seen.acknowledged.len(),
        seen.unavailable
    );

    // Every acknowledged cart is stored.
    let store = Store::open(&db.url, 1).unwrap();
    let mut conn = store.conn().unwrap();
    for (session, cart) in &seen.acknowledged {
        let row = find_cart_by_session(&mut conn, &tenant.id, session)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged session {session} is not stored"));
        assert_eq!(&row.id, cart);
    }
    drop(conn);

    let ready = api.http.get(format!("{}/readyz", api.base)).send().unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    // The worker's connections were cut too: a cart tracked now still gets its
    // email.
    db.terminate_connections();
    let (status, body) = api.track(
        &mailed.secret,
        &cart_update("fault-after", Some("after-the-cut@example.com")),
    );
    assert_eq!(status, 200, "{body}");
    let started = Instant::now();
    let sent = || {
        std::fs::read_dir(outbox.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .any(|e| {
                std::fs::read_to_string(e.path())
                    .is_ok_and(|text| text.contains("after-the-cut@example.com"))
            })
    };
    wait_for(
        "the worker to send after its connections were terminated",
        Duration::from_secs(60),
        sent,
    );
    eprintln!("sent {:?} after the cut", started.elapsed());
}
