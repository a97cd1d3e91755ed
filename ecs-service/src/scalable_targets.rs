//! `aws_appautoscaling_target`: the service's task count as Application Auto Scaling's
//! scalable target, found by its resource id (`service/<cluster>/<service>`).
//!
//! The emulator keeps no tags on scalable targets, so a target is ours by where it is: on
//! the service this module made and claims by its ownership tag. The same holds for the
//! policies and scheduled actions on it ([`scaling_policies`](crate::scaling_policies),
//! [`scheduled_actions`](crate::scheduled_actions)).

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use converge::{
    Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Said, Transient, Value, Wanted,
};

/// The scalable target kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScalableTargetKind;

/// The task count's bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalableTargetSpec {
    /// The fewest tasks.
    pub min_capacity: i32,
    /// The most tasks.
    pub max_capacity: i32,
}

/// Every input is its own: the bounds are the module's.
impl converge::phase::KnownAtPlan for ScalableTargetSpec {}

/// A target as Application Auto Scaling has it.
#[derive(Clone, Debug)]
pub struct FoundTarget {
    resource_id: String,
    arn: String,
    min_capacity: i32,
    max_capacity: i32,
    owner: String,
}

/// A target's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScalableTargetOutputs {
    /// `service/<cluster>/<service>`, what the policies and actions name.
    pub resource_id: String,
}

/// The resource id of `service` in `cluster` (a name or an ARN).
pub fn resource_id(cluster: &str, service: &str) -> String {
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    format!("service/{cluster}/{service}")
}

pub(crate) fn dimension() -> ScalableDimension {
    ScalableDimension::EcsServiceDesiredCount
}

/// The emulator's answer for a scalable target that is not there, where Application Auto
/// Scaling answers `ObjectNotFoundException`: "No scalable target found for service namespace:
/// ecs, resource ID: <id>, scalable dimension: ecs:service:DesiredCount".
const EMULATOR_NO_TARGET: Said = Said::new(
    "ValidationException",
    "No scalable target found for service namespace",
);

/// The emulator's answer for a scaling policy that is not there, where Application Auto
/// Scaling answers `ObjectNotFoundException`: "No scaling policy found for service namespace:
/// ecs, resource ID: <id>, scalable dimension: ecs:service:DesiredCount, policy name: <name>".
const EMULATOR_NO_POLICY: Said = Said::new(
    "ValidationException",
    "No scaling policy found for service namespace",
);

/// Application Auto Scaling's answer to RegisterScalableTarget for an ECS service it cannot
/// see yet (a `ValidationException` like many others): "ECS service doesn't exist: <id>".
const NO_ECS_SERVICE: Said = Said::new("ValidationException", "ECS service doesn't exist");

/// A delete's rule: already gone is done. Application Auto Scaling says "not there" with
/// `ObjectNotFoundException`; the emulator with a `ValidationException` saying so.
pub(crate) fn ignore_gone<T>(result: Result<T, Error>) -> Result<(), Error> {
    match result {
        Err(err)
            if !(err.is_not_found()
                || err.is(&EMULATOR_NO_TARGET)
                || err.is(&EMULATOR_NO_POLICY)) =>
        {
            Err(err)
        }
        _ => Ok(()),
    }
}

/// A policy or an action right after its target: a read may not see the target yet, and a
/// change to the same target is refused while another is under way.
pub(crate) const TARGET_NOT_YET: Transient = Transient::new(
    &["ConcurrentUpdateException", "ObjectNotFoundException"],
    &[EMULATOR_NO_TARGET],
);

/// A service made a moment ago may not be visible to Application Auto Scaling yet, and a
/// change to the same target is refused while another is under way.
const NOT_YET: Transient = Transient::new(&["ConcurrentUpdateException"], &[NO_ECS_SERVICE]);

/// A scalable target's fields that a plan can show changed; both change in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalableTargetField {
    /// The fewest tasks.
    MinCapacity,
    /// The most tasks.
    MaxCapacity,
}

impl Field for ScalableTargetField {
    fn name(&self) -> &str {
        match self {
            ScalableTargetField::MinCapacity => "min_capacity",
            ScalableTargetField::MaxCapacity => "max_capacity",
        }
    }
}

#[async_trait]
impl Resource for ScalableTargetKind {
    const KIND: &'static str = "aws_appautoscaling_target";
    // The service just made, or busy with another change; a registration is a put.
    const TRANSIENT: Transient = NOT_YET;
    // Autoscaling turned off: the target is tracked, and goes (its policies with it).
    const PRUNE: bool = true;
    type Field = ScalableTargetField;
    type Key = ();
    type Desired = ScalableTargetSpec;
    type Observed = FoundTarget;
    type Outputs = ScalableTargetOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{service_linked_role, Grant};
        // Registering a service's count checks that the caller may change it.
        vec![
            Grant::new([
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:TagResource",
                "application-autoscaling:DeregisterScalableTarget",
                "ecs:DescribeServices",
                "ecs:UpdateService",
            ]),
            service_linked_role("ecs.application-autoscaling.amazonaws.com"),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundTarget>, Error> {
        let ids: Vec<String> = wanted.iter().map(|w| w.name.to_owned()).collect();
        let mut found = Vec::new();
        // 50 resource ids a call, the API's limit.
        for chunk in ids.chunks(50) {
            let targets = converge::paging::drain(
                "DescribeScalableTargets",
                ScalableTargetKind::label(&chunk.join(",")),
                (aws.appautoscaling().describe_scalable_targets())
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(dimension())
                    .set_resource_ids(Some(chunk.to_vec()))
                    .into_paginator()
                    .send(),
                |page| page.scalable_targets.unwrap_or_default(),
            )
            .await?;
            for t in &targets {
                let Some(w) = wanted.iter().find(|w| w.name == t.resource_id()) else {
                    continue;
                };
                found.push(FoundTarget {
                    resource_id: t.resource_id().to_owned(),
                    arn: t.scalable_target_arn().unwrap_or_default().to_owned(),
                    min_capacity: t.min_capacity(),
                    max_capacity: t.max_capacity(),
                    owner: w.tags.owner().to_owned(),
                });
            }
        }
        Ok(found)
    }

    fn name<'o>(&self, o: &'o FoundTarget) -> &'o str {
        &o.resource_id
    }

    fn owner<'o>(&self, o: &'o FoundTarget) -> Option<&'o str> {
        Some(&o.owner)
    }

    fn id(&self, o: &FoundTarget) -> String {
        if o.arn.is_empty() {
            o.resource_id.clone()
        } else {
            o.arn.clone()
        }
    }

    fn describe(&self, d: &ScalableTargetSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(
                ScalableTargetField::MinCapacity,
                None::<String>,
                Some(d.min_capacity),
            )
            .update(
                ScalableTargetField::MaxCapacity,
                None::<String>,
                Some(d.max_capacity),
            );
        delta.diffs()
    }

    fn diff(&self, d: &ScalableTargetSpec, o: &FoundTarget) -> Delta<ScalableTargetField> {
        let mut delta = Delta::new();
        delta
            .compare(
                ScalableTargetField::MinCapacity,
                &o.min_capacity,
                &Value::Known(d.min_capacity),
            )
            .compare(
                ScalableTargetField::MaxCapacity,
                &o.max_capacity,
                &Value::Known(d.max_capacity),
            );
        delta
    }

    fn outputs(&self, o: &FoundTarget) -> ScalableTargetOutputs {
        ScalableTargetOutputs {
            resource_id: o.resource_id.clone(),
        }
    }

    fn output_id(&self, out: &ScalableTargetOutputs) -> Option<String> {
        Some(out.resource_id.clone())
    }

    /// Registers the target, tagged (AWS takes tags on the first registration only).
    async fn create(
        &self,
        cx: Cx<'_>,
        d: &ScalableTargetSpec,
    ) -> Result<ScalableTargetOutputs, Error> {
        register(cx, d, Some(cx.tags.map(cx.name))).await
    }

    /// Registering again changes the bounds in place.
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ScalableTargetSpec,
        _o: &FoundTarget,
        delta: &Delta<ScalableTargetField>,
    ) -> Result<ScalableTargetOutputs, Error> {
        for field in delta.fields() {
            match field {
                // The one registration below sets both bounds.
                ScalableTargetField::MinCapacity | ScalableTargetField::MaxCapacity => {}
            }
        }
        register(cx, d, None).await
    }

    /// Deregistering deletes the target's policies and scheduled actions too.
    async fn delete(&self, cx: Cx<'_>, o: &FoundTarget) -> Result<(), Error> {
        let result = cx
            .aws
            .appautoscaling()
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(dimension())
            .resource_id(&o.resource_id)
            .send()
            .await
            .context(
                "DeregisterScalableTarget",
                ScalableTargetKind::label(&o.resource_id),
            );
        ignore_gone(result)
    }
}

async fn register(
    cx: Cx<'_>,
    d: &ScalableTargetSpec,
    tags: Option<std::collections::HashMap<String, String>>,
) -> Result<ScalableTargetOutputs, Error> {
    let aws = cx.aws;
    aws.appautoscaling()
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(dimension())
        .resource_id(cx.name)
        .min_capacity(d.min_capacity)
        .max_capacity(d.max_capacity)
        .set_tags(tags)
        .send()
        .await
        .context("RegisterScalableTarget", ScalableTargetKind::label(cx.name))?;
    Ok(ScalableTargetOutputs {
        resource_id: cx.name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_error(code: &str, message: &str) -> Error {
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build();
        Err::<(), _>(aws_sdk_applicationautoscaling::error::SdkError::<_, ()>::service_error(
            aws_sdk_applicationautoscaling::operation::deregister_scalable_target::DeregisterScalableTargetError::generic(meta),
            (),
        ))
        .context("DeregisterScalableTarget", "t")
        .unwrap_err()
    }

    /// AWS's and the emulator's messages, in full, told apart by their text.
    #[test]
    fn messages_without_a_code_of_their_own() {
        let id = "service/blog/web";
        let gone = [
            aws_error("ObjectNotFoundException", &format!("No scalable target registered for service namespace: ecs, resource ID: {id}, scalable dimension: ecs:service:DesiredCount")),
            aws_error("ValidationException", &format!("No scalable target found for service namespace: ecs, resource ID: {id}, scalable dimension: ecs:service:DesiredCount")),
            aws_error("ValidationException", &format!("No scaling policy found for service namespace: ecs, resource ID: {id}, scalable dimension: ecs:service:DesiredCount, policy name: blog-web-cpu")),
        ];
        for err in gone {
            assert!(ignore_gone(Err::<(), _>(err)).is_ok());
        }
        let refused = aws_error(
            "ValidationException",
            "Unsupported service namespace, resource type or scalable dimension",
        );
        assert!(ignore_gone(Err::<(), _>(refused)).is_err());

        let meta = |code: &str, message: &str| {
            aws_sdk_applicationautoscaling::operation::register_scalable_target::RegisterScalableTargetError::generic(
                aws_smithy_types::error::ErrorMetadata::builder().code(code).message(message).build(),
            )
        };
        assert!(NOT_YET.matches(&meta(
            "ValidationException",
            &format!("ECS service doesn't exist: {id}")
        )));
        assert!(!NOT_YET.matches(&meta("ValidationException", "The role does not exist")));
        assert!(TARGET_NOT_YET.matches(&meta("ValidationException", &format!("No scalable target found for service namespace: ecs, resource ID: {id}, scalable dimension: ecs:service:DesiredCount"))));
    }

    #[test]
    fn bounds_change_in_place_and_the_id_takes_a_cluster_arn() {
        assert_eq!(
            resource_id("arn:aws:ecs:us-east-1:1:cluster/blog", "web"),
            "service/blog/web"
        );
        assert_eq!(resource_id("blog", "web"), "service/blog/web");
        let found = FoundTarget {
            resource_id: "service/blog/web".into(),
            arn: String::new(),
            min_capacity: 1,
            max_capacity: 4,
            owner: "ecs-service/blog".into(),
        };
        let want = |min, max| ScalableTargetSpec {
            min_capacity: min,
            max_capacity: max,
        };
        assert!(ScalableTargetKind.diff(&want(1, 4), &found).is_empty());
        let delta = ScalableTargetKind.diff(&want(2, 4), &found);
        assert!(!delta.replaces());
        assert_eq!(delta.fields(), [ScalableTargetField::MinCapacity]);
        assert_eq!(delta.diffs()[0].field, "min_capacity");
        assert_eq!(ScalableTargetKind.id(&found), "service/blog/web");
    }
}
