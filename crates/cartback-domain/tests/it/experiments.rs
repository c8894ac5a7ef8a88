//! Experiments: assignment is stable, balanced and independent between
//! experiments; the statistics never panic or leak NaN; and the 95 %
//! intervals cover a known true effect in about 95 % of simulated runs.

use proptest::prelude::*;

use cartback_domain::{
    Comparison, Currency, EmailAddress, GroupShare, GroupTally, HoldoutPopulation, Interval, Lift,
    SessionId, Shopper, TrafficSplit, Verdict, assignment_bucket, compare, sample_size,
};

const IDS: u32 = 100_000;

fn session(i: u32) -> SessionId {
    SessionId::parse(&format!("session-{i}")).unwrap()
}

fn share(name: &str, basis_points: u32, holdout: bool) -> GroupShare {
    GroupShare {
        name: name.into(),
        basis_points,
        holdout,
    }
}

#[test]
fn shares_land_within_one_point_at_100k_shoppers() {
    let split = TrafficSplit::new(vec![
        share("holdout", 1000, true),
        share("a", 4500, false),
        share("b", 3000, false),
        share("c", 1500, false),
    ])
    .unwrap();
    for key in [&b"tenant one"[..], b"tenant two"] {
        let mut counts = [0u32; 4];
        for i in 0..IDS {
            let name = &split
                .assign(key, "exp_shares", Shopper::Session(&session(i)))
                .name;
            let index = split.groups().iter().position(|g| &g.name == name).unwrap();
            counts[index] += 1;
        }
        for (group, count) in split.groups().iter().zip(counts) {
            let observed = f64::from(count) / f64::from(IDS);
            let expected = f64::from(group.basis_points) / 10_000.0;
            assert!(
                (observed - expected).abs() < 0.01,
                "{}: {observed} vs {expected}",
                group.name
            );
        }
    }
}

#[test]
fn another_experiment_reshuffles_independently() {
    // Halves in two experiments: if the second ignored the first, each of the
    // four combinations holds a quarter of the shoppers.
    let split = TrafficSplit::new(vec![share("x", 5000, false), share("y", 5000, false)]).unwrap();
    let mut cells = [[0u32; 2]; 2];
    for i in 0..IDS {
        let shopper = Shopper::Session(&session(i));
        let first = usize::from(split.assign(b"key", "exp_first", shopper).name == "y");
        let second = usize::from(split.assign(b"key", "exp_second", shopper).name == "y");
        cells[first][second] += 1;
    }
    for cell in cells.iter().flatten() {
        let share = f64::from(*cell) / f64::from(IDS);
        assert!((share - 0.25).abs() < 0.01, "{cells:?}");
    }
}

proptest! {
    #[test]
    fn assignment_is_a_function_of_its_inputs(
        key in proptest::collection::vec(any::<u8>(), 0..80),
        experiment in "[a-z0-9_]{1,20}",
        local in "[a-z]{1,10}",
    ) {
        let lower = EmailAddress::parse(&format!("{local}@shop.example")).unwrap();
        let upper = EmailAddress::parse(&format!("{}@SHOP.example", local.to_uppercase())).unwrap();
        let bucket = assignment_bucket(&key, &experiment, Shopper::Email(&lower));
        prop_assert!(bucket < 10_000);
        // The same person in another letter case is the same shopper.
        prop_assert_eq!(bucket, assignment_bucket(&key, &experiment, Shopper::Email(&upper)));
    }
}

fn finite(value: f64) -> bool {
    value.is_finite()
}

fn interval_ok(interval: Option<Interval>, estimate: f64) -> bool {
    interval.is_none_or(|i| {
        finite(i.low) && finite(i.high) && i.low <= i.high && {
            // The estimate sits inside its interval (up to rounding).
            let slack = 1e-9 * estimate.abs().max(1.0);
            i.low - slack <= estimate && estimate <= i.high + slack
        }
    })
}

fn lift_ok(lift: &Lift) -> bool {
    let verdict = lift.interval.map_or(Verdict::Inconclusive, |i| i.verdict());
    finite(lift.estimate) && interval_ok(lift.interval, lift.estimate) && lift.verdict == verdict
}

fn everything_finite(result: &Comparison) -> bool {
    let rates = [
        result.control.conversion_rate,
        result.treatment.conversion_rate,
    ];
    let rates_ok = rates.iter().flatten().all(|r| (0.0..=1.0).contains(r));
    let conversion_ok = result.conversion.is_none_or(|c| {
        lift_ok(&c.absolute)
            && c.relative.is_none_or(|r| lift_ok(&r))
            && lift_ok(&c.incremental_recovered_carts)
    });
    let revenue_ok = result.revenue.iter().all(|r| {
        r.per_cart_minor.is_none_or(|l| lift_ok(&l))
            && r.incremental_revenue_minor.is_none_or(|l| lift_ok(&l))
            && [r.control_per_cart_minor, r.treatment_per_cart_minor]
                .iter()
                .flatten()
                .all(|v| finite(*v))
    });
    rates_ok && conversion_ok && revenue_ok
}

fn group_strategy() -> impl Strategy<Value = GroupTally> {
    // Mostly tiny groups (where the edge cases live), amounts up to the bound.
    proptest::collection::vec(
        (
            prop_oneof![Just(Currency::EUR), Just(Currency::USD)],
            proptest::option::of(prop_oneof![
                Just(0i64),
                1i64..10_000,
                Just(cartback_domain::bounds::MAX_AMOUNT_MINOR),
            ]),
        ),
        0..40,
    )
    .prop_map(|carts| {
        let mut tally = GroupTally::default();
        for (currency, recovered) in carts {
            tally.add_cart(currency, recovered);
        }
        tally
    })
}

proptest! {
    #[test]
    fn any_groups_give_finite_figures_or_none(control in group_strategy(), treatment in group_strategy()) {
        let result = compare(&control, &treatment);
        prop_assert!(everything_finite(&result), "{result:#?}");
        prop_assert_eq!(result.conversion.is_some(), control.carts > 0 && treatment.carts > 0);
    }

    #[test]
    fn sample_sizes_are_whole_and_grow_as_the_lift_shrinks(
        baseline in 0.0f64..0.9, lift in 0.001f64..0.1, ratio in 0.05f64..20.0,
    ) {
        let size = sample_size(baseline, lift, ratio).unwrap();
        let smaller = sample_size(baseline, lift / 2.0, ratio).unwrap();
        prop_assert!(size.treatment >= 1 && size.control >= 1);
        prop_assert!(smaller.treatment >= size.treatment);
    }
}

fn uniform(carts: u64, recovered: u64, amount: i64) -> GroupTally {
    let mut tally = GroupTally::default();
    for i in 0..carts {
        tally.add_cart(Currency::EUR, (i < recovered).then_some(amount));
    }
    tally
}

#[test]
fn the_edge_cases_say_what_they_can() {
    let empty = GroupTally::default();
    let none = uniform(50, 0, 0);
    let all = uniform(50, 50, 4000);
    let some = uniform(50, 10, 4000);

    // One group empty: no comparison at all, but the other group's figures.
    let result = compare(&empty, &some);
    assert_eq!(result.conversion, None);
    assert_eq!(result.revenue[0].per_cart_minor, None);
    assert_eq!(result.treatment.conversion_rate, Some(0.2));

    // Nothing recovered anywhere: a rate interval, no relative lift, and no
    // revenue interval (no spread to measure by).
    let result = compare(&none, &none);
    let rate = result.conversion.unwrap();
    assert_eq!(rate.absolute.estimate, 0.0);
    assert_eq!(rate.absolute.verdict, Verdict::Inconclusive);
    assert_eq!(rate.relative, None);
    assert_eq!(result.revenue[0].per_cart_minor.unwrap().interval, None);

    // Everything recovered against nothing: clearly better, by every measure
    // that has a base.
    let result = compare(&none, &all);
    let rate = result.conversion.unwrap();
    assert_eq!(rate.absolute.verdict, Verdict::Better);
    assert_eq!(rate.relative, None);
    assert_eq!(rate.incremental_recovered_carts.estimate, 50.0);

    // All recovered on both sides, with the same amount: no difference, and
    // no spread, so no revenue interval; the rate interval still spans 0.
    let result = compare(&all, &all);
    assert_eq!(
        result.conversion.unwrap().absolute.verdict,
        Verdict::Inconclusive
    );
    let relative = result.conversion.unwrap().relative.unwrap();
    assert_eq!(relative.estimate, 0.0);
    assert_eq!(result.revenue[0].per_cart_minor.unwrap().interval, None);

    for result in [
        compare(&empty, &empty),
        compare(&some, &none),
        compare(&all, &some),
    ] {
        assert!(everything_finite(&result), "{result:#?}");
    }
}

/// 1000 runs of a population whose true effect is known: the 95 % intervals
/// of the rate difference and of the revenue per cart must each cover the
/// truth in at least 93 % of them (expected 95 %; 93 % is about three
/// standard errors below).
#[test]
fn the_intervals_cover_the_true_effect() {
    const RUNS: u64 = 1000;
    let population = HoldoutPopulation {
        carts: 1500,
        holdout_basis_points: 3000,
        currency: Currency::EUR,
        recovery_without_email: 0.06,
        recovery_with_email: 0.09,
        order_value_minor: (1500, 12_000),
        email_discount_percent: 10,
    };
    let true_rate = population.true_rate_lift();
    let true_revenue = population.true_revenue_lift_minor();
    let (mut rate_covered, mut revenue_covered) = (0u64, 0u64);
    for run in 0..RUNS {
        let (held_out, emailed) =
            population.simulate(b"simulation key", &format!("exp_{run}"), run);
        let result = compare(&held_out, &emailed);
        let rate = result.conversion.unwrap().absolute.interval.unwrap();
        let revenue = result.revenue[0].per_cart_minor.unwrap().interval.unwrap();
        rate_covered += u64::from(rate.contains(true_rate));
        revenue_covered += u64::from(revenue.contains(true_revenue));
    }
    println!("coverage over {RUNS} runs: rate {rate_covered}, revenue per cart {revenue_covered}");
    assert!(
        rate_covered >= 930,
        "rate interval covered {rate_covered} of {RUNS}"
    );
    assert!(
        revenue_covered >= 930,
        "revenue interval covered {revenue_covered} of {RUNS}"
    );
    // Not too wide either: an interval that always covered would be useless.
    assert!(rate_covered <= 985 && revenue_covered <= 985);
}
