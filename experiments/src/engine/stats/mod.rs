//! The statistics behind every speed heaplab prints: the median of repeated runs with a
//! distribution-free 95% confidence interval, and the Mann-Whitney U test (as Go's benchstat
//! uses) with the matching interval for a ratio of two speeds; for runs taken in turns, the
//! Wilcoxon signed-rank test and interval on the per-round ratios.
//!
//! Nothing here assumes a distribution: benchmark times are skewed and have outliers, so the
//! intervals come from order statistics and ranks. Small samples get exact probabilities
//! (counted, not approximated); ties or large samples fall back to the normal approximation
//! with tie and continuity corrections, as `scipy.stats.mannwhitneyu` does.

// n, m, u, k: the names the textbooks give these quantities. Ties are exact equality of
// measured values, by definition of a rank test.
#![allow(clippy::many_single_char_names, clippy::float_cmp)]

mod paired;

pub use paired::{Paired, paired_ratio};

/// The confidence level of every interval heaplab prints.
pub const CONFIDENCE: f64 = 0.95;

/// Below this p-value a difference is called significant.
pub const ALPHA: f64 = 0.05;

/// Exact U probabilities are counted for samples up to this size each (and no ties).
const EXACT_MAX: usize = 50;

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The median (`NaN` for no values).
#[must_use]
pub fn median(xs: &[f64]) -> f64 {
    median_of_sorted(&sorted(xs))
}

fn median_of_sorted(v: &[f64]) -> f64 {
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => f64::midpoint(v[n / 2 - 1], v[n / 2]),
    }
}

/// `P(X <= k)` for `X ~ Binomial(n, 1/2)`: the definition [`median_ci_rank`] sums as it goes.
#[cfg(test)]
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    // Sum C(n, i) / 2^n in f64: exact enough for n up to a few hundred.
    let mut term = 0.5f64.powi(n as i32); // C(n, 0) / 2^n
    let mut sum = term;
    for i in 1..=k.min(n) {
        term *= (n + 1 - i) as f64 / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// A distribution-free 95% confidence interval for the median: `[x(k), x(n+1-k)]` of the sorted
/// values, with the largest `k` whose coverage (`1 - 2 P(Binomial(n, 1/2) < k)`) is at least
/// 95%. `None` with fewer than 6 values, which cannot give 95% (five give 93.75% at best).
#[must_use]
pub fn median_ci(xs: &[f64]) -> Option<(f64, f64)> {
    let v = sorted(xs);
    let k = median_ci_rank(v.len())?;
    Some((v[k - 1], v[v.len() - k]))
}

/// The `k` of [`median_ci`] for `n` values, the binomial tail summed once (not once per
/// candidate `k`): the dashboard asks for it ten times a second.
fn median_ci_rank(n: usize) -> Option<usize> {
    let mut term = 0.5f64.powi(n as i32); // C(n, 0) / 2^n = P(X <= 0)
    let mut below = term; // P(X <= k - 1), starting at k = 1
    let mut best = None;
    for k in 1..=n / 2 {
        if 1.0 - 2.0 * below.min(1.0) < CONFIDENCE {
            break;
        }
        best = Some(k);
        term *= (n - (k - 1)) as f64 / k as f64; // C(n, k) / 2^n
        below += term;
    }
    best
}

/// The number of arrangements of `n` x's and `m` y's for each value of U (the count of pairs
/// with the x above the y), `0..=n*m`: the coefficients of the Gaussian binomial `[n+m, n]`,
/// built as the product of `(1 - q^(m+i)) / (1 - q^i)` for `i` in `1..=n`. Each factor keeps
/// the coefficients those of a Gaussian binomial, so every step is `O(n*m)` and the whole
/// `O(n*n*m)` (the dashboard recounts it while a variant's first intervals arrive).
fn u_counts(n: usize, m: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; n * m + 1];
    c[0] = 1.0;
    for i in 1..=n {
        // Now [m+i-1, i-1], of degree (i-1)*m; next [m+i, i], of degree i*m. Times
        // (1 - q^(m+i)), then over (1 - q^i): the division reads only lower coefficients, so
        // the product's terms above i*m (which it cancels) need not be formed.
        let (up, degree) = (m + i, i * m);
        for k in (up..=degree).rev() {
            c[k] -= c[k - up];
        }
        for k in i..=degree {
            c[k] += c[k - i];
        }
    }
    c
}

/// `P(U <= u)` under the null hypothesis, exactly, for samples of `n` and `m` without ties.
fn u_cdf(counts: &[f64], u: usize) -> f64 {
    let total: f64 = counts.iter().sum();
    counts[..=u.min(counts.len() - 1)].iter().sum::<f64>() / total
}

/// The outcome of a two-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the first sample: pairs where it is larger, ties counting one half.
    pub u: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether the p-value was counted exactly (small samples, no ties).
    pub exact: bool,
}

/// Ranks (1-based, ties given their average) of `values`, and the size of every group of
/// equal values (1 for a value without ties), found in the same pass.
fn ranks(values: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut groups = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        groups.push((j - i + 1) as f64);
        i = j + 1;
    }
    (out, groups)
}

/// The two-sided Mann-Whitney U test of `xs` against `ys` (`None` if either is empty).
#[must_use]
pub fn mann_whitney(xs: &[f64], ys: &[f64]) -> Option<MannWhitney> {
    let (n, m) = (xs.len(), ys.len());
    if n == 0 || m == 0 {
        return None;
    }
    let all: Vec<f64> = xs.iter().chain(ys).copied().collect();
    let (r, ties) = ranks(&all);
    let rank_sum: f64 = r[..n].iter().sum();
    let u = rank_sum - (n * (n + 1)) as f64 / 2.0;
    let nm = (n * m) as f64;
    let has_ties = ties.iter().any(|&t| t > 1.0);
    if !has_ties && n <= EXACT_MAX && m <= EXACT_MAX {
        let counts = u_counts(n, m);
        let u_int = u.round() as usize;
        let lower = u_cdf(&counts, u_int);
        let upper = 1.0
            - if u_int == 0 {
                0.0
            } else {
                u_cdf(&counts, u_int - 1)
            };
        return Some(MannWhitney {
            u,
            p_value: (2.0 * lower.min(upper)).min(1.0),
            exact: true,
        });
    }
    // Normal approximation with the tie correction and a continuity correction of 1/2.
    let total = (n + m) as f64;
    let tie_term: f64 = ties.iter().map(|t| t * t * t - t).sum::<f64>() / (total * (total - 1.0));
    let sigma = (nm / 12.0 * ((total + 1.0) - tie_term)).sqrt();
    let mean = nm / 2.0;
    let z = ((u - mean).abs() - 0.5).max(0.0) / sigma;
    Some(MannWhitney {
        u,
        p_value: if sigma > 0.0 {
            erfc(z / std::f64::consts::SQRT_2).min(1.0)
        } else {
            1.0
        },
        exact: false,
    })
}

/// The ratio `xs / ys` (of two samples of positive values) as the Hodges-Lehmann estimate (the
/// median of all pairwise ratios, taken on logarithms) with its distribution-free 95% interval
/// (Moses: the order statistics of the pairwise log ratios at the Mann-Whitney critical
/// values). The interval is `None` when the samples are too small to reach 95% (at least 4 and
/// 4, or 3 and 6). The estimate is `None` if either sample is empty or holds a value <= 0.
#[must_use]
pub fn ratio_ci(xs: &[f64], ys: &[f64]) -> Option<(f64, Option<(f64, f64)>)> {
    if xs.is_empty() || ys.is_empty() || xs.iter().chain(ys).any(|&v| !(v > 0.0 && v.is_finite())) {
        return None;
    }
    let (log_x, log_y) = (sorted_logs(xs), sorted_logs(ys));
    let pairs = PairwiseDifferences {
        x: &log_x,
        y: &log_y,
    };
    let count = xs.len() * ys.len();
    let estimate = if count % 2 == 1 {
        pairs.nth(count / 2)
    } else {
        f64::midpoint(pairs.nth(count / 2 - 1), pairs.nth(count / 2))
    }
    .exp();
    let (n, m) = (xs.len(), ys.len());
    let tail = (1.0 - CONFIDENCE) / 2.0;
    // The largest C with P(U <= C) <= tail: the interval is [d(C+1), d(N-C)].
    let critical = if n <= EXACT_MAX && m <= EXACT_MAX {
        let counts = u_counts(n, m);
        let total: f64 = counts.iter().sum();
        let mut cdf = 0.0;
        let mut c = None;
        for (u, count) in counts.iter().enumerate() {
            cdf += count / total;
            if cdf <= tail {
                c = Some(u);
            } else {
                break;
            }
        }
        c
    } else {
        let nm = (n * m) as f64;
        let sigma = (nm * (n + m + 1) as f64 / 12.0).sqrt();
        let c = nm / 2.0 - 1.959_963_984_540_054 * sigma - 0.5;
        (c >= 0.0).then(|| c.floor() as usize)
    };
    let interval = critical.map(|c| (pairs.nth(c).exp(), pairs.nth(count - 1 - c).exp()));
    Some((estimate, interval))
}

fn sorted_logs(xs: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Every `x[i] - y[j]` of two sorted samples, without writing the `n*m` of them down: the
/// `k`-th smallest is found by bisecting on the value (over the order of `f64`s, at most 64
/// steps) and counting the pairs at or below it in one merge-like pass, `O((n+m) * 64)`
/// instead of sorting `n*m` differences. The result is the very `f64` a full sort would give:
/// rounded subtraction is monotone in each operand, so the counts are exact.
struct PairwiseDifferences<'a> {
    x: &'a [f64],
    y: &'a [f64],
}

impl PairwiseDifferences<'_> {
    /// How many `x[i] - y[j]` are `<= value`.
    fn count_at_most(&self, value: f64) -> usize {
        // For larger y, more x's qualify: one pointer walks up x while j walks up y.
        let mut i = 0;
        let mut count = 0;
        for &y in self.y {
            while i < self.x.len() && self.x[i] - y <= value {
                i += 1;
            }
            count += i;
        }
        count
    }

    /// The `k`-th smallest difference, counting from 0 (`k < n*m`).
    fn nth(&self, k: usize) -> f64 {
        // An order-preserving map of f64 onto i64 (total order, as `total_cmp`).
        let key = |v: f64| {
            let bits = v.to_bits() as i64;
            bits ^ (((bits >> 63) as u64) >> 1) as i64
        };
        let value = |key: i64| f64::from_bits((key ^ (((key >> 63) as u64) >> 1) as i64) as u64);
        let (Some(&x0), Some(&xn), Some(&y0), Some(&yn)) =
            (self.x.first(), self.x.last(), self.y.first(), self.y.last())
        else {
            return f64::NAN;
        };
        // The smallest key whose value has more than k differences at or below it.
        let (mut low, mut high) = (key(x0 - yn), key(xn - y0));
        while low < high {
            let mid = ((i128::from(low) + i128::from(high)) >> 1) as i64; // floor: low <= mid < high
            if self.count_at_most(value(mid)) > k {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        value(low)
    }
}

/// The complementary error function, to about 1.2e-7 relative error (Chebyshev fit, as in
/// Numerical Recipes' `erfcc`): enough for p-values.
#[must_use]
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1e-300)
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    /// Coverage of `[x(k), x(n+1-k)]` is `1 - 2 P(Bin(n, 1/2) <= k-1)`; the k chosen for each n
    /// and its coverage, as `scipy.stats.binom` computes them (and as tables of the sign test
    /// give them): n=6 k=1 (96.875%), n=10 k=2 (97.85%), n=12 k=3 (96.14%), n=20 k=6 (95.86%).
    #[test]
    fn median_intervals_from_order_statistics() {
        let values = |n: usize| (1..=n).map(|i| i as f64).collect::<Vec<_>>();
        assert_eq!(
            median_ci(&values(5)),
            None,
            "five values reach 93.75% at best"
        );
        assert_eq!(median_ci(&values(6)), Some((1.0, 6.0)));
        assert_eq!(median_ci(&values(7)), Some((1.0, 7.0)));
        assert_eq!(median_ci(&values(10)), Some((2.0, 9.0)));
        assert_eq!(median_ci(&values(12)), Some((3.0, 10.0)));
        assert_eq!(median_ci(&values(20)), Some((6.0, 15.0)));
        assert!(close(
            1.0 - 2.0 * binomial_half_cdf(10, 1),
            0.978_515_625,
            1e-12
        ));
        assert!(close(
            1.0 - 2.0 * binomial_half_cdf(20, 5),
            0.958_610_534_667_968_8,
            1e-12
        ));
    }

    /// Exact two-sided p-values against `scipy.stats.mannwhitneyu(x, y, method="exact")`
    /// (scipy 1.17.1).
    #[test]
    fn exact_p_values_match_scipy() {
        let a = mann_whitney(
            &[1.1, 2.2, 3.3, 4.4, 5.5, 6.6],
            &[7.1, 8.2, 9.3, 10.4, 11.5, 12.6],
        )
        .expect("a test");
        assert!(a.exact);
        assert_eq!(a.u, 0.0);
        assert!(close(a.p_value, 0.002_164_502_164_502_164_5, 1e-9), "{a:?}");

        let b = mann_whitney(&[19.0, 22.0, 16.0, 29.0, 24.0], &[20.0, 11.0, 17.0, 12.0])
            .expect("a test");
        assert_eq!(b.u, 17.0);
        assert!(close(b.p_value, 0.111_111_111_111_111_1, 1e-9), "{b:?}");

        let c = mann_whitney(
            &[5.1, 4.9, 5.3, 5.0, 5.2, 4.8, 5.05],
            &[5.15, 4.95, 5.25, 5.02, 4.85, 5.12],
        )
        .expect("a test");
        assert_eq!(c.u, 20.0);
        assert!(close(c.p_value, 0.945_221_445_221_445_1, 1e-9), "{c:?}");
    }

    /// With ties, or past the exact limit: the normal approximation with tie and continuity
    /// corrections, against `scipy.stats.mannwhitneyu(x, y, method="asymptotic")`.
    #[test]
    fn approximate_p_values_match_scipy() {
        let ties = mann_whitney(
            &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0],
            &[3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 7.0, 7.0],
        )
        .expect("a test");
        assert!(!ties.exact);
        assert_eq!(ties.u, 7.5);
        assert!(
            close(ties.p_value, 0.010_515_245_935_858_907, 1e-5),
            "{ties:?}"
        );

        let (x, y) = large_samples();
        let large = mann_whitney(&x, &y).expect("a test");
        assert!(!large.exact);
        assert_eq!(large.u, 1174.0);
        assert!(
            close(large.p_value, 0.007_761_123_668_101_857, 1e-5),
            "{large:?}"
        );
    }

    /// The ratio's estimate and interval against a reference implementation written
    /// independently (Python: the U distribution enumerated over every arrangement with
    /// `itertools.combinations`, the Moses interval read off the sorted pairwise log ratios).
    #[test]
    fn ratio_intervals_match_a_reference() {
        let (estimate, interval) = ratio_ci(
            &[100.0, 104.0, 98.0, 101.0, 99.5, 103.0],
            &[50.0, 52.5, 49.0, 51.0, 50.5, 53.0],
        )
        .expect("an estimate");
        assert!(close(estimate, 1.980_295_085_953_349_2, 1e-12));
        let (low, high) = interval.expect("an interval");
        assert!(close(low, 1.904_761_904_761_905_5, 1e-12), "{low}");
        assert!(close(high, 2.059_405_940_594_058_6, 1e-12), "{high}");

        let (estimate, interval) = ratio_ci(
            &[10.0, 10.4, 9.8, 10.1, 9.95, 10.3, 10.2],
            &[10.05, 10.5, 9.9, 10.25, 10.0, 10.15],
        )
        .expect("an estimate");
        assert!(close(estimate, 0.995_097_921_132_426_1, 1e-12));
        let (low, high) = interval.expect("an interval");
        assert!(close(low, 0.970_731_707_317_073_3, 1e-12), "{low}");
        assert!(close(high, 1.024_875_621_890_547, 1e-12), "{high}");

        let (estimate, interval) = ratio_ci(&[1.0, 2.0, 3.0], &[1.5, 2.5]).expect("an estimate");
        assert!(close(estimate, 0.979_795_897_113_271_2, 1e-12));
        assert_eq!(interval, None, "3 and 2 values cannot reach 95%");
        assert_eq!(ratio_ci(&[1.0], &[0.0]), None);
    }

    #[test]
    fn u_distribution_is_symmetric_and_sums_to_the_binomial() {
        let counts = u_counts(6, 6);
        assert_eq!(counts.len(), 37);
        assert_eq!(counts.iter().sum::<f64>(), 924.0); // C(12, 6)
        for u in 0..counts.len() {
            assert_eq!(counts[u], counts[counts.len() - 1 - u]);
        }
        assert_eq!(&counts[..4], &[1.0, 1.0, 2.0, 3.0]);
    }

    /// The counts as first written: one arrangement at a time, `O(n*m*n*m)`.
    fn u_counts_by_arrangement(n: usize, m: usize) -> Vec<f64> {
        let width = n * m + 1;
        let mut f = vec![vec![0.0f64; width]; m + 1];
        for row in &mut f {
            row[0] = 1.0;
        }
        for _ in 1..=n {
            let mut next = vec![vec![0.0f64; width]; m + 1];
            next[0][0] = 1.0;
            for j in 1..=m {
                for u in 0..width {
                    let x_last = if u >= j { f[j][u - j] } else { 0.0 };
                    next[j][u] = x_last + next[j - 1][u];
                }
            }
            f = next;
        }
        f.swap_remove(m)
    }

    #[test]
    fn u_counts_by_product_are_the_counts_by_arrangement() {
        // Small enough for every count to be an exact integer in f64: equal to the last bit.
        for n in 0..=14 {
            for m in 0..=14 {
                assert_eq!(u_counts(n, m), u_counts_by_arrangement(n, m), "n={n} m={m}");
            }
        }
        // Up to the exact limit: the same to rounding, and the same critical values.
        for (n, m) in [(50, 50), (50, 17), (23, 50), (37, 41)] {
            let (fast, slow) = (u_counts(n, m), u_counts_by_arrangement(n, m));
            let total: f64 = slow.iter().sum();
            for (u, (a, b)) in fast.iter().zip(&slow).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-12 * total,
                    "n={n} m={m} u={u}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn median_ci_rank_is_the_largest_k_with_95_percent_coverage() {
        for n in 0..=700 {
            let by_definition = (1..=n / 2)
                .take_while(|&k| 1.0 - 2.0 * binomial_half_cdf(n, k - 1) >= CONFIDENCE)
                .last();
            assert_eq!(median_ci_rank(n), by_definition, "n={n}");
        }
    }

    /// The k-th pairwise difference found by bisection is the one a full sort gives, to the
    /// bit, ties and repeated values included.
    #[test]
    fn pairwise_differences_by_bisection_are_those_of_a_full_sort() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..40 {
            let (n, m) = (1 + (next() % 60) as usize, 1 + (next() % 60) as usize);
            // Coarse values in some rounds, so that many differences tie.
            let grain = if round % 3 == 0 { 4.0 } else { 1e6 };
            let mut sample = |len: usize| -> Vec<f64> {
                (0..len)
                    .map(|_| 50.0 + ((next() % 1_000_000) as f64 / 1e6 * grain).floor())
                    .collect()
            };
            let (xs, ys) = (sample(n), sample(m));
            let (lx, ly) = (sorted_logs(&xs), sorted_logs(&ys));
            let mut all: Vec<f64> = lx
                .iter()
                .flat_map(|&x| ly.iter().map(move |&y| x - y))
                .collect();
            all.sort_by(f64::total_cmp);
            let pairs = PairwiseDifferences { x: &lx, y: &ly };
            for k in [0, all.len() / 3, all.len() / 2, all.len() - 1] {
                assert_eq!(pairs.nth(k), all[k], "round {round}: n={n} m={m} k={k}");
            }
        }
    }

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0) = 1, erfc(1) = 0.157299207050285, erfc(2) = 0.004677734981047266.
        assert!(close(erfc(0.0), 1.0, 1e-7));
        assert!(close(erfc(1.0), 0.157_299_207_050_285, 1e-6));
        assert!(close(erfc(2.0), 0.004_677_734_981_047_266, 1e-6));
        assert!(close(erfc(-1.0), 1.842_700_792_949_715, 1e-6));
    }

    #[allow(clippy::unreadable_literal)] // scipy's output, as printed
    fn large_samples() -> (Vec<f64>, Vec<f64>) {
        let x = vec![
            10.345584, 10.821618, 10.330437, 8.696843, 10.905356, 10.446375, 9.463047, 10.581118,
            10.364572, 10.294132, 10.028422, 10.546713, 9.263546, 9.83709, 9.517881, 10.598846,
            10.039722, 9.707543, 9.218092, 9.742808, 10.008142, 9.724397, 11.294064, 11.006724,
            7.288838, 8.110987, 9.825228, 9.57781, 10.213643, 10.217322, 12.117839, 8.887979,
            9.622395, 12.042772, 10.646703, 10.663063, 9.485994, 8.351925, 10.167465, 10.109014,
            8.772648, 9.316773, 9.927956, 9.055248, 9.90173, 10.095483, 10.035586, 9.493708,
            10.593748, 10.891167, 10.320848, 9.18177, 10.731652, 9.49856, 10.879161, 8.928213,
            10.914467, 9.979937, 8.751251, 9.686101,
        ];
        let y = vec![
            10.454102, 10.672791, 9.417812, 9.292627, 10.599585, 9.93325, 10.635506, 11.15952,
            8.751213, 10.654388, 11.624647, 10.102473, 9.589185, 11.152244, 10.653447, 11.295883,
            10.054784, 8.918182, 10.289989, 9.954172, 11.175324, 10.593633, 8.769151, 9.204837,
            11.283789, 11.079765, 9.759757, 10.398951, 10.845574, 10.868404, 11.276242, 10.656486,
            10.305172, 10.141152, 11.455743, 8.149146, 10.261345, 10.433, 8.974651, 10.732814,
            9.748719, 11.262445, 10.274408, 11.069153, 11.618844, 10.78293, 9.524279, 8.885681,
            12.153384, 10.288708, 9.711435, 10.544257, 10.208589, 11.252142, 10.433928,
        ];
        (x, y)
    }
}
