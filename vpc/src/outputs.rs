//! What the module gives back: its outputs, and typed references to them for resources
//! declared into the same stack.

use converge::{Address, Ref, Refs};
use serde::{Deserialize, Serialize};

/// The VPC's ids and names, as the Terraform module's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VpcOutputs {
    /// The VPC id.
    pub vpc_id: String,
    /// The VPC's CIDR block.
    pub vpc_cidr: String,
    /// Public subnet ids, in availability zone order.
    pub public_subnets: Vec<String>,
    /// Private subnet ids, in availability zone order (empty without private subnets).
    pub private_subnets: Vec<String>,
    /// The availability zones, in order.
    pub availability_zones: Vec<String>,
    /// The availability zones' ids (`use1-az1`), in the same order.
    #[serde(default)]
    pub availability_zone_ids: Vec<String>,
    /// The private hosted zone's id, when one was made.
    pub private_dns_zone_id: Option<String>,
    /// The private hosted zone's domain (`<environment>.local`), when one was made.
    pub private_domain_name: Option<String>,
    /// NAT gateway ids, in availability zone order.
    pub nat_gateway_ids: Vec<String>,
    /// The internet gateway id.
    pub internet_gateway_id: String,
}

/// Typed references to the network's values, for resources declared into the same stack:
/// a resource that reads one starts as soon as it is known (a target group once the VPC
/// exists, not once the NAT gateway is available).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VpcRefs {
    /// The VPC id.
    pub vpc_id: Ref<String>,
    /// The VPC's CIDR block (known from the inputs).
    pub vpc_cidr: Ref<String>,
    /// Public subnet ids, in availability zone order.
    pub public_subnets: Ref<Vec<String>>,
    /// Private subnet ids, in availability zone order.
    pub private_subnets: Ref<Vec<String>>,
    /// The availability zones, in order (known from the declaration).
    pub availability_zones: Ref<Vec<String>>,
    /// The availability zones' ids, in the same order (known from the declaration).
    pub availability_zone_ids: Ref<Vec<String>>,
    /// Known once every private route table has its default route to its NAT gateway
    /// (tasks in the private subnets can pull images). `Ref::known(())` when there are no
    /// private subnets; with private subnets but no NAT gateway, once their route table is
    /// in place (there is no egress to wait for).
    pub private_egress: Ref<()>,
    /// Every output at once, known when all are.
    pub outputs: Ref<VpcOutputs>,
    /// The addresses of the network's resources.
    pub addresses: Vec<Address>,
}

impl Refs for VpcRefs {
    type Outputs = VpcOutputs;

    fn outputs(&self) -> Ref<VpcOutputs> {
        self.outputs.clone()
    }

    fn addresses(&self) -> &[Address] {
        &self.addresses
    }
}
