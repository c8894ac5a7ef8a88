//! The api in process: the app `configure` builds, over a database of its own,
//! served by `actix_web::test` on a thread of its own and called synchronously
//! with the same helpers as the real binary's (`cartback_testing::app::Api`), so a
//! test reads the same either way. What the binary adds around the app (the
//! request id, rate limit, CORS and metrics layers, HTTP parsing) is tested
//! against the binary in the end-to-end crate.

use std::rc::Rc;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{App, test};
use chrono::{TimeDelta, Utc};
use serde_json::Value;
use tokio::sync::mpsc as channel;

use cartback_api::auth::AuthCache;
use cartback_api::{
    ApiLimits, AppState, Ingest, IngestConfig, Metrics, RateLimiter, STRIPE_API_BASE, StripeClient,
    configure,
};
use cartback_domain::RecoveryPolicy;
use cartback_store::api_keys::{KeyKind, create_key};
use cartback_store::crypto::MasterKeys;
use cartback_store::tenants::{NewTenant, create_tenant};
use cartback_store::{Backend, Store, write_transaction};
use cartback_testing::TestDatabase;
use cartback_testing::app::Tenant;

/// One request, as plain data (it crosses to the app's thread).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
}

impl Call {
    pub fn new(method: &str, path: &str) -> Call {
        Call {
            method: Method::from_bytes(method.as_bytes()).expect("method"),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Call {
        self.body = Some(body.into());
        self
    }

    /// A JSON body with its content type.
    pub fn json(self, body: &Value) -> Call {
        self.header("Content-Type", "application/json")
            .body(body.to_string())
    }
}

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON, or Null when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Job = (Call, mpsc::Sender<Answer>);

/// How the state differs from the defaults the api binary starts with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `CARTBACK_MAX_BODY_BYTES`; the binary's default when None.
    pub max_body_bytes: Option<usize>,
    /// `CARTBACK_AUTH_CACHE_TTL`; the binary's 5 s when None.
    pub auth_cache_ttl: Option<Duration>,
    /// `CARTBACK_MASTER_KEY`; none when None.
    pub master_key: Option<String>,
    /// `--allow-private-targets`.
    pub allow_private_targets: bool,
}

/// The api's app over a database of its own.
pub struct InProcess {
    pub store: Store,
    _db: TestDatabase,
    jobs: Option<channel::UnboundedSender<Job>>,
    server: Option<JoinHandle<()>>,
}

impl InProcess {
    pub fn start(backend: Backend) -> InProcess {
        InProcess::with(backend, &Options::default())
    }

    pub fn with(backend: Backend, options: &Options) -> InProcess {
        let db = TestDatabase::new(backend);
        let store = Store::open(&db.url, 8).expect("store");
        store.migrate().expect("migrate");
        let state = state(&store, options);
        let (jobs, mut queue) = channel::unbounded_channel::<Job>();
        let server = std::thread::Builder::new()
            .name("in-process-api".to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let app =
                        Rc::new(test::init_service(App::new().configure(configure(state))).await);
                    // Each call runs as its own task, so calls made from many
                    // threads at once reach the handlers at once.
                    while let Some((call, reply)) = queue.recv().await {
                        let app = app.clone();
                        actix_web::rt::spawn(async move {
                            let response =
                                test::call_service(&*app, request(call).to_request()).await;
                            let status = response.status().as_u16();
                            let headers = response.headers().clone();
                            let body = test::read_body(response).await;
                            let _ = reply.send(Answer {
                                status,
                                headers,
                                body,
                            });
                        });
                    }
                });
            })
            .expect("spawn the app's thread");
        InProcess {
            store,
            _db: db,
            jobs: Some(jobs),
            server: Some(server),
        }
    }

    /// Sends a call and waits for its answer.
    pub fn send(&self, call: Call) -> Answer {
        let (reply, answer) = mpsc::channel();
        self.jobs
            .as_ref()
            .expect("running")
            .send((call, reply))
            .expect("the app's thread is running");
        answer
            .recv_timeout(Duration::from_secs(30))
            .expect("an answer within 30 s")
    }

    /// Calls with a key and an optional JSON body: (status, JSON answer or Null),
    /// as [`cartback_testing::app::Api::call`].
    pub fn call(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        let mut call = Call::new(method, path).header("X-API-Key", key);
        if let Some(body) = body {
            call = call.json(body);
        }
        let answer = self.send(call);
        (answer.status, answer.json())
    }

    /// [`InProcess::call`] with `path` under `/api/v1`.
    pub fn v1(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        self.call(method, &format!("/api/v1{path}"), key, body)
    }

    /// `POST /api/v1/track`.
    pub fn track(&self, key: &str, body: &Value) -> (u16, Value) {
        self.call("POST", "/api/v1/track", key, Some(body))
    }

    /// A tenant as `cartback tenant create` makes it (one recovery step after
    /// `delay`, one secret and one publishable key).
    pub fn tenant(&self, name: &str, delay: TimeDelta) -> Tenant {
        self.tenant_with(name, RecoveryPolicy::with_single_delay(delay))
    }

    /// A tenant with this policy, as `cartback tenant create` without `--delay`
    /// makes one with the default policy.
    pub fn tenant_with(&self, name: &str, policy: RecoveryPolicy) -> Tenant {
        let now = Utc::now().naive_utc();
        let mut conn = self.store.conn().expect("connection");
        write_transaction(&mut conn, |conn| {
            let tenant = create_tenant(
                conn,
                &NewTenant {
                    name: name.to_owned(),
                    from_email: "shop@example.com".to_owned(),
                    from_name: None,
                    recovery_url: Some("https://shop.example/cart".to_owned()),
                    policy,
                },
                now,
            )?;
            let secret = create_key(conn, &tenant.id, KeyKind::Secret, Some("default"), now)?;
            let publishable =
                create_key(conn, &tenant.id, KeyKind::Publishable, Some("default"), now)?;
            Ok::<_, cartback_store::StoreError>(Tenant {
                id: tenant.id,
                secret: secret.secret,
                publishable: publishable.secret,
            })
        })
        .expect("a tenant")
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // Closing the queue ends the app's loop and its system.
        self.jobs.take();
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

/// The test request a call describes, from a loopback client.
fn request(call: Call) -> test::TestRequest {
    let mut request = test::TestRequest::default()
        .method(call.method)
        .uri(&call.path)
        .peer_addr("127.0.0.1:40000".parse().expect("address"));
    for (name, value) in call.headers {
        request = request.insert_header((
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_bytes(value.as_bytes()).expect("header value"),
        ));
    }
    if let Some(body) = call.body {
        request = request.set_payload(body);
    }
    request
}

/// The state the api binary builds, with `options` applied and no rate limits
/// (a layer the binary adds around the app).
fn state(store: &Store, options: &Options) -> AppState {
    let master_keys =
        MasterKeys::from_config(options.master_key.as_deref(), None).expect("master keys");
    let mut limits = ApiLimits::default();
    if let Some(max) = options.max_body_bytes {
        limits.max_body_bytes = max;
    }
    AppState {
        ingest: Ingest::start(store.clone(), IngestConfig::for_backend(store.backend()))
            .expect("ingest"),
        auth_cache: Arc::new(AuthCache::new(
            options.auth_cache_ttl.unwrap_or(Duration::from_secs(5)),
        )),
        store: store.clone(),
        limits,
        master_keys: Arc::new(master_keys),
        allow_private_targets: options.allow_private_targets,
        stripe: StripeClient::new(STRIPE_API_BASE).expect("stripe client"),
        rate_limits: Arc::new(RateLimiter::disabled()),
        metrics: Arc::new(Metrics::new(None)),
        public_url: "http://127.0.0.1:8080".to_owned(),
    }
}
