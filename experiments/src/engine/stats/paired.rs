//! Paired samples: the ratio of two sides measured round by round (the scorecard's runs take
//! turns), with the Wilcoxon signed-rank test and interval on the per-round ratios.

// n, w: the names the textbooks give these quantities; a Walsh average of exactly zero is a tie.
#![allow(clippy::many_single_char_names, clippy::float_cmp)]

use super::{CONFIDENCE, EXACT_MAX, erfc};

/// The ratio `xs / ys` of paired samples, where `xs[i]` was measured beside `ys[i]` (the
/// scorecard's runs take turns, round by round): the Hodges-Lehmann estimate (the median of the
/// Walsh averages of the per-pair log ratios) with its distribution-free 95% interval (the
/// Walsh averages at the Wilcoxon signed-rank critical values), and the signed-rank test's
/// two-sided p-value. Pairing takes out what both sides of a round share, such as the machine
/// slowing down for a while, which an unpaired test counts as noise. `None` if the samples
/// differ in length, are empty, or hold a value <= 0; no interval below 6 pairs.
#[must_use]
pub fn paired_ratio(xs: &[f64], ys: &[f64]) -> Option<Paired> {
    if xs.is_empty()
        || xs.len() != ys.len()
        || xs.iter().chain(ys).any(|&v| !(v > 0.0 && v.is_finite()))
    {
        return None;
    }
    let logs: Vec<f64> = xs.iter().zip(ys).map(|(x, y)| x.ln() - y.ln()).collect();
    let n = logs.len();
    let mut walsh = Vec::with_capacity(n * (n + 1) / 2);
    for (i, a) in logs.iter().enumerate() {
        walsh.extend(logs[i..].iter().map(|b| f64::midpoint(*a, *b)));
    }
    walsh.sort_by(f64::total_cmp);
    let count = walsh.len();
    let estimate = if count % 2 == 1 {
        walsh[count / 2]
    } else {
        f64::midpoint(walsh[count / 2 - 1], walsh[count / 2])
    };
    // W+ (the signed-rank statistic) is the number of positive Walsh averages, a zero one
    // counting half.
    let positive = walsh.iter().filter(|&&w| w > 0.0).count() as f64
        + walsh.iter().filter(|&&w| w == 0.0).count() as f64 / 2.0;
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let (critical, p_value) = if n <= EXACT_MAX {
        let counts = signed_rank_counts(n);
        let total: f64 = counts.iter().sum();
        let cdf = |w: usize| counts[..=w.min(count)].iter().sum::<f64>() / total;
        let critical = (0..count).take_while(|&c| cdf(c) <= tail).last();
        let low = cdf(positive.min(count as f64 - positive).floor() as usize);
        (critical, (2.0 * low).min(1.0))
    } else {
        let mean = count as f64 / 2.0;
        let sigma = (n as f64 * (n + 1) as f64 * (2 * n + 1) as f64 / 24.0).sqrt();
        let c = mean - 1.959_963_984_540_054 * sigma - 0.5;
        let z = ((positive - mean).abs() - 0.5).max(0.0) / sigma;
        (
            (c >= 0.0).then(|| c.floor() as usize),
            erfc(z / 2f64.sqrt()),
        )
    };
    let ci95 = critical.map(|c| (walsh[c].exp(), walsh[count - 1 - c].exp()));
    Some(Paired {
        ratio: estimate.exp(),
        ci95,
        p_value,
    })
}

/// A ratio of paired samples: see [`paired_ratio`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// The Hodges-Lehmann estimate of `x / y`.
    pub ratio: f64,
    /// Its 95% interval (`None` below 6 pairs).
    pub ci95: Option<(f64, f64)>,
    /// The two-sided Wilcoxon signed-rank p-value.
    pub p_value: f64,
}

/// How many of the `2^n` sign patterns of `n` ranks give each signed-rank sum `0..=n(n+1)/2`.
fn signed_rank_counts(n: usize) -> Vec<f64> {
    let mut counts = vec![0.0; n * (n + 1) / 2 + 1];
    counts[0] = 1.0;
    for rank in 1..=n {
        for w in (rank..counts.len()).rev() {
            counts[w] += counts[w - rank];
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stats::ratio_ci;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1e-300)
    }

    #[test]
    fn signed_rank_critical_values_are_the_tables() {
        // Two-sided 5%: the largest W with P(W <= W) <= 0.025 is 8 for n = 10, 0 for n = 6,
        // 25 for n = 15 (the published tables); none exists for n = 5.
        for (n, expected) in [(5, None), (6, Some(0)), (10, Some(8)), (15, Some(25))] {
            let counts = signed_rank_counts(n);
            let total: f64 = counts.iter().sum();
            assert_eq!(total, 2f64.powi(n as i32));
            let mut cdf = 0.0;
            let critical = counts
                .iter()
                .enumerate()
                .take_while(|(_, c)| {
                    cdf += *c / total;
                    cdf <= 0.025
                })
                .last()
                .map(|(w, _)| w);
            assert_eq!(critical, expected, "n = {n}");
        }
    }

    #[test]
    fn pairing_takes_out_a_drift_both_sides_share() {
        // The machine's speed swings by 3x from round to round; within a round, y is always
        // 10% faster than x (times: x / y = 1.1), give or take 1%.
        let drift = [1.0, 2.9, 1.4, 0.9, 2.2, 1.7, 3.0, 1.1, 2.5, 1.3, 0.95, 2.0];
        let jitter = [
            1.0, 1.01, 0.99, 1.005, 0.995, 1.0, 1.01, 0.99, 1.0, 1.003, 0.997, 1.0,
        ];
        let xs: Vec<f64> = drift.iter().map(|d| 100.0 * d).collect();
        let ys: Vec<f64> = drift
            .iter()
            .zip(jitter)
            .map(|(d, j)| 100.0 * d / 1.1 * j)
            .collect();
        let paired = paired_ratio(&xs, &ys).expect("a ratio");
        let (low, high) = paired.ci95.expect("12 pairs give an interval");
        assert!(close(paired.ratio, 1.1, 0.01), "{paired:?}");
        assert!(low > 1.08 && high < 1.12, "{paired:?}");
        assert!(paired.p_value < 0.001, "{paired:?}");
        // Unpaired, the same runs cannot tell 1.1 from 1: the drift is all noise to it.
        let (_, unpaired) = ratio_ci(&xs, &ys).expect("a ratio");
        let (low, high) = unpaired.expect("an interval");
        assert!(low < 1.0 && high > 1.2, "{low}-{high}");
    }

    #[test]
    fn paired_needs_pairs() {
        assert_eq!(paired_ratio(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(paired_ratio(&[], &[]), None);
        assert_eq!(paired_ratio(&[1.0, 0.0], &[1.0, 1.0]), None);
        let five = paired_ratio(&[2.0; 5], &[1.0; 5]).expect("a ratio");
        assert!(
            five.ci95.is_none() && close(five.ratio, 2.0, 1e-12),
            "{five:?}"
        );
        // Six pairs, every one faster: the exact two-sided p is 2 / 2^6 (scipy.stats.wilcoxon).
        let six = paired_ratio(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0], &[1.0; 6]).expect("a ratio");
        assert!(close(six.p_value, 0.031_25, 1e-12), "{six:?}");
        // No difference at all: p = 1.
        let same = paired_ratio(
            &[3.0, 1.0, 2.0, 5.0, 4.0, 6.0],
            &[3.0, 1.0, 2.0, 5.0, 4.0, 6.0],
        );
        assert_eq!(same.map(|p| p.p_value), Some(1.0));
    }
}
