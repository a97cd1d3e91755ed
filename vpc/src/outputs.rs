//! What apply returns, for other modules to build on.

use serde::{Deserialize, Serialize};

/// The VPC's ids and names, as the Terraform module's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The private hosted zone's id, when one was made.
    pub private_dns_zone_id: Option<String>,
    /// The private hosted zone's domain (`<environment>.local`), when one was made.
    pub private_domain_name: Option<String>,
    /// NAT gateway ids, in availability zone order.
    pub nat_gateway_ids: Vec<String>,
    /// The internet gateway id.
    pub internet_gateway_id: String,
}
