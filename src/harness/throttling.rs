//! AWS's API rate limits, which the emulator does not have: each account and region has a
//! token bucket per API family; a call takes a token, a bucket refills at a fixed rate up to
//! its size, and a call that finds it empty is refused with the protocol's throttling error
//! (ECS's and the other JSON services' `ThrottlingException`, EC2's `RequestLimitExceeded`,
//! `Throttling` from the query and REST services).
//!
//! The sizes and rates are AWS's where it documents them (EC2, the example on ECS's page,
//! Route 53, SSM, CloudWatch Logs, CloudWatch's alarm calls) and typical values where it does not publish them
//! (ELB, IAM, the Auto Scaling services); a family groups the operations that share a
//! bucket on AWS, or a service's reads and writes where AWS's grouping is finer than the
//! calls the modules make.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use super::wire::{form_body, operation, rpc_v2_operation};

/// A bucket's size (the burst) and refill rate (the sustained calls per second).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Tokens a full bucket holds: calls allowed at once.
    pub bucket: f64,
    /// Tokens added per second.
    pub refill: f64,
}

/// The rate of every API family the modules call.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    families: BTreeMap<&'static str, Rate>,
}

impl Rates {
    /// AWS's rates, per account and region.
    pub fn aws() -> Self {
        let families = [
            // EC2's documented request token buckets.
            (EC2_READS, 100.0, 20.0),
            (EC2_WRITES, 200.0, 5.0),
            // ECS: cluster reads are the documented example (50, refilled at 20 a second);
            // the other families are typical of its page.
            (ECS_CLUSTER_READS, 50.0, 20.0),
            (ECS_READS, 100.0, 20.0),
            (ECS_SERVICE_WRITES, 50.0, 5.0),
            (ECS_WRITES, 20.0, 2.0),
            // ELB does not publish its rates: typical values.
            (ELB_READS, 40.0, 20.0),
            (ELB_WRITES, 20.0, 10.0),
            // IAM, typical: about 15 calls a second.
            (IAM, 20.0, 15.0),
            // CloudWatch Logs' documented quotas: 5 calls a second for its group calls.
            (LOGS_READS, 5.0, 5.0),
            (LOGS_WRITES, 5.0, 5.0),
            // Typical.
            (APP_AUTOSCALING, 20.0, 10.0),
            (AUTOSCALING, 20.0, 10.0),
            // Documented: GetParameter's standard throughput, 40 a second.
            (SSM, 40.0, 40.0),
            // Documented: five requests a second per account.
            (ROUTE53, 5.0, 5.0),
            // Documented: DescribeAlarms 9 a second; PutMetricAlarm and DeleteAlarms 3.
            (CLOUDWATCH_READS, 9.0, 9.0),
            (CLOUDWATCH_WRITES, 3.0, 3.0),
        ];
        Self {
            families: families
                .into_iter()
                .map(|(family, bucket, refill)| (family, Rate { bucket, refill }))
                .collect(),
        }
    }

    /// These rates with every refill `factor` times as fast and the buckets as they are, for
    /// tests that cannot wait AWS's minutes: the same bursts are refused, and the calls after
    /// them wait `factor` times less.
    pub fn scaled(mut self, factor: f64) -> Self {
        for rate in self.families.values_mut() {
            rate.refill *= factor;
        }
        self
    }

    /// These rates with `family`'s (one of [`families`](Self::families)) replaced.
    pub fn with(mut self, family: &'static str, rate: Rate) -> Self {
        self.families.insert(family, rate);
        self
    }

    /// The families and their rates.
    pub fn families(&self) -> &BTreeMap<&'static str, Rate> {
        &self.families
    }
}

const EC2_READS: &str = "EC2 reads";
const EC2_WRITES: &str = "EC2 writes";
const ECS_CLUSTER_READS: &str = "ECS cluster reads";
const ECS_READS: &str = "ECS reads";
const ECS_SERVICE_WRITES: &str = "ECS service writes";
const ECS_WRITES: &str = "ECS writes";
const ELB_READS: &str = "ELB reads";
const ELB_WRITES: &str = "ELB writes";
const IAM: &str = "IAM";
const LOGS_READS: &str = "Logs reads";
const LOGS_WRITES: &str = "Logs writes";
const APP_AUTOSCALING: &str = "Application Auto Scaling";
const AUTOSCALING: &str = "Auto Scaling";
const SSM: &str = "SSM";
const ROUTE53: &str = "Route 53";
const CLOUDWATCH_READS: &str = "CloudWatch reads";
const CLOUDWATCH_WRITES: &str = "CloudWatch writes";

/// What a family's bucket holds now and what it has seen.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// Calls that took a token.
    calls: usize,
    /// Calls refused.
    throttled: usize,
}

/// The buckets of the modelled account.
#[derive(Debug)]
pub(super) struct Buckets {
    rates: Rates,
    buckets: BTreeMap<&'static str, Bucket>,
}

/// What one family met in a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    /// The family (`"ECS service writes"`, `"ELB writes"`, ...).
    pub family: &'static str,
    /// Its rate.
    pub rate: Rate,
    /// Calls it let through.
    pub calls: usize,
    /// Calls it refused.
    pub throttled: usize,
}

impl Load {
    /// The least time these calls take under the bucket: those beyond a full bucket come at
    /// its refill rate.
    pub fn bound(&self) -> Duration {
        let beyond = (self.calls as f64 - self.rate.bucket).max(0.0);
        Duration::from_secs_f64(beyond / self.rate.refill.max(f64::MIN_POSITIVE))
    }
}

impl Buckets {
    pub(super) fn new(rates: Rates) -> Self {
        Self {
            rates,
            buckets: BTreeMap::new(),
        }
    }

    /// Takes a token for a call of `family`; false when its bucket is empty.
    pub(super) fn admit(&mut self, family: &'static str, now: Instant) -> bool {
        let Some(rate) = self.rates.families.get(family).copied() else {
            return true;
        };
        let bucket = self.buckets.entry(family).or_insert(Bucket {
            tokens: rate.bucket,
            at: now,
            calls: 0,
            throttled: 0,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate.refill).min(rate.bucket);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.calls += 1;
            true
        } else {
            bucket.throttled += 1;
            false
        }
    }

    /// What each family met so far.
    pub(super) fn loads(&self) -> Vec<Load> {
        self.buckets
            .iter()
            .map(|(family, b)| Load {
                family,
                rate: self.rates.families[family],
                calls: b.calls,
                throttled: b.throttled,
            })
            .collect()
    }

    /// Forgets the counts (the buckets keep their tokens).
    pub(super) fn reset_counts(&mut self) {
        for b in self.buckets.values_mut() {
            b.calls = 0;
            b.throttled = 0;
        }
    }
}

/// The API family a request belongs to: its service from the JSON target prefix, the query
/// API version, CloudWatch's RPC v2 path or Route 53's REST path, then reads (`Describe`,
/// `List`, `Get`) or writes.
pub(super) fn family(request: &HttpRequest) -> Option<&'static str> {
    if request.uri().contains("/2013-04-01/") {
        return Some(ROUTE53);
    }
    let op = operation(request)?;
    let read = ["Describe", "List", "Get"]
        .iter()
        .any(|p| op.starts_with(p));
    let target = request.headers().get("x-amz-target").unwrap_or_default();
    if target.starts_with("AmazonEC2ContainerServiceV20141113.") {
        return Some(match op.as_str() {
            "DescribeClusters" | "ListClusters" => ECS_CLUSTER_READS,
            "CreateService" | "UpdateService" | "DeleteService" => ECS_SERVICE_WRITES,
            _ if read => ECS_READS,
            _ => ECS_WRITES,
        });
    }
    if target.starts_with("Logs_") {
        return Some(if read { LOGS_READS } else { LOGS_WRITES });
    }
    if target.starts_with("AmazonSSM.") {
        return Some(SSM);
    }
    if target.starts_with("AnyScaleFrontendService.") {
        return Some(APP_AUTOSCALING);
    }
    if rpc_v2_operation(request).is_some_and(|(s, _)| s == "GraniteServiceVersion20100801") {
        return Some(if read {
            CLOUDWATCH_READS
        } else {
            CLOUDWATCH_WRITES
        });
    }
    let form = form_body(request);
    let version = |v: &str| form.contains(&format!("Version={v}"));
    if version("2016-11-15") {
        Some(if read { EC2_READS } else { EC2_WRITES })
    } else if version("2015-12-01") {
        Some(if read { ELB_READS } else { ELB_WRITES })
    } else if version("2010-05-08") {
        Some(IAM)
    } else if version("2011-01-01") {
        Some(AUTOSCALING)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::wire::tests::{cloudwatch, ecs, form};

    #[test]
    fn families_follow_service_and_operation() {
        assert_eq!(
            family(&ecs("CreateService", "{}")),
            Some(ECS_SERVICE_WRITES)
        );
        assert_eq!(
            family(&ecs("DescribeClusters", "{}")),
            Some(ECS_CLUSTER_READS)
        );
        assert_eq!(family(&ecs("DescribeServices", "{}")), Some(ECS_READS));
        assert_eq!(
            family(&ecs("RegisterTaskDefinition", "{}")),
            Some(ECS_WRITES)
        );
        assert_eq!(
            family(&form("Action=DescribeVpcs&Version=2016-11-15")),
            Some(EC2_READS)
        );
        assert_eq!(
            family(&form("Action=CreateVpc&Version=2016-11-15")),
            Some(EC2_WRITES)
        );
        assert_eq!(
            family(&form("Action=CreateTargetGroup&Version=2015-12-01")),
            Some(ELB_WRITES)
        );
        assert_eq!(
            family(&form("Action=GetRole&Version=2010-05-08")),
            Some(IAM)
        );
        assert_eq!(
            family(&cloudwatch("DescribeAlarms")),
            Some(CLOUDWATCH_READS)
        );
        assert_eq!(
            family(&cloudwatch("PutMetricAlarm")),
            Some(CLOUDWATCH_WRITES)
        );
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_refill() {
        let rates = Rates::aws().with(
            ELB_WRITES,
            Rate {
                bucket: 3.0,
                refill: 2.0,
            },
        );
        let mut buckets = Buckets::new(rates);
        let t0 = Instant::now();
        let admitted = (0..5).filter(|_| buckets.admit(ELB_WRITES, t0)).count();
        assert_eq!(admitted, 3);
        // Half a second refills one token.
        let t1 = t0 + Duration::from_millis(500);
        assert!(buckets.admit(ELB_WRITES, t1));
        assert!(!buckets.admit(ELB_WRITES, t1));
        let load = &buckets.loads()[0];
        assert_eq!((load.calls, load.throttled), (4, 3));
        // Four calls through a bucket of 3 refilled at 2 a second: half a second at least.
        assert_eq!(load.bound(), Duration::from_millis(500));
        // A family without a rate is never refused.
        assert!((0..1000).all(|_| buckets.admit("unmodelled", t1)));
    }

    #[test]
    fn scaling_speeds_the_refill_and_keeps_the_burst() {
        let aws = Rates::aws();
        let fast = aws.clone().scaled(10.0);
        let (a, f) = (aws.families()[ECS_WRITES], fast.families()[ECS_WRITES]);
        assert_eq!(f.bucket, a.bucket);
        assert_eq!(f.refill, a.refill * 10.0);
    }
}
