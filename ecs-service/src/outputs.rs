//! What apply returns: the module's outputs, plus the service's own ids.

use converge::{Address, Ref, Refs};
use serde::{Deserialize, Serialize};

/// The service's outputs, as the Terraform module's (the load balancer's are `None` without
/// one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceOutputs {
    /// `http(s)://<lb_dns_name>[:port]`; behind a shared listener, its rule's host (when
    /// it has one without wildcards) and the path its first pattern starts with.
    pub service_url: Option<String>,
    /// The load balancer's DNS name.
    pub lb_dns_name: Option<String>,
    /// The load balancer's ARN.
    pub lb_arn: Option<String>,
    /// The load balancer's Route 53 zone, for alias records.
    pub lb_zone_id: Option<String>,
    /// The task definition revision the service runs.
    pub task_definition_arn: String,
    /// The target group's ARN.
    pub lb_target_group_arn: Option<String>,
    /// The listener's ARN (the shared one's, behind a listener rule).
    pub lb_listener_arn: Option<String>,
    /// The service's rule on a shared listener.
    pub lb_listener_rule_arn: Option<String>,
    /// The load balancer's security group (the shared one's, behind a listener rule).
    pub lb_security_group_id: Option<String>,
    /// The service's ARN.
    pub service_arn: String,
    /// The service's name.
    pub service_name: String,
    /// The tasks' security group (awsvpc only).
    pub task_security_group_id: Option<String>,
}

/// A service declared into a stack: its outputs, and the addresses of its resources (load
/// balancer, target group, listeners or rule, security groups, task definition, service,
/// autoscaling), to find them in a plan.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServiceRefs {
    /// Every output at once, known when all are.
    pub outputs: Ref<ServiceOutputs>,
    /// The addresses of its resources.
    pub addresses: Vec<Address>,
}

impl Refs for ServiceRefs {
    type Outputs = ServiceOutputs;

    fn outputs(&self) -> Ref<ServiceOutputs> {
        self.outputs.clone()
    }

    fn addresses(&self) -> &[Address] {
        &self.addresses
    }
}
