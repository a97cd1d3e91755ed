//! ECS's draining, which the emulator skips: a deleted service stays DRAINING while its load
//! balancer's targets drain (the target group's deregistration delay, 300 s by default) and
//! its tasks stop; meanwhile its cluster cannot be deleted, nor its target group.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use serde_json::Value;

use super::wire::{ecs_error, ecs_operation, form_body, json_body, param, query_error};
use super::{Refusal, World};

/// ELB's default deregistration delay, seconds.
const DEFAULT_DELAY: u64 = 300;

/// What the model knows of services and their target groups.
#[derive(Debug, Default)]
pub(super) struct Draining {
    /// Each service's target group, by service name.
    target_group: BTreeMap<String, String>,
    /// Each target group's deregistration delay, seconds, when set.
    delay: BTreeMap<String, u64>,
    /// Draining services: name, target group, until when.
    until: Vec<(String, Option<String>, Instant)>,
}

/// Learns from a request, and refuses what a draining service blocks.
pub(super) fn before(request: &HttpRequest, world: &World) -> Option<Refusal> {
    let (scale, stop) = world.draining?;
    let mut model = world.drain.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    model.until.retain(|(_, _, until)| *until > now);
    let form = form_body(request);
    if form.contains("Action=ModifyTargetGroupAttributes&")
        && form.contains("deregistration_delay.timeout_seconds")
    {
        let tg = param(form, "TargetGroupArn")?;
        let seconds = param(form, "Attributes.member.1.Value")?.parse().ok()?;
        model.delay.insert(tg, seconds);
        return None;
    }
    if form.contains("Action=DeleteTargetGroup&") {
        let tg = param(form, "TargetGroupArn")?;
        if model
            .until
            .iter()
            .any(|(_, t, _)| t.as_deref() == Some(tg.as_str()))
        {
            return Some((
                "service draining",
                query_error(
                    "ResourceInUse",
                    "Target group is currently in use by a listener or a rule (modelled: a draining service)",
                ),
            ));
        }
        return None;
    }
    match ecs_operation(request)? {
        "CreateService" => {
            let body = json_body(request)?;
            let name = body["serviceName"].as_str()?.to_owned();
            if let Some(tg) = body["loadBalancers"][0]["targetGroupArn"].as_str() {
                model.target_group.insert(name, tg.to_owned());
            }
            None
        }
        "DeleteService" => {
            let body = json_body(request)?;
            let name = body["service"].as_str()?.to_owned();
            let tg = model.target_group.get(&name).cloned();
            let delay = tg
                .as_ref()
                .and_then(|t| model.delay.get(t).copied())
                .unwrap_or(DEFAULT_DELAY);
            // Without a load balancer there is nothing to drain but the tasks.
            let drain = match tg {
                Some(_) => Duration::from_secs(delay).mul_f64(scale) + stop,
                None => stop,
            };
            model.until.push((name, tg, now + drain));
            None
        }
        "DeleteCluster" if !model.until.is_empty() => Some((
            "service draining",
            ecs_error(
                "ClusterContainsServicesException",
                "The Cluster cannot be deleted while Services are active. (modelled: a draining service)",
            ),
        )),
        _ => None,
    }
}

/// Whether an answer is one the model rewrites (ECS's DescribeServices).
pub(super) fn rewrites(request: &HttpRequest, world: &World) -> bool {
    world.draining.is_some() && ecs_operation(request) == Some("DescribeServices")
}

/// Describes the draining services as DRAINING (the emulator says INACTIVE at once).
pub(super) fn rewrite(text: &mut String, world: &World) {
    let model = world.drain.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    let Ok(mut answer) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Some(services) = answer["services"].as_array_mut() else {
        return;
    };
    let mut changed = false;
    for service in services {
        let name = service["serviceName"].as_str().unwrap_or_default();
        let draining = model
            .until
            .iter()
            .any(|(n, _, until)| n == name && *until > now);
        if draining && service["status"] == "INACTIVE" {
            service["status"] = Value::from("DRAINING");
            changed = true;
        }
    }
    if changed {
        *text = answer.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::wire::tests::{ecs, form as elb};
    use crate::harness::Harness;

    fn describe(world: &World) -> String {
        let mut text = r#"{"services":[{"serviceName":"blog","status":"INACTIVE"}]}"#.to_owned();
        rewrite(&mut text, world);
        text
    }

    #[test]
    fn a_deleted_service_drains_for_its_target_groups_delay() {
        let harness = Harness::builder()
            .draining(0.01, Duration::from_millis(100))
            .build();
        let state = &harness.state.world;
        let create = r#"{"serviceName":"blog","loadBalancers":[{"targetGroupArn":"arn:tg"}]}"#;
        assert!(before(&ecs("CreateService", create), state).is_none());
        // ELB's default delay: 300 s at 1/100, plus the tasks' stop.
        assert!(before(&ecs("DeleteService", r#"{"service":"blog"}"#), state).is_none());
        assert!(describe(state).contains(r#""status":"DRAINING""#));
        assert!(before(&ecs("DeleteCluster", r#"{"cluster":"blog"}"#), state).is_some());
        let delete_tg = "Action=DeleteTargetGroup&TargetGroupArn=arn%3Atg&Version=2015-12-01";
        assert!(before(&elb(delete_tg), state).is_some());
        std::thread::sleep(Duration::from_millis(3200));
        assert!(describe(state).contains(r#""status":"INACTIVE""#));
        assert!(before(&ecs("DeleteCluster", r#"{"cluster":"blog"}"#), state).is_none());

        // A delay of 0 leaves only the tasks' stop.
        let zero = "Action=ModifyTargetGroupAttributes&Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value=0&TargetGroupArn=arn%3Atg&Version=2015-12-01";
        assert!(before(&elb(zero), state).is_none());
        assert!(before(&ecs("DeleteService", r#"{"service":"blog"}"#), state).is_none());
        std::thread::sleep(Duration::from_millis(300));
        assert!(describe(state).contains(r#""status":"INACTIVE""#));
    }
}
