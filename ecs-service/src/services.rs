//! `aws_ecs_service`: found by name in its cluster with its tags, up to ten per call.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    LaunchType as EcsLaunchType, LoadBalancer as EcsLoadBalancer, NetworkConfiguration,
    PropagateTags, ServiceField,
};
use converge::{
    ignore_not_found, same_set, strategy_text, Aws, AwsResultExt, Cx, Delta, Diff, Error, Resource,
    Said, StrategyItem, Transient, Value, Wait, Wanted,
};

use crate::inputs::LaunchType;
use crate::target_groups::set_deregistration_delay;

/// The ECS service kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct EcsServiceKind;

/// Where a load balancer's target group sends traffic to.
#[derive(Clone, Debug)]
pub struct ServiceTarget {
    /// The target group.
    pub target_group_arn: Value<String>,
    /// The container.
    pub container_name: String,
    /// Its port.
    pub container_port: i32,
}

/// The tasks' network in awsvpc mode.
#[derive(Clone, Debug)]
pub struct Awsvpc {
    /// Their subnets.
    pub subnets: Value<Vec<String>>,
    /// Their security groups.
    pub security_groups: Value<Vec<String>>,
}

/// What a service should be.
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    /// The cluster's name or ARN (the key the service is read by).
    pub cluster: String,
    /// The task definition revision it runs.
    pub task_definition: Value<String>,
    /// How many tasks.
    pub desired_count: i32,
    /// Whether an autoscaler owns the task count: `desired_count` is then set at create
    /// only, and never compared.
    pub desired_count_managed: bool,
    /// FARGATE or EC2 (fixed once made, unless the service moves to or from a strategy);
    /// with a strategy, where its providers run the tasks.
    pub launch_type: LaunchType,
    /// The capacity provider strategy; empty for the launch type.
    pub strategy: Vec<StrategyItem>,
    /// The tasks' subnets and security groups, in awsvpc mode.
    pub awsvpc: Option<Awsvpc>,
    /// The load balancer's target, when there is one.
    pub target: Option<ServiceTarget>,
    /// Seconds ECS ignores failing health checks after a task starts.
    pub health_check_grace_period: Option<i32>,
    /// The deployment circuit breaker, with rollback.
    pub circuit_breaker: bool,
    /// Deployment bounds, in percent of the desired count (`None`: ECS's default).
    pub minimum_healthy_percent: Option<i32>,
    /// See `minimum_healthy_percent`.
    pub maximum_percent: Option<i32>,
    /// Whether the service's tags go to its tasks.
    pub propagate_tags: bool,
    /// ECS Exec into the tasks.
    pub enable_execute_command: bool,
    /// The task definition is set at create only; a deploy pipeline moves it after.
    pub task_definition_left_to_ci: bool,
    /// The ECS service role (bridge mode behind a load balancer, old accounts).
    pub role: Option<String>,
    /// Wait for a steady state after a create or update, at most this long.
    pub steady_state: Option<Wait>,
}

/// A service as ECS describes it.
#[derive(Clone, Debug)]
pub struct FoundService {
    cluster: String,
    name: String,
    arn: String,
    task_definition: String,
    desired_count: i32,
    /// Empty when the service runs on a capacity provider strategy.
    launch_type: String,
    strategy: Vec<StrategyItem>,
    health_check_grace_period: Option<i32>,
    target_group_arn: Option<String>,
    /// `None` when ECS describes no deployment configuration (the emulator does not).
    circuit_breaker: Option<bool>,
    minimum_healthy_percent: Option<i32>,
    maximum_percent: Option<i32>,
    propagate_tags: bool,
    enable_execute_command: bool,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    /// Deleted and still stopping its tasks (AWS keeps it DRAINING for the target group's
    /// deregistration delay): it can be neither updated nor deleted again, only waited for.
    draining: bool,
    owner: Option<String>,
}

/// A service's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EcsServiceOutputs {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
}

/// Right after its roles, cluster or target group were made, ECS may refuse a service for a
/// while (IAM propagation, a target group not yet attached to its load balancer).
const NOT_YET: Transient = Transient::new(
    &["ClusterNotFoundException"],
    &[UNABLE_TO_ASSUME, NO_ASSOCIATED_LOAD_BALANCER],
);

/// ECS's answer while a role it must assume is not usable yet (no code of its own): "Unable to
/// assume role and validate the specified targetGroupArn. Please verify that the ECS service
/// role being passed has the proper permissions.", or in a new account "Unable to assume the
/// service linked role. Please verify that the ECS service linked role exists."
const UNABLE_TO_ASSUME: Said = Said::new("InvalidParameterException", "Unable to assume");

/// ECS's answer while a listener's target group is not yet associated with its load balancer:
/// "The target group with targetGroupArn <arn> does not have an associated load balancer."
const NO_ASSOCIATED_LOAD_BALANCER: Said = Said::new(
    "InvalidParameterException",
    "does not have an associated load balancer",
);

/// DeleteService's answer while a deployment is under way: "The service cannot be stopped
/// while deployments are active."
const DEPLOYMENTS_ACTIVE: Said = Said::new(
    "InvalidParameterException",
    "cannot be stopped while deployments are active",
);

fn resource(name: &str) -> String {
    format!("{} \"{name}\"", EcsServiceKind::KIND)
}

fn launch(l: LaunchType) -> &'static str {
    match l {
        LaunchType::Fargate => "FARGATE",
        LaunchType::Ec2 => "EC2",
    }
}

fn deployment(d: &ServiceSpec) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(d.circuit_breaker)
                .rollback(d.circuit_breaker)
                .build(),
        )
        .set_minimum_healthy_percent(d.minimum_healthy_percent)
        .set_maximum_percent(d.maximum_percent)
        .build()
}

fn load_balancers(d: &ServiceSpec) -> Result<Option<Vec<EcsLoadBalancer>>, Error> {
    let Some(t) = &d.target else {
        return Ok(None);
    };
    Ok(Some(vec![EcsLoadBalancer::builder()
        .target_group_arn(t.target_group_arn.clone().require("the target group")?)
        .container_name(&t.container_name)
        .container_port(t.container_port)
        .build()]))
}

/// The tasks' network in awsvpc mode, without public addresses (they sit in private subnets
/// behind NAT).
fn awsvpc(d: &ServiceSpec) -> Result<Option<NetworkConfiguration>, Error> {
    let Some(Awsvpc {
        subnets,
        security_groups: groups,
    }) = &d.awsvpc
    else {
        return Ok(None);
    };
    let config = AwsVpcConfiguration::builder()
        .set_subnets(Some(subnets.clone().require("the tasks' subnets")?))
        .set_security_groups(Some(groups.clone().require("the tasks' security groups")?))
        .assign_public_ip(AssignPublicIp::Disabled)
        .build()
        .expect("subnets set");
    Ok(Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(config)
            .build(),
    ))
}

const NONE: &str = "(none)";

/// Launch type and strategy. One launch type for another is a new service (ECS cannot change
/// it); a launch type for a strategy, a strategy for another, or a strategy back to a launch
/// type of the same kind (Fargate's providers and FARGATE) is an update with a new
/// deployment.
fn compare_placement(delta: &mut Delta, d: &ServiceSpec, o: &FoundService) {
    let want_launch = launch(d.launch_type);
    let have = |s: &str| {
        if s.is_empty() {
            NONE.to_owned()
        } else {
            s.to_owned()
        }
    };
    if d.strategy.is_empty() {
        if o.strategy.is_empty() {
            delta.compare_fixed(
                "launch_type",
                &o.launch_type,
                &Value::Known(want_launch.to_owned()),
            );
            return;
        }
        let fargate = o.strategy.iter().all(StrategyItem::is_fargate);
        let same_kind = fargate == (d.launch_type == LaunchType::Fargate);
        let before = Some(strategy_text(&o.strategy));
        if same_kind {
            delta.update("capacity_provider_strategy", before, Some(NONE));
        } else {
            delta.replace("capacity_provider_strategy", before, Some(NONE));
        }
        if o.launch_type != want_launch {
            delta.update("launch_type", Some(have(&o.launch_type)), Some(want_launch));
        }
        return;
    }
    let text =
        |items: &[StrategyItem]| -> Vec<String> { items.iter().map(ToString::to_string).collect() };
    if !same_set(&text(&o.strategy), &text(&d.strategy)) {
        delta.update(
            "capacity_provider_strategy",
            Some(if o.strategy.is_empty() {
                NONE.to_owned()
            } else {
                strategy_text(&o.strategy)
            }),
            Some(strategy_text(&d.strategy)),
        );
    }
    if !o.launch_type.is_empty() {
        delta.update("launch_type", Some(&o.launch_type), Some(NONE));
    }
}

/// Whether the update moves the service between a launch type and strategies.
fn moves_placement(delta: &Delta) -> bool {
    delta
        .diffs()
        .iter()
        .any(|d| d.field == "capacity_provider_strategy" || d.field == "launch_type")
}

fn optional(v: Option<i32>) -> String {
    v.map_or_else(|| "(default)".to_owned(), |v| v.to_string())
}

/// The services `names` of `cluster`, ten per call (ECS's limit).
async fn read_cluster(
    aws: &Aws,
    cluster: &str,
    names: Vec<String>,
) -> Result<Vec<FoundService>, Error> {
    let mut found = Vec::new();
    for chunk in names.chunks(10) {
        let out = aws
            .ecs()
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await;
        let out = match out {
            // No cluster, no service.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_cluster_not_found_exception()) =>
            {
                return Ok(Vec::new())
            }
            other => other.context("DescribeServices", resource(&chunk.join(",")))?,
        };
        for s in out.services() {
            if s.status() == Some("INACTIVE") {
                continue;
            }
            let vpc = s
                .network_configuration()
                .and_then(|n| n.awsvpc_configuration());
            let deployment = s.deployment_configuration();
            found.push(FoundService {
                cluster: cluster.to_owned(),
                name: s.service_name().unwrap_or_default().to_owned(),
                arn: s.service_arn().unwrap_or_default().to_owned(),
                task_definition: s.task_definition().unwrap_or_default().to_owned(),
                desired_count: s.desired_count(),
                launch_type: s
                    .launch_type()
                    .map(|l| l.as_str().to_owned())
                    .unwrap_or_default(),
                strategy: s
                    .capacity_provider_strategy()
                    .iter()
                    .map(StrategyItem::from_sdk)
                    .collect(),
                health_check_grace_period: s.health_check_grace_period_seconds(),
                target_group_arn: s
                    .load_balancers()
                    .first()
                    .and_then(|l| l.target_group_arn())
                    .map(str::to_owned),
                circuit_breaker: deployment
                    .and_then(|d| d.deployment_circuit_breaker())
                    .map(|c| c.enable()),
                minimum_healthy_percent: deployment.and_then(|d| d.minimum_healthy_percent()),
                maximum_percent: deployment.and_then(|d| d.maximum_percent()),
                propagate_tags: s.propagate_tags() == Some(&PropagateTags::Service),
                enable_execute_command: s.enable_execute_command(),
                subnets: vpc.map(|a| a.subnets().to_vec()).unwrap_or_default(),
                security_groups: vpc
                    .map(|a| a.security_groups().to_vec())
                    .unwrap_or_default(),
                draining: s.status() == Some("DRAINING"),
                owner: converge::owner_in(s.tags().iter().map(|t| (t.key(), t.value()))),
            });
        }
    }
    Ok(found)
}

/// Waits until the service runs its desired count on one PRIMARY deployment; on timeout the
/// error carries the service's last events.
async fn wait_steady(aws: &Aws, wait: &Wait, cluster: &str, name: &str) -> Result<(), Error> {
    let describe = || async {
        aws.ecs()
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
            .context("DescribeServices", resource(name))
    };
    let result = wait
        .until(
            &format!("ECS service {name} to reach a steady state"),
            || async {
                let out = describe().await?;
                let steady = out.services().first().is_some_and(|s| {
                    s.deployments().len() == 1 && s.running_count() == s.desired_count()
                });
                Ok(steady.then_some(()))
            },
        )
        .await;
    match result {
        Err(Error::WaitTimedOut { what, waited }) => {
            let events: Vec<String> = describe()
                .await
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

#[async_trait]
impl Resource for EcsServiceKind {
    const KIND: &'static str = "aws_ecs_service";
    /// The cluster's name.
    type Field = String;
    type Key = String;
    type Desired = ServiceSpec;
    type Observed = FoundService;
    type Outputs = EcsServiceOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{service_linked_role, Grant};
        vec![
            Grant::new([
                "ecs:DescribeServices",
                "ecs:CreateService",
                "ecs:UpdateService",
            ]),
            Grant::new(["ecs:TagResource"]).when(
                "StringEquals",
                "ecs:CreateAction",
                ["CreateService"],
            ),
            Grant::new(["ecs:TagResource"]).tagged(),
            Grant::new(["ecs:DeleteService"]).owned(),
            service_linked_role("ecs.amazonaws.com"),
        ]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, String>],
    ) -> Result<Vec<FoundService>, Error> {
        let mut clusters: Vec<(&str, Vec<String>)> = Vec::new();
        for w in wanted {
            match clusters.iter_mut().find(|(c, _)| *c == w.key.as_str()) {
                Some((_, names)) => names.push(w.name.to_owned()),
                None => clusters.push((w.key.as_str(), vec![w.name.to_owned()])),
            }
        }
        let found = futures::future::try_join_all(
            clusters
                .into_iter()
                .map(|(cluster, names)| read_cluster(aws, cluster, names)),
        )
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    fn name<'o>(&self, o: &'o FoundService) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundService) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundService) -> String {
        o.arn.clone()
    }

    fn tag_target(&self, o: &FoundService) -> Option<converge::TagTarget> {
        Some(converge::TagTarget::Ecs(o.arn.clone()))
    }

    fn describe(&self, d: &ServiceSpec) -> Vec<Diff> {
        let set = |field: &str, after: String| Diff {
            field: field.into(),
            before: None,
            after: Some(after),
            replaces: None,
        };
        let mut out = vec![
            if d.strategy.is_empty() {
                set("launch_type", launch(d.launch_type).into())
            } else {
                set("capacity_provider_strategy", strategy_text(&d.strategy))
            },
            set("task_definition", d.task_definition.to_string()),
            set("desired_count", d.desired_count.to_string()),
        ];
        if let Some(Awsvpc {
            subnets,
            security_groups: groups,
        }) = &d.awsvpc
        {
            out.push(set(
                "subnets",
                subnets.as_ref().map(|s| s.join(",")).to_string(),
            ));
            out.push(set(
                "security_groups",
                groups.as_ref().map(|s| s.join(",")).to_string(),
            ));
        }
        if d.enable_execute_command {
            out.push(set("enable_execute_command", "true".into()));
        }
        if let Some(t) = &d.target {
            out.push(set(
                "load_balancer",
                format!(
                    "{}:{} via {}",
                    t.container_name, t.container_port, t.target_group_arn
                ),
            ));
        }
        out
    }

    fn diff(&self, d: &ServiceSpec, o: &FoundService) -> Delta {
        let mut delta = Delta::new();
        if o.draining {
            // A service being deleted comes back only as a new one, once it is gone.
            delta.replace("status", Some("DRAINING"), Some("ACTIVE"));
        }
        compare_placement(&mut delta, d, o);
        if !d.task_definition_left_to_ci {
            delta.compare("task_definition", &o.task_definition, &d.task_definition);
        } else if d.task_definition.known() != Some(&o.task_definition) {
            delta.keep(format!(
                "task_definition {} (left to CI; the inputs' is {})",
                o.task_definition, d.task_definition
            ));
        }
        if !d.desired_count_managed {
            delta.compare(
                "desired_count",
                &o.desired_count,
                &Value::Known(d.desired_count),
            );
        }
        if let Some(Awsvpc {
            subnets,
            security_groups: groups,
        }) = &d.awsvpc
        {
            delta.compare_set("subnets", &o.subnets, subnets);
            delta.compare_set("security_groups", &o.security_groups, groups);
        }
        let have_tg = o.target_group_arn.clone().unwrap_or_default();
        match &d.target {
            Some(t) => {
                delta.compare("target_group", &have_tg, &t.target_group_arn);
            }
            None if o.target_group_arn.is_some() => {
                delta.update("target_group", Some(have_tg), None::<String>);
            }
            None => {}
        }
        if d.health_check_grace_period.is_some()
            && o.health_check_grace_period != d.health_check_grace_period
        {
            delta.update(
                "health_check_grace_period_seconds",
                Some(optional(o.health_check_grace_period)),
                Some(optional(d.health_check_grace_period)),
            );
        }
        // What ECS does not describe (the emulator leaves the deployment configuration out)
        // cannot be compared.
        if let Some(have) = o.circuit_breaker {
            delta.compare("circuit_breaker", &have, &Value::Known(d.circuit_breaker));
        }
        for (field, have, want) in [
            (
                "minimum_healthy_percent",
                o.minimum_healthy_percent,
                d.minimum_healthy_percent,
            ),
            ("maximum_percent", o.maximum_percent, d.maximum_percent),
        ] {
            if have.is_some() && want.is_some() && have != want {
                delta.update(field, Some(optional(have)), Some(optional(want)));
            }
        }
        delta.compare(
            "propagate_tags",
            &o.propagate_tags,
            &Value::Known(d.propagate_tags),
        );
        delta.compare(
            "enable_execute_command",
            &o.enable_execute_command,
            &Value::Known(d.enable_execute_command),
        );
        delta
    }

    fn outputs(&self, o: &FoundService) -> EcsServiceOutputs {
        EcsServiceOutputs {
            arn: o.arn.clone(),
            name: o.name.clone(),
        }
    }

    fn output_id(&self, out: &EcsServiceOutputs) -> Option<String> {
        Some(out.arn.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &ServiceSpec) -> Result<EcsServiceOutputs, Error> {
        let task_definition = d.task_definition.clone().require("the task definition")?;
        let network = awsvpc(d)?;
        let balancers = load_balancers(d)?;
        let strategy: Vec<_> = d.strategy.iter().map(StrategyItem::sdk).collect();
        let aws = cx.aws;
        // The SDK fills in no token for this call. With one, ECS answers a resend of a create
        // it carried out (its answer lost) with that service.
        let token = converge::client_token(&cx, Self::KIND, "create", converge::token::ECS);
        let out = aws
            .retry()
            .run(cx.name, NOT_YET, || {
                aws.ecs()
                    .create_service()
                    .client_token(token.as_str())
                    .cluster(&d.cluster)
                    .service_name(cx.name)
                    .task_definition(&task_definition)
                    .desired_count(d.desired_count)
                    .set_launch_type(d.strategy.is_empty().then_some(match d.launch_type {
                        LaunchType::Fargate => EcsLaunchType::Fargate,
                        LaunchType::Ec2 => EcsLaunchType::Ec2,
                    }))
                    .set_capacity_provider_strategy(
                        (!d.strategy.is_empty()).then(|| strategy.clone()),
                    )
                    .set_network_configuration(network.clone())
                    .set_load_balancers(balancers.clone())
                    .set_health_check_grace_period_seconds(d.health_check_grace_period)
                    .set_role(d.role.clone())
                    .deployment_configuration(deployment(d))
                    .set_propagate_tags(d.propagate_tags.then_some(PropagateTags::Service))
                    .enable_execute_command(d.enable_execute_command)
                    .set_tags(Some(cx.tags.ecs(cx.name)))
                    .send()
            })
            .await
            .context("CreateService", resource(cx.name))?;
        token.made();
        if let Some(steady) = &d.steady_state {
            wait_steady(aws, steady, &d.cluster, cx.name).await?;
        }
        Ok(EcsServiceOutputs {
            arn: out
                .service()
                .and_then(|s| s.service_arn())
                .unwrap_or_default()
                .to_owned(),
            name: cx.name.to_owned(),
        })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ServiceSpec,
        o: &FoundService,
        delta: &Delta,
    ) -> Result<EcsServiceOutputs, Error> {
        let cluster = &o.cluster;
        // Moving to or between strategies names the new one; back to the launch type is an
        // empty one. Either takes a new deployment to move the running tasks.
        let moves = moves_placement(delta);
        // Only tasks started after the change have ECS Exec's agent (or lose it).
        let exec = delta
            .diffs()
            .iter()
            .any(|d| d.field == "enable_execute_command");
        let strategy: Vec<_> = d.strategy.iter().map(StrategyItem::sdk).collect();
        let task_definition = match d.task_definition_left_to_ci {
            true => None,
            false => Some(d.task_definition.clone().require("the task definition")?),
        };
        let network = awsvpc(d)?;
        let balancers = load_balancers(d)?;
        let aws = cx.aws;
        aws.retry()
            .run(cx.name, NOT_YET, || {
                aws.ecs()
                    .update_service()
                    .cluster(cluster)
                    .service(cx.name)
                    .set_task_definition(task_definition.clone())
                    .set_desired_count((!d.desired_count_managed).then_some(d.desired_count))
                    .set_capacity_provider_strategy(moves.then(|| strategy.clone()))
                    .force_new_deployment(moves || exec)
                    .enable_execute_command(d.enable_execute_command)
                    .set_health_check_grace_period_seconds(d.health_check_grace_period)
                    .deployment_configuration(deployment(d))
                    // An empty list takes a load balancer away; none leaves it as it is.
                    .set_load_balancers(Some(balancers.clone().unwrap_or_default()))
                    .set_network_configuration(network.clone())
                    .propagate_tags(if d.propagate_tags {
                        PropagateTags::Service
                    } else {
                        PropagateTags::None
                    })
                    .send()
            })
            .await
            .context("UpdateService", resource(cx.name))?;
        if let Some(steady) = &d.steady_state {
            wait_steady(aws, steady, cluster, cx.name).await?;
        }
        Ok(self.outputs(o))
    }

    /// Scales to zero, deletes, and waits until ECS reports the service INACTIVE.
    async fn delete(&self, cx: Cx<'_>, o: &FoundService) -> Result<(), Error> {
        const ACTIVE_DEPLOYMENTS: Transient = Transient::messages(&[DEPLOYMENTS_ACTIVE]);
        let aws = cx.aws;
        let cluster = o.cluster.as_str();
        let name = o.name.as_str();
        // Everything goes: the targets need not drain (300 s by default on AWS), and the load
        // balancer and the rest can go while the tasks stop.
        if cx.teardown {
            if let Some(tg) = &o.target_group_arn {
                ignore_not_found(set_deregistration_delay(aws, tg, 0).await)?;
            }
        }
        // A destroy cut off after DeleteService finds it draining: only the wait is left.
        if !o.draining {
            aws.ecs()
                .update_service()
                .cluster(cluster)
                .service(name)
                .desired_count(0)
                .send()
                .await
                .context(
                    "UpdateService",
                    format_args!("{} (scale to 0)", resource(name)),
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
                .context("DeleteService", resource(name))?;
        }
        if cx.teardown {
            // The cluster's delete waits for it, as do the security groups for its tasks'
            // network interfaces.
            return Ok(());
        }
        Wait::default()
            .until(&format!("ECS service {name} to be INACTIVE"), || async {
                let out = aws
                    .ecs()
                    .describe_services()
                    .cluster(cluster)
                    .services(name)
                    .send()
                    .await
                    .context("DescribeServices", resource(name))?;
                let gone = out
                    .services()
                    .iter()
                    .all(|s| s.status() == Some("INACTIVE"));
                Ok(gone.then_some(()))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecs_error(
        code: &str,
        message: &str,
    ) -> aws_sdk_ecs::operation::create_service::CreateServiceError {
        aws_sdk_ecs::operation::create_service::CreateServiceError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code(code)
                .message(message)
                .build(),
        )
    }

    /// AWS's messages, in full, that the retries tell apart by their text.
    #[test]
    fn aws_messages_without_a_code_of_their_own() {
        for message in [
            "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.",
            "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
            "The target group with targetGroupArn arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blog-web/0123456789abcdef does not have an associated load balancer.",
        ] {
            assert!(NOT_YET.matches(&ecs_error("InvalidParameterException", message)), "{message}");
            assert!(!NOT_YET.matches(&ecs_error("AccessDeniedException", message)), "{message}");
        }
        assert!(NOT_YET.matches(&ecs_error("ClusterNotFoundException", "Cluster not found.")));
        assert!(!NOT_YET.matches(&ecs_error(
            "InvalidParameterException",
            "The container web does not exist in the task definition."
        )));
        assert!(DEPLOYMENTS_ACTIVE.matches(&ecs_error(
            "InvalidParameterException",
            "The service cannot be stopped while deployments are active."
        )));
    }

    fn spec() -> ServiceSpec {
        ServiceSpec {
            cluster: "blog".into(),
            task_definition: Value::Known("arn:td:1".into()),
            desired_count: 1,
            desired_count_managed: false,
            launch_type: LaunchType::Fargate,
            strategy: Vec::new(),
            awsvpc: Some(Awsvpc {
                subnets: Value::Known(vec!["subnet-a".into()]),
                security_groups: Value::Known(vec!["sg-1".into()]),
            }),
            target: None,
            health_check_grace_period: None,
            circuit_breaker: true,
            minimum_healthy_percent: Some(100),
            maximum_percent: Some(200),
            propagate_tags: false,
            enable_execute_command: false,
            task_definition_left_to_ci: false,
            role: None,
            steady_state: None,
        }
    }

    fn found() -> FoundService {
        FoundService {
            cluster: "blog".into(),
            name: "blog".into(),
            arn: "arn:svc".into(),
            task_definition: "arn:td:1".into(),
            desired_count: 1,
            launch_type: "FARGATE".into(),
            strategy: Vec::new(),
            health_check_grace_period: None,
            target_group_arn: None,
            circuit_breaker: Some(true),
            minimum_healthy_percent: Some(100),
            maximum_percent: Some(200),
            propagate_tags: false,
            enable_execute_command: false,
            subnets: vec!["subnet-a".into()],
            security_groups: vec!["sg-1".into()],
            draining: false,
            owner: None,
        }
    }

    /// ECS clients whose `CreateService` answers `ClusterNotFoundException` (a cluster just
    /// made), then `AccessDeniedException`, then makes the service; each client token sent is
    /// logged in `sent`.
    fn ecs(sent: &std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> Aws {
        use aws_sdk_ecs::operation::create_service::{CreateServiceError, CreateServiceOutput};
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let sent = std::sync::Arc::clone(sent);
        let error = |code: &'static str| {
            move || {
                CreateServiceError::generic(
                    aws_sdk_ecs::error::ErrorMetadata::builder()
                        .code(code)
                        .build(),
                )
            }
        };
        let create = mock!(aws_sdk_ecs::Client::create_service)
            .match_requests(move |r| {
                sent.lock()
                    .unwrap()
                    .push(r.client_token().unwrap_or_default().to_owned());
                true
            })
            .sequence()
            .error(error("ClusterNotFoundException"))
            .error(error("AccessDeniedException"))
            .output(|| {
                CreateServiceOutput::builder()
                    .service(
                        aws_sdk_ecs::types::Service::builder()
                            .service_arn("arn:svc")
                            .build(),
                    )
                    .build()
            })
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &[create], |c| c
            .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()));
        Aws::builder()
            .ecs(client)
            .retry(converge::Retry {
                max_elapsed: std::time::Duration::from_secs(2),
                initial_delay: std::time::Duration::from_millis(1),
                max_delay: std::time::Duration::from_millis(5),
            })
            .build()
    }

    #[tokio::test]
    async fn a_service_keeps_its_token_until_it_is_made_within_ecs_limit() {
        let sent = std::sync::Arc::default();
        let tags = converge::Tags::for_instance("ecs-service", "blog", "blog");
        let (one, other) = (ecs(&sent), ecs(&sent));
        let cx = |aws| Cx {
            aws,
            name: "blog",
            tags: &tags,
            teardown: false,
        };
        // The cluster's propagation is retried by the kind, then the run fails.
        EcsServiceKind.create(cx(&one), &spec()).await.unwrap_err();
        // Applied again in the same run: a service the failed call made would be answered.
        EcsServiceKind.create(cx(&one), &spec()).await.unwrap();
        EcsServiceKind.create(cx(&one), &spec()).await.unwrap();
        // Another run: its own, through its own failures.
        EcsServiceKind
            .create(cx(&other), &spec())
            .await
            .unwrap_err();
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 6, "{sent:?}");
        assert!(
            sent.iter().all(|t| !t.is_empty() && t.len() <= 36),
            "{sent:?}"
        );
        assert!(sent[0] == sent[1] && sent[1] == sent[2], "{sent:?}");
        assert_ne!(sent[3], sent[2], "a later service is a new one");
        assert_eq!(sent[4], sent[5]);
        assert!(sent[4] != sent[2] && sent[4] != sent[3], "{sent:?}");
    }

    #[test]
    fn deployment_bounds_and_tags_are_compared_where_ecs_describes_them() {
        assert!(EcsServiceKind.diff(&spec(), &found()).is_empty());
        let bounds = ServiceSpec {
            minimum_healthy_percent: Some(50),
            ..spec()
        };
        let delta = EcsServiceKind.diff(&bounds, &found());
        assert_eq!(delta.diffs()[0].field, "minimum_healthy_percent");
        assert!(!delta.replaces());
        // The emulator describes no deployment configuration: nothing to compare.
        let undescribed = FoundService {
            minimum_healthy_percent: None,
            circuit_breaker: None,
            ..found()
        };
        assert!(EcsServiceKind.diff(&bounds, &undescribed).is_empty());
        let tags = ServiceSpec {
            propagate_tags: true,
            ..spec()
        };
        assert_eq!(
            EcsServiceKind.diff(&tags, &found()).diffs()[0].field,
            "propagate_tags"
        );
    }

    #[test]
    fn a_draining_service_is_replaced_once_gone_and_launch_type_is_fixed() {
        let draining = FoundService {
            draining: true,
            ..found()
        };
        assert!(EcsServiceKind.diff(&spec(), &draining).replaces());
        let ec2 = ServiceSpec {
            launch_type: LaunchType::Ec2,
            ..spec()
        };
        assert!(EcsServiceKind.diff(&ec2, &found()).replaces());
        let moved = ServiceSpec {
            task_definition: Value::AfterApply,
            ..spec()
        };
        let delta = EcsServiceKind.diff(&moved, &found());
        assert!(!delta.replaces());
        assert_eq!(delta.diffs()[0].field, "task_definition");
    }

    #[test]
    fn strategies_move_in_place_and_an_autoscaled_count_is_not_compared() {
        let spot = ServiceSpec {
            strategy: vec![
                StrategyItem::new("FARGATE", 1).base(1),
                StrategyItem::new("FARGATE_SPOT", 3),
            ],
            ..spec()
        };
        let delta = EcsServiceKind.diff(&spot, &found());
        assert!(!delta.replaces());
        let fields: Vec<&str> = delta.changes.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["capacity_provider_strategy", "launch_type"]);
        assert!(moves_placement(&delta));
        let on_spot = FoundService {
            launch_type: String::new(),
            strategy: spot.strategy.iter().rev().cloned().collect(),
            ..found()
        };
        assert!(EcsServiceKind.diff(&spot, &on_spot).is_empty());
        // Back to FARGATE: in place. To EC2: Fargate's providers cannot become instances.
        let back = EcsServiceKind.diff(&spec(), &on_spot);
        assert!(!back.replaces());
        assert_eq!(back.diffs()[0].after.as_deref(), Some(NONE));
        let ec2 = ServiceSpec {
            launch_type: LaunchType::Ec2,
            ..spec()
        };
        assert!(EcsServiceKind.diff(&ec2, &on_spot).replaces());
        let scaled = FoundService {
            desired_count: 7,
            ..found()
        };
        assert!(!EcsServiceKind.diff(&spec(), &scaled).is_empty());
        let managed = ServiceSpec {
            desired_count_managed: true,
            ..spec()
        };
        assert!(EcsServiceKind.diff(&managed, &scaled).is_empty());
    }

    #[test]
    fn exec_is_compared_and_a_task_definition_left_to_ci_is_kept() {
        let exec = ServiceSpec {
            enable_execute_command: true,
            ..spec()
        };
        let delta = EcsServiceKind.diff(&exec, &found());
        assert_eq!(delta.diffs()[0].field, "enable_execute_command");
        let deployed = FoundService {
            task_definition: "arn:td:7".into(),
            ..found()
        };
        assert_eq!(
            EcsServiceKind.diff(&spec(), &deployed).diffs()[0].field,
            "task_definition"
        );
        let left = ServiceSpec {
            task_definition_left_to_ci: true,
            ..spec()
        };
        let delta = EcsServiceKind.diff(&left, &deployed);
        assert!(delta.is_empty());
        assert_eq!(
            delta.kept,
            ["task_definition arn:td:7 (left to CI; the inputs' is arn:td:1)"]
        );
    }
}
