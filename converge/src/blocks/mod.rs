//! The building blocks a service and a fleet of instances both need, each a small
//! [`Module`](crate::Module): an ECS cluster, a CloudWatch log group, a task execution role,
//! a task role.

mod cluster;
mod execution_role;
mod log_group;
mod role_ref;
mod task_role;

pub use cluster::{Cluster, ClusterBuilder, ClusterRef, ClusterRefs};
pub use execution_role::{TaskExecutionRole, TaskExecutionRoleBuilder, TaskExecutionRoleOutputs};
pub use log_group::{LogGroup, LogGroupBuilder, LogGroupRefs};
pub use role_ref::{account_of, RoleRef, RoleRefs};
pub use task_role::{TaskRole, TaskRoleBuilder};

/// IAM's rules for a role's name: 1 to 64 letters, digits and `_+=,.@-`.
pub(crate) fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}
