//! How ECS rolls a new revision out: rolling (the default), or one of its native traffic
//! shifting strategies, which move the load balancer's traffic from the running revision's
//! target group to an alternate one (blue/green at once, canary in two steps, linear in
//! equal steps) and roll back on the circuit breaker or an alarm.

use std::fmt;

use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentConfiguration, DeploymentStrategy as EcsStrategy,
    LinearConfiguration,
};
use converge::Invalid;

/// The longest bake time ECS takes, in minutes (a day).
pub const MAX_BAKE_MINUTES: u32 = 1440;

/// How a new revision replaces the running one ([`ServiceBuilder::deployment_strategy`]).
/// Bake times and intervals are in minutes, 0 to 1440.
///
/// Every strategy but `Rolling` needs a load balancer (the service's own or a rule on a
/// shared listener): the module then also makes an alternate target group, a production
/// listener rule forwarding to both groups, whose weights ECS moves, and the infrastructure
/// role ECS moves them with.
///
/// [`ServiceBuilder::deployment_strategy`]: crate::ServiceBuilder::deployment_strategy
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum DeploymentStrategy {
    /// Tasks of the new revision replace the old ones a batch at a time, within the
    /// deployment's percent bounds.
    #[default]
    Rolling,
    /// All traffic moves to the new revision at once; the old one is kept for `bake_time`
    /// minutes to roll back to.
    BlueGreen {
        /// Minutes both revisions are kept after the shift.
        bake_time: u32,
    },
    /// `percent` of the traffic moves first, the rest `interval` minutes later.
    Canary {
        /// The first shift's share of the traffic, 0.1 to 100 in steps of 0.1.
        percent: f64,
        /// Minutes between the first shift and the rest.
        interval: u32,
        /// Minutes both revisions are kept after the last shift.
        bake_time: u32,
    },
    /// The traffic moves `step_percent` at a time, every `interval` minutes.
    Linear {
        /// Each step's share of the traffic, 3 to 100 in steps of 0.1.
        step_percent: f64,
        /// Minutes between steps.
        interval: u32,
        /// Minutes both revisions are kept after the last step.
        bake_time: u32,
    },
}

impl DeploymentStrategy {
    /// Whether ECS shifts traffic between two target groups.
    pub fn shifts_traffic(&self) -> bool {
        !matches!(self, DeploymentStrategy::Rolling)
    }

    /// ECS's name for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeploymentStrategy::Rolling => "ROLLING",
            DeploymentStrategy::BlueGreen { .. } => "BLUE_GREEN",
            DeploymentStrategy::Canary { .. } => "CANARY",
            DeploymentStrategy::Linear { .. } => "LINEAR",
        }
    }

    /// Each rule AWS holds the strategy to, reported under `field`.
    pub(crate) fn check(&self, invalid: &mut Invalid, field: &str) {
        let (bake, interval, share) = match *self {
            DeploymentStrategy::Rolling => return,
            DeploymentStrategy::BlueGreen { bake_time } => (bake_time, None, None),
            DeploymentStrategy::Canary {
                percent,
                interval,
                bake_time,
            } => (bake_time, Some(interval), Some(("percent", percent, 0.1))),
            DeploymentStrategy::Linear {
                step_percent,
                interval,
                bake_time,
            } => (
                bake_time,
                Some(interval),
                Some(("step_percent", step_percent, 3.0)),
            ),
        };
        invalid.check(
            bake <= MAX_BAKE_MINUTES,
            format!("{field}.bake_time"),
            format_args!("{bake} minutes is out of ECS's range 0 to {MAX_BAKE_MINUTES}"),
        );
        if let Some(interval) = interval {
            invalid.check(
                interval <= MAX_BAKE_MINUTES,
                format!("{field}.interval"),
                format_args!("{interval} minutes is out of ECS's range 0 to {MAX_BAKE_MINUTES}"),
            );
        }
        if let Some((name, value, least)) = share {
            let tenths = value * 10.0;
            invalid.check(
                (least..=100.0).contains(&value) && (tenths - tenths.round()).abs() < 1e-6,
                format!("{field}.{name}"),
                format_args!("{value} must be {least} to 100 in steps of 0.1 (ECS's range)"),
            );
        }
    }

    /// Sets the strategy on ECS's deployment configuration.
    pub(crate) fn configure(
        &self,
        config: aws_sdk_ecs::types::builders::DeploymentConfigurationBuilder,
    ) -> aws_sdk_ecs::types::builders::DeploymentConfigurationBuilder {
        let config = config.strategy(EcsStrategy::from(self.as_str()));
        match *self {
            DeploymentStrategy::Rolling => config,
            DeploymentStrategy::BlueGreen { bake_time } => {
                config.bake_time_in_minutes(bake_time as i32)
            }
            DeploymentStrategy::Canary {
                percent,
                interval,
                bake_time,
            } => config
                .bake_time_in_minutes(bake_time as i32)
                .canary_configuration(
                    CanaryConfiguration::builder()
                        .canary_percent(percent)
                        .canary_bake_time_in_minutes(interval as i32)
                        .build(),
                ),
            DeploymentStrategy::Linear {
                step_percent,
                interval,
                bake_time,
            } => config
                .bake_time_in_minutes(bake_time as i32)
                .linear_configuration(
                    LinearConfiguration::builder()
                        .step_percent(step_percent)
                        .step_bake_time_in_minutes(interval as i32)
                        .build(),
                ),
        }
    }

    /// The strategy ECS describes; rolling where it describes none (its default).
    pub(crate) fn described(config: Option<&DeploymentConfiguration>) -> Self {
        let Some(config) = config else {
            return DeploymentStrategy::Rolling;
        };
        let bake_time = config.bake_time_in_minutes().unwrap_or(0).max(0) as u32;
        match config.strategy() {
            Some(EcsStrategy::BlueGreen) => DeploymentStrategy::BlueGreen { bake_time },
            Some(EcsStrategy::Canary) => {
                let c = config.canary_configuration();
                DeploymentStrategy::Canary {
                    percent: c.and_then(|c| c.canary_percent()).unwrap_or(5.0),
                    interval: c
                        .and_then(|c| c.canary_bake_time_in_minutes())
                        .unwrap_or(10)
                        .max(0) as u32,
                    bake_time,
                }
            }
            Some(EcsStrategy::Linear) => {
                let c = config.linear_configuration();
                DeploymentStrategy::Linear {
                    step_percent: c.and_then(|c| c.step_percent()).unwrap_or(10.0),
                    interval: c
                        .and_then(|c| c.step_bake_time_in_minutes())
                        .unwrap_or(6)
                        .max(0) as u32,
                    bake_time,
                }
            }
            _ => DeploymentStrategy::Rolling,
        }
    }
}

impl fmt::Display for DeploymentStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DeploymentStrategy::Rolling => f.write_str("ROLLING"),
            DeploymentStrategy::BlueGreen { bake_time } => {
                write!(f, "BLUE_GREEN (bake {bake_time} min)")
            }
            DeploymentStrategy::Canary {
                percent,
                interval,
                bake_time,
            } => write!(
                f,
                "CANARY ({percent}% then the rest after {interval} min, bake {bake_time} min)"
            ),
            DeploymentStrategy::Linear {
                step_percent,
                interval,
                bake_time,
            } => write!(
                f,
                "LINEAR ({step_percent}% every {interval} min, bake {bake_time} min)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(s: DeploymentStrategy) -> Vec<String> {
        let mut invalid = Invalid::default();
        s.check(&mut invalid, "deployment_strategy");
        invalid
            .into_result(())
            .err()
            .map(|e| e.problems.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    #[test]
    fn ranges_are_ecs_own_and_name_the_field() {
        assert!(problems(DeploymentStrategy::BlueGreen { bake_time: 1440 }).is_empty());
        assert_eq!(
            problems(DeploymentStrategy::BlueGreen { bake_time: 1441 }),
            ["deployment_strategy.bake_time: 1441 minutes is out of ECS's range 0 to 1440"]
        );
        let canary = |percent| DeploymentStrategy::Canary {
            percent,
            interval: 5,
            bake_time: 0,
        };
        assert!(problems(canary(0.1)).is_empty());
        assert!(problems(canary(100.0)).is_empty());
        for bad in [0.0, 0.05, 12.34, 100.1] {
            assert_eq!(
                problems(canary(bad)),
                [format!(
                    "deployment_strategy.percent: {bad} must be 0.1 to 100 in steps of 0.1 (ECS's range)"
                )]
            );
        }
        let linear = DeploymentStrategy::Linear {
            step_percent: 2.9,
            interval: 2000,
            bake_time: 0,
        };
        assert_eq!(
            problems(linear),
            [
                "deployment_strategy.interval: 2000 minutes is out of ECS's range 0 to 1440",
                "deployment_strategy.step_percent: 2.9 must be 3 to 100 in steps of 0.1 (ECS's range)"
            ]
        );
    }

    #[test]
    fn what_ecs_describes_reads_back_as_what_was_sent() {
        for s in [
            DeploymentStrategy::Rolling,
            DeploymentStrategy::BlueGreen { bake_time: 15 },
            DeploymentStrategy::Canary {
                percent: 10.5,
                interval: 3,
                bake_time: 20,
            },
            DeploymentStrategy::Linear {
                step_percent: 25.0,
                interval: 2,
                bake_time: 0,
            },
        ] {
            let config = s.configure(DeploymentConfiguration::builder()).build();
            assert_eq!(DeploymentStrategy::described(Some(&config)), s);
        }
        assert_eq!(
            DeploymentStrategy::described(None),
            DeploymentStrategy::Rolling
        );
    }
}
