//! The domain's experiment statistics against statsmodels on fixed data
//! (tests/peers/experiment_stats.py, from the venv scripts/test-deps.sh
//! prepares): Newcombe's interval, the log ratio interval, Welch's interval
//! and the planned sample size, on a dozen datasets from tiny and lopsided
//! to large.

use cartback_domain::{Currency, GroupTally, Interval, compare, sample_size};
use cartback_testing::python::run_peer;
use serde_json::{Value, json};

struct Group {
    carts: u64,
    recovered: Vec<i64>,
}

struct Dataset {
    name: &'static str,
    treatment: Group,
    control: Group,
    lift: f64,
}

/// `count` amounts spread over `[low, high]`, reproducibly and unevenly.
fn amounts(count: usize, low: i64, high: i64) -> Vec<i64> {
    let width = (high - low + 1) as u64;
    (0..count as u64)
        .map(|i| low + ((i * 2_654_435_761 + 97) % width) as i64)
        .collect()
}

fn group(carts: u64, recovered: Vec<i64>) -> Group {
    Group { carts, recovered }
}

fn datasets() -> Vec<Dataset> {
    let d = |name, treatment, control, lift| Dataset {
        name,
        treatment,
        control,
        lift,
    };
    vec![
        d(
            "moderate",
            group(200, vec![4500; 30]),
            group(210, vec![3000; 20]),
            0.03,
        ),
        d("tiny", group(5, vec![1999]), group(4, vec![]), 0.2),
        d(
            "nothing recovered",
            group(10, vec![]),
            group(12, vec![]),
            0.1,
        ),
        d(
            "all recovered",
            group(10, amounts(10, 500, 9000)),
            group(10, amounts(7, 500, 9000)),
            -0.1,
        ),
        d(
            "ten percent holdout",
            group(9000, amounts(900, 1500, 25_000)),
            group(1000, amounts(80, 1500, 25_000)),
            0.01,
        ),
        d(
            "two each",
            group(2, vec![100, 300]),
            group(2, vec![250]),
            0.3,
        ),
        d(
            "near one",
            group(100, amounts(95, 10, 20)),
            group(100, amounts(99, 10, 20)),
            -0.005,
        ),
        d(
            "large amounts",
            group(400, amounts(40, 100_000_000, 1_000_000_000)),
            group(380, amounts(25, 100_000_000, 1_000_000_000)),
            0.02,
        ),
        d(
            "rare",
            group(1000, vec![5000]),
            group(1000, vec![5000, 7000, 9000]),
            0.002,
        ),
        d(
            "strong effect",
            group(60, amounts(50, 1000, 2000)),
            group(60, amounts(5, 1000, 2000)),
            0.05,
        ),
        d(
            "no effect",
            group(1000, amounts(100, 2000, 6000)),
            group(1000, amounts(100, 2000, 6000)),
            0.01,
        ),
        d(
            "lopsided and small",
            group(3, vec![4000]),
            group(50, amounts(4, 100, 9000)),
            0.1,
        ),
    ]
}

fn tally(group: &Group) -> GroupTally {
    let mut tally = GroupTally::default();
    for i in 0..group.carts as usize {
        tally.add_cart(Currency::EUR, group.recovered.get(i).copied());
    }
    tally
}

fn peer_input(data: &[Dataset]) -> Value {
    let side = |g: &Group| json!({"carts": g.carts, "recovered": g.recovered});
    Value::Array(
        data.iter()
            .map(|d| {
                json!({"treatment": side(&d.treatment), "control": side(&d.control), "lift": d.lift})
            })
            .collect(),
    )
}

/// Both None, or both present and equal within `tolerance` relative to the
/// magnitude (absolute below 1).
fn assert_close(name: &str, what: &str, ours: Option<Interval>, theirs: &Value, tolerance: f64) {
    let theirs = theirs
        .as_array()
        .map(|pair| (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap()));
    match (ours, theirs) {
        (None, None) => {}
        (Some(ours), Some((low, high))) => {
            for (a, b) in [(ours.low, low), (ours.high, high)] {
                assert!(
                    (a - b).abs() <= tolerance * b.abs().max(1.0),
                    "{name}: {what} {ours:?} vs statsmodels [{low}, {high}]"
                );
            }
        }
        (ours, theirs) => panic!("{name}: {what} {ours:?} vs statsmodels {theirs:?}"),
    }
}

// Tolerance: 1e-8, relative to the magnitude (absolute for proportions). Our
// normal quantile (Acklam's) is within 1.2e-9 of the exact one statsmodels
// uses; every other step is exact arithmetic or converges to ~1e-13.
const TOLERANCE: f64 = 1e-8;

#[test]
fn intervals_and_sample_sizes_match_statsmodels() {
    let data = datasets();
    let answers: Vec<Value> = serde_json::from_str(&run_peer(
        "experiment_stats.py",
        &[],
        &peer_input(&data).to_string(),
    ))
    .unwrap();
    assert_eq!(answers.len(), data.len());
    let mut welch_compared = 0;
    for (d, answer) in data.iter().zip(&answers) {
        let control = tally(&d.control);
        let treatment = tally(&d.treatment);
        let result = compare(&control, &treatment);
        let rate = result.conversion.unwrap();
        assert_close(
            d.name,
            "newcombe",
            rate.absolute.interval,
            &answer["newcombe"],
            TOLERANCE,
        );
        let ratio = rate.relative.and_then(|r| r.interval).map(|i| Interval {
            low: i.low + 1.0,
            high: i.high + 1.0,
        });
        assert_close(d.name, "ratio", ratio, &answer["ratio"], TOLERANCE);
        let welch = result.revenue[0].per_cart_minor.and_then(|l| l.interval);
        welch_compared += usize::from(welch.is_some());
        assert_close(d.name, "welch", welch, &answer["welch"], TOLERANCE);

        let planned = sample_size(
            control.conversion_rate().unwrap(),
            d.lift,
            control.carts as f64 / treatment.carts as f64,
        );
        match (planned, answer["sample_size_treatment"].as_f64()) {
            (Some(ours), Some(theirs)) => {
                // statsmodels gives the unrounded size; ours is the next whole cart.
                assert_eq!(ours.treatment, (theirs - 1e-9).ceil() as u64, "{}", d.name);
            }
            (ours, theirs) => panic!("{}: sample size {ours:?} vs {theirs:?}", d.name),
        }
    }
    // The flat dataset has none; the others all must have been compared.
    assert_eq!(welch_compared, data.len() - 1);
}
