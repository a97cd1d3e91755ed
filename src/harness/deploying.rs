//! ECS's deployments, which the emulator finishes at once: a deployment shifts traffic for a
//! while, then bakes, then is done, or, when the model says an alarm went off, is rolled
//! back; meanwhile the service cannot be deleted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use serde_json::{json, Value};

use super::wire::{ecs_error, ecs_operation, json_body};
use super::{Refusal, World};

/// How the modelled deployments go.
#[derive(Clone, Debug)]
pub(super) struct Deploying {
    /// How long the production traffic shift takes.
    pub shift: Duration,
    /// How long the bake time after it lasts.
    pub bake: Duration,
    /// The alarm that goes off during the bake, rolling every deployment back.
    pub alarm: Option<String>,
}

impl Deploying {
    fn length(&self) -> Duration {
        self.shift + self.bake
    }
}

/// When each service's last deployment started, by service name.
#[derive(Debug, Default)]
pub(super) struct Started(BTreeMap<String, Instant>);

/// Learns when a deployment starts, and refuses deleting a service while one runs (AWS:
/// "The service cannot be stopped while deployments are active.").
pub(super) fn before(request: &HttpRequest, world: &World) -> Option<Refusal> {
    let model = world.deploying.as_ref()?;
    let operation = ecs_operation(request)?;
    let body = json_body(request)?;
    let mut started = world.deploys.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    match operation {
        "CreateService" => {
            let name = body["serviceName"].as_str()?.to_owned();
            started.0.insert(name, now);
            None
        }
        // A change of the count alone starts no deployment.
        "UpdateService" => {
            let fields = body.as_object()?;
            let deploys = fields
                .keys()
                .any(|k| !matches!(k.as_str(), "cluster" | "service" | "desiredCount"));
            if deploys {
                started.0.insert(name_of(&body)?, now);
            }
            None
        }
        "DeleteService" => {
            let at = *started.0.get(&name_of(&body)?)?;
            (now < at + model.length()).then(|| {
                (
                    "deployment in progress",
                    ecs_error(
                        "InvalidParameterException",
                        "The service cannot be stopped while deployments are active. (modelled: a deployment in progress)",
                    ),
                )
            })
        }
        _ => None,
    }
}

/// A service's name from a request's `service` (a name or an ARN).
fn name_of(body: &Value) -> Option<String> {
    let service = body["service"].as_str()?;
    Some(service.rsplit('/').next().unwrap_or(service).to_owned())
}

/// Whether an answer is one the model rewrites (ECS's DescribeServiceDeployments).
pub(super) fn rewrites(request: &HttpRequest, world: &World) -> bool {
    world.deploying.is_some() && ecs_operation(request) == Some("DescribeServiceDeployments")
}

/// Describes each deployment at its stage by the time since it was made (the emulator says
/// SUCCESSFUL at once), or rolled back by the model's alarm once its bake is over.
pub(super) fn rewrite(text: &mut String, world: &World) {
    let Some(model) = &world.deploying else {
        return;
    };
    let Ok(mut answer) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Some(deployments) = answer["serviceDeployments"].as_array_mut() else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    for d in deployments {
        let Some(created) = d["createdAt"].as_f64() else {
            continue;
        };
        let age = Duration::from_secs_f64((now - created).max(0.0));
        let stage = if age < model.shift {
            Some("PRODUCTION_TRAFFIC_SHIFT")
        } else if age < model.length() {
            Some("BAKE_TIME")
        } else {
            None
        };
        match (stage, &model.alarm) {
            (Some(stage), _) => {
                d["status"] = json!("IN_PROGRESS");
                d["lifecycleStage"] = json!(stage);
                d.as_object_mut().map(|o| o.remove("finishedAt"));
            }
            (None, Some(alarm)) => {
                let reason = format!("alarm {alarm} is in ALARM (modelled)");
                d["status"] = json!("ROLLBACK_SUCCESSFUL");
                d["statusReason"] = json!("Service deployment rolled back because of an alarm.");
                d["rollback"] = json!({ "reason": reason, "startedAt": created + model.length().as_secs_f64() });
            }
            (None, None) => {}
        }
    }
    *text = answer.to_string();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::wire::tests::ecs;
    use crate::harness::Harness;

    fn describe(world: &World, created: f64) -> Value {
        let mut text = json!({"serviceDeployments": [
            {"serviceDeploymentArn": "arn:d", "status": "SUCCESSFUL", "createdAt": created, "finishedAt": created}
        ]})
        .to_string();
        rewrite(&mut text, world);
        serde_json::from_str::<Value>(&text).unwrap()["serviceDeployments"][0].clone()
    }

    fn ago(secs: f64) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            - secs
    }

    #[test]
    fn a_deployment_shifts_then_bakes_then_ends_and_meanwhile_the_service_stays() {
        let harness = Harness::builder()
            .deploying(Duration::from_secs(10), Duration::from_secs(10), None)
            .build();
        let world = &harness.state.world;
        assert_eq!(
            describe(world, ago(1.0))["lifecycleStage"],
            "PRODUCTION_TRAFFIC_SHIFT"
        );
        assert_eq!(describe(world, ago(15.0))["lifecycleStage"], "BAKE_TIME");
        assert_eq!(describe(world, ago(15.0))["status"], "IN_PROGRESS");
        assert_eq!(describe(world, ago(25.0))["status"], "SUCCESSFUL");

        assert!(before(&ecs("CreateService", r#"{"serviceName":"blog"}"#), world).is_none());
        let delete = ecs("DeleteService", r#"{"cluster":"c","service":"blog"}"#);
        assert!(before(&delete, world).is_some(), "refused while deploying");
        // Scaling to zero starts no deployment.
        let scale = ecs("UpdateService", r#"{"service":"other","desiredCount":0}"#);
        assert!(before(&scale, world).is_none());
        let other = ecs("DeleteService", r#"{"service":"other"}"#);
        assert!(before(&other, world).is_none());
    }

    #[test]
    fn an_alarm_rolls_the_deployment_back_once_its_bake_is_over() {
        let harness = Harness::builder()
            .deploying(
                Duration::from_secs(1),
                Duration::from_secs(1),
                Some("blog-5xx-rate"),
            )
            .build();
        let d = describe(&harness.state.world, ago(5.0));
        assert_eq!(d["status"], "ROLLBACK_SUCCESSFUL");
        assert_eq!(
            d["rollback"]["reason"],
            "alarm blog-5xx-rate is in ALARM (modelled)"
        );
    }
}
