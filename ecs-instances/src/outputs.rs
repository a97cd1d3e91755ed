//! What the module gives back: its outputs, and typed references to them for resources
//! declared into the same stack.

use converge::{Address, Ref, Refs};
use serde::{Deserialize, Serialize};

/// The module's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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

/// Typed references to the module's values, for resources declared into the same stack
/// (what [`declare`](converge::Module::declare) returns): a resource
/// that reads one starts as soon as it is known.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InstancesRefs {
    /// The Auto Scaling group's name (known from the inputs, once the group exists).
    pub asg_name: Ref<String>,
    /// The Auto Scaling group's ARN.
    pub asg_arn: Ref<String>,
    /// The instances' security group (to let them reach a load balancer or a database).
    pub security_group_id: Ref<String>,
    /// The instances' IAM role.
    pub instance_role_arn: Ref<String>,
    /// The capacity provider's name, known once it is in the cluster's list (what a service's
    /// capacity provider strategy names); `None` when no provider is asked for.
    pub capacity_provider_name: Ref<Option<String>>,
    /// Every output at once, known when all are.
    pub outputs: Ref<InstancesOutputs>,
    /// The addresses of its resources.
    pub addresses: Vec<Address>,
}

impl Refs for InstancesRefs {
    type Outputs = InstancesOutputs;

    fn outputs(&self) -> Ref<InstancesOutputs> {
        self.outputs.clone()
    }

    fn addresses(&self) -> &[Address] {
        &self.addresses
    }
}
