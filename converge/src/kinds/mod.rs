//! The resource kinds more than one module uses, each a [`Resource`](crate::Resource)
//! written once.

pub mod cluster;
pub mod iam_role;
pub mod log_group;
pub mod role_policy;
pub mod security_group;

pub use cluster::{
    change_capacity_providers, ClusterField, ClusterKind, ClusterOutputs, ClusterSpec,
};
pub use iam_role::{RoleField, RoleKind, RoleOutputs, RoleSpec};
pub use log_group::{LogGroupField, LogGroupKind, LogGroupOutputs, LogGroupSpec};
pub use role_policy::{
    PolicyNames, RolePolicyField, RolePolicyKey, RolePolicyKind, RolePolicyOutputs, RolePolicySpec,
};
pub use security_group::{
    IngressRule, Peer, Rule, SecurityGroupField, SecurityGroupKind, SecurityGroupOutputs,
    SecurityGroupSpec,
};
