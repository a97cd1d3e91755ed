//! A VPC for ECS: the Rust port of the Terraform module npalm/terraform-aws-vpc 1.1.0.
//!
//! One public and one private subnet per availability zone, carved from the VPC's CIDR block
//! as the module does (public *i* = `cidrsubnet(cidr, 8, i)`, private *i* =
//! `cidrsubnet(cidr, 8, n + i)`), an internet gateway and a public route table, a NAT gateway
//! and a private route table, and optionally a Route 53 private hosted zone
//! `<environment>.local`.
//!
//! Differences from the module, each a choice a user can undo:
//! - `create_private_hosted_zone` defaults to `false` (the module: `true`), because a hosted
//!   zone costs money every month and a Fargate service rarely needs one;
//! - [`NatGateways`] can also be `PerAz` (a NAT gateway and private route table per zone) or
//!   `None`;
//! - the availability zones default to the region's first three, looked up, instead of a
//!   table in the module's variables.
//!
//! Every resource is tagged `Name`, `Environment` and `ecs-modules:owner=vpc/<environment>`
//! in its create call; the tags are how a run finds what exists and how [`Vpc::destroy`]
//! knows what it may delete.
//!
//! Each AWS resource kind is one [`converge::Resource`] (VPC, subnet, route table with its
//! default route and associations, NAT gateway, Elastic IP, internet gateway with its
//! attachment, private hosted zone), read once per kind by tag. The module declares them
//! into a [`converge::Stack`]: [`Vpc`] is a [`converge::Module`], and
//! its [`declare`](converge::Module::declare) puts the network into a composition's stack
//! with typed references ([`VpcRefs`]) to its values, so what lives in the network starts as
//! soon as the parts it reads exist. The modules that live in a network take it as a
//! [`Network`], from those references, from [`VpcOutputs`] or from ids.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let aws = converge::Aws::from_env().await;
//! let network = vpc::Vpc::builder()
//!     .environment("blog")
//!     .cidr_block("10.0.0.0/16")
//!     .availability_zones(["us-east-1a", "us-east-1b", "us-east-1c"])
//!     .build()?;
//! println!("{}", network.plan(&aws).await?);
//! let out = network.apply(&aws).await?;
//! println!("VPC {} with private subnets {:?}", out.vpc_id, out.private_subnets);
//!
//! // In a composition: the network's values as inputs of other resources in one stack.
//! let mut stack = converge::Stack::new();
//! let refs = converge::Module::declare(&network, &aws, &mut stack).await?;
//! let subnets = stack.apply(&aws).await?.value(&refs.private_subnets);
//! println!("{subnets:?}");
//!
//! network.destroy(&aws).await?;
//! # Ok(())
//! # }
//! ```

// No library function over 120 lines (clippy.toml sets the bound); tests may be longer.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

mod cidr;
mod default_security_group;
mod elastic_ips;
mod endpoints;
mod flow_logs;
mod hosted_zones;
mod inputs;
mod internet_gateways;
mod layout;
mod module;
mod nat_gateways;
mod network;
mod outputs;
mod route_tables;
mod subnets;
mod vpcs;
mod zones;

pub use cidr::{CidrError, Ipv4Cidr};
pub use converge::{Error, Invalid, Plan};
pub use default_security_group::DefaultSgField;
pub use elastic_ips::EipField;
pub use endpoints::{EndpointField, INTERFACE_SERVICES};
pub use flow_logs::{FlowLogField, FlowLogTraffic, FlowLogs};
pub use hosted_zones::ZoneField;
pub use inputs::{NatGateways, Vpc, VpcBuilder};
pub use internet_gateways::IgwField;
pub use nat_gateways::NatField;
pub use network::Network;
pub use outputs::{VpcOutputs, VpcRefs};
pub use route_tables::RouteTableField;
pub use subnets::SubnetField;
pub use vpcs::VpcField;
pub use zones::fargate_refuses;
