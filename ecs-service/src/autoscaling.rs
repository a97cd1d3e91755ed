//! Service autoscaling's inputs: Application Auto Scaling's scalable target for the service's
//! task count, its target tracking policies and its scheduled actions (Terraform's
//! `aws_appautoscaling_target`, `aws_appautoscaling_policy` and
//! `aws_appautoscaling_scheduled_action`).

use converge::Invalid;
use serde::{Deserialize, Serialize};

/// What a target tracking policy follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScalingMetric {
    /// The service's average CPU utilization, percent.
    Cpu,
    /// The service's average memory utilization, percent.
    Memory,
    /// Requests per target on the service's load balancer target group.
    RequestsPerTarget,
}

impl ScalingMetric {
    /// Application Auto Scaling's predefined metric type.
    pub(crate) fn metric_type(self) -> &'static str {
        match self {
            Self::Cpu => "ECSServiceAverageCPUUtilization",
            Self::Memory => "ECSServiceAverageMemoryUtilization",
            Self::RequestsPerTarget => "ALBRequestCountPerTarget",
        }
    }

    /// The policy name's suffix: one policy per metric.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::RequestsPerTarget => "requests",
        }
    }

    fn is_percent(self) -> bool {
        matches!(self, Self::Cpu | Self::Memory)
    }
}

/// A target tracking policy: Application Auto Scaling adds and removes tasks to keep `metric`
/// at `target`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetTracking {
    /// What to follow.
    pub metric: ScalingMetric,
    /// The value to keep it at: 1 to 100 for CPU and memory (percent), above 0 for requests
    /// per target.
    pub target: f64,
    /// Seconds after a scale-in before another (default 300).
    pub scale_in_cooldown: i32,
    /// Seconds after a scale-out before another (default 300).
    pub scale_out_cooldown: i32,
    /// Whether the policy only ever adds tasks (default `false`).
    pub disable_scale_in: bool,
}

impl TargetTracking {
    /// Follows `metric` at `target`, with Application Auto Scaling's default cooldowns.
    pub fn new(metric: ScalingMetric, target: f64) -> Self {
        Self {
            metric,
            target,
            scale_in_cooldown: 300,
            scale_out_cooldown: 300,
            disable_scale_in: false,
        }
    }
}

/// A scheduled change of the task count's bounds (e.g. fewer tasks at night).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledScaling {
    /// The action's name, unique to the service: letters, digits, hyphens and underscores
    /// (the action is called `<environment>-<service_name>-<name>`).
    pub name: String,
    /// `at(yyyy-mm-ddThh:mm:ss)`, `rate(value unit)` or `cron(fields)`.
    pub schedule: String,
    /// The time zone of `at` and `cron` schedules, e.g. `Europe/Amsterdam` (default UTC).
    pub timezone: Option<String>,
    /// The new minimum task count.
    pub min_capacity: Option<i32>,
    /// The new maximum task count.
    pub max_capacity: Option<i32>,
}

/// Service autoscaling: the task count between `min_capacity` and `max_capacity`, moved by
/// the target tracking policies and the scheduled actions.
///
/// With autoscaling on, the service's `desired_count` is its task count at create only: apply
/// leaves the running count to the autoscaler, and plan shows no drift for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Autoscaling {
    /// The fewest tasks.
    pub min_capacity: i32,
    /// The most tasks.
    pub max_capacity: i32,
    /// Target tracking policies, at most one per metric.
    pub target_tracking: Vec<TargetTracking>,
    /// Scheduled actions.
    pub scheduled: Vec<ScheduledScaling>,
}

impl Autoscaling {
    /// Between `min_capacity` and `max_capacity` tasks, with no policy yet.
    pub fn new(min_capacity: i32, max_capacity: i32) -> Self {
        Self {
            min_capacity,
            max_capacity,
            target_tracking: Vec::new(),
            scheduled: Vec::new(),
        }
    }

    /// Adds a target tracking policy.
    pub fn target_tracking(mut self, policy: TargetTracking) -> Self {
        self.target_tracking.push(policy);
        self
    }

    /// Adds a scheduled action.
    pub fn scheduled(mut self, action: ScheduledScaling) -> Self {
        self.scheduled.push(action);
        self
    }

    /// Every rule Application Auto Scaling has for these inputs, reported on
    /// `autoscaling.<field>`; `has_load_balancer` says whether requests per target exist.
    pub(crate) fn check(&self, invalid: &mut Invalid, has_load_balancer: bool) {
        invalid.check(
            self.min_capacity >= 0,
            "autoscaling.min_capacity",
            format_args!("{} must not be negative", self.min_capacity),
        );
        invalid.check(
            self.min_capacity <= self.max_capacity,
            "autoscaling.min_capacity",
            format_args!(
                "{} must not exceed max_capacity ({})",
                self.min_capacity, self.max_capacity
            ),
        );
        let mut seen = Vec::new();
        for (i, p) in self.target_tracking.iter().enumerate() {
            let field = |f: &str| format!("autoscaling.target_tracking[{i}].{f}");
            if p.metric.is_percent() {
                invalid.check(
                    (1.0..=100.0).contains(&p.target),
                    field("target"),
                    format_args!("{} must be 1 to 100 (percent)", p.target),
                );
            } else {
                invalid.check(
                    p.target > 0.0 && p.target.is_finite(),
                    field("target"),
                    format_args!("{} must be above 0 (requests per target)", p.target),
                );
                invalid.check(
                    has_load_balancer,
                    field("metric"),
                    "requests per target need the service's load balancer",
                );
            }
            for (name, value) in [
                ("scale_in_cooldown", p.scale_in_cooldown),
                ("scale_out_cooldown", p.scale_out_cooldown),
            ] {
                invalid.check(
                    value >= 0,
                    field(name),
                    format_args!("{value} must not be negative (seconds)"),
                );
            }
            invalid.check(
                !seen.contains(&p.metric),
                field("metric"),
                format_args!("{:?} has a policy already: one policy per metric", p.metric),
            );
            seen.push(p.metric);
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, a) in self.scheduled.iter().enumerate() {
            let field = |f: &str| format!("autoscaling.scheduled[{i}].{f}");
            invalid.check(
                !a.name.is_empty()
                    && a.name.len() <= 64
                    && a.name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                field("name"),
                format_args!(
                    "{:?} must be 1 to 64 letters, digits, hyphens and underscores",
                    a.name
                ),
            );
            invalid.check(
                !names.contains(&a.name.as_str()),
                field("name"),
                format_args!("{:?} is used twice", a.name),
            );
            names.push(&a.name);
            let expression = ["at(", "rate(", "cron("]
                .iter()
                .any(|p| a.schedule.starts_with(p))
                && a.schedule.ends_with(')');
            invalid.check(
                expression,
                field("schedule"),
                format_args!("{:?} must be at(...), rate(...) or cron(...)", a.schedule),
            );
            invalid.check(
                a.min_capacity.is_some() || a.max_capacity.is_some(),
                field("min_capacity"),
                "give min_capacity, max_capacity or both",
            );
            for (name, value) in [
                ("min_capacity", a.min_capacity),
                ("max_capacity", a.max_capacity),
            ] {
                if let Some(v) = value {
                    invalid.check(
                        v >= 0,
                        field(name),
                        format_args!("{v} must not be negative"),
                    );
                }
            }
            if let (Some(min), Some(max)) = (a.min_capacity, a.max_capacity) {
                invalid.check(
                    min <= max,
                    field("min_capacity"),
                    format_args!("{min} must not exceed max_capacity ({max})"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_its_field() {
        let bad = Autoscaling::new(3, 2)
            .target_tracking(TargetTracking::new(ScalingMetric::Cpu, 0.0))
            .target_tracking(TargetTracking::new(ScalingMetric::Cpu, 101.0))
            .target_tracking(TargetTracking::new(ScalingMetric::RequestsPerTarget, 100.0))
            .scheduled(ScheduledScaling {
                name: "night shift".into(),
                schedule: "every night".into(),
                timezone: None,
                min_capacity: None,
                max_capacity: None,
            });
        let mut invalid = Invalid::new();
        bad.check(&mut invalid, false);
        let fields: Vec<&str> = invalid.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "autoscaling.min_capacity",
                "autoscaling.target_tracking[0].target",
                "autoscaling.target_tracking[1].target",
                "autoscaling.target_tracking[1].metric",
                "autoscaling.target_tracking[2].metric",
                "autoscaling.scheduled[0].name",
                "autoscaling.scheduled[0].schedule",
                "autoscaling.scheduled[0].min_capacity",
            ]
        );
        let fine = Autoscaling::new(1, 4)
            .target_tracking(TargetTracking::new(ScalingMetric::Memory, 75.0))
            .target_tracking(TargetTracking::new(ScalingMetric::RequestsPerTarget, 500.0))
            .scheduled(ScheduledScaling {
                name: "night".into(),
                schedule: "cron(0 20 * * ? *)".into(),
                timezone: Some("Europe/Amsterdam".into()),
                min_capacity: Some(0),
                max_capacity: Some(1),
            });
        let mut none = Invalid::new();
        fine.check(&mut none, true);
        assert!(none.problems.is_empty(), "{none:?}");
    }
}
