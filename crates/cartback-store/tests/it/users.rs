//! Dashboard users, sign-in links, sessions and the sign-in throttle, on both
//! backends.
use chrono::{NaiveDateTime, TimeDelta, Utc};

use cartback_domain::UserRole;
use cartback_store::users::{
    SessionLimits, ThrottleRule, account_subject, clear_failures, create_session,
    create_sign_in_link, create_user, delete_session, delete_user, delete_user_sessions, find_user,
    find_user_by_email, ip_subject, list_users, locked_until, record_failure, redeem_sign_in_link,
    resume_session, set_password_hash,
};
use cartback_testing::{TestDatabase, on_both_backends};

use crate::common::*;

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn check_users(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let other = tenant(&mut conn, "Other");
    let at = now();
    let owner = create_user(
        &mut conn,
        &shop.id,
        " Owner@Shop.Example ",
        UserRole::Owner,
        Some("$argon2id$x"),
        at,
    )
    .unwrap();
    assert_eq!(owner.email, "owner@shop.example");
    assert_eq!(owner.role().unwrap(), UserRole::Owner);

    // One email, one account, whatever the case and the tenant.
    let duplicate = create_user(
        &mut conn,
        &other.id,
        "OWNER@shop.example",
        UserRole::Viewer,
        None,
        at,
    )
    .unwrap_err();
    assert!(duplicate.is_unique_violation(), "{duplicate}");

    let found = find_user_by_email(&mut conn, "owner@SHOP.example")
        .unwrap()
        .unwrap();
    assert_eq!(found.id, owner.id);
    assert_eq!(found.password_hash.as_deref(), Some("$argon2id$x"));
    assert!(
        find_user_by_email(&mut conn, "nobody@shop.example")
            .unwrap()
            .is_none()
    );

    // Another tenant's user is not found through this tenant.
    assert!(
        find_user(&mut conn, &other.id, &owner.id)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        set_password_hash(&mut conn, &other.id, &owner.id, "$argon2id$y"),
        Err(cartback_store::StoreError::NotFound)
    ));
    set_password_hash(&mut conn, &shop.id, &owner.id, "$argon2id$y").unwrap();
    let viewer = create_user(
        &mut conn,
        &shop.id,
        "viewer@shop.example",
        UserRole::Viewer,
        None,
        at + TimeDelta::seconds(1),
    )
    .unwrap();
    let listed: Vec<String> = list_users(&mut conn, &shop.id)
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(listed, ["owner@shop.example", "viewer@shop.example"]);
    assert!(list_users(&mut conn, &other.id).unwrap().is_empty());

    // Removing a user ends their sessions.
    let (token, _) = create_session(&mut conn, &viewer, at, SessionLimits::default()).unwrap();
    assert!(matches!(
        delete_user(&mut conn, &other.id, &viewer.id),
        Err(cartback_store::StoreError::NotFound)
    ));
    delete_user(&mut conn, &shop.id, &viewer.id).unwrap();
    assert!(
        resume_session(&mut conn, &token, at, SessionLimits::default())
            .unwrap()
            .is_none()
    );
    assert!(
        find_user(&mut conn, &shop.id, &viewer.id)
            .unwrap()
            .is_none()
    );
}
on_both_backends!(users, |db: &TestDatabase| { check_users(db) });

fn check_sign_in_links(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let at = now();
    let user = create_user(
        &mut conn,
        &shop.id,
        "new@shop.example",
        UserRole::Admin,
        None,
        at,
    )
    .unwrap();
    let day = TimeDelta::hours(24);

    let token = create_sign_in_link(&mut conn, &user, at, day).unwrap();
    assert!(token.len() >= 40);
    assert!(
        redeem_sign_in_link(&mut conn, "not-a-token", at)
            .unwrap()
            .is_none()
    );
    let redeemed = redeem_sign_in_link(&mut conn, &token, at + TimeDelta::hours(1))
        .unwrap()
        .unwrap();
    assert_eq!(redeemed.id, user.id);
    // One-time.
    assert!(
        redeem_sign_in_link(&mut conn, &token, at + TimeDelta::hours(1))
            .unwrap()
            .is_none()
    );

    // 24 hours, not a second more.
    let late = create_sign_in_link(&mut conn, &user, at, day).unwrap();
    assert!(
        redeem_sign_in_link(&mut conn, &late, at + day)
            .unwrap()
            .is_none()
    );
    let in_time = create_sign_in_link(&mut conn, &user, at, day).unwrap();
    assert!(
        redeem_sign_in_link(&mut conn, &in_time, at + day - TimeDelta::seconds(1))
            .unwrap()
            .is_some()
    );
}
on_both_backends!(sign_in_links, |db: &TestDatabase| {
    check_sign_in_links(db)
});

fn check_sessions(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let at = now();
    let user = create_user(
        &mut conn,
        &shop.id,
        "owner@shop.example",
        UserRole::Owner,
        None,
        at,
    )
    .unwrap();
    let limits = SessionLimits {
        absolute: TimeDelta::hours(10),
        idle: TimeDelta::hours(2),
    };

    let (token, session) = create_session(&mut conn, &user, at, limits).unwrap();
    // Only the hash is stored.
    assert_ne!(session.id_hash, token);
    assert_eq!(session.id_hash.len(), 64);
    assert_eq!(session.csrf_token.len(), 32);
    let user_now = find_user(&mut conn, &shop.id, &user.id).unwrap().unwrap();
    assert_eq!(
        user_now.last_sign_in_at.map(|t| t.and_utc().timestamp()),
        Some(at.and_utc().timestamp())
    );

    let (resumed, who) = resume_session(&mut conn, &token, at + TimeDelta::hours(1), limits)
        .unwrap()
        .unwrap();
    assert_eq!(who.id, user.id);
    assert_eq!(resumed.csrf_token, session.csrf_token);
    assert!(
        resumed.last_seen_at > session.last_seen_at,
        "activity is recorded"
    );
    // Within the idle limit of the last activity, past it of the sign-in.
    assert!(
        resume_session(&mut conn, &token, at + TimeDelta::minutes(170), limits)
            .unwrap()
            .is_some()
    );
    assert!(
        resume_session(&mut conn, &"x".repeat(43), at, limits)
            .unwrap()
            .is_none()
    );

    // Idle too long: gone, and stays gone.
    assert!(
        resume_session(
            &mut conn,
            &token,
            at + TimeDelta::minutes(170) + TimeDelta::hours(2),
            limits
        )
        .unwrap()
        .is_none()
    );
    assert!(
        resume_session(&mut conn, &token, at + TimeDelta::minutes(171), limits)
            .unwrap()
            .is_none()
    );

    // Past the absolute limit, however active.
    let (token, _) = create_session(&mut conn, &user, at, limits).unwrap();
    for hour in 1..10 {
        assert!(
            resume_session(&mut conn, &token, at + TimeDelta::hours(hour), limits)
                .unwrap()
                .is_some()
        );
    }
    assert!(
        resume_session(&mut conn, &token, at + TimeDelta::hours(10), limits)
            .unwrap()
            .is_none()
    );

    // Logout, and signing out everywhere.
    let (one, _) = create_session(&mut conn, &user, at, limits).unwrap();
    let (two, _) = create_session(&mut conn, &user, at, limits).unwrap();
    delete_session(&mut conn, &one).unwrap();
    assert!(
        resume_session(&mut conn, &one, at, limits)
            .unwrap()
            .is_none()
    );
    assert!(
        resume_session(&mut conn, &two, at, limits)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        delete_user_sessions(&mut conn, &shop.id, &user.id).unwrap(),
        1
    );
    assert!(
        resume_session(&mut conn, &two, at, limits)
            .unwrap()
            .is_none()
    );
}
on_both_backends!(sessions, |db: &TestDatabase| { check_sessions(db) });

fn check_throttle(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let rule = ThrottleRule {
        max_failures: 3,
        window: TimeDelta::minutes(15),
        lockout: TimeDelta::minutes(15),
    };
    let at = now();
    let account = account_subject("Owner@Shop.example");
    assert_eq!(account, account_subject("owner@shop.example"));
    assert!(!account.contains("shop"), "no address in the table");
    let ip = ip_subject("192.0.2.1");

    assert_eq!(record_failure(&mut conn, &account, at, rule).unwrap(), None);
    assert_eq!(
        record_failure(&mut conn, &account, at + TimeDelta::minutes(1), rule).unwrap(),
        None
    );
    assert_eq!(locked_until(&mut conn, &account, at).unwrap(), None);
    let third = at + TimeDelta::minutes(2);
    let until = record_failure(&mut conn, &account, third, rule)
        .unwrap()
        .unwrap();
    assert_eq!(until, third + rule.lockout);
    assert!(
        locked_until(&mut conn, &account, third + TimeDelta::minutes(14))
            .unwrap()
            .is_some()
    );
    assert_eq!(locked_until(&mut conn, &account, until).unwrap(), None);
    // Another subject counts on its own.
    assert_eq!(locked_until(&mut conn, &ip, third).unwrap(), None);

    // Failures older than the window start a new count.
    let later = at + TimeDelta::hours(1);
    assert_eq!(record_failure(&mut conn, &ip, at, rule).unwrap(), None);
    assert_eq!(
        record_failure(&mut conn, &ip, at + TimeDelta::minutes(1), rule).unwrap(),
        None
    );
    assert_eq!(record_failure(&mut conn, &ip, later, rule).unwrap(), None);
    assert_eq!(record_failure(&mut conn, &ip, later, rule).unwrap(), None);

    clear_failures(&mut conn, &account).unwrap();
    assert_eq!(locked_until(&mut conn, &account, third).unwrap(), None);
    assert_eq!(
        record_failure(&mut conn, &account, third, rule).unwrap(),
        None
    );
}
on_both_backends!(throttle, |db: &TestDatabase| { check_throttle(db) });
