//! The building blocks a service and a fleet of instances both need, each a small
//! [`Module`](crate::Module): an ECS cluster, a CloudWatch log group, a task execution role.

mod cluster;
mod execution_role;
mod log_group;

pub use cluster::{Cluster, ClusterBuilder};
pub use execution_role::{TaskExecutionRole, TaskExecutionRoleBuilder, TaskExecutionRoleOutputs};
pub use log_group::{LogGroup, LogGroupBuilder};
