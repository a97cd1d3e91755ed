//! A service's deployment alarms: CloudWatch alarms an ECS deployment watches, rolling back
//! when one of them goes into `ALARM`. Alarms the user has already, named; and alarms the
//! module makes on request ([`MetricAlarmKind`]), with their thresholds as inputs: the target
//! group's 5XX rate, its unhealthy hosts, the service's CPU and memory.

use converge::{Invalid, Ref, Stack, Tags, Value};
use serde::{Deserialize, Serialize};

use crate::alarms::{
    AlarmMetric, AlarmSource, ComparisonOperator, MetricAlarmKind, MetricAlarmSpec, MetricMath,
    TreatMissingData,
};
use crate::scaling_policies::{load_balancer_dimension, target_group_dimension};

/// CloudWatch's longest alarm name.
pub const MAX_ALARM_NAME: usize = 255;

/// What the names of the alarms the module makes end with, after `<prefix>-`.
pub const ALARM_SUFFIXES: [&str; 4] = ["5xx-rate", "unhealthy-hosts", "cpu", "memory"];

/// Seconds of each period the module's alarms sum up.
const PERIOD: i32 = 60;
/// The periods each looks at.
const EVALUATION_PERIODS: i32 = 3;

/// The alarms a service's deployments watch (`deploymentConfiguration.alarms`): a deployment
/// during which one of them goes into `ALARM` fails, and is rolled back unless
/// [`rollback`](Self::rollback) says otherwise.
///
/// ```
/// use ecs_service::DeploymentAlarms;
///
/// let alarms = DeploymentAlarms::new()
///     .existing(["blog-latency"])
///     .target_5xx_rate(5.0) // over 5% of the requests answered 5XX by the tasks
///     .unhealthy_hosts(1)
///     .cpu(90.0);
/// assert_eq!(
///     alarms.names("blog-web"),
///     ["blog-latency", "blog-web-5xx-rate", "blog-web-unhealthy-hosts", "blog-web-cpu"]
/// );
/// ```
///
/// The module's alarms look at one-minute periods, three at a time: the 5XX rate
/// (`100 * HTTPCode_Target_5XX_Count / RequestCount` on the service's target group, above the
/// percent) and the unhealthy hosts (`UnHealthyHostCount`'s maximum, at or above the count)
/// alarm when two of the three breach; CPU and memory (`AWS/ECS` `CPUUtilization` and
/// `MemoryUtilization`, averaged, above the percent) when all three do. A period without data
/// (no traffic, no tasks yet) is not a breach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentAlarms {
    /// Alarms the user has already, by name (in the service's account and region).
    pub existing: Vec<String>,
    /// The target group's 5XX rate, percent of its requests, above which `<prefix>-5xx-rate`
    /// alarms (needs a load balancer or a listener rule).
    pub target_5xx_rate: Option<f64>,
    /// Unhealthy targets in the target group at or above which `<prefix>-unhealthy-hosts`
    /// alarms (needs a load balancer or a listener rule).
    pub unhealthy_hosts: Option<u32>,
    /// The service's average CPU utilization, percent, above which `<prefix>-cpu` alarms.
    pub cpu: Option<f64>,
    /// The service's average memory utilization, percent, above which `<prefix>-memory`
    /// alarms.
    pub memory: Option<f64>,
    /// Whether a deployment that sets one off is rolled back (default `true`).
    pub rollback: bool,
}

impl Default for DeploymentAlarms {
    fn default() -> Self {
        Self {
            existing: Vec::new(),
            target_5xx_rate: None,
            unhealthy_hosts: None,
            cpu: None,
            memory: None,
            rollback: true,
        }
    }
}

/// The service the alarms watch, and what their names start with.
#[derive(Clone, Debug)]
pub struct AlarmTarget {
    /// The ECS service's name (the `ServiceName` dimension).
    pub service_name: String,
    /// The ECS cluster's name (the `ClusterName` dimension); an ARN is cut to its name.
    pub cluster_name: String,
    /// What the alarms' names start with (default: the service's name): `<prefix>-cpu`.
    pub name_prefix: String,
    /// The ARN of the service's target group, for the 5XX rate and the unhealthy hosts.
    pub target_group_arn: Option<Ref<String>>,
    /// The ARN of the load balancer in front of it.
    pub load_balancer_arn: Option<Ref<String>>,
}

impl AlarmTarget {
    /// The service `service_name` in `cluster_name`, without a load balancer; the alarms'
    /// names start with the service's name.
    pub fn new(service_name: impl Into<String>, cluster_name: impl Into<String>) -> Self {
        let service_name = service_name.into();
        let cluster_name: String = cluster_name.into();
        Self {
            name_prefix: service_name.clone(),
            service_name,
            cluster_name: cluster_name
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            target_group_arn: None,
            load_balancer_arn: None,
        }
    }

    /// The alarms' names start with `prefix` (`<environment>-<service_name>`).
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = prefix.into();
        self
    }

    /// The target group the service is registered in and its load balancer, by ARN: outputs
    /// of resources declared in the same stack, or known (`Ref::known`).
    pub fn load_balancer(
        mut self,
        target_group_arn: Ref<String>,
        load_balancer_arn: Ref<String>,
    ) -> Self {
        self.target_group_arn = Some(target_group_arn);
        self.load_balancer_arn = Some(load_balancer_arn);
        self
    }
}

impl DeploymentAlarms {
    /// No alarm yet; deployments that set one off are rolled back.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also watches these alarms the user has already.
    pub fn existing<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.existing.extend(names.into_iter().map(Into::into));
        self
    }

    /// Makes `<prefix>-5xx-rate`: above `percent` of the target group's requests answered
    /// 5XX by the tasks.
    pub fn target_5xx_rate(mut self, percent: f64) -> Self {
        self.target_5xx_rate = Some(percent);
        self
    }

    /// Makes `<prefix>-unhealthy-hosts`: `count` or more unhealthy targets.
    pub fn unhealthy_hosts(mut self, count: u32) -> Self {
        self.unhealthy_hosts = Some(count);
        self
    }

    /// Makes `<prefix>-cpu`: the service's CPU utilization above `percent`.
    pub fn cpu(mut self, percent: f64) -> Self {
        self.cpu = Some(percent);
        self
    }

    /// Makes `<prefix>-memory`: the service's memory utilization above `percent`.
    pub fn memory(mut self, percent: f64) -> Self {
        self.memory = Some(percent);
        self
    }

    /// Whether a deployment that sets one off is rolled back.
    pub fn rollback(mut self, rollback: bool) -> Self {
        self.rollback = rollback;
        self
    }

    /// The alarms the module makes, by name suffix, with what each watches.
    fn made(&self) -> [(&'static str, bool); 4] {
        [
            (ALARM_SUFFIXES[0], self.target_5xx_rate.is_some()),
            (ALARM_SUFFIXES[1], self.unhealthy_hosts.is_some()),
            (ALARM_SUFFIXES[2], self.cpu.is_some()),
            (ALARM_SUFFIXES[3], self.memory.is_some()),
        ]
    }

    /// Every alarm a deployment watches, by name: the existing ones, then the module's
    /// (`<prefix>-5xx-rate`, `-unhealthy-hosts`, `-cpu`, `-memory`, those asked for).
    pub fn names(&self, prefix: &str) -> Vec<String> {
        let made = (self.made().into_iter())
            .filter(|(_, on)| *on)
            .map(|(suffix, _)| format!("{prefix}-{suffix}"));
        self.existing.iter().cloned().chain(made).collect()
    }

    /// Every rule the inputs must keep, reported on `deployment_alarms.<field>`, before any
    /// AWS call: thresholds in range, names CloudWatch takes, each alarm once, at least one.
    /// `prefix` starts the made alarms' names; `has_load_balancer` says whether the service
    /// is behind a load balancer (or a listener rule), which the target group's alarms need.
    pub fn check(&self, invalid: &mut Invalid, prefix: &str, has_load_balancer: bool) {
        const AT: &str = "deployment_alarms";
        let percents = [
            ("target_5xx_rate", self.target_5xx_rate),
            ("cpu", self.cpu),
            ("memory", self.memory),
        ];
        for (field, percent) in percents {
            if let Some(p) = percent {
                invalid.check(
                    p.is_finite() && p > 0.0 && p <= 100.0,
                    format!("{AT}.{field}"),
                    format_args!("{p} must be a percent above 0, at most 100"),
                );
            }
        }
        if let Some(count) = self.unhealthy_hosts {
            invalid.check(
                count >= 1,
                format!("{AT}.unhealthy_hosts"),
                format_args!("{count} must be at least 1 (unhealthy targets)"),
            );
        }
        for (field, on) in [
            ("target_5xx_rate", self.target_5xx_rate.is_some()),
            ("unhealthy_hosts", self.unhealthy_hosts.is_some()),
        ] {
            invalid.check(
                !on || has_load_balancer,
                format!("{AT}.{field}"),
                "watches the service's target group: give a load balancer or a listener rule",
            );
        }
        let names = self.names(prefix);
        invalid.check(
            !names.is_empty(),
            AT,
            "names no alarm: give existing alarms or ask for one (target_5xx_rate, unhealthy_hosts, cpu, memory)",
        );
        let made_from = self.existing.len();
        for (i, name) in names.iter().enumerate() {
            let field = match i.checked_sub(made_from) {
                None => format!("{AT}.existing[{i}]"),
                Some(_) => AT.to_owned(),
            };
            let len = name.chars().count();
            invalid.check(
                (1..=MAX_ALARM_NAME).contains(&len) && !name.chars().any(char::is_control),
                &field,
                format_args!(
                    "{:?} is {len} characters: an alarm name is 1 to {MAX_ALARM_NAME}, without control characters (CloudWatch's rule)",
                    name.chars().take(40).collect::<String>()
                ),
            );
            invalid.check(
                !names[..i].contains(name),
                &field,
                format_args!("{name:?} is named twice"),
            );
        }
    }

    /// The alarms asked for, declared into `stack` with `tags`, each once what its
    /// dimensions read exists; the others of the module's names tracked, so that one made
    /// before and no longer asked for is deleted. Returns every alarm's name
    /// ([`names`](Self::names)), known once the module's alarms exist: what the service's
    /// `deploymentConfiguration.alarms` lists, and waits for.
    ///
    /// The target group's alarms are declared only with its ARN and the load balancer's
    /// ([`AlarmTarget::load_balancer`]); [`check`](Self::check) refuses them without.
    pub fn declare(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        target: &AlarmTarget,
    ) -> Ref<Vec<String>> {
        let mut names: Vec<Ref<String>> = (self.existing.iter())
            .map(|name| Ref::known(name.clone()))
            .collect();
        let front = target
            .target_group_arn
            .clone()
            .zip(target.load_balancer_arn.clone());
        for (suffix, on) in self.made() {
            let name = format!("{}-{suffix}", target.name_prefix);
            let wanted = on && (front.is_some() || !is_target_group_alarm(suffix));
            if !wanted {
                stack.track(MetricAlarmKind, name, tags.clone(), (), |_| {});
                continue;
            }
            let template = self.spec(suffix, target, tags);
            let front = front.clone();
            let alarm = stack.add(MetricAlarmKind, name, tags.clone(), (), move |r| {
                let mut spec = template.clone();
                if let Some((tg, lb)) = &front {
                    let tg = r.value(tg).map(|a| target_group_dimension(&a).to_owned());
                    let lb = r.value(lb).map(|a| load_balancer_dimension(&a).to_owned());
                    set_front(&mut spec.source, &tg, &lb);
                }
                spec
            });
            names.push(alarm.output(|o| o.alarm_name.clone()));
        }
        Ref::all(names)
    }

    /// Tracks every alarm name the module makes for `prefix`: for a service without
    /// deployment alarms, so that those an earlier apply made are deleted.
    pub fn track(stack: &mut Stack, tags: &Tags, prefix: &str) {
        for suffix in ALARM_SUFFIXES {
            let name = format!("{prefix}-{suffix}");
            stack.track(MetricAlarmKind, name, tags.clone(), (), |_| {});
        }
    }

    /// The alarm `suffix` asks for, its target group dimensions still unknown.
    fn spec(&self, suffix: &str, target: &AlarmTarget, tags: &Tags) -> MetricAlarmSpec {
        let service = &target.service_name;
        let ecs = |metric: &str| AlarmMetric {
            namespace: "AWS/ECS".to_owned(),
            metric_name: metric.to_owned(),
            dimensions: vec![
                (
                    "ClusterName".to_owned(),
                    Value::Known(target.cluster_name.clone()),
                ),
                ("ServiceName".to_owned(), Value::Known(service.clone())),
            ],
            statistic: "Average".to_owned(),
            period: PERIOD,
        };
        let elb = |metric: &str, statistic: &str| AlarmMetric {
            namespace: "AWS/ApplicationELB".to_owned(),
            metric_name: metric.to_owned(),
            dimensions: vec![
                ("TargetGroup".to_owned(), Value::AfterApply),
                ("LoadBalancer".to_owned(), Value::AfterApply),
            ],
            statistic: statistic.to_owned(),
            period: PERIOD,
        };
        let (description, source, threshold, comparison, points) = match suffix {
            "5xx-rate" => (
                "5XX answers of the tasks, percent of the target group's requests",
                AlarmSource::Math(MetricMath {
                    id: "e1".to_owned(),
                    // A minute without 5XX answers has no count: zero, not missing.
                    expression: "100*FILL(m1,0)/m2".to_owned(),
                    label: Some("Target 5XX rate (%)".to_owned()),
                    metrics: vec![
                        ("m1".to_owned(), elb("HTTPCode_Target_5XX_Count", "Sum")),
                        ("m2".to_owned(), elb("RequestCount", "Sum")),
                    ],
                }),
                self.target_5xx_rate.unwrap_or_default(),
                ComparisonOperator::GreaterThanThreshold,
                2,
            ),
            "unhealthy-hosts" => (
                "unhealthy targets in the target group",
                AlarmSource::Metric(elb("UnHealthyHostCount", "Maximum")),
                f64::from(self.unhealthy_hosts.unwrap_or_default()),
                ComparisonOperator::GreaterThanOrEqualToThreshold,
                2,
            ),
            "cpu" => (
                "the service's average CPU utilization, percent",
                AlarmSource::Metric(ecs("CPUUtilization")),
                self.cpu.unwrap_or_default(),
                ComparisonOperator::GreaterThanThreshold,
                EVALUATION_PERIODS,
            ),
            _ => (
                "the service's average memory utilization, percent",
                AlarmSource::Metric(ecs("MemoryUtilization")),
                self.memory.unwrap_or_default(),
                ComparisonOperator::GreaterThanThreshold,
                EVALUATION_PERIODS,
            ),
        };
        MetricAlarmSpec {
            description: Some(format!(
                "Deployment alarm of ECS service {service}: {description}"
            )),
            source,
            evaluation_periods: EVALUATION_PERIODS,
            datapoints_to_alarm: Some(points),
            threshold,
            comparison_operator: comparison,
            treat_missing_data: TreatMissingData::NotBreaching,
            tags: tags.extra().clone(),
        }
    }
}

/// Whether the alarm `suffix` watches the target group.
fn is_target_group_alarm(suffix: &str) -> bool {
    suffix == ALARM_SUFFIXES[0] || suffix == ALARM_SUFFIXES[1]
}

/// Fills the target group and load balancer dimensions of every metric of `source`.
fn set_front(source: &mut AlarmSource, tg: &Value<String>, lb: &Value<String>) {
    let metrics: Vec<&mut AlarmMetric> = match source {
        AlarmSource::Metric(m) => vec![m],
        AlarmSource::Math(math) => math.metrics.iter_mut().map(|(_, m)| m).collect(),
    };
    for metric in metrics {
        for (name, value) in &mut metric.dimensions {
            match name.as_str() {
                "TargetGroup" => *value = tg.clone(),
                "LoadBalancer" => *value = lb.clone(),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(alarms: &DeploymentAlarms, has_lb: bool) -> Vec<(String, String)> {
        let mut invalid = Invalid::new();
        alarms.check(&mut invalid, "blog-web", has_lb);
        (invalid.problems.into_iter())
            .map(|p| (p.field, p.rule))
            .collect()
    }

    fn fields(alarms: &DeploymentAlarms, has_lb: bool) -> Vec<String> {
        problems(alarms, has_lb)
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    #[test]
    fn valid_inputs_have_no_problem() {
        let alarms = DeploymentAlarms::new()
            .existing(["blog-latency"])
            .target_5xx_rate(100.0)
            .unhealthy_hosts(1)
            .cpu(0.5)
            .memory(80.0);
        assert!(problems(&alarms, true).is_empty());
        assert!(alarms.rollback);
        assert!(!alarms.clone().rollback(false).rollback);
    }

    #[test]
    fn percents_are_above_0_and_at_most_100() {
        for bad in [0.0, -1.0, 100.5, f64::NAN, f64::INFINITY] {
            let alarms = DeploymentAlarms::new()
                .target_5xx_rate(bad)
                .cpu(bad)
                .memory(bad);
            assert_eq!(
                fields(&alarms, true),
                [
                    "deployment_alarms.target_5xx_rate",
                    "deployment_alarms.cpu",
                    "deployment_alarms.memory"
                ],
                "{bad}"
            );
        }
        let rule = &problems(&DeploymentAlarms::new().cpu(0.0), false)[0].1;
        assert!(rule.contains("above 0, at most 100"), "{rule}");
    }

    #[test]
    fn a_count_of_unhealthy_hosts_is_at_least_1() {
        let alarms = DeploymentAlarms::new().unhealthy_hosts(0);
        let found = problems(&alarms, true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "deployment_alarms.unhealthy_hosts");
        assert!(found[0].1.contains("at least 1"), "{}", found[0].1);
    }

    #[test]
    fn the_target_groups_alarms_need_a_load_balancer() {
        let alarms = DeploymentAlarms::new()
            .target_5xx_rate(5.0)
            .unhealthy_hosts(2);
        assert_eq!(
            fields(&alarms, false),
            [
                "deployment_alarms.target_5xx_rate",
                "deployment_alarms.unhealthy_hosts"
            ]
        );
        assert!(fields(&DeploymentAlarms::new().cpu(80.0), false).is_empty());
    }

    #[test]
    fn names_are_1_to_255_characters_each_once() {
        let long = "a".repeat(256);
        let alarms = DeploymentAlarms::new().existing(["ok", "", long.as_str(), "ok", "x\ny"]);
        let found = problems(&alarms, false);
        let at: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            at,
            [
                "deployment_alarms.existing[1]",
                "deployment_alarms.existing[2]",
                "deployment_alarms.existing[3]",
                "deployment_alarms.existing[4]"
            ]
        );
        assert!(found[1].1.contains("1 to 255"), "{}", found[1].1);
        assert!(found[2].1.contains("named twice"), "{}", found[2].1);
        // A made alarm's name counts too: a long prefix, or an existing alarm of its name.
        let mut invalid = Invalid::new();
        DeploymentAlarms::new()
            .cpu(80.0)
            .check(&mut invalid, &"p".repeat(252), false);
        assert_eq!(invalid.problems[0].field, "deployment_alarms");
        let twice = DeploymentAlarms::new().existing(["blog-web-cpu"]).cpu(80.0);
        assert!(problems(&twice, false)[0].1.contains("named twice"));
    }

    #[test]
    fn at_least_one_alarm_is_named() {
        let found = problems(&DeploymentAlarms::new(), true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "deployment_alarms");
        assert!(found[0].1.contains("names no alarm"), "{}", found[0].1);
    }

    #[test]
    fn the_target_groups_dimensions_come_from_its_arns() {
        let lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blog/1";
        let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blog-web/2";
        let target = AlarmTarget::new("web", "arn:aws:ecs:us-east-1:123456789012:cluster/blog")
            .name_prefix("blog-web")
            .load_balancer(Ref::known(tg.to_owned()), Ref::known(lb.to_owned()));
        assert_eq!(target.cluster_name, "blog");
        let alarms = DeploymentAlarms::new()
            .existing(["mine"])
            .target_5xx_rate(5.0)
            .cpu(80.0);
        let mut stack = Stack::new();
        alarms.declare(&mut stack, &Tags::new("ecs-service", "blog"), &target);
        let declared: Vec<(&str, &str)> = stack.resources().collect();
        assert_eq!(
            declared,
            [
                ("aws_cloudwatch_metric_alarm", "blog-web-5xx-rate"),
                ("aws_cloudwatch_metric_alarm", "blog-web-unhealthy-hosts"),
                ("aws_cloudwatch_metric_alarm", "blog-web-cpu"),
                ("aws_cloudwatch_metric_alarm", "blog-web-memory"),
            ]
        );
        assert!(stack.kinds_without_permissions().is_empty());
        let rate = alarms.spec("5xx-rate", &target, &Tags::new("ecs-service", "blog"));
        let mut source = rate.source.clone();
        set_front(
            &mut source,
            &Value::Known(target_group_dimension(tg).to_owned()),
            &Value::Known(load_balancer_dimension(lb).to_owned()),
        );
        let AlarmSource::Math(math) = source else {
            panic!("the 5XX rate is math")
        };
        for (_, m) in &math.metrics {
            assert_eq!(
                m.dimensions,
                [
                    (
                        "TargetGroup".to_owned(),
                        Value::Known("targetgroup/blog-web/2".to_owned())
                    ),
                    (
                        "LoadBalancer".to_owned(),
                        Value::Known("app/blog/1".to_owned())
                    )
                ]
            );
        }
    }
}
