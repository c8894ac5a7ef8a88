//! Experiments in storage, on both backends: their life (draft, running,
//! stopped, one running per tenant), the assignment key, a cart's group
//! recorded once, and the per-group tallies from carts and their orders.

use chrono::{DateTime, TimeDelta, Utc};

use cartback_domain::{
    AttributionMode, Currency, ExperimentDesign, ExperimentGroup, GroupTally, RecoveryPolicy,
    Variant,
};
use cartback_store::carts::{find_cart_by_session, upsert_cart};
use cartback_store::experiments::*;
use cartback_store::orders::{NewOrder, record_order};
use cartback_store::tenants::find_tenant;
use cartback_testing::on_both_backends;

use crate::common::{open, tenant, upsert};

fn holdout(basis_points: u32) -> ExperimentDesign {
    let group = |name: &str, basis_points, holdout| ExperimentGroup {
        name: name.into(),
        basis_points,
        holdout,
        variant: Variant::default(),
    };
    ExperimentDesign::new(
        vec![
            group("holdout", basis_points, true),
            group("emails", 10_000 - basis_points, false),
        ],
        &RecoveryPolicy::default(),
    )
    .unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
}

on_both_backends!(
    experiments_live_draft_running_stopped,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let other = tenant(&mut conn, "Other");
        assert_eq!(
            assignment_keys(&mut conn, &[shop.id.as_str()])
                .unwrap()
                .len(),
            0
        );
        let first = create_experiment(&mut conn, &shop.id, "First", &holdout(1000), at(0))
            .unwrap()
            .unwrap();
        assert_eq!(first.status, ExperimentStatus::Draft);
        assert_eq!(first.groups, holdout(1000).groups());
        let key = assignment_keys(&mut conn, &[shop.id.as_str()]).unwrap()[&shop.id].clone();
        assert_eq!(key.len(), 43);
        let second = create_experiment(&mut conn, &shop.id, "Second", &holdout(2000), at(1))
            .unwrap()
            .unwrap();
        // The key is made once and kept.
        assert_eq!(
            assignment_keys(&mut conn, &[shop.id.as_str()]).unwrap()[&shop.id],
            key
        );
        // Another tenant sees none of it.
        assert_eq!(
            find_experiment(&mut conn, &other.id, &first.id).unwrap(),
            None
        );
        assert_eq!(
            start_experiment(&mut conn, &other.id, &first.id, at(2)).unwrap(),
            Err(ExperimentRefusal::NotFound)
        );
        let running = start_experiment(&mut conn, &shop.id, &first.id, at(2))
            .unwrap()
            .unwrap();
        assert_eq!(running.status, ExperimentStatus::Running);
        assert_eq!(running.started_at, Some(at(2).naive_utc()));
        assert_eq!(
            start_experiment(&mut conn, &shop.id, &second.id, at(3)).unwrap(),
            Err(ExperimentRefusal::AnotherRunning(first.id.clone()))
        );
        assert_eq!(
            start_experiment(&mut conn, &shop.id, &first.id, at(3)).unwrap(),
            Err(ExperimentRefusal::WrongStatus(ExperimentStatus::Running))
        );
        assert_eq!(
            running_experiments(&mut conn, &[shop.id.as_str(), other.id.as_str()])
                .unwrap()
                .iter()
                .map(|e| e.id.clone())
                .collect::<Vec<_>>(),
            vec![first.id.clone()]
        );
        assert_eq!(
            latest_holdout(&mut conn, &shop.id).unwrap().unwrap().id,
            first.id
        );
        let stopped = stop_experiment(&mut conn, &shop.id, &first.id, at(4))
            .unwrap()
            .unwrap();
        assert_eq!(stopped.status, ExperimentStatus::Stopped);
        assert_eq!(
            stop_experiment(&mut conn, &shop.id, &first.id, at(5)).unwrap(),
            Err(ExperimentRefusal::WrongStatus(ExperimentStatus::Stopped))
        );
        // Now the second may run.
        start_experiment(&mut conn, &shop.id, &second.id, at(5))
            .unwrap()
            .unwrap();
        let listed: Vec<String> = list_experiments(&mut conn, &shop.id)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(listed, vec![second.id.clone(), first.id.clone()]);

        // Promotion writes the policy (and words) and stops the experiment.
        let policy = RecoveryPolicy {
            max_emails_per_cart: 2,
            ..RecoveryPolicy::default()
        };
        // Worked out from settings that changed since: nothing is written.
        let stored = find_tenant(&mut conn, &shop.id).unwrap().unwrap();
        let stale = PromotionBase {
            policy: r#"{"steps":[]}"#,
            experience: &stored.experience,
        };
        assert_eq!(
            promote_winner(
                &mut conn,
                &shop.id,
                &second.id,
                "emails",
                stale,
                &policy,
                None,
                at(6)
            )
            .unwrap(),
            Err(ExperimentRefusal::SettingsChanged)
        );
        assert_eq!(
            find_tenant(&mut conn, &shop.id).unwrap().unwrap().policy,
            stored.policy
        );
        let base = PromotionBase {
            policy: &stored.policy,
            experience: &stored.experience,
        };
        let promoted = promote_winner(
            &mut conn,
            &shop.id,
            &second.id,
            "emails",
            base,
            &policy,
            Some(r#"{"copy":{"en":[{"subject":"Hi"}]}}"#),
            at(6),
        )
        .unwrap()
        .unwrap();
        assert_eq!(promoted.winner.as_deref(), Some("emails"));
        assert_eq!(promoted.status, ExperimentStatus::Stopped);
        let shop = find_tenant(&mut conn, &shop.id).unwrap().unwrap();
        assert_eq!(shop.recovery_policy().unwrap(), policy);
        assert!(shop.experience.contains("Hi"));
    }
);

on_both_backends!(
    groups_are_recorded_once_and_tallied_with_orders,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let experiment = create_experiment(&mut conn, &shop.id, "Holdout", &holdout(5000), at(0))
            .unwrap()
            .unwrap();
        let mut carts = Vec::new();
        for (session, email) in [
            ("s1", "a@example.com"),
            ("s2", "b@example.com"),
            ("s3", "c@example.com"),
        ] {
            carts
                .push(upsert_cart(&mut conn, &upsert(&shop, session, Some(email), at(0))).unwrap());
        }
        let assignment = |cart: &str, group: &str, held_out: bool| Assignment {
            tenant_id: shop.id.clone(),
            cart_id: cart.to_owned(),
            assignment: CartAssignment {
                experiment_id: experiment.id.clone(),
                group: group.to_owned(),
                held_out,
                policy_version: "0123456789abcdef".to_owned(),
                assigned_at: at(3600),
            },
        };
        let recorded = record_assignments(
            &mut conn,
            &[
                assignment(&carts[0].id, "holdout", true),
                assignment(&carts[1].id, "holdout", true),
                assignment(&carts[2].id, "emails", false),
            ],
        )
        .unwrap();
        assert_eq!(recorded.len(), 3);
        // A cart keeps its first group.
        assert!(
            record_assignments(&mut conn, &[assignment(&carts[0].id, "emails", false)])
                .unwrap()
                .is_empty()
        );
        let first = find_cart_by_session(&mut conn, &shop.id, "s1")
            .unwrap()
            .unwrap();
        assert_eq!(first.experiment_id.as_deref(), Some(experiment.id.as_str()));
        assert_eq!(
            first.experiment,
            Some(assignment(&carts[0].id, "holdout", true).assignment)
        );
        assert!(first.send_context().held_out);
        assert_eq!(first.version, carts[0].version + 1);

        // The first held-out shopper orders 80.00 within the window; the
        // emailed shopper orders long after it.
        let window = TimeDelta::days(7);
        let order = |session: &str, total: i64, now: DateTime<Utc>| NewOrder {
            tenant_id: shop.id.clone(),
            order_ref: None,
            session_id: Some(session.to_owned()),
            cart_id: None,
            cart_token: None,
            customer_email: None,
            total_minor: Some(total),
            currency: "USD".to_owned(),
            source: cartback_domain::OrderSource::Track,
            attribution_mode: AttributionMode::Sent,
            attribution_window: window,
            now,
        };
        record_order(&mut conn, &order("s1", 8000, at(7200))).unwrap();
        record_order(&mut conn, &order("s3", 5000, at(3600) + TimeDelta::days(8))).unwrap();
        let tallies = experiment_tallies(&mut conn, &shop.id, &experiment.id, window).unwrap();
        let mut holdout_tally = GroupTally::default();
        holdout_tally.add_cart(Currency::USD, Some(8000));
        holdout_tally.add_cart(Currency::USD, None);
        let mut emails_tally = GroupTally::default();
        emails_tally.add_cart(Currency::USD, None);
        assert_eq!(tallies["holdout"], holdout_tally);
        assert_eq!(tallies["emails"], emails_tally);
    }
);
