//! An ECS service behind an application load balancer: the Rust port of the Terraform module
//! npalm/terraform-aws-ecs-service, with the building blocks a service needs around it.
//!
//! The building blocks, each usable alone with `plan`, `apply` and `destroy`:
//! - [`Cluster`]: an ECS cluster, optionally with Container Insights;
//! - [`LogGroup`]: a CloudWatch log group with a retention (30 days by default, not forever);
//! - [`TaskExecutionRole`]: the IAM role ECS uses to pull images and write logs.
//!
//! And the service itself, [`Service`], in the module's four shapes: awsvpc or bridge
//! networking, with or without an application load balancer. Its resources are kinds of the
//! `converge` resource model ([`LoadBalancerKind`], [`TargetGroupKind`], [`ListenerKind`],
//! [`EcsServiceKind`], the task definition's and the security groups'), declared into one
//! stack: each starts as soon as what it reads exists, the service once its listener does. A
//! task definition revision is registered only when it changed, and the service is updated in
//! place where ECS allows it.
//!
//! Every module and block is put into a stack the same way,
//! [`declare`](converge::Module::declare), which returns its references ([`ServiceRefs`],
//! [`converge::ClusterRefs`], [`vpc::VpcRefs`], ...); the builders take those references or,
//! from another stack, the outputs: [`ServiceBuilder::network`], [`ServiceBuilder::cluster`],
//! [`ServiceBuilder::execution_role`]. So a whole deployment is one graph.
//!
//! Beyond the Terraform module, as terraform-aws-modules/ecs and the CDK offer: service
//! autoscaling on Application Auto Scaling ([`Autoscaling`]: a scalable target, target
//! tracking on CPU, memory or requests per target, scheduled actions; the running count is then
//! the autoscaler's, not drift), and capacity provider strategies ([`StrategyItem`]: `FARGATE`,
//! `FARGATE_SPOT`, or an instance fleet's provider) instead of a launch type, which a service
//! moves to and from in place.
//!
//! One load balancer for many services: [`SharedLoadBalancer`] makes the load balancer, its
//! group and a listener answering 404 to what no rule matches; each service then takes a
//! [`ListenerRule`] on that listener (by path, by host, at a priority) with a target group of
//! its own, instead of a load balancer of its own. A priority another rule holds is an error
//! at plan, naming it; a service changes and deletes only its own rule; the shared load
//! balancer is not destroyed while other stacks' rules remain on it.
//!
//! # Example
//!
//! ```no_run
//! use ecs_service::{Cluster, LoadBalancer, Service, TargetGroup, TaskExecutionRole};
//! use task_def::{ContainerDefinition, PortMapping};
//!
//! # async fn run(aws: converge::Aws, network: vpc::VpcOutputs) -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = Cluster::builder().environment("blog").build()?.apply(&aws).await?;
//! let role = TaskExecutionRole::builder().environment("blog").build()?.apply(&aws).await?;
//! println!("{}", role.changes); // what the apply did
//! let blog = ContainerDefinition::builder()
//!     .name("blog")
//!     .image("npalm/040code.github.io:latest")
//!     .port_mapping(PortMapping::tcp(80))
//!     .build();
//! let service = Service::builder()
//!     .environment("blog")
//!     .service_name("blog")
//!     .network(&network)
//!     .cluster(&cluster)
//!     .containers([blog])
//!     .task_cpu(256)
//!     .task_memory(512)
//!     .execution_role(&role)
//!     .load_balancer(LoadBalancer {
//!         internal: false, // in the network's public subnets
//!         target_group: TargetGroup { container_name: Some("blog".into()), container_port: 80, ..Default::default() },
//!         ..Default::default()
//!     })
//!     .build()?; // every input checked, the task definition's included
//! println!("{}", service.plan(&aws).await?);
//! let out = service.apply(&aws).await?;
//! println!("{}", out.service_url.clone().unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! The same in one stack, each resource starting as soon as what it reads exists:
//!
//! ```no_run
//! use converge::{Module, Refs, Stack};
//! use ecs_service::{Cluster, Service, TaskExecutionRole};
//!
//! # async fn run(aws: converge::Aws, blog: ecs_service::ServiceBuilder) -> Result<(), Box<dyn std::error::Error>> {
//! let mut stack = Stack::new();
//! let network = vpc::Vpc::builder().environment("blog").build()?;
//! let network = network.declare(&aws, &mut stack).await?;
//! let cluster = Cluster::builder().environment("blog").build()?;
//! let cluster = cluster.declare(&aws, &mut stack).await?;
//! let role = TaskExecutionRole::builder().environment("blog").build()?;
//! let role = role.declare(&aws, &mut stack).await?;
//! let service = blog
//!     .network(&network)
//!     .cluster(&cluster)
//!     .execution_role(&role)
//!     .build()?
//!     .declare(&aws, &mut stack)
//!     .await?;
//! let plan = stack.plan(&aws).await?.into_plan();
//! for address in service.addresses() {
//!     println!("{address}: {:?}", plan.at(address).map(|c| c.action));
//! }
//! let done = stack.apply(&aws).await?;
//! println!("{:?}", done.value(&service.outputs));
//! # Ok(())
//! # }
//! ```
//!
//! Two to ten tasks, three of four on Fargate Spot, kept near 60% CPU, fewer at night:
//!
//! ```no_run
//! use ecs_service::{Autoscaling, ScalingMetric, ScheduledScaling, StrategyItem, TargetTracking};
//! use ecs_service::{ServiceBuilder, FARGATE, FARGATE_SPOT};
//!
//! fn scaled(service: ServiceBuilder) -> ServiceBuilder {
//!     service
//!         .capacity_provider_strategy([
//!             StrategyItem::new(FARGATE, 1).base(1),
//!             StrategyItem::new(FARGATE_SPOT, 3),
//!         ])
//!         .autoscaling(
//!             Autoscaling::new(2, 10)
//!                 .target_tracking(TargetTracking::new(ScalingMetric::Cpu, 60.0))
//!                 .scheduled(ScheduledScaling {
//!                     name: "night".into(),
//!                     schedule: "cron(0 20 * * ? *)".into(),
//!                     timezone: Some("Europe/Amsterdam".into()),
//!                     min_capacity: Some(1),
//!                     max_capacity: Some(2),
//!                 }),
//!         )
//! }
//! ```

// No library function over 120 lines (clippy.toml sets the bound); tests may be longer.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

mod alarms;
mod autoscaling;
mod deployment;
mod front_door;
mod inputs;
mod listener_rules;
mod listeners;
mod load_balancers;
mod module;
pub mod names;
mod outputs;
mod permissions;
mod scalable_targets;
mod scaling_policies;
mod scheduled_actions;
mod service_deployments;
mod services;
mod shared_load_balancer;
mod target_groups;

// The building blocks live in `converge`, where ecs-instances uses them too.
pub use alarms::{
    AlarmMetric, AlarmSource, ComparisonOperator, MetricAlarmField, MetricAlarmKind,
    MetricAlarmOutputs, MetricAlarmSpec, MetricMath, TreatMissingData,
};
pub use autoscaling::{Autoscaling, ScalingMetric, ScheduledScaling, TargetTracking};
pub use converge::{
    Applied, Cluster, ClusterBuilder, ClusterOutputs, ClusterRef, ClusterRefs, Error, Invalid,
    LogGroup, LogGroupBuilder, LogGroupOutputs, LogGroupRefs, Plan, RoleRef, RoleRefs,
    TaskExecutionRole, TaskExecutionRoleBuilder, TaskExecutionRoleOutputs, TaskRole,
    TaskRoleBuilder,
};
pub use converge::{StrategyItem, FARGATE, FARGATE_SPOT};
pub use deployment::{DeploymentStrategy, MAX_BAKE_MINUTES};
pub use inputs::alarms::{AlarmTarget, DeploymentAlarms, ALARM_SUFFIXES, MAX_ALARM_NAME};
pub use inputs::{
    AccessLogs, HealthCheck, LaunchType, Listener, ListenerProtocol, ListenerRule, LoadBalancer,
    LoadBalancerAttributes, Service, ServiceBuilder, TargetGroup, TaskIngress, DEFAULT_SSL_POLICY,
    MAX_RULE_VALUES,
};
pub use listener_rules::{
    ListenerRuleField, ListenerRuleKind, ListenerRuleOutputs, ListenerRuleSpec, RuleAt,
};
pub use listeners::{
    listener_name, ListenerAction, ListenerField, ListenerKind, ListenerOf, ListenerOutputs,
    ListenerSpec,
};
pub use load_balancers::{
    LoadBalancerField, LoadBalancerKind, LoadBalancerOutputs, LoadBalancerSpec,
};
pub use outputs::{ServiceOutputs, ServiceRefs};
pub use scalable_targets::{
    resource_id, ScalableTargetField, ScalableTargetKind, ScalableTargetOutputs, ScalableTargetSpec,
};
pub use scaling_policies::{load_balancer_dimension, target_group_dimension};
pub use scaling_policies::{
    resource_label, AttachedKey, ScalingPolicyField, ScalingPolicyKind, ScalingPolicyOutputs,
    ScalingPolicySpec,
};
pub use scheduled_actions::{
    ScheduledActionField, ScheduledActionKind, ScheduledActionOutputs, ScheduledActionSpec,
};
pub use services::{
    Awsvpc, EcsServiceField, EcsServiceKind, EcsServiceOutputs, ServiceAlarms, ServiceSpec,
    ServiceTarget, TrafficShift,
};
pub use shared_load_balancer::{
    SharedListener, SharedLoadBalancer, SharedLoadBalancerBuilder, SharedLoadBalancerOutputs,
    SharedLoadBalancerRefs,
};
pub use target_groups::{TargetGroupField, TargetGroupKind, TargetGroupOutputs, TargetGroupSpec};
