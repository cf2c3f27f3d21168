//! Where an export's rows were measured: the machine, the kernel, heaplab's version and the
//! bench options, recorded in every `bench --format json` export so that `heaplab compare` can
//! tell whether two exports' times may be set against each other.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The machine and the options an export's figures were measured with. Two exports come from
/// the same host when every field is the same ([`Host::differences`]).
///
/// Not a figure: nothing here is measured, and counts (allocs/op, peak heap) do not depend on
/// it; only time does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// The CPU's model name, as the system reports it (empty if it does not).
    pub cpu: String,
    /// The CPUs this process could run on (`available_parallelism`: a container's limit, not
    /// the machine's).
    pub cores: usize,
    /// The operating system's kernel version (empty if unknown).
    pub kernel: String,
    /// The heaplab that measured.
    pub heaplab_version: String,
    /// How `heaplab bench` was asked to measure.
    pub bench: BenchOptions,
}

/// The bench options that shape every row's figures: how long each run is, how many runs, the
/// workload size, and whether runs had processes of their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchOptions {
    /// `--iterations`: operations measured per run (`None`: runs were time-bound).
    pub iterations: Option<u64>,
    /// `--time` in seconds (`None` with `--iterations`).
    pub time_secs: Option<f64>,
    /// `--runs`.
    pub runs: usize,
    /// `--size` (`None`: each experiment's default).
    pub size: Option<usize>,
    /// `--in-process`.
    pub in_process: bool,
}

impl BenchOptions {
    /// The options as a bench command line would give them: `--time 0.2 --runs 6`.
    #[must_use]
    pub fn text(&self) -> String {
        let mut text = match (self.iterations, self.time_secs) {
            (Some(n), _) => format!("--iterations {n}"),
            (None, Some(secs)) => format!("--time {secs}"),
            (None, None) => String::new(),
        };
        let _ = write!(text, " --runs {}", self.runs);
        if let Some(size) = self.size {
            let _ = write!(text, " --size {size}");
        }
        if self.in_process {
            text.push_str(" --in-process");
        }
        text.trim_start().to_owned()
    }
}

impl Host {
    /// This machine, measuring with `bench`.
    #[must_use]
    pub fn this(bench: BenchOptions) -> Self {
        let mut system = sysinfo::System::new();
        system.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
        Host {
            cpu: system
                .cpus()
                .first()
                .map(|cpu| cpu.brand().trim().to_owned())
                .unwrap_or_default(),
            cores: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            kernel: sysinfo::System::kernel_version().unwrap_or_default(),
            heaplab_version: env!("CARGO_PKG_VERSION").to_owned(),
            bench,
        }
    }

    /// What differs between this host and `other`, a phrase each (`cores: 2 vs 8`); empty when
    /// they are the same host.
    #[must_use]
    pub fn differences(&self, other: &Host) -> Vec<String> {
        let mut out = Vec::new();
        let mut differ = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name}: {a} vs {b}"));
            }
        };
        differ("CPU", self.cpu.clone(), other.cpu.clone());
        differ("cores", self.cores.to_string(), other.cores.to_string());
        differ("kernel", self.kernel.clone(), other.kernel.clone());
        differ(
            "heaplab",
            self.heaplab_version.clone(),
            other.heaplab_version.clone(),
        );
        differ("bench options", self.bench.text(), other.bench.text());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            cpu: "Example CPU @ 3.00GHz".into(),
            cores: 8,
            kernel: "6.8.0".into(),
            heaplab_version: "0.1.0".into(),
            bench: BenchOptions {
                iterations: None,
                time_secs: Some(0.2),
                runs: 6,
                size: None,
                in_process: false,
            },
        }
    }

    /// Every field is part of the host: each one that differs is named, with both values.
    #[test]
    fn each_difference_is_named_with_both_values() {
        assert!(host().differences(&host()).is_empty());
        let other = Host {
            cores: 2,
            bench: BenchOptions {
                iterations: Some(1000),
                time_secs: None,
                ..host().bench
            },
            ..host()
        };
        assert_eq!(
            host().differences(&other),
            [
                "cores: 8 vs 2",
                "bench options: --time 0.2 --runs 6 vs --iterations 1000 --runs 6"
            ]
        );
    }

    /// This machine is described with what it has: its cores, heaplab's version.
    #[test]
    fn this_host_says_its_cores_and_version() {
        let this = Host::this(host().bench);
        assert!(this.cores >= 1, "{this:?}");
        assert_eq!(this.heaplab_version, env!("CARGO_PKG_VERSION"));
    }
}
