//! The ECS service resource: find, create, update, delete.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    LaunchType as EcsLaunchType, LoadBalancer as EcsLoadBalancer, NetworkConfiguration,
    PropagateTags, ServiceField,
};
use converge::{Aws, AwsResultExt, Error, Tags, Transient, Wait};

use crate::inputs::{LaunchType, Service};

pub(crate) const KIND: &str = "aws_ecs_service";

/// Right after its roles, cluster or target group were made, ECS may refuse a service for a
/// while (IAM propagation, a target group not yet attached to its load balancer).
const NOT_YET: Transient = Transient::new(
    &["ClusterNotFoundException"],
    &[
        "Unable to assume",
        "verify that the ECS service role being passed has the proper permissions",
        "does not have an associated load balancer",
    ],
);

/// A service of ours, as ECS describes it.
#[derive(Clone, Debug)]
pub(crate) struct FoundService {
    pub arn: String,
    pub task_definition: String,
    pub desired_count: i32,
    pub launch_type: Option<String>,
    pub health_check_grace_period: Option<i32>,
    pub target_group_arn: Option<String>,
    /// `None` when ECS describes no deployment configuration (the emulator does not).
    pub circuit_breaker: Option<bool>,
    /// The tasks' subnets and security groups in awsvpc mode.
    pub subnets: Option<Vec<String>>,
    pub security_groups: Option<Vec<String>>,
}

/// The ACTIVE (or DRAINING) service named `name` in the cluster; an error when it is not ours.
pub(crate) async fn find(
    aws: &Aws,
    tags: &Tags,
    cluster: &str,
    name: &str,
) -> Result<Option<FoundService>, Error> {
    let out = aws
        .ecs()
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(ServiceField::Tags)
        .send()
        .await;
    let out = match out {
        // No cluster, no service: destroy of a half-built stack must go on.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_cluster_not_found_exception()) =>
        {
            return Ok(None)
        }
        other => other.context("DescribeServices", name)?,
    };
    let Some(s) = out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
    else {
        return Ok(None);
    };
    let arn = s.service_arn().unwrap_or_default().to_owned();
    let pairs = s
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
    tags.ensure_owned(KIND, &arn, pairs)?;
    Ok(Some(FoundService {
        task_definition: s.task_definition().unwrap_or_default().to_owned(),
        desired_count: s.desired_count(),
        launch_type: s.launch_type().map(|l| l.as_str().to_owned()),
        health_check_grace_period: s.health_check_grace_period_seconds(),
        target_group_arn: s
            .load_balancers()
            .first()
            .and_then(|l| l.target_group_arn())
            .map(str::to_owned),
        circuit_breaker: s
            .deployment_configuration()
            .and_then(|d| d.deployment_circuit_breaker())
            .map(|c| c.enable()),
        subnets: s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .map(|a| a.subnets().to_vec()),
        security_groups: s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .map(|a| a.security_groups().to_vec()),
        arn,
    }))
}

fn deployment(service: &Service) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(service.circuit_breaker)
                .rollback(service.circuit_breaker)
                .build(),
        )
        .set_minimum_healthy_percent(service.minimum_healthy_percent)
        .set_maximum_percent(service.maximum_percent)
        .build()
}

fn load_balancers(
    service: &Service,
    target_group_arn: Option<&str>,
) -> Option<Vec<EcsLoadBalancer>> {
    let (container, port) = service.target()?;
    Some(vec![EcsLoadBalancer::builder()
        .set_target_group_arn(target_group_arn.map(str::to_owned))
        .container_name(container)
        .container_port(port)
        .build()])
}

/// The tasks' network in awsvpc mode: the subnets and security groups, no public address
/// (they sit in private subnets behind NAT).
fn awsvpc(service: &Service, security_groups: &[String]) -> Option<NetworkConfiguration> {
    (service.network_mode() == task_def::NetworkMode::Awsvpc).then(|| {
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(service.subnets.clone()))
                    .set_security_groups(Some(security_groups.to_vec()))
                    .assign_public_ip(AssignPublicIp::Disabled)
                    .build()
                    .expect("subnets set"),
            )
            .build()
    })
}

pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    service: &Service,
    task_definition_arn: &str,
    target_group_arn: Option<&str>,
    security_groups: &[String],
) -> Result<String, Error> {
    let awsvpc = awsvpc(service, security_groups);
    let name = &service.service_name;
    let call = || {
        aws.ecs()
            .create_service()
            .cluster(&service.cluster)
            .service_name(name)
            .task_definition(task_definition_arn)
            .desired_count(service.desired_count)
            .launch_type(match service.launch_type {
                LaunchType::Fargate => EcsLaunchType::Fargate,
                LaunchType::Ec2 => EcsLaunchType::Ec2,
            })
            .set_network_configuration(awsvpc.clone())
            .set_load_balancers(load_balancers(service, target_group_arn))
            .set_health_check_grace_period_seconds(
                service
                    .load_balancer
                    .as_ref()
                    .and_then(|lb| lb.health_check_grace_period_seconds),
            )
            .set_role(service.ecs_service_role.clone())
            .deployment_configuration(deployment(service))
            .set_propagate_tags(service.propagate_tags.then_some(PropagateTags::Service))
            .set_tags(Some(tags.ecs(name)))
            .send()
    };
    let out = aws
        .retry()
        .run(name, NOT_YET, call)
        .await
        .context("CreateService", format_args!("{KIND} \"{name}\""))?;
    Ok(out
        .service()
        .and_then(|s| s.service_arn())
        .unwrap_or_default()
        .to_owned())
}

/// Updates what ECS changes in place: task definition, desired count, grace period,
/// deployment configuration, target group.
pub(crate) async fn update(
    aws: &Aws,
    service: &Service,
    task_definition_arn: &str,
    target_group_arn: Option<&str>,
    security_groups: &[String],
) -> Result<(), Error> {
    let name = &service.service_name;
    let network = awsvpc(service, security_groups);
    aws.retry()
        .run(name, NOT_YET, || {
            aws.ecs()
                .update_service()
                .cluster(&service.cluster)
                .service(name)
                .task_definition(task_definition_arn)
                .desired_count(service.desired_count)
                .set_health_check_grace_period_seconds(
                    service
                        .load_balancer
                        .as_ref()
                        .and_then(|lb| lb.health_check_grace_period_seconds),
                )
                .deployment_configuration(deployment(service))
                .set_load_balancers(load_balancers(service, target_group_arn))
                .set_network_configuration(network.clone())
                .send()
        })
        .await
        .context("UpdateService", format_args!("{KIND} \"{name}\""))?;
    Ok(())
}

/// Scales to zero, deletes, and waits until ECS reports the service INACTIVE.
pub(crate) async fn delete(aws: &Aws, wait: &Wait, cluster: &str, name: &str) -> Result<(), Error> {
    const ACTIVE_DEPLOYMENTS: Transient =
        Transient::messages(&["cannot be stopped while deployments are active"]);
    aws.ecs()
        .update_service()
        .cluster(cluster)
        .service(name)
        .desired_count(0)
        .send()
        .await
        .context(
            "UpdateService",
            format_args!("{KIND} \"{name}\" (scale to 0)"),
        )?;
    aws.retry()
        .run(name, ACTIVE_DEPLOYMENTS, || {
            aws.ecs()
                .delete_service()
                .cluster(cluster)
                .service(name)
                .force(true)
                .send()
        })
        .await
        .context("DeleteService", name)?;
    wait.until(&format!("ECS service {name} to be INACTIVE"), || async {
        let out = aws
            .ecs()
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
            .context("DescribeServices", name)?;
        let gone = out
            .services()
            .iter()
            .all(|s| s.status() == Some("INACTIVE"));
        Ok(gone.then_some(()))
    })
    .await
}

/// Waits until the service runs its desired count on one PRIMARY deployment; on timeout the
/// error carries the service's last events.
pub(crate) async fn wait_steady(
    aws: &Aws,
    wait: &Wait,
    cluster: &str,
    name: &str,
) -> Result<(), Error> {
    let result = wait
        .until(
            &format!("ECS service {name} to reach a steady state"),
            || async {
                let out = aws
                    .ecs()
                    .describe_services()
                    .cluster(cluster)
                    .services(name)
                    .send()
                    .await
                    .context("DescribeServices", name)?;
                let steady = out.services().first().is_some_and(|s| {
                    s.deployments().len() == 1 && s.running_count() == s.desired_count()
                });
                Ok(steady.then_some(()))
            },
        )
        .await;
    match result {
        Err(Error::WaitTimedOut { what, waited }) => {
            let out = aws
                .ecs()
                .describe_services()
                .cluster(cluster)
                .services(name)
                .send()
                .await;
            let events: Vec<String> = out
                .ok()
                .and_then(|o| o.services().first().cloned())
                .map(|s| {
                    s.events()
                        .iter()
                        .take(5)
                        .filter_map(|e| e.message().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Err(Error::WaitTimedOut {
                what: if events.is_empty() {
                    what
                } else {
                    format!("{what}; last events: {}", events.join(" | "))
                },
                waited,
            })
        }
        other => other,
    }
}
