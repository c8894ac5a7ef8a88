//! The quantiles the intervals need: the standard normal's and Student's t's,
//! written out so the domain carries no statistics library. Accuracy is stated
//! per function and checked against scipy in the tests.

/// The standard normal quantile: the `z` with `P(Z ≤ z) = p`, by Acklam's
/// rational approximation (relative error below 1.2e-9 over the whole range,
/// plenty for intervals reported to a few digits). None outside `(0, 1)`.
///
/// ```
/// use cartback_domain::normal_quantile;
/// let z = normal_quantile(0.975).unwrap();
/// assert!((z - 1.959_963_984_540_054).abs() < 1e-8);
/// assert_eq!(normal_quantile(1.0), None);
/// ```
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    // Below P_LOW (and above 1 - P_LOW) the tails get their own fit.
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let z = if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    Some(z)
}

/// The upper quantile of Student's t with `df` degrees of freedom (which
/// need not be whole, as Welch's are): the `t` with `P(T > t) = upper_tail`.
/// Within 1e-9 up to 10^6 degrees of freedom (bisection on the t
/// distribution's tail, computed from the regularised incomplete beta
/// function, whose log-gamma terms lose a little precision as `df` grows);
/// beyond, where Welch's degrees of freedom only go with millions of carts,
/// the Cornish–Fisher expansion around the normal quantile, as close as that
/// (2.5e-9). None when `df` is not positive or `upper_tail` is
/// outside `(0, 0.5]`.
///
/// ```
/// use cartback_domain::t_upper_quantile;
/// let t = t_upper_quantile(10.0, 0.025).unwrap();
/// assert!((t - 2.228_138_851_964_938_5).abs() < 1e-9);
/// ```
pub fn t_upper_quantile(df: f64, upper_tail: f64) -> Option<f64> {
    if !(df > 0.0 && df.is_finite() && upper_tail > 0.0 && upper_tail <= 0.5) {
        return None;
    }
    if upper_tail == 0.5 {
        return Some(0.0);
    }
    let z = normal_quantile(1.0 - upper_tail)?;
    if df > 1e6 {
        return Some(cornish_fisher(z, df));
    }
    // The t quantile lies above the normal's; grow the bracket until it holds.
    let mut low = z;
    let mut high = z.max(1.0) * 2.0;
    while t_upper_tail(high, df) > upper_tail {
        low = high;
        high *= 2.0;
        if !high.is_finite() {
            return None;
        }
    }
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if t_upper_tail(middle, df) > upper_tail {
            low = middle;
        } else {
            high = middle;
        }
        if high - low <= 1e-13 * high {
            break;
        }
    }
    Some(0.5 * (low + high))
}

/// `P(T > t)` for `t ≥ 0`: half the regularised incomplete beta at
/// `df / (df + t²)`, with `1 - x` computed directly so large `df` loses nothing.
fn t_upper_tail(t: f64, df: f64) -> f64 {
    let denominator = df + t * t;
    0.5 * regularised_incomplete_beta(df / 2.0, 0.5, df / denominator, t * t / denominator)
}

/// Abramowitz & Stegun 26.7.5: the t quantile as a series in `1/df` around
/// the normal quantile `z`.
fn cornish_fisher(z: f64, df: f64) -> f64 {
    let z2 = z * z;
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df
}

/// `ln Γ(x)` for `x > 0` by the Lanczos approximation (g = 7, nine terms;
/// relative error near 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series where it is accurate.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// `I_x(a, b)`, given `x` and `1 - x` separately (callers often know the
/// latter more precisely). The continued fraction converges quickly on the
/// side of the mean `a / (a + b)` it is evaluated on, so the other side uses
/// the symmetry `I_x(a, b) = 1 - I_{1-x}(b, a)`.
fn regularised_incomplete_beta(a: f64, b: f64, x: f64, one_minus_x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if one_minus_x <= 0.0 {
        return 1.0;
    }
    let log_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * one_minus_x.ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        log_front.exp() * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - log_front.exp() * beta_continued_fraction(b, a, one_minus_x) / b
    }
}

/// The continued fraction of the incomplete beta function, evaluated by the
/// modified Lentz method.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPSILON: f64 = 1e-16;
    // It takes on the order of √max(a, b) terms: plenty for a and b up to
    // 10^6, which t_upper_quantile stays below.
    const MAX_TERMS: u32 = 20_000;
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 - (a + b) * x / (a + 1.0));
    let mut fraction = d;
    for m in 1..=MAX_TERMS {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / nonzero(1.0 + even * d);
        c = nonzero(1.0 + even / c);
        fraction *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / nonzero(1.0 + odd * d);
        c = nonzero(1.0 + odd / c);
        let step = d * c;
        fraction *= step;
        if (step - 1.0).abs() < EPSILON {
            break;
        }
    }
    fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from scipy 1.15 (scipy.stats.norm.ppf, t.isf,
    // scipy.special.gammaln, betainc).
    #[test]
    fn normal_quantiles_match_scipy() {
        for (p, expected) in [
            (0.5, 0.0),
            (0.8, 0.841_621_233_572_914_3),
            (0.975, 1.959_963_984_540_054),
            (0.995, 2.575_829_303_548_900_4),
            (0.01, -2.326_347_874_040_841),
            (1e-10, -6.361_340_902_404_056),
        ] {
            let z = normal_quantile(p).unwrap();
            assert!(
                (z - expected).abs() <= 1.2e-9 * expected.abs().max(1.0),
                "{p}: {z} vs {expected}"
            );
        }
        for p in [0.0, 1.0, -0.1, f64::NAN] {
            assert_eq!(normal_quantile(p), None);
        }
    }

    const T_9E5: f64 = 1.959_966_620_400_461_3;
    const T_11E5: f64 = 1.959_966_141_152_596_2;
    const T_5E7: f64 = 1.959_964_031_985_48;

    #[test]
    fn t_quantiles_match_scipy() {
        for (df, expected) in [
            (1.0, 12.706_204_736_432_102),
            (2.5, 3.574_654_842_011_878),
            (10.0, 2.228_138_851_964_938_5),
            (37.3, 2.025_642_523_077_960_4),
            (1_000.0, 1.962_339_080_826_407_8),
            (99_999.0, 1.959_987_707_771_845),
            (250_000.0, 1.959_973_473_670_135_5),
            (900_000.0, T_9E5),
        ] {
            let t = t_upper_quantile(df, 0.025).unwrap();
            assert!((t - expected).abs() <= 1e-9, "{df}: {t} vs {expected}");
        }
        // Past 10^6 the series takes over, as close as the normal quantile is.
        for (df, expected) in [(1.1e6, T_11E5), (5e7, T_5E7)] {
            let t = t_upper_quantile(df, 0.025).unwrap();
            assert!((t - expected).abs() <= 2.5e-9, "{df}: {t} vs {expected}");
        }
        assert_eq!(t_upper_quantile(0.0, 0.025), None);
        assert_eq!(t_upper_quantile(5.0, 0.0), None);
        assert_eq!(t_upper_quantile(f64::NAN, 0.025), None);
        assert_eq!(t_upper_quantile(5.0, 0.5), Some(0.0));
    }

    #[test]
    fn ln_gamma_matches_known_values() {
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        // ln(9!) = ln 362880
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
    }
}
