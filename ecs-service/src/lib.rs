//! An ECS service behind an application load balancer: the Rust port of the Terraform module
//! npalm/terraform-aws-ecs-service, with the building blocks a service needs around it.
//!
//! The building blocks, each usable alone with `plan`, `apply` and `destroy`:
//! - [`Cluster`]: an ECS cluster, optionally with Container Insights;
//! - [`LogGroup`]: a CloudWatch log group with a retention (30 days by default, not forever);
//! - [`TaskExecutionRole`]: the IAM role ECS uses to pull images and write logs.

mod apply;
// mod cluster;
mod ecs_service;
// mod execution_role;
mod inputs;
mod load_balancer;
// mod log_group;
pub mod names;
mod outputs;
mod security_groups;

// pub use cluster::{Cluster, ClusterBuilder, ClusterOutputs};
pub use converge::{Error, Invalid, Plan};
// pub use execution_role::{TaskExecutionRole, TaskExecutionRoleBuilder, TaskExecutionRoleOutputs};
pub use inputs::{
    HealthCheck, LaunchType, Listener, ListenerProtocol, LoadBalancer, Service, ServiceBuilder,
    TargetGroup, TaskIngress, DEFAULT_SSL_POLICY,
};
// pub use log_group::{LogGroup, LogGroupBuilder, LogGroupOutputs};
pub use outputs::ServiceOutputs;
