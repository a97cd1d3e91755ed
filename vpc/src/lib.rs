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
//! in its create call; the tags are how [`Vpc::apply`] finds what exists and how
//! [`Vpc::destroy`] knows what it may delete.
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
//! network.destroy(&aws).await?;
//! # Ok(())
//! # }
//! ```

mod apply;
mod cidr;
mod desired;
mod destroy;
mod diff;
mod existing;
mod hosted_zones;
mod inputs;
mod internet_gateways;
mod nat_gateways;
mod outputs;
mod route_tables;
mod subnets;
mod vpcs;
mod zones;

pub use cidr::{CidrError, Ipv4Cidr};
pub use converge::{Error, Invalid, Plan};
pub use inputs::{NatGateways, Vpc, VpcBuilder};
pub use outputs::VpcOutputs;
