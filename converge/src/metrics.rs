//! Counting the API calls a run makes, by operation, with an SDK interceptor, and recording
//! what each mutating call sent.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

/// A shared counter of API calls, installed as an interceptor on every client of an
/// [`Aws`](crate::Aws). Clones share the same counts.
#[derive(Clone, Debug, Default)]
pub struct ApiCalls {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    order: Arc<Mutex<Vec<String>>>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

/// One mutating call as the SDK serialized it: the operation and the request parameters it
/// set. Tests compare it with the plan: a field the plan shows must reach the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sent {
    /// The operation, e.g. `PutRetentionPolicy`.
    pub operation: String,
    /// The top-level parameters set: a JSON body's keys (`logGroupName`, `retentionInDays`),
    /// or a query form's keys up to their first dot (`Attributes` for
    /// `Attributes.member.1.Key`), without `Action` and `Version`. Empty for REST calls,
    /// whose parameters are in the path.
    pub parameters: BTreeSet<String>,
}

impl Sent {
    /// What a serialized request body of `operation` sets.
    pub fn from_body(operation: &str, content_type: &str, body: &[u8]) -> Self {
        let parameters = if content_type.starts_with("application/x-amz-json") {
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
                _ => BTreeSet::new(),
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            String::from_utf8_lossy(body)
                .split('&')
                .filter_map(|pair| pair.split('=').next())
                .map(|key| key.split('.').next().unwrap_or(key))
                .filter(|key| !key.is_empty() && *key != "Action" && *key != "Version")
                .map(str::to_owned)
                .collect()
        } else {
            BTreeSet::new()
        };
        Self {
            operation: operation.to_owned(),
            parameters,
        }
    }

    /// Whether it is a call of `operation` that set `parameter`.
    pub fn sets(&self, operation: &str, parameter: &str) -> bool {
        self.operation == operation && self.parameters.contains(parameter)
    }
}

impl fmt::Display for Sent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parameters: Vec<&str> = self.parameters.iter().map(String::as_str).collect();
        write!(f, "{} {{{}}}", self.operation, parameters.join(", "))
    }
}

impl ApiCalls {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one call of `operation` (e.g. `CreateVpc`).
    pub fn record(&self, operation: &str) {
        let mut counts = self.counts.lock().expect("API call counter poisoned");
        *counts.entry(operation.to_owned()).or_default() += 1;
        self.order
            .lock()
            .expect("API call log poisoned")
            .push(operation.to_owned());
    }

    /// Every call since the last [`reset`](ApiCalls::reset), in the order they were made.
    pub fn order(&self) -> Vec<String> {
        self.order.lock().expect("API call log poisoned").clone()
    }

    /// The mutating calls since the last [`reset`](ApiCalls::reset), in the order they were
    /// serialized, each with the parameters it set.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().expect("sent call log poisoned").clone()
    }

    /// Sets every count back to zero, so a test or benchmark can measure one step.
    pub fn reset(&self) {
        self.counts
            .lock()
            .expect("API call counter poisoned")
            .clear();
        self.order.lock().expect("API call log poisoned").clear();
        self.sent.lock().expect("sent call log poisoned").clear();
    }

    /// The counts so far.
    pub fn report(&self) -> CallReport {
        let by_operation = self
            .counts
            .lock()
            .expect("API call counter poisoned")
            .clone();
        let mutating = by_operation
            .iter()
            .filter(|(op, _)| is_mutating(op))
            .map(|(_, n)| n)
            .sum();
        let total: u64 = by_operation.values().sum();
        CallReport {
            total,
            reads: total - mutating,
            mutating,
            by_operation,
        }
    }
}

/// Whether an operation changes anything, judged by AWS's naming: reads are `Describe*`,
/// `List*` and `Get*`.
pub fn is_mutating(operation: &str) -> bool {
    const READS: [&str; 3] = ["Describe", "List", "Get"];
    !READS.iter().any(|prefix| operation.starts_with(prefix))
}

impl Intercept for ApiCalls {
    fn name(&self) -> &'static str {
        "ApiCalls"
    }

    // Once per operation, not per attempt: the SDK's own retries of a throttled call are not
    // calls the module chose to make. Not `read_before_execution`: a client interceptor runs
    // that before the operation's name is in the config bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            self.record(metadata.name());
        }
        Ok(())
    }

    // Serialized once per operation too; only mutating calls, so reads cost no parsing.
    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        if !is_mutating(metadata.name()) {
            return Ok(());
        }
        let request = context.request();
        let content_type = request.headers().get("content-type").unwrap_or_default();
        let body = request.body().bytes().unwrap_or_default();
        let sent = Sent::from_body(metadata.name(), content_type, body);
        self.sent.lock().expect("sent call log poisoned").push(sent);
        Ok(())
    }
}

/// A snapshot of [`ApiCalls`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallReport {
    /// All calls.
    pub total: u64,
    /// Calls that only read.
    pub reads: u64,
    /// Calls that create, change or delete.
    pub mutating: u64,
    /// Calls per operation name.
    pub by_operation: BTreeMap<String, u64>,
}

impl CallReport {
    /// The mutating operations and their counts, for assertions that name what was called.
    pub fn mutations(&self) -> BTreeMap<&str, u64> {
        self.by_operation
            .iter()
            .filter(|(op, _)| is_mutating(op))
            .map(|(op, n)| (op.as_str(), *n))
            .collect()
    }
}

impl fmt::Display for CallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} API calls ({} mutating, {} reads)",
            self.total, self.mutating, self.reads
        )?;
        if f.alternate() {
            for (op, n) in &self.by_operation {
                write!(f, "\n  {op:<40} {n}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_reads_and_mutations() {
        let calls = ApiCalls::new();
        for op in [
            "DescribeVpcs",
            "DescribeVpcs",
            "CreateVpc",
            "ListHostedZonesByName",
        ] {
            calls.record(op);
        }
        let report = calls.report();
        assert_eq!((report.total, report.reads, report.mutating), (4, 3, 1));
        assert_eq!(report.mutations(), BTreeMap::from([("CreateVpc", 1)]));
        assert_eq!(report.to_string(), "4 API calls (1 mutating, 3 reads)");
        calls.reset();
        assert_eq!(calls.report().total, 0);
    }

    #[test]
    fn sent_parameters_are_top_level_keys() {
        let json = Sent::from_body(
            "PutRetentionPolicy",
            "application/x-amz-json-1.1",
            br#"{"logGroupName":"/ecs/blog","retentionInDays":7}"#,
        );
        assert_eq!(
            json.to_string(),
            "PutRetentionPolicy {logGroupName, retentionInDays}"
        );
        let form = Sent::from_body(
            "ModifyLoadBalancerAttributes",
            "application/x-www-form-urlencoded",
            b"Action=ModifyLoadBalancerAttributes&Version=2015-12-01&LoadBalancerArn=arn&\
              Attributes.member.1.Key=idle_timeout.timeout_seconds&Attributes.member.1.Value=120",
        );
        assert!(form.sets("ModifyLoadBalancerAttributes", "Attributes"));
        assert_eq!(
            form.parameters,
            BTreeSet::from(["Attributes".to_owned(), "LoadBalancerArn".to_owned()])
        );
        let rest = Sent::from_body("DeleteHostedZone", "", b"");
        assert!(rest.parameters.is_empty());
    }
}
