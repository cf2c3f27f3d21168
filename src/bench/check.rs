//! `bench --check` and `heaplab check`: each measured row against its variant's limits
//! ([`heaplab_experiments::limits`]), and for a broken allocation limit the line that
//! allocates most, measured again with its sites when the bench did not capture them.

use heaplab_experiments::measure::Stop;

use super::plan::{Plan, PlanItem};
use super::run::{Isolation, RunError, run};
use crate::results::{Broken, VariantRow, broken};

/// Operations replayed to name the line behind a broken limit: enough for a steady state,
/// short whatever the variant's speed.
const SITES_OPS: u64 = 1_000;

/// Rows checked against their limits: how many had any, and what broke.
#[derive(Debug, Default)]
pub struct Checked {
    /// Rows whose variant declares a limit.
    pub limited: usize,
    /// Each broken limit, with the line that allocates most where one can say.
    pub broken: Vec<(Broken, Option<String>)>,
}

/// Checks `rows` (measured from `plan`) against their variants' limits.
pub fn check(rows: &[VariantRow], plan: &Plan, isolation: &Isolation) -> Result<Checked, RunError> {
    let mut checked = Checked::default();
    for row in rows {
        let Some(item) = plan
            .items
            .iter()
            .find(|i| i.experiment.info().id == row.experiment)
        else {
            continue;
        };
        let limits = item.experiment.limits(&row.variant);
        if !limits.any() {
            continue;
        }
        checked.limited += 1;
        for b in broken(row, &limits) {
            let site = if b.by_site {
                top_site(row, item, plan, isolation)?
            } else {
                None
            };
            checked.broken.push((b, site));
        }
    }
    Ok(checked)
}

/// The line that allocates most in `row`'s variant: from its sites if the bench captured
/// them, else from a replay of [`SITES_OPS`] operations with every allocation captured.
fn top_site(
    row: &VariantRow,
    item: &PlanItem,
    plan: &Plan,
    isolation: &Isolation,
) -> Result<Option<String>, RunError> {
    let sites = if let Some(sites) = &row.sites {
        Some(sites.clone())
    } else {
        let Some(variant) = item.variants.iter().find(|v| **v == row.variant) else {
            return Ok(None);
        };
        let again = Plan {
            items: vec![PlanItem {
                experiment: item.experiment,
                variants: vec![variant],
                size: item.size,
            }],
            stop: Stop::Iterations(SITES_OPS),
            runs: 1,
            sites: true,
            sites_sample_every: 0,
            sites_ops: Some(SITES_OPS),
            ..plan.clone()
        };
        run(&again, isolation, |_| {})?
            .into_iter()
            .find_map(|r| r.sites)
    };
    Ok(sites.and_then(|s| {
        s.sites.first().map(|top| {
            format!(
                "most at {} {} ({:.2} allocs/op)",
                top.location(),
                top.function,
                top.allocs_per_op
            )
        })
    }))
}
