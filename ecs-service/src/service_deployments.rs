//! Following a service's deployment through ECS's service deployments: the stage it is at
//! (a traffic shift, the bake time), its end, and a rollback with ECS's reason.

use aws_sdk_ecs::types::{ServiceDeployment, ServiceDeploymentStatus};
use converge::{Aws, AwsResultExt, Error, Progress};

use crate::services::EcsServiceKind;
use converge::Resource;

/// Where the current deployment of service `name` of `cluster` is: done, still going (its
/// stage in the progress report), or rolled back ([`Error::RolledBack`] with ECS's reason).
/// The service names its current deployment itself, so a listing that does not show the
/// one the last create or update started yet cannot pass for it.
pub(crate) async fn current(aws: &Aws, cluster: &str, name: &str) -> Result<Progress<()>, Error> {
    let label = EcsServiceKind::label(name);
    let described = aws
        .ecs()
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .context("DescribeServices", &label)?;
    let Some(arn) = described
        .services()
        .first()
        .and_then(|s| s.current_service_deployment())
    else {
        return Ok(Progress::pending(format!(
            "ECS service {name} to name its current deployment"
        )));
    };
    let deployments = aws
        .ecs()
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .context("DescribeServiceDeployments", &label)?;
    match deployments.service_deployments().first() {
        Some(deployment) => judge(&label, name, deployment),
        None => Ok(Progress::pending(format!(
            "ECS service {name}'s deployment {arn} to be described"
        ))),
    }
}

/// A deployment's status as the wait sees it.
fn judge(label: &str, name: &str, d: &ServiceDeployment) -> Result<Progress<()>, Error> {
    let status = d.status();
    let reason = || {
        d.rollback()
            .and_then(|r| r.reason())
            .or(d.status_reason())
            .unwrap_or("ECS gave no reason")
            .to_owned()
    };
    match status {
        Some(ServiceDeploymentStatus::Successful) => Ok(Progress::Done(())),
        Some(
            s @ (ServiceDeploymentStatus::RollbackRequested
            | ServiceDeploymentStatus::RollbackInProgress
            | ServiceDeploymentStatus::RollbackSuccessful
            | ServiceDeploymentStatus::RollbackFailed
            | ServiceDeploymentStatus::Stopped
            | ServiceDeploymentStatus::StopRequested),
        ) => Err(Error::RolledBack {
            resource: label.to_owned(),
            status: s.as_str().to_owned(),
            reason: reason(),
        }),
        _ => {
            let stage = d
                .lifecycle_stage()
                .map_or("PENDING", |s| s.as_str())
                .to_owned();
            Ok(Progress::Pending {
                what: format!("ECS service {name}'s deployment to finish (at {stage})"),
                after: None,
                lately: d.status_reason().map(str::to_owned),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Rollback, ServiceDeploymentLifecycleStage};

    #[test]
    fn a_deployment_is_done_going_or_rolled_back_with_ecs_reason() {
        let going = ServiceDeployment::builder()
            .status(ServiceDeploymentStatus::InProgress)
            .lifecycle_stage(ServiceDeploymentLifecycleStage::BakeTime)
            .build();
        let Ok(Progress::Pending { what, .. }) = judge("svc", "blog", &going) else {
            panic!("a deployment in progress is waited for");
        };
        assert_eq!(
            what,
            "ECS service blog's deployment to finish (at BAKE_TIME)"
        );

        let done = ServiceDeployment::builder()
            .status(ServiceDeploymentStatus::Successful)
            .build();
        assert_eq!(judge("svc", "blog", &done).unwrap(), Progress::Done(()));

        let rolled = ServiceDeployment::builder()
            .status(ServiceDeploymentStatus::RollbackSuccessful)
            .status_reason("Service deployment rolled back.")
            .rollback(
                Rollback::builder()
                    .reason("alarm blog-5xx-rate is in ALARM")
                    .build(),
            )
            .build();
        let err = judge("aws_ecs_service \"blog\"", "blog", &rolled).unwrap_err();
        assert_eq!(
            err.to_string(),
            "aws_ecs_service \"blog\"'s deployment was rolled back (ROLLBACK_SUCCESSFUL): alarm blog-5xx-rate is in ALARM"
        );
    }
}
