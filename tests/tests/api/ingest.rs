//! Group commit is safe: an event acknowledged with a 2xx is in the database even
//! when the api is SIGKILLed in the middle of a stream of events.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::carts::find_cart_by_session;
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, create_tenant_with};
use cartback_testing::process::wait_for;

const CLIENTS: usize = 16;

fn acknowledged_events_survive_a_kill(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant_with(&db.url, &["--name", "Crash shop", "--from", "s@x.example"]);
    let (tenant_id, key) = (tenant.id, tenant.secret);
    let mut api = Api::start(&db.url, &[]);
    let base = api.base.clone();

    // Each client sends its own sessions; two of three events repeat a session
    // with a new total, so the last acknowledged total is what must be stored.
    let acknowledged: Arc<Mutex<Vec<(String, String, i64)>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (base, key) = (base.clone(), key.clone());
            let (acknowledged, sent, stop) = (acknowledged.clone(), sent.clone(), stop.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let mut n: i64 = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let session = format!("crash-{client}-{}", n / 3);
                    let body = json!({
                        "event": "CART_UPDATE",
                        "sessionId": session,
                        "items": [{"id": "sku", "name": "Thing", "price": 1, "quantity": n}],
                        "total": n,
                        "currency": "EUR"
                    });
                    sent.fetch_add(1, Ordering::SeqCst);
                    let answer = http
                        .post(format!("{base}/api/v1/track"))
                        .header("X-API-Key", &key)
                        .json(&body)
                        .send();
                    match answer {
                        Ok(response) if response.status().is_success() => {
                            let value: Value = response.json().unwrap();
                            let cart = value["cartId"].as_str().unwrap().to_owned();
                            acknowledged.lock().unwrap().push((session, cart, n * 100));
                        }
                        // The api is gone: this event was never acknowledged.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    wait_for(
        "a stream of acknowledged events",
        Duration::from_secs(60),
        || acknowledged.lock().unwrap().len() >= 600,
    );
    api.kill_hard();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        sent.load(Ordering::SeqCst) > acknowledged.len(),
        "some events were in flight when the api died"
    );

    // After the crash: every acknowledged event is there, with its last total.
    let store = Store::open(&db.url, 2).unwrap();
    let mut conn = store.conn().unwrap();
    let mut last: std::collections::BTreeMap<String, (String, i64)> = Default::default();
    for (session, cart, total) in &acknowledged {
        last.insert(session.clone(), (cart.clone(), *total));
    }
    for (session, (cart, total)) in &last {
        let row = find_cart_by_session(&mut conn, &tenant_id, session)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged session {session} lost"));
        assert_eq!(&row.id, cart);
        assert!(
            row.total_minor >= *total,
            "{session}: stored {} < acknowledged {total}",
            row.total_minor
        );
    }
}

#[test]
fn acknowledged_events_survive_a_kill_on_sqlite() {
    acknowledged_events_survive_a_kill(Backend::Sqlite);
}

#[test]
fn acknowledged_events_survive_a_kill_on_postgres() {
    acknowledged_events_survive_a_kill(Backend::Postgres);
}
