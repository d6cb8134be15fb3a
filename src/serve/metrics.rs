//! `/metrics`: what the current report says, as Prometheus series. Counts
//! by rule, category, severity and namespace; a run's uuid is never a label
//! (one series per run would grow without bound, and the report has them).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::report::Report;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    rule: String,
    category: String,
    severity: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabels {
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunCategoryLabels {
    namespace: String,
    category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabels {
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
}

/// The metric families serve exposes, registered once.
pub struct Metrics {
    registry: Registry,
    findings: Family<FindingLabels, Gauge>,
    runs: Family<NamespaceLabels, Gauge>,
    runs_with_findings: Family<RunCategoryLabels, Gauge>,
    evaluation: Histogram,
    last_evaluation: Gauge<f64, AtomicU64>,
    watch_errors: Family<ResourceLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let findings = Family::<FindingLabels, Gauge>::default();
        registry.register(
            "pxdoctor_findings",
            "Current findings, by rule, category, severity and namespace",
            findings.clone(),
        );
        let runs = Family::<NamespaceLabels, Gauge>::default();
        registry.register("pxdoctor_runs", "Polyaxon runs checked", runs.clone());
        let runs_with_findings = Family::<RunCategoryLabels, Gauge>::default();
        registry.register(
            "pxdoctor_runs_with_findings",
            "Runs with at least one finding of the category",
            runs_with_findings.clone(),
        );
        let evaluation = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register(
            "pxdoctor_evaluation_duration_seconds",
            "How long one evaluation of the watched objects took",
            evaluation.clone(),
        );
        let last_evaluation = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "pxdoctor_last_evaluation_timestamp_seconds",
            "When the last evaluation ended (Unix time)",
            last_evaluation.clone(),
        );
        let watch_errors = Family::<ResourceLabels, Counter>::default();
        // The text format adds `_total` to a counter's name.
        registry.register(
            "pxdoctor_watch_errors",
            "Errors of the watches, by resource (relists, refusals, lost connections)",
            watch_errors.clone(),
        );
        let build = Family::<VersionLabels, Gauge>::default();
        build
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        registry.register("pxdoctor_build_info", "pxdoctor's version", build);
        Metrics {
            registry,
            findings,
            runs,
            runs_with_findings,
            evaluation,
            last_evaluation,
            watch_errors,
        }
    }

    /// A watch starts: its error counter is exposed at 0, so that rate()
    /// sees the first error.
    pub fn watching(&self, resource: &str) {
        let _ = self.watch_errors.get_or_create_owned(&ResourceLabels {
            resource: resource.to_string(),
        });
    }

    pub fn watch_error(&self, resource: &str) {
        self.watch_errors
            .get_or_create(&ResourceLabels {
                resource: resource.to_string(),
            })
            .inc();
    }

    /// Sets the gauges from a new report: series of findings that are gone
    /// go with them.
    pub fn evaluated(
        &self,
        report: &Report,
        runs_by_namespace: &BTreeMap<String, usize>,
        seconds: f64,
        at: f64,
    ) {
        let mut findings: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
        let mut runs_with: BTreeMap<(String, String), std::collections::BTreeSet<&str>> =
            BTreeMap::new();
        for finding in &report.findings {
            let namespace = finding.subject.namespace.clone().unwrap_or_default();
            *findings
                .entry((
                    finding.rule.clone(),
                    finding.category.name().to_string(),
                    finding.severity.name().to_string(),
                    namespace.clone(),
                ))
                .or_default() += 1;
            if let Some(run) = &finding.subject.run {
                runs_with
                    .entry((namespace, finding.category.name().to_string()))
                    .or_default()
                    .insert(run.uuid.as_str());
            }
        }
        self.findings.clear();
        for ((rule, category, severity, namespace), count) in findings {
            self.findings
                .get_or_create(&FindingLabels {
                    rule,
                    category,
                    severity,
                    namespace,
                })
                .set(count);
        }
        self.runs_with_findings.clear();
        for ((namespace, category), runs) in runs_with {
            self.runs_with_findings
                .get_or_create(&RunCategoryLabels {
                    namespace,
                    category,
                })
                .set(runs.len() as i64);
        }
        self.runs.clear();
        for (namespace, count) in runs_by_namespace {
            self.runs
                .get_or_create(&NamespaceLabels {
                    namespace: namespace.clone(),
                })
                .set(*count as i64);
        }
        self.evaluation.observe(seconds);
        self.last_evaluation.set(at);
    }

    /// The text exposition format (OpenMetrics), as Prometheus scrapes it.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
