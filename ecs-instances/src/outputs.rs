//! What [`Instances::apply`](crate::Instances::apply) returns.

use serde::{Deserialize, Serialize};

/// The module's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstancesOutputs {
    /// The Auto Scaling group's name.
    pub asg_name: String,
    /// The Auto Scaling group's ARN.
    pub asg_arn: String,
    /// The launch template's id.
    pub launch_template_id: String,
    /// The launch template version the group launches.
    pub launch_template_version: String,
    /// The instances' IAM role.
    pub instance_role_arn: String,
    /// The instance profile holding that role.
    pub instance_profile_arn: String,
    /// The instances' security group.
    pub security_group_id: String,
    /// The ECS agent's log group.
    pub log_group_name: String,
    /// The legacy ECS service role, when asked for.
    pub service_role_arn: Option<String>,
    /// The ECS capacity provider, when asked for.
    pub capacity_provider_name: Option<String>,
}
