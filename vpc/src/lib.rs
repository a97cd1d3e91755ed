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

#[cfg(test)]
mod tests {
    use converge::phase::{AtApply, Resolve};
    use converge::Value;

    use crate::default_security_group::DefaultSgDesired;
    use crate::endpoints::{EndpointDesired, Placement};
    use crate::flow_logs::{FlowLogDesired, FlowLogTraffic};
    use crate::hosted_zones::ZoneDesired;
    use crate::internet_gateways::IgwDesired;
    use crate::nat_gateways::NatDesired;
    use crate::route_tables::RouteTableDesired;
    use crate::subnets::SubnetDesired;
    use crate::vpcs::VpcDesired;

    /// The input `d` names as still unknown.
    fn unknown(d: &impl Resolve) -> &'static str {
        d.resolve().unwrap_err().input
    }

    fn known<T>(v: &str) -> Value<T>
    where
        T: From<String>,
    {
        Value::Known(T::from(v.to_owned()))
    }

    fn interface(subnets: Value<Vec<String>>, groups: Value<Vec<String>>) -> EndpointDesired {
        EndpointDesired {
            vpc_id: known("vpc-1"),
            service_name: "com.amazonaws.us-east-1.logs".into(),
            placement: Placement::Interface {
                subnets,
                security_groups: groups,
            },
        }
    }

    fn flow_log(vpc_id: Value<String>, role_arn: Value<String>) -> FlowLogDesired {
        FlowLogDesired {
            vpc_id,
            traffic: FlowLogTraffic::All,
            log_group: "/aws/vpc-flow-logs/blog".into(),
            role_arn,
        }
    }

    fn route_table(
        vpc_id: Value<String>,
        target: Value<Option<String>>,
        subnet: Value<String>,
    ) -> RouteTableDesired {
        RouteTableDesired {
            vpc_id,
            target,
            subnets: vec![("blog-private-a".into(), subnet)],
        }
    }

    #[test]
    fn every_kind_resolves_at_apply_or_names_the_input_still_unknown() {
        let ids = || Value::Known(vec!["x-1".to_owned()]);
        let nat = |subnet_id, allocation_id| NatDesired {
            subnet_id,
            allocation_id,
        };
        let table: [(&str, &str); 15] = [
            (
                unknown(&DefaultSgDesired {
                    vpc_id: Value::AfterApply,
                }),
                "vpc_id",
            ),
            (
                unknown(&EndpointDesired {
                    vpc_id: Value::AfterApply,
                    ..interface(ids(), ids())
                }),
                "vpc_id",
            ),
            (
                unknown(&EndpointDesired {
                    placement: Placement::Gateway {
                        route_tables: Value::AfterApply,
                    },
                    ..interface(ids(), ids())
                }),
                "placement.route_tables",
            ),
            (
                unknown(&interface(Value::AfterApply, ids())),
                "placement.subnets",
            ),
            (
                unknown(&interface(ids(), Value::AfterApply)),
                "placement.security_groups",
            ),
            (
                unknown(&flow_log(Value::AfterApply, known("arn:role"))),
                "vpc_id",
            ),
            (
                unknown(&flow_log(known("vpc-1"), Value::AfterApply)),
                "role_arn",
            ),
            (
                unknown(&ZoneDesired {
                    vpc_id: Value::AfterApply,
                }),
                "vpc_id",
            ),
            (
                unknown(&IgwDesired {
                    vpc_id: Value::AfterApply,
                }),
                "vpc_id",
            ),
            (
                unknown(&nat(Value::AfterApply, known("eipalloc-1"))),
                "subnet_id",
            ),
            (
                unknown(&nat(known("subnet-1"), Value::AfterApply)),
                "allocation_id",
            ),
            (
                unknown(&route_table(
                    Value::AfterApply,
                    Value::Known(None),
                    known("subnet-1"),
                )),
                "vpc_id",
            ),
            (
                unknown(&route_table(
                    known("vpc-1"),
                    Value::AfterApply,
                    known("subnet-1"),
                )),
                "target",
            ),
            (
                unknown(&route_table(
                    known("vpc-1"),
                    Value::Known(None),
                    Value::AfterApply,
                )),
                "subnets",
            ),
            (
                unknown(&SubnetDesired {
                    vpc_id: Value::AfterApply,
                    cidr: "10.0.0.0/24".into(),
                    az: "us-east-1a".into(),
                    map_public_ip: false,
                }),
                "vpc_id",
            ),
        ];
        for (found, input) in table {
            assert_eq!(found, input);
        }

        // Every input known: the same state, with plain values.
        let ids = vec!["x-1".to_owned()];
        assert_eq!(
            DefaultSgDesired {
                vpc_id: known("vpc-1")
            }
            .resolve()
            .unwrap(),
            DefaultSgDesired::<AtApply> {
                vpc_id: "vpc-1".into()
            }
        );
        assert_eq!(
            interface(Value::Known(ids.clone()), Value::Known(ids.clone()))
                .resolve()
                .unwrap(),
            EndpointDesired::<AtApply> {
                vpc_id: "vpc-1".into(),
                service_name: "com.amazonaws.us-east-1.logs".into(),
                placement: Placement::Interface {
                    subnets: ids.clone(),
                    security_groups: ids.clone(),
                },
            }
        );
        let gateway = EndpointDesired {
            placement: Placement::Gateway {
                route_tables: Value::Known(ids.clone()),
            },
            ..interface(Value::AfterApply, Value::AfterApply)
        };
        assert_eq!(
            gateway.resolve().unwrap().placement,
            Placement::Gateway {
                route_tables: ids.clone()
            }
        );
        assert_eq!(
            flow_log(known("vpc-1"), known("arn:role"))
                .resolve()
                .unwrap(),
            FlowLogDesired::<AtApply> {
                vpc_id: "vpc-1".into(),
                traffic: FlowLogTraffic::All,
                log_group: "/aws/vpc-flow-logs/blog".into(),
                role_arn: "arn:role".into(),
            }
        );
        assert_eq!(
            ZoneDesired {
                vpc_id: known("vpc-1")
            }
            .resolve()
            .unwrap()
            .vpc_id,
            "vpc-1"
        );
        assert_eq!(
            IgwDesired {
                vpc_id: known("vpc-1")
            }
            .resolve()
            .unwrap()
            .vpc_id,
            "vpc-1"
        );
        assert_eq!(
            nat(known("subnet-1"), known("eipalloc-1"))
                .resolve()
                .unwrap(),
            NatDesired::<AtApply> {
                subnet_id: "subnet-1".into(),
                allocation_id: "eipalloc-1".into(),
            }
        );
        assert_eq!(
            route_table(known("vpc-1"), known("nat-1"), known("subnet-1"))
                .resolve()
                .unwrap(),
            RouteTableDesired::<AtApply> {
                vpc_id: "vpc-1".into(),
                target: Some("nat-1".into()),
                subnets: vec![("blog-private-a".into(), "subnet-1".into())],
            }
        );
        assert_eq!(
            SubnetDesired {
                vpc_id: known("vpc-1"),
                cidr: "10.0.0.0/24".into(),
                az: "us-east-1a".into(),
                map_public_ip: true,
            }
            .resolve()
            .unwrap(),
            SubnetDesired::<AtApply> {
                vpc_id: "vpc-1".into(),
                cidr: "10.0.0.0/24".into(),
                az: "us-east-1a".into(),
                map_public_ip: true,
            }
        );
        // The VPC's inputs are all its own.
        let vpc = VpcDesired {
            cidr: "10.0.0.0/16".into(),
        };
        assert_eq!(vpc.resolve().unwrap().cidr, "10.0.0.0/16");
    }
}
