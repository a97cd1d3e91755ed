//! `aws_ecs_service`: found by name in its cluster with its tags, up to ten per call.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, AssignPublicIp, AwsVpcConfiguration,
    DeploymentAlarms as EcsDeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentRolloutState, LaunchType as EcsLaunchType, LoadBalancer as EcsLoadBalancer,
    NetworkConfiguration, PropagateTags, ServiceField,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, same_set, strategy_text, Action, Aws, AwsResultExt, Cx, Delta, Diff, Error,
    Field, Progress, Resource, Said, StrategyItem, Transient, Value, Wait, Wanted,
};

use crate::deployment::DeploymentStrategy;
use crate::inputs::LaunchType;
use crate::target_groups::set_deregistration_delay;

/// The ECS service kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct EcsServiceKind;

/// Where a load balancer's target group sends traffic to.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceTarget<P: Phase = AtPlan> {
    /// The target group.
    pub target_group_arn: P::Value<String>,
    /// The container.
    pub container_name: String,
    /// Its port.
    pub container_port: i32,
}

/// What ECS shifts traffic with under a strategy other than rolling (the load balancer's
/// `advancedConfiguration`).
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficShift<P: Phase = AtPlan> {
    /// The target group the new revision's tasks register with.
    pub alternate_target_group_arn: P::Value<String>,
    /// The listener rule whose forward weights ECS moves between the two groups.
    pub production_listener_rule: P::Value<String>,
    /// The infrastructure role ECS moves them with.
    pub role_arn: P::Value<String>,
}

impl TrafficShift {
    fn resolve(&self) -> Result<TrafficShift<AtApply>, Unknown> {
        Ok(TrafficShift {
            alternate_target_group_arn: self
                .alternate_target_group_arn
                .resolve("traffic_shift.alternate_target_group_arn")?,
            production_listener_rule: self
                .production_listener_rule
                .resolve("traffic_shift.production_listener_rule")?,
            role_arn: self.role_arn.resolve("traffic_shift.role_arn")?,
        })
    }

    /// How a plan shows it, `(known after apply)` until every part is known.
    fn shown(&self) -> Value<String> {
        match self.resolve() {
            Ok(known) => Value::Known(known.to_string()),
            Err(_) => Value::AfterApply,
        }
    }
}

impl std::fmt::Display for TrafficShift<AtApply> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "alternate {} via rule {} as {}",
            self.alternate_target_group_arn, self.production_listener_rule, self.role_arn
        )
    }
}

/// The alarms that fail a deployment (`deploymentConfiguration.alarms`).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceAlarms<P: Phase = AtPlan> {
    /// Their names; the module's own are known once made.
    pub names: P::Value<Vec<String>>,
    /// Whether a deployment that sets one off is rolled back.
    pub rollback: bool,
}

impl ServiceAlarms<AtApply> {
    /// How a plan and a read show them: `a,b (rollback)`.
    fn shown(&self) -> String {
        let mut names = self.names.clone();
        names.sort();
        let rollback = if self.rollback { " (rollback)" } else { "" };
        format!("{}{rollback}", names.join(","))
    }
}

/// The tasks' network in awsvpc mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Awsvpc<P: Phase = AtPlan> {
    /// Their subnets.
    pub subnets: P::Value<Vec<String>>,
    /// Their security groups.
    pub security_groups: P::Value<Vec<String>>,
}

/// What a service should be.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec<P: Phase = AtPlan> {
    /// The cluster's name or ARN (the key the service is read by).
    pub cluster: String,
    /// The task definition revision it runs.
    pub task_definition: P::Value<String>,
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
    pub awsvpc: Option<Awsvpc<P>>,
    /// The load balancer's target, when there is one.
    pub target: Option<ServiceTarget<P>>,
    /// Seconds ECS ignores failing health checks after a task starts.
    pub health_check_grace_period: Option<i32>,
    /// The deployment circuit breaker, with rollback.
    pub circuit_breaker: bool,
    /// How a new revision replaces the running one.
    pub deployment_strategy: DeploymentStrategy,
    /// What ECS shifts traffic with, for a strategy other than rolling behind a load
    /// balancer.
    pub traffic_shift: Option<TrafficShift<P>>,
    /// The alarms that fail a deployment.
    pub alarms: Option<ServiceAlarms<P>>,
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

impl Resolve for ServiceSpec {
    type Output = ServiceSpec<AtApply>;

    fn resolve(&self) -> Result<ServiceSpec<AtApply>, Unknown> {
        Ok(ServiceSpec {
            cluster: self.cluster.clone(),
            task_definition: self.task_definition.resolve("task_definition")?,
            desired_count: self.desired_count,
            desired_count_managed: self.desired_count_managed,
            launch_type: self.launch_type,
            strategy: self.strategy.clone(),
            awsvpc: match &self.awsvpc {
                Some(a) => Some(Awsvpc {
                    subnets: a.subnets.resolve("awsvpc.subnets")?,
                    security_groups: a.security_groups.resolve("awsvpc.security_groups")?,
                }),
                None => None,
            },
            target: match &self.target {
                Some(t) => Some(ServiceTarget {
                    target_group_arn: t.target_group_arn.resolve("target.target_group_arn")?,
                    container_name: t.container_name.clone(),
                    container_port: t.container_port,
                }),
                None => None,
            },
            health_check_grace_period: self.health_check_grace_period,
            circuit_breaker: self.circuit_breaker,
            deployment_strategy: self.deployment_strategy,
            traffic_shift: match &self.traffic_shift {
                Some(t) => Some(t.resolve()?),
                None => None,
            },
            alarms: match &self.alarms {
                Some(a) => Some(ServiceAlarms {
                    names: a.names.resolve("alarms.names")?,
                    rollback: a.rollback,
                }),
                None => None,
            },
            minimum_healthy_percent: self.minimum_healthy_percent,
            maximum_percent: self.maximum_percent,
            propagate_tags: self.propagate_tags,
            enable_execute_command: self.enable_execute_command,
            task_definition_left_to_ci: self.task_definition_left_to_ci,
            role: self.role.clone(),
            steady_state: self.steady_state,
        })
    }
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
    /// Rolling where ECS describes no strategy (its default).
    deployment_strategy: DeploymentStrategy,
    /// The load balancer's `advancedConfiguration`, when it has one.
    traffic_shift: Option<TrafficShift<AtApply>>,
    /// The deployment alarms, when enabled.
    alarms: Option<ServiceAlarms<AtApply>>,
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

fn launch(l: LaunchType) -> &'static str {
    match l {
        LaunchType::Fargate => "FARGATE",
        LaunchType::Ec2 => "EC2",
    }
}

fn deployment(d: &ServiceSpec<AtApply>) -> DeploymentConfiguration {
    d.deployment_strategy
        .configure(DeploymentConfiguration::builder())
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(d.circuit_breaker)
                .rollback(d.circuit_breaker)
                .build(),
        )
        .set_minimum_healthy_percent(d.minimum_healthy_percent)
        .set_maximum_percent(d.maximum_percent)
        .set_alarms(d.alarms.as_ref().map(|a| {
            EcsDeploymentAlarms::builder()
                .set_alarm_names(Some(a.names.clone()))
                .enable(true)
                .rollback(a.rollback)
                .build()
                .expect("alarm names set")
        }))
        .build()
}

fn load_balancers(d: &ServiceSpec<AtApply>) -> Option<Vec<EcsLoadBalancer>> {
    let t = d.target.as_ref()?;
    let advanced = d.traffic_shift.as_ref().map(|shift| {
        AdvancedConfiguration::builder()
            .alternate_target_group_arn(&shift.alternate_target_group_arn)
            .production_listener_rule(&shift.production_listener_rule)
            .role_arn(&shift.role_arn)
            .build()
    });
    Some(vec![EcsLoadBalancer::builder()
        .target_group_arn(&t.target_group_arn)
        .container_name(&t.container_name)
        .container_port(t.container_port)
        .set_advanced_configuration(advanced)
        .build()])
}

/// The tasks' network in awsvpc mode, without public addresses (they sit in private subnets
/// behind NAT).
fn awsvpc(d: &ServiceSpec<AtApply>) -> Option<NetworkConfiguration> {
    let Awsvpc {
        subnets,
        security_groups: groups,
    } = d.awsvpc.as_ref()?;
    let config = AwsVpcConfiguration::builder()
        .set_subnets(Some(subnets.clone()))
        .set_security_groups(Some(groups.clone()))
        .assign_public_ip(AssignPublicIp::Disabled)
        .build()
        .expect("subnets set");
    Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(config)
            .build(),
    )
}

const NONE: &str = "(none)";

/// Why one launch type for another is a new service.
const LAUNCH_TYPE_FIXED: &str = "ECS cannot change a service's launch type";

/// Why a strategy's tasks cannot move in place to a launch type of the other kind.
const OTHER_CAPACITY: &str = "ECS cannot move a service between Fargate and EC2 capacity";

/// Launch type and strategy. One launch type for another is a new service (ECS cannot change
/// it); a launch type for a strategy, a strategy for another, or a strategy back to a launch
/// type of the same kind (Fargate's providers and FARGATE) is an update with a new
/// deployment.
fn compare_placement(delta: &mut Delta<EcsServiceField>, d: &ServiceSpec, o: &FoundService) {
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
            if o.launch_type != want_launch {
                delta.replace_because(
                    EcsServiceField::LaunchType,
                    LAUNCH_TYPE_FIXED,
                    Some(&o.launch_type),
                    Some(want_launch),
                );
            }
            return;
        }
        let fargate = o.strategy.iter().all(StrategyItem::is_fargate);
        let same_kind = fargate == (d.launch_type == LaunchType::Fargate);
        let before = Some(strategy_text(&o.strategy));
        if same_kind {
            delta.update(
                EcsServiceField::CapacityProviderStrategy,
                before,
                Some(NONE),
            );
        } else {
            delta.replace_because(
                EcsServiceField::CapacityProviderStrategy,
                OTHER_CAPACITY,
                before,
                Some(NONE),
            );
        }
        if o.launch_type != want_launch {
            delta.update(
                EcsServiceField::LaunchType,
                Some(have(&o.launch_type)),
                Some(want_launch),
            );
        }
        return;
    }
    let text =
        |items: &[StrategyItem]| -> Vec<String> { items.iter().map(ToString::to_string).collect() };
    if !same_set(&text(&o.strategy), &text(&d.strategy)) {
        delta.update(
            EcsServiceField::CapacityProviderStrategy,
            Some(if o.strategy.is_empty() {
                NONE.to_owned()
            } else {
                strategy_text(&o.strategy)
            }),
            Some(strategy_text(&d.strategy)),
        );
    }
    if !o.launch_type.is_empty() {
        delta.update(
            EcsServiceField::LaunchType,
            Some(&o.launch_type),
            Some(NONE),
        );
    }
}

/// What an update's one `UpdateService` asks for beyond the inputs' attributes, which it
/// sends whatever changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Redeploy {
    /// Moving to or between strategies names the new one; back to the launch type is an
    /// empty one. Either takes a new deployment to move the running tasks.
    placement: bool,
    /// Only tasks started after the change have ECS Exec's agent (or lose it): a new
    /// deployment.
    exec: bool,
}

/// What `delta`'s update asks for.
fn redeploy(delta: &Delta<EcsServiceField>) -> Redeploy {
    let mut r = Redeploy::default();
    for field in delta.fields() {
        match field {
            // A draining service is made again once gone, never updated (a replacement).
            EcsServiceField::Status => {}
            EcsServiceField::LaunchType | EcsServiceField::CapacityProviderStrategy => {
                r.placement = true;
            }
            EcsServiceField::EnableExecuteCommand => r.exec = true,
            // Sent from the inputs by the one `UpdateService`, changed or not.
            EcsServiceField::TaskDefinition
            | EcsServiceField::DesiredCount
            | EcsServiceField::Subnets
            | EcsServiceField::SecurityGroups
            | EcsServiceField::LoadBalancer
            | EcsServiceField::TargetGroup
            | EcsServiceField::HealthCheckGracePeriod
            | EcsServiceField::CircuitBreaker
            | EcsServiceField::DeploymentStrategy
            | EcsServiceField::TrafficShift
            | EcsServiceField::DeploymentAlarms
            | EcsServiceField::MinimumHealthyPercent
            | EcsServiceField::MaximumPercent
            | EcsServiceField::PropagateTags => {}
        }
    }
    r
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
            other => other.context("DescribeServices", EcsServiceKind::label(&chunk.join(",")))?,
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
                deployment_strategy: DeploymentStrategy::described(deployment),
                alarms: deployment
                    .and_then(|d| d.alarms())
                    .filter(|a| a.enable())
                    .map(|a| ServiceAlarms {
                        names: a.alarm_names().to_vec(),
                        rollback: a.rollback(),
                    }),
                traffic_shift: s
                    .load_balancers()
                    .first()
                    .and_then(|l| l.advanced_configuration())
                    .map(|a| TrafficShift {
                        alternate_target_group_arn: a
                            .alternate_target_group_arn()
                            .unwrap_or_default()
                            .to_owned(),
                        production_listener_rule: a
                            .production_listener_rule()
                            .unwrap_or_default()
                            .to_owned(),
                        role_arn: a.role_arn().unwrap_or_default().to_owned(),
                    }),
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

/// Whether the service runs its desired count on one PRIMARY deployment; a pending poll
/// carries the service's last events, for the timeout's error.
async fn poll_steady(aws: &Aws, cluster: &str, name: &str) -> Result<Progress<()>, Error> {
    let out = aws
        .ecs()
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .context("DescribeServices", EcsServiceKind::label(name))?;
    let service = out.services().first();
    if service.is_some_and(|s| s.deployments().len() == 1 && s.running_count() == s.desired_count())
    {
        return Ok(Progress::Done(()));
    }
    // The circuit breaker stopped the new revision: ECS goes back to the one before.
    let failed = service
        .and_then(|s| {
            s.deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"))
        })
        .filter(|d| d.rollout_state() == Some(&DeploymentRolloutState::Failed));
    if let Some(d) = failed {
        return Err(Error::RolledBack {
            resource: EcsServiceKind::label(name),
            status: "FAILED".into(),
            reason: d
                .rollout_state_reason()
                .unwrap_or("the circuit breaker stopped the deployment")
                .to_owned(),
        });
    }
    let events: Vec<&str> = service
        .map(|s| {
            s.events()
                .iter()
                .take(5)
                .filter_map(|e| e.message())
                .collect()
        })
        .unwrap_or_default();
    Ok(Progress::Pending {
        what: format!("ECS service {name} to reach a steady state"),
        after: None,
        lately: (!events.is_empty()).then(|| format!("last events: {}", events.join(" | "))),
    })
}

/// An ECS service's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcsServiceField {
    /// `DRAINING`: being deleted, it comes back only as a new one.
    Status,
    /// FARGATE or EC2; one for the other is a new service, to or from a strategy is not.
    LaunchType,
    /// The capacity provider strategy; to a launch type of the other kind is a new service.
    CapacityProviderStrategy,
    /// The task definition revision it runs.
    TaskDefinition,
    /// How many tasks.
    DesiredCount,
    /// The tasks' subnets, in awsvpc mode.
    Subnets,
    /// The tasks' security groups, in awsvpc mode.
    SecurityGroups,
    /// The container and port behind the target group, as a create shows it.
    LoadBalancer,
    /// The target group it registers its tasks with, as a diff compares it.
    TargetGroup,
    /// Seconds ECS ignores failing health checks after a task starts.
    HealthCheckGracePeriod,
    /// The deployment circuit breaker, with rollback.
    CircuitBreaker,
    /// How a new revision replaces the running one.
    DeploymentStrategy,
    /// What ECS shifts traffic with, under a strategy other than rolling.
    TrafficShift,
    /// The alarms that fail a deployment.
    DeploymentAlarms,
    /// The deployment's lower bound, in percent of the desired count.
    MinimumHealthyPercent,
    /// The deployment's upper bound, in percent of the desired count.
    MaximumPercent,
    /// Whether the service's tags go to its tasks.
    PropagateTags,
    /// ECS Exec into the tasks.
    EnableExecuteCommand,
}

impl Field for EcsServiceField {
    fn name(&self) -> &str {
        match self {
            EcsServiceField::Status => "status",
            EcsServiceField::LaunchType => "launch_type",
            EcsServiceField::CapacityProviderStrategy => "capacity_provider_strategy",
            EcsServiceField::TaskDefinition => "task_definition",
            EcsServiceField::DesiredCount => "desired_count",
            EcsServiceField::Subnets => "subnets",
            EcsServiceField::SecurityGroups => "security_groups",
            EcsServiceField::LoadBalancer => "load_balancer",
            EcsServiceField::TargetGroup => "target_group",
            EcsServiceField::HealthCheckGracePeriod => "health_check_grace_period_seconds",
            EcsServiceField::CircuitBreaker => "circuit_breaker",
            EcsServiceField::DeploymentStrategy => "deployment_strategy",
            EcsServiceField::TrafficShift => "traffic_shift",
            EcsServiceField::DeploymentAlarms => "deployment_alarms",
            EcsServiceField::MinimumHealthyPercent => "minimum_healthy_percent",
            EcsServiceField::MaximumPercent => "maximum_percent",
            EcsServiceField::PropagateTags => "propagate_tags",
            EcsServiceField::EnableExecuteCommand => "enable_execute_command",
        }
    }

    /// Launch type and strategy force a replacement by their values only
    /// (`compare_placement`).
    fn replaces(&self) -> Option<&'static str> {
        match self {
            EcsServiceField::Status => Some("ECS brings back a draining service only as a new one"),
            EcsServiceField::LaunchType
            | EcsServiceField::CapacityProviderStrategy
            | EcsServiceField::TaskDefinition
            | EcsServiceField::DesiredCount
            | EcsServiceField::Subnets
            | EcsServiceField::SecurityGroups
            | EcsServiceField::LoadBalancer
            | EcsServiceField::TargetGroup
            | EcsServiceField::HealthCheckGracePeriod
            | EcsServiceField::CircuitBreaker
            | EcsServiceField::DeploymentStrategy
            | EcsServiceField::TrafficShift
            | EcsServiceField::DeploymentAlarms
            | EcsServiceField::MinimumHealthyPercent
            | EcsServiceField::MaximumPercent
            | EcsServiceField::PropagateTags
            | EcsServiceField::EnableExecuteCommand => None,
        }
    }
}

#[async_trait]
impl Resource for EcsServiceKind {
    const KIND: &'static str = "aws_ecs_service";
    // Repeated whole: CreateService's token is the same for every attempt until one made the
    // service, and UpdateService sets what it sets again.
    const TRANSIENT: Transient = NOT_YET;
    // The scale to zero and the delete are repeated whole.
    const IN_USE: Transient = Transient::messages(&[DEPLOYMENTS_ACTIVE]);
    type Field = EcsServiceField;
    /// The cluster's name.
    type Key = String;
    type Desired = ServiceSpec;
    type Observed = FoundService;
    type Outputs = EcsServiceOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{service_linked_role, Grant};
        // A traffic shift waited for is followed through ECS's service deployments.
        let follows = desired
            .is_some_and(|d| d.steady_state.is_some() && d.deployment_strategy.shifts_traffic());
        let following = follows.then(|| Grant::new(["ecs:DescribeServiceDeployments"]));
        let mut grants = vec![
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
        ];
        grants.extend(following);
        grants
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
        // What a create sets: nothing is replaced, whatever the field.
        let set = |field: EcsServiceField, after: String| Diff {
            field: field.name().into(),
            before: None,
            after: Some(after),
            replaces: None,
        };
        let mut out = vec![
            if d.strategy.is_empty() {
                set(EcsServiceField::LaunchType, launch(d.launch_type).into())
            } else {
                set(
                    EcsServiceField::CapacityProviderStrategy,
                    strategy_text(&d.strategy),
                )
            },
            set(
                EcsServiceField::TaskDefinition,
                d.task_definition.to_string(),
            ),
            set(EcsServiceField::DesiredCount, d.desired_count.to_string()),
        ];
        if let Some(Awsvpc {
            subnets,
            security_groups: groups,
        }) = &d.awsvpc
        {
            out.push(set(
                EcsServiceField::Subnets,
                subnets.as_ref().map(|s| s.join(",")).to_string(),
            ));
            out.push(set(
                EcsServiceField::SecurityGroups,
                groups.as_ref().map(|s| s.join(",")).to_string(),
            ));
        }
        if d.enable_execute_command {
            out.push(set(EcsServiceField::EnableExecuteCommand, "true".into()));
        }
        if d.deployment_strategy.shifts_traffic() {
            out.push(set(
                EcsServiceField::DeploymentStrategy,
                d.deployment_strategy.to_string(),
            ));
        }
        if let Some(shift) = &d.traffic_shift {
            out.push(set(
                EcsServiceField::TrafficShift,
                shift.shown().to_string(),
            ));
        }
        if let Some(t) = &d.target {
            out.push(set(
                EcsServiceField::LoadBalancer,
                format!(
                    "{}:{} via {}",
                    t.container_name, t.container_port, t.target_group_arn
                ),
            ));
        }
        out
    }

    fn diff(&self, d: &ServiceSpec, o: &FoundService) -> Delta<EcsServiceField> {
        let mut delta = Delta::new();
        if o.draining {
            // A service being deleted comes back only as a new one, once it is gone.
            delta.update(EcsServiceField::Status, Some("DRAINING"), Some("ACTIVE"));
        }
        compare_placement(&mut delta, d, o);
        if !d.task_definition_left_to_ci {
            delta.compare(
                EcsServiceField::TaskDefinition,
                &o.task_definition,
                &d.task_definition,
            );
        } else if d.task_definition.known() != Some(&o.task_definition) {
            delta.keep(format!(
                "task_definition {} (left to CI; the inputs' is {})",
                o.task_definition, d.task_definition
            ));
        }
        if !d.desired_count_managed {
            delta.compare(
                EcsServiceField::DesiredCount,
                &o.desired_count,
                &Value::Known(d.desired_count),
            );
        }
        if let Some(Awsvpc {
            subnets,
            security_groups: groups,
        }) = &d.awsvpc
        {
            delta.compare_set(EcsServiceField::Subnets, &o.subnets, subnets);
            delta.compare_set(EcsServiceField::SecurityGroups, &o.security_groups, groups);
        }
        let have_tg = o.target_group_arn.clone().unwrap_or_default();
        match &d.target {
            Some(t) => {
                delta.compare(EcsServiceField::TargetGroup, &have_tg, &t.target_group_arn);
            }
            None if o.target_group_arn.is_some() => {
                delta.update(EcsServiceField::TargetGroup, Some(have_tg), None::<String>);
            }
            None => {}
        }
        if d.health_check_grace_period.is_some()
            && o.health_check_grace_period != d.health_check_grace_period
        {
            delta.update(
                EcsServiceField::HealthCheckGracePeriod,
                Some(optional(o.health_check_grace_period)),
                Some(optional(d.health_check_grace_period)),
            );
        }
        // What ECS does not describe (the emulator leaves the deployment configuration out)
        // cannot be compared.
        if let Some(have) = o.circuit_breaker {
            delta.compare(
                EcsServiceField::CircuitBreaker,
                &have,
                &Value::Known(d.circuit_breaker),
            );
        }
        delta.compare(
            EcsServiceField::DeploymentStrategy,
            &o.deployment_strategy.to_string(),
            &Value::Known(d.deployment_strategy.to_string()),
        );
        match (&o.traffic_shift, &d.traffic_shift) {
            (None, None) => {}
            (have, Some(want)) => {
                let have = have.as_ref().map(ToString::to_string).unwrap_or_default();
                delta.compare(EcsServiceField::TrafficShift, &have, &want.shown());
            }
            (Some(have), None) => {
                delta.update(EcsServiceField::TrafficShift, Some(have), None::<String>);
            }
        }
        let have = o.alarms.as_ref().map(ServiceAlarms::shown);
        match &d.alarms {
            Some(want) => {
                let want = want.names.clone().map(|names| {
                    let rollback = want.rollback;
                    ServiceAlarms { names, rollback }.shown()
                });
                delta.compare(
                    EcsServiceField::DeploymentAlarms,
                    &have.unwrap_or_default(),
                    &want,
                );
            }
            None if have.is_some() => {
                delta.update(EcsServiceField::DeploymentAlarms, have, None::<String>);
            }
            None => {}
        }
        for (field, have, want) in [
            (
                EcsServiceField::MinimumHealthyPercent,
                o.minimum_healthy_percent,
                d.minimum_healthy_percent,
            ),
            (
                EcsServiceField::MaximumPercent,
                o.maximum_percent,
                d.maximum_percent,
            ),
        ] {
            if have.is_some() && want.is_some() && have != want {
                delta.update(field, Some(optional(have)), Some(optional(want)));
            }
        }
        delta.compare(
            EcsServiceField::PropagateTags,
            &o.propagate_tags,
            &Value::Known(d.propagate_tags),
        );
        delta.compare(
            EcsServiceField::EnableExecuteCommand,
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

    /// The inputs' `steady_state`, for the wait after a create or update.
    fn wait(&self, d: Option<&ServiceSpec>) -> Wait {
        d.and_then(|d| d.steady_state).unwrap_or(Self::WAIT)
    }

    fn output_id(&self, out: &EcsServiceOutputs) -> Option<String> {
        Some(out.arn.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &ServiceSpec<AtApply>,
    ) -> Result<EcsServiceOutputs, Error> {
        let network = awsvpc(d);
        let balancers = load_balancers(d);
        let strategy: Vec<_> = d.strategy.iter().map(StrategyItem::sdk).collect();
        let aws = cx.aws;
        // The SDK fills in no token for this call. With one, ECS answers a resend of a create
        // it carried out (its answer lost) with that service.
        let token = converge::client_token(&cx, Self::KIND, "create", converge::token::ECS);
        let out = aws
            .ecs()
            .create_service()
            .client_token(token.as_str())
            .cluster(&d.cluster)
            .service_name(cx.name)
            .task_definition(&d.task_definition)
            .desired_count(d.desired_count)
            .set_launch_type(d.strategy.is_empty().then_some(match d.launch_type {
                LaunchType::Fargate => EcsLaunchType::Fargate,
                LaunchType::Ec2 => EcsLaunchType::Ec2,
            }))
            .set_capacity_provider_strategy((!d.strategy.is_empty()).then(|| strategy.clone()))
            .set_network_configuration(network.clone())
            .set_load_balancers(balancers.clone())
            .set_health_check_grace_period_seconds(d.health_check_grace_period)
            .set_role(d.role.clone())
            .deployment_configuration(deployment(d))
            .set_propagate_tags(d.propagate_tags.then_some(PropagateTags::Service))
            .enable_execute_command(d.enable_execute_command)
            .set_tags(Some(cx.tags.ecs(cx.name)))
            .send()
            .await
            .context("CreateService", EcsServiceKind::label(cx.name))?;
        token.made();
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
        d: &ServiceSpec<AtApply>,
        o: &FoundService,
        delta: &Delta<EcsServiceField>,
    ) -> Result<EcsServiceOutputs, Error> {
        let cluster = &o.cluster;
        let Redeploy {
            placement: moves,
            exec,
        } = redeploy(delta);
        let strategy: Vec<_> = d.strategy.iter().map(StrategyItem::sdk).collect();
        let task_definition = match d.task_definition_left_to_ci {
            true => None,
            false => Some(d.task_definition.clone()),
        };
        let network = awsvpc(d);
        let balancers = load_balancers(d);
        let aws = cx.aws;
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
            .await
            .context("UpdateService", EcsServiceKind::label(cx.name))?;
        Ok(self.outputs(o))
    }

    /// Scales to zero and deletes; the engine then waits until ECS reports it INACTIVE.
    async fn delete(&self, cx: Cx<'_>, o: &FoundService) -> Result<(), Error> {
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
                    format_args!("{} (scale to 0)", EcsServiceKind::label(name)),
                )?;
            aws.ecs()
                .delete_service()
                .cluster(cluster)
                .service(name)
                .force(true)
                .send()
                .await
                .context("DeleteService", EcsServiceKind::label(name))?;
        }
        Ok(())
    }

    /// Steady, when the inputs ask to wait for it (`steady_state`).
    async fn ready(
        &self,
        cx: Cx<'_>,
        d: &ServiceSpec<AtApply>,
        out: &EcsServiceOutputs,
        _: Action,
    ) -> Result<Progress<EcsServiceOutputs>, Error> {
        if d.steady_state.is_none() {
            return Ok(Progress::Done(out.clone()));
        }
        // A traffic shift is followed through its stages; a rolling deployment until one
        // deployment runs the desired count.
        let polled = match d.deployment_strategy.shifts_traffic() {
            true => crate::service_deployments::current(cx.aws, &d.cluster, cx.name).await?,
            false => poll_steady(cx.aws, &d.cluster, cx.name).await?,
        };
        Ok(match polled {
            Progress::Done(()) => Progress::Done(out.clone()),
            Progress::Pending {
                what,
                after,
                lately,
            } => Progress::Pending {
                what,
                after,
                lately,
            },
        })
    }

    /// INACTIVE.
    async fn gone(&self, cx: Cx<'_>, o: &FoundService) -> Result<Progress<()>, Error> {
        if cx.teardown {
            // The cluster's delete waits for it, as do the security groups for its tasks'
            // network interfaces.
            return Ok(Progress::Done(()));
        }
        let name = o.name.as_str();
        let out = cx
            .aws
            .ecs()
            .describe_services()
            .cluster(&o.cluster)
            .services(name)
            .send()
            .await
            .context("DescribeServices", EcsServiceKind::label(name))?;
        let gone = out
            .services()
            .iter()
            .all(|s| s.status() == Some("INACTIVE"));
        Ok(if gone {
            Progress::Done(())
        } else {
            Progress::pending(format!("ECS service {name} to be INACTIVE"))
        })
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
            deployment_strategy: DeploymentStrategy::Rolling,
            traffic_shift: None,
            alarms: None,
            minimum_healthy_percent: Some(100),
            maximum_percent: Some(200),
            propagate_tags: false,
            enable_execute_command: false,
            task_definition_left_to_ci: false,
            role: None,
            steady_state: None,
        }
    }

    #[test]
    fn resolve_names_the_input_still_unknown() {
        let target = || ServiceTarget {
            target_group_arn: Value::Known("arn:tg".into()),
            container_name: "web".into(),
            container_port: 80,
        };
        let cases = [
            (
                ServiceSpec {
                    task_definition: Value::AfterApply,
                    ..spec()
                },
                "task_definition",
            ),
            (
                ServiceSpec {
                    awsvpc: Some(Awsvpc {
                        subnets: Value::AfterApply,
                        security_groups: Value::Known(vec!["sg-1".into()]),
                    }),
                    ..spec()
                },
                "awsvpc.subnets",
            ),
            (
                ServiceSpec {
                    awsvpc: Some(Awsvpc {
                        subnets: Value::Known(vec!["subnet-a".into()]),
                        security_groups: Value::AfterApply,
                    }),
                    ..spec()
                },
                "awsvpc.security_groups",
            ),
            (
                ServiceSpec {
                    target: Some(ServiceTarget {
                        target_group_arn: Value::AfterApply,
                        ..target()
                    }),
                    ..spec()
                },
                "target.target_group_arn",
            ),
        ];
        for (planned, input) in cases {
            assert_eq!(planned.resolve().unwrap_err().input, input);
        }
        let applied = ServiceSpec {
            target: Some(target()),
            ..spec()
        }
        .resolve()
        .unwrap();
        assert_eq!(applied.task_definition, "arn:td:1");
        let network = applied.awsvpc.as_ref().unwrap();
        assert_eq!(network.subnets, ["subnet-a"]);
        assert_eq!(network.security_groups, ["sg-1"]);
        assert_eq!(applied.target.as_ref().unwrap().target_group_arn, "arn:tg");
        assert_eq!(applied.steady_state, None);
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
            deployment_strategy: DeploymentStrategy::Rolling,
            traffic_shift: None,
            alarms: None,
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
        // The create as the engine runs it: retried on the kind's transient errors.
        let create = |aws| async move {
            let (cx, spec) = (cx(aws), spec().resolve().unwrap());
            aws.retry()
                .run_while(
                    "blog",
                    |e| EcsServiceKind::TRANSIENT.matches_error(e),
                    || EcsServiceKind.create(cx, &spec),
                )
                .await
        };
        // The cluster's propagation is retried, then the run fails.
        create(&one).await.unwrap_err();
        // Applied again in the same run: a service the failed call made would be answered.
        create(&one).await.unwrap();
        create(&one).await.unwrap();
        // Another run: its own, through its own failures.
        create(&other).await.unwrap_err();
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
        assert_eq!(delta.fields(), [EcsServiceField::MinimumHealthyPercent]);
        assert_eq!(delta.diffs()[0].field, "minimum_healthy_percent");
        assert_eq!(redeploy(&delta), Redeploy::default());
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
        let delta = EcsServiceKind.diff(&spec(), &draining);
        assert!(delta.replaces());
        assert_eq!(delta.changes[0].field, EcsServiceField::Status);
        assert!(delta.changes[0].replaces.is_some());
        let ec2 = ServiceSpec {
            launch_type: LaunchType::Ec2,
            ..spec()
        };
        let delta = EcsServiceKind.diff(&ec2, &found());
        assert!(delta.replaces());
        assert_eq!(delta.diffs()[0].field, "launch_type");
        assert_eq!(delta.changes[0].replaces, Some(LAUNCH_TYPE_FIXED));
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
        assert_eq!(
            delta.fields(),
            [
                EcsServiceField::CapacityProviderStrategy,
                EcsServiceField::LaunchType
            ]
        );
        let labels: Vec<String> = delta.diffs().into_iter().map(|d| d.field).collect();
        assert_eq!(labels, ["capacity_provider_strategy", "launch_type"]);
        assert!(redeploy(&delta).placement);
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
        let delta = EcsServiceKind.diff(&ec2, &on_spot);
        assert!(delta.replaces());
        assert_eq!(delta.changes[0].replaces, Some(OTHER_CAPACITY));
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
        assert_eq!(
            redeploy(&delta),
            Redeploy {
                placement: false,
                exec: true
            }
        );
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
