//! Following a service's deployment through ECS's service deployments: the stage it is at
//! (a traffic shift, the bake time), its end, and a rollback with ECS's reason.

use aws_sdk_ecs::types::{ServiceDeployment, ServiceDeploymentStatus};
use converge::{Aws, AwsResultExt, Error, Progress};

use crate::services::EcsServiceKind;
use converge::Resource;

/// Where the newest deployment of service `name` of `cluster` is: done, still going (its
/// stage in the progress report), or rolled back ([`Error::RolledBack`] with ECS's reason).
pub(crate) async fn newest(aws: &Aws, cluster: &str, name: &str) -> Result<Progress<()>, Error> {
    let label = EcsServiceKind::label(name);
    let listed = aws
        .ecs()
        .list_service_deployments()
        .cluster(cluster)
        .service(name)
        .max_results(1)
        .send()
        .await
        .context("ListServiceDeployments", &label)?;
    // Newest first: the one the last create or update started.
    let Some(arn) = listed
        .service_deployments()
        .first()
        .and_then(|d| d.service_deployment_arn())
    else {
        return Ok(Progress::pending(format!(
            "ECS service {name}'s deployment to be listed"
        )));
    };
    let described = aws
        .ecs()
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .context("DescribeServiceDeployments", &label)?;
    match described.service_deployments().first() {
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
