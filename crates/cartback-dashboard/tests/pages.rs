//! The dashboard's handlers over a real store, on both backends: sign-in and
//! its throttle, sessions, the CSRF and Origin checks, roles and tenant
//! isolation. (The browser test in tests/ drives the same through chromium.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a test fails, helpers included"
)]

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{App, test};
use chrono::Utc;

use cartback_dashboard::{Dashboard, accounts, configure};
use cartback_domain::{RecoveryPolicy, UserRole};
use cartback_store::tenants::{NewTenant, create_tenant};
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;

const ORIGIN: &str = "http://dashboard.test";

fn store(db: &TestDatabase) -> Store {
    let store = Store::open(&db.url, 4).unwrap();
    store.migrate().unwrap();
    store
}

fn tenant(store: &Store, name: &str) -> String {
    create_tenant(
        &mut store.conn().unwrap(),
        &NewTenant {
            name: name.to_owned(),
            from_email: "shop@example.com".to_owned(),
            from_name: None,
            recovery_url: None,
            policy: RecoveryPolicy::default(),
        },
        Utc::now().naive_utc(),
    )
    .unwrap()
    .id
}

fn user(store: &Store, tenant: &str, email: &str, role: UserRole) -> String {
    accounts::create_user(
        &mut store.conn().unwrap(),
        tenant,
        email,
        role,
        Some("a good long password"),
        Utc::now().naive_utc(),
    )
    .unwrap()
    .id
}

fn cookie_of(response: &actix_web::dev::ServiceResponse) -> Option<String> {
    response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .filter(|pair| pair.len() > "cartback_session=".len())
}

fn header_of(response: &actix_web::dev::ServiceResponse, name: header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    body[at..at + 32].to_owned()
}

async fn check(backend: Backend) {
    let db = TestDatabase::new(backend);
    let store = store(&db);
    let shop = tenant(&store, "Shop");
    let other = tenant(&store, "Other");
    user(&store, &shop, "owner@shop.example", UserRole::Owner);
    let viewer_id = user(&store, &shop, "viewer@shop.example", UserRole::Viewer);
    user(&store, &other, "owner@other.example", UserRole::Owner);
    let app =
        test::init_service(App::new().configure(configure(Dashboard::new(store.clone(), ORIGIN))))
            .await;

    // Signed out: to the sign-in page, back to where one was going.
    let response = test::call_service(
        &app,
        test::TestRequest::get().uri("/dashboard/team").to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header_of(&response, header::LOCATION),
        "/dashboard/login?next=/dashboard/team"
    );
    assert!(header_of(&response, header::CONTENT_SECURITY_POLICY).contains("script-src 'self'"));

    let sign_in = |email: &str, password: &str, origin: &str| {
        test::TestRequest::post()
            .uri("/dashboard/login")
            .insert_header((header::ORIGIN, origin.to_owned()))
            .set_form([
                ("email", email),
                ("password", password),
                ("next", "/dashboard/team"),
            ])
            .to_request()
    };
    // From another site: refused before anything is checked.
    let response = test::call_service(
        &app,
        sign_in(
            "owner@shop.example",
            "a good long password",
            "https://evil.example",
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = test::call_service(
        &app,
        sign_in("owner@shop.example", "wrong password!", ORIGIN),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(cookie_of(&response).is_none());
    let response = test::call_service(
        &app,
        sign_in("OWNER@shop.example", "a good long password", ORIGIN),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_of(&response, header::LOCATION), "/dashboard/team");
    let set = header_of(&response, header::SET_COOKIE).to_owned();
    assert!(set.contains("HttpOnly; SameSite=Lax"), "{set}");
    assert!(!set.contains("Secure"), "http public URL: {set}");
    let owner = cookie_of(&response).unwrap();

    let get = |path: &str, cookie: &str| {
        test::TestRequest::get()
            .uri(path)
            .insert_header((header::COOKIE, cookie.to_owned()))
            .to_request()
    };
    let response = test::call_service(&app, get("/dashboard/team", &owner)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(body.contains("viewer@shop.example"));
    let owner_csrf = csrf_of(&body);
    let response = test::call_service(&app, get("/dashboard", &owner)).await;
    assert_eq!(response.status(), StatusCode::OK);
    // The Overview's period picker offers the API's presets, each one marked
    // current when picked.
    for preset in cartback_domain::PeriodPreset::ALL {
        let path = format!("/dashboard?period={}", preset.as_str());
        let response = test::call_service(&app, get(&path, &owner)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        let current = format!(
            "href=\"{path}\" aria-current=\"true\">{}</a>",
            preset.label()
        );
        assert!(body.contains(&current), "{path}: {current}");
    }
    let response = test::call_service(&app, get("/dashboard?period=week", &owner)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = test::call_service(&app, get("/dashboard/recovery", &owner)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = test::call_service(&app, get("/dashboard/nothing-here", &owner)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let post = |path: &str, cookie: &str, origin: &str, form: Vec<(&'static str, String)>| {
        test::TestRequest::post()
            .uri(path)
            .insert_header((header::COOKIE, cookie.to_owned()))
            .insert_header((header::ORIGIN, origin.to_owned()))
            .set_form(form)
            .to_request()
    };
    let invite = |csrf: Option<&str>| {
        let mut form = vec![
            ("email", "new@shop.example".to_owned()),
            ("role", "viewer".to_owned()),
        ];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf.to_owned()));
        }
        form
    };
    // No token, a wrong one, another origin: 403.
    for (csrf, origin) in [
        (None, ORIGIN),
        (Some("x".repeat(32)), ORIGIN),
        (Some(owner_csrf.clone()), "https://evil.example"),
    ] {
        let response = test::call_service(
            &app,
            post(
                "/dashboard/team/invite",
                &owner,
                origin,
                invite(csrf.as_deref()),
            ),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{csrf:?} from {origin}"
        );
    }
    // The host the browser used is an origin of ours too.
    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/dashboard/team/invite")
            .insert_header((header::COOKIE, owner.clone()))
            .insert_header((header::HOST, "10.0.0.5:8080"))
            .insert_header((header::ORIGIN, "http://10.0.0.5:8080"))
            .set_form(invite(Some(&owner_csrf)))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    let link_at = body
        .find("http://dashboard.test/dashboard/login/link/")
        .expect("the link");
    let token: String = body[link_at + 43..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert_eq!(token.len(), 43);

    // The link signs the new user in, once.
    let use_link = || {
        test::TestRequest::post()
            .uri(&format!("/dashboard/login/link/{token}"))
            .insert_header((header::ORIGIN, ORIGIN))
            .set_form([("password", "")])
            .to_request()
    };
    let response = test::call_service(&app, use_link()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let newcomer = cookie_of(&response).unwrap();
    let response = test::call_service(&app, use_link()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // A viewer changes nothing.
    let response = test::call_service(&app, get("/dashboard/team", &newcomer)).await;
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    let newcomer_csrf = csrf_of(&body);
    let response = test::call_service(
        &app,
        post(
            "/dashboard/team/invite",
            &newcomer,
            ORIGIN,
            invite(Some(&newcomer_csrf)),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let remove = format!("/dashboard/team/{viewer_id}/remove");
    let response = test::call_service(
        &app,
        post(
            &remove,
            &newcomer,
            ORIGIN,
            vec![("csrf", newcomer_csrf.clone())],
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Another shop's owner: this shop's user is a 404.
    let response = test::call_service(
        &app,
        sign_in("owner@other.example", "a good long password", ORIGIN),
    )
    .await;
    let stranger = cookie_of(&response).unwrap();
    let response = test::call_service(&app, get("/dashboard/team", &stranger)).await;
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(!body.contains("viewer@shop.example"));
    let stranger_csrf = csrf_of(&body);
    let response = test::call_service(
        &app,
        post(&remove, &stranger, ORIGIN, vec![("csrf", stranger_csrf)]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = test::call_service(&app, get("/dashboard/carts/cart_nope", &stranger)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // The owner removes the viewer: their sessions end with them.
    let response = test::call_service(
        &app,
        post(&remove, &owner, ORIGIN, vec![("csrf", owner_csrf.clone())]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Logout ends the session on the server.
    let response = test::call_service(
        &app,
        post(
            "/dashboard/logout",
            &owner,
            ORIGIN,
            vec![("csrf", owner_csrf)],
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(header_of(&response, header::SET_COOKIE).contains("Max-Age=0"));
    let response = test::call_service(&app, get("/dashboard", &owner)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Five wrong passwords lock the account, even for the right one.
    for _ in 0..5 {
        let response = test::call_service(
            &app,
            sign_in("owner@other.example", "guess guess guess", ORIGIN),
        )
        .await;
        assert!(response.status().is_client_error());
    }
    let response = test::call_service(
        &app,
        sign_in("owner@other.example", "a good long password", ORIGIN),
    )
    .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(cookie_of(&response).is_none());
}

#[actix_web::test]
async fn sqlite() {
    check(Backend::Sqlite).await;
}

#[actix_web::test]
async fn postgres() {
    check(Backend::Postgres).await;
}

/// The Carts, Webhooks and Suppressions pages over a real store: filters
/// and their 422s, a cart's page and its preview, stop and erase, the
/// suppression and endpoint forms, roles and another shop's 404s.
async fn records(backend: Backend) {
    use cartback_domain::{CartItem, CartStatus};
    use cartback_store::cart_admin::find_cart_by_any_id;
    use cartback_store::carts::{CartUpsert, upsert_cart};

    let db = TestDatabase::new(backend);
    let store = store(&db);
    let shop = tenant(&store, "Shop");
    let other = tenant(&store, "Other");
    user(&store, &shop, "owner@shop.example", UserRole::Owner);
    user(&store, &shop, "viewer@shop.example", UserRole::Viewer);
    user(&store, &other, "owner@other.example", UserRole::Owner);
    let now = Utc::now();
    let cart = |tenant: &str, session: &str, email: &str| {
        upsert_cart(
            &mut store.conn().unwrap(),
            &CartUpsert {
                tenant_id: tenant.to_owned(),
                session_id: session.to_owned(),
                items: vec![CartItem {
                    id: "sku-1".to_owned(),
                    name: "Blue mug".to_owned(),
                    unit_price_minor: 1250,
                    quantity: 2,
                    image_url: None,
                    url: None,
                    variant_id: None,
                }],
                total_minor: 2500,
                subtotal_minor: None,
                currency: "EUR".to_owned(),
                customer_email: Some(email.to_owned()),
                customer_name: Some("Ann".to_owned()),
                locale: None,
                consent: None,
                now,
                next_action_at: now + chrono::TimeDelta::hours(1),
            },
        )
        .unwrap()
        .id
    };
    let ann = cart(&shop, "s-ann", "ann@example.com");
    let bo = cart(&shop, "s-bo", "bo@example.com");
    let theirs = cart(&other, "s-x", "x@example.com");
    let app =
        test::init_service(App::new().configure(configure(Dashboard::new(store.clone(), ORIGIN))))
            .await;
    let sign_in = |email: &str| {
        test::TestRequest::post()
            .uri("/dashboard/login")
            .insert_header((header::ORIGIN, ORIGIN))
            .set_form([("email", email), ("password", "a good long password")])
            .to_request()
    };
    let owner = cookie_of(&test::call_service(&app, sign_in("owner@shop.example")).await).unwrap();
    let viewer =
        cookie_of(&test::call_service(&app, sign_in("viewer@shop.example")).await).unwrap();
    let get = |path: &str, cookie: &str| {
        test::TestRequest::get()
            .uri(path)
            .insert_header((header::COOKIE, cookie.to_owned()))
            .to_request()
    };
    let post = |path: &str, cookie: &str, form: Vec<(&'static str, String)>| {
        test::TestRequest::post()
            .uri(path)
            .insert_header((header::COOKIE, cookie.to_owned()))
            .insert_header((header::ORIGIN, ORIGIN))
            .set_form(form)
            .to_request()
    };
    async fn body_of(response: actix_web::dev::ServiceResponse) -> (StatusCode, String) {
        let status = response.status();
        (
            status,
            String::from_utf8(test::read_body(response).await.to_vec()).unwrap(),
        )
    }

    // The list, its filters, and a filter it cannot read.
    let (status, body) =
        body_of(test::call_service(&app, get("/dashboard/carts", &owner)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("ann@example.com") && body.contains("bo@example.com"));
    assert!(!body.contains("x@example.com"), "not another shop's cart");
    assert!(body.contains("€25.00"));
    let owner_csrf = csrf_of(&body);
    let (_, body) = body_of(
        test::call_service(
            &app,
            get("/dashboard/carts?email=ANN%40example.com", &owner),
        )
        .await,
    )
    .await;
    assert!(body.contains("ann@example.com") && !body.contains("bo@example.com"));
    for bad in [
        "status=lost",
        "from=2026-02-30",
        "locale=%21%21",
        "from=2026-03-02&to=2026-03-01",
    ] {
        let response =
            test::call_service(&app, get(&format!("/dashboard/carts?{bad}"), &owner)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // Keyset pages: 26 more carts make two pages; "Older" continues where the
    // first stopped, "Newer" comes back, and no cart shows twice.
    for i in 0..26 {
        cart(
            &shop,
            &format!("s-page-{i:02}"),
            &format!("page{i:02}@example.com"),
        );
    }
    let rows = |body: &str| body.matches("class=\"record-link\"").count();
    let link_of = |body: &str, rel: &str| -> Option<String> {
        let at = body.find(&format!("rel=\"{rel}\" href=\""))? + rel.len() + 13;
        Some(body[at..].split('"').next()?.replace("&amp;", "&"))
    };
    let (_, first) = body_of(test::call_service(&app, get("/dashboard/carts", &owner)).await).await;
    assert_eq!(rows(&first), 25);
    assert!(link_of(&first, "prev").is_none());
    let older = link_of(&first, "next").expect("an Older link");
    let (status, second) = body_of(test::call_service(&app, get(&older, &owner)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&second), 3, "28 carts: 25 + 3");
    assert!(link_of(&second, "next").is_none());
    for i in 0..26 {
        let email = format!("page{i:02}@example.com");
        assert!(
            first.contains(&email) != second.contains(&email),
            "{email} on exactly one page"
        );
    }
    let newer = link_of(&second, "prev").expect("a Newer link");
    let (_, back) = body_of(test::call_service(&app, get(&newer, &owner)).await).await;
    assert_eq!(rows(&back), 25);

    // A cursor that is not one starts from the top rather than failing.
    let response = test::call_service(&app, get("/dashboard/carts?after=garbage", &owner)).await;
    assert_eq!(response.status(), StatusCode::OK);

    // A cart's page; another shop's is a 404.
    let (status, body) =
        body_of(test::call_service(&app, get(&format!("/dashboard/carts/{ann}"), &owner)).await)
            .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Blue mug") && body.contains("Stop recovery"));
    // This shop has no recovery URL: the page says what to set up.
    assert!(body.contains("Set the shop's recovery URL") && !body.contains("id=\"restore-link\""));
    let response =
        test::call_service(&app, get(&format!("/dashboard/carts/{theirs}"), &owner)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = test::call_service(
        &app,
        get(&format!("/dashboard/carts/{ann}/emails/snd_nope"), &owner),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // No Stripe connected: the page says what to set up; the button's POST is a 409.
    assert!(body.contains("payment-link-setup"));
    let response = test::call_service(
        &app,
        post(
            &format!("/dashboard/carts/{ann}/payment-link"),
            &owner,
            vec![("csrf", owner_csrf.clone())],
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Stop recovery: no token, a viewer, another shop: refused; the owner: done.
    let stop = format!("/dashboard/carts/{ann}/stop");
    let response = test::call_service(&app, post(&stop, &owner, vec![])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, viewer_page) =
        body_of(test::call_service(&app, get("/dashboard/carts", &viewer)).await).await;
    let viewer_csrf = csrf_of(&viewer_page);
    let response = test::call_service(
        &app,
        post(&stop, &viewer, vec![("csrf", viewer_csrf.clone())]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = test::call_service(
        &app,
        post(
            &format!("/dashboard/carts/{theirs}/stop"),
            &owner,
            vec![("csrf", owner_csrf.clone())],
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = test::call_service(
        &app,
        post(&stop, &owner, vec![("csrf", owner_csrf.clone())]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stopped = find_cart_by_any_id(&mut store.conn().unwrap(), &shop, &ann, false)
        .unwrap()
        .unwrap();
    assert_eq!(stopped.status, CartStatus::Expired);
    assert_eq!(stopped.next_action_at, None);
    // A closed cart is not stopped twice: 409, not a 500.
    let response = test::call_service(
        &app,
        post(&stop, &owner, vec![("csrf", owner_csrf.clone())]),
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "expired → expired is no change"
    );

    // Erase: the confirmation changes nothing; the POST erases.
    let erase = format!("/dashboard/carts/{bo}/erase");
    let response = test::call_service(&app, get(&erase, &owner)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = test::call_service(
        &app,
        post(&erase, &viewer, vec![("csrf", viewer_csrf.clone())]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = test::call_service(
        &app,
        post(&erase, &owner, vec![("csrf", owner_csrf.clone())]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header_of(&response, header::LOCATION),
        "/dashboard/carts?erased=1"
    );
    assert!(
        find_cart_by_any_id(&mut store.conn().unwrap(), &shop, &bo, true)
            .unwrap()
            .is_some_and(|c| c.erased_at.is_some() && c.customer_email.is_none())
    );
    let response = test::call_service(&app, get(&format!("/dashboard/carts/{bo}"), &owner)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Suppressions: a bad address is a 422 naming it; add, search, remove.
    let add = |cookie: &str, csrf: &str, email: &str| {
        post(
            "/dashboard/suppressions/add",
            cookie,
            vec![
                ("csrf", csrf.to_owned()),
                ("email", email.to_owned()),
                ("note", String::new()),
            ],
        )
    };
    let (status, body) =
        body_of(test::call_service(&app, add(&owner, &owner_csrf, "nope")).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("suppress-email-error"));
    let response = test::call_service(&app, add(&viewer, &viewer_csrf, "v@example.com")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, _) =
        body_of(test::call_service(&app, add(&owner, &owner_csrf, "Quiet@Example.com")).await)
            .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) =
        body_of(test::call_service(&app, get("/dashboard/suppressions?q=QUIET", &owner)).await)
            .await;
    assert!(body.contains("quiet@example.com"));
    let (_, body) =
        body_of(test::call_service(&app, get("/dashboard/suppressions?q=nobody", &owner)).await)
            .await;
    assert!(!body.contains("quiet@example.com"));
    let remove = |email: &str| {
        post(
            "/dashboard/suppressions/remove",
            &owner,
            vec![("csrf", owner_csrf.clone()), ("email", email.to_owned())],
        )
    };
    assert_eq!(
        test::call_service(&app, remove("quiet@example.com"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        test::call_service(&app, remove("quiet@example.com"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Webhooks: errors beside the fields; without a master key, a clear 409.
    let create = |url: &str, events: &[&str]| {
        let mut form = vec![("csrf", owner_csrf.clone()), ("url", url.to_owned())];
        form.extend(events.iter().map(|e| ("events", (*e).to_owned())));
        post("/dashboard/webhooks", &owner, form)
    };
    let (status, body) =
        body_of(test::call_service(&app, create("ftp://x.example", &["*"])).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("webhook-url-error"));
    let (status, body) =
        body_of(test::call_service(&app, create("https://x.example/h", &[])).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("webhook-events-error"));
    let (status, body) =
        body_of(test::call_service(&app, create("https://x.example/h", &["*"])).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("CARTBACK_MASTER_KEY"));
    // Which abandoned carts `cart.abandoned` tells of: one of the two choices.
    assert!(body.contains(r#"name="abandoned_event" value="unemailable""#));
    let scoped = post(
        "/dashboard/webhooks",
        &owner,
        vec![
            ("csrf", owner_csrf.clone()),
            ("url", "https://x.example/h".to_owned()),
            ("events", "*".to_owned()),
            ("abandoned_event", "some".to_owned()),
        ],
    );
    let (status, body) = body_of(test::call_service(&app, scoped).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("webhook-abandoned-error"));
    let response =
        test::call_service(&app, get("/dashboard/webhooks?endpoint=we_nope", &owner)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn records_on_sqlite() {
    records(Backend::Sqlite).await;
}

#[actix_web::test]
async fn records_on_postgres() {
    records(Backend::Postgres).await;
}

/// The template editor applies the API's rules and shows every problem beside
/// its field, all in one answer; a refused template saves nothing.
async fn template_errors(backend: Backend) {
    use cartback_store::templates::templates_named;

    let db = TestDatabase::new(backend);
    let store = store(&db);
    let shop = tenant(&store, "Shop");
    user(&store, &shop, "owner@shop.example", UserRole::Owner);
    let app =
        test::init_service(App::new().configure(configure(Dashboard::new(store.clone(), ORIGIN))))
            .await;
    let signed_in = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/dashboard/login")
            .insert_header((header::ORIGIN, ORIGIN))
            .set_form([
                ("email", "owner@shop.example"),
                ("password", "a good long password"),
            ])
            .to_request(),
    )
    .await;
    let owner = cookie_of(&signed_in).unwrap();
    let page = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/dashboard/emails/templates/new")
            .insert_header((header::COOKIE, owner.clone()))
            .to_request(),
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_of(std::str::from_utf8(&test::read_body(page).await).unwrap());
    let save = |subject: &str, html: &str, text: &str| {
        test::TestRequest::post()
            .uri("/dashboard/emails/templates")
            .insert_header((header::COOKIE, owner.clone()))
            .insert_header((header::ORIGIN, ORIGIN))
            .set_form([
                ("csrf", csrf.as_str()),
                ("action", "save"),
                ("name", "spring"),
                ("locale", "en"),
                ("subject", subject),
                ("html", html),
                ("text", text),
            ])
            .to_request()
    };

    let refused = test::call_service(
        &app,
        save(
            "{{ shop_nme }}: your cart",
            "<p>{{ greeting }}</p>\n<a href=\"{{ recovery_url }}\">Back</a>",
            "{{ greeting }}\n{% if coupon %}",
        ),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = String::from_utf8(test::read_body(refused).await.to_vec()).unwrap();
    let beside = |control: &str| -> String {
        let start = body
            .find(&format!("id=\"{control}-error\""))
            .unwrap_or_else(|| panic!("no error beside {control}: {body}"));
        body[start..].split("</p>").next().unwrap().to_owned()
    };
    assert!(
        beside("template-subject").contains(
            "subject line 1, column 4: unknown variable `shop_nme` (did you mean `shop_name`?)"
        ),
        "{}",
        beside("template-subject")
    );
    assert!(
        beside("template-html").contains("the unsubscribe link is missing"),
        "{}",
        beside("template-html")
    );
    assert!(
        beside("template-text").contains("text line 2"),
        "{}",
        beside("template-text")
    );
    assert!(body.contains("3 problems stopped the save"), "{body}");
    assert!(
        templates_named(&mut store.conn().unwrap(), &shop, &["spring"])
            .unwrap()
            .is_empty(),
        "nothing saved"
    );

    let saved = test::call_service(
        &app,
        save(
            "{{ shop_name }}: your cart",
            "<p>{{ greeting }}</p>\n<a href=\"{{ recovery_url }}\">Back</a> <a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>",
            "{{ greeting }}\n{{ recovery_url }}\n{{ unsubscribe_url }}",
        ),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        templates_named(&mut store.conn().unwrap(), &shop, &["spring"])
            .unwrap()
            .len(),
        1
    );
}

#[actix_web::test]
async fn template_errors_on_sqlite() {
    template_errors(Backend::Sqlite).await;
}

#[actix_web::test]
async fn template_errors_on_postgres() {
    template_errors(Backend::Postgres).await;
}
