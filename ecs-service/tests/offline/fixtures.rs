//! Inputs the tests share.

/// A network over two zones (`subnet-a`, `subnet-b` public, `subnet-c`, `subnet-d`
/// private), given as data: outputs are read, not built.
pub(crate) fn network() -> vpc::VpcOutputs {
    serde_json::from_value(serde_json::json!({
        "vpc_id": "vpc-1",
        "vpc_cidr": "10.0.0.0/16",
        "public_subnets": ["subnet-a", "subnet-b"],
        "private_subnets": ["subnet-c", "subnet-d"],
        "availability_zones": ["us-east-1a", "us-east-1b"],
        "private_dns_zone_id": null,
        "private_domain_name": null,
        "nat_gateway_ids": [],
        "internet_gateway_id": "igw-1"
    }))
    .expect("network outputs")
}
