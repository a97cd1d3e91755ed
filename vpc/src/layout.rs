//! The network the inputs ask for, resource by resource: the module's names and addressing.

use crate::cidr::Ipv4Cidr;
use crate::inputs::{NatGateways, Vpc};

/// A subnet the inputs ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SubnetSpec {
    pub name: String,
    pub az: String,
    pub cidr: Ipv4Cidr,
    pub public: bool,
    pub map_public_ip: bool,
}

/// Where a route table's default route goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    InternetGateway,
    /// The NAT gateway of this name.
    Nat(String),
    None,
}

/// A route table and the subnets (by name) it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RouteTableSpec {
    pub name: String,
    pub target: Target,
    pub subnets: Vec<String>,
}

/// A NAT gateway, its Elastic IP and the public subnet (by name) it sits in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NatSpec {
    pub name: String,
    pub eip_name: String,
    pub subnet: String,
}

/// Everything the inputs ask for, for zones already resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub vpc_name: String,
    pub cidr: Ipv4Cidr,
    pub igw_name: String,
    /// Public subnets in zone order, then private ones in zone order.
    pub subnets: Vec<SubnetSpec>,
    pub nats: Vec<NatSpec>,
    pub route_tables: Vec<RouteTableSpec>,
    /// The private hosted zone's domain, when wanted.
    pub zone: Option<String>,
    pub zones: Vec<String>,
}

impl Layout {
    pub(crate) fn new(vpc: &Vpc, zones: Vec<String>) -> Self {
        let env = &vpc.environment;
        let n = zones.len() as u32;
        let carve = |i: u32| {
            vpc.cidr_block
                .subnet(8, i)
                .expect("inputs validation bounds the carving")
        };
        let mut subnets = Vec::new();
        for (i, az) in zones.iter().enumerate() {
            subnets.push(SubnetSpec {
                name: format!("{env}-{az}-public"),
                az: az.clone(),
                cidr: carve(i as u32),
                public: true,
                map_public_ip: vpc.public_subnet_map_public_ip_on_launch,
            });
        }
        if vpc.create_private_subnets {
            for (i, az) in zones.iter().enumerate() {
                subnets.push(SubnetSpec {
                    name: format!("{env}-{az}-private"),
                    az: az.clone(),
                    cidr: carve(n + i as u32),
                    public: false,
                    map_public_ip: false,
                });
            }
        }
        let public_names = |only: Option<&str>| -> Vec<String> {
            subnets
                .iter()
                .filter(|s| s.public && only.is_none_or(|az| s.az == az))
                .map(|s| s.name.clone())
                .collect()
        };
        let private_names = |only: Option<&str>| -> Vec<String> {
            subnets
                .iter()
                .filter(|s| !s.public && only.is_none_or(|az| s.az == az))
                .map(|s| s.name.clone())
                .collect()
        };

        let mut route_tables = vec![RouteTableSpec {
            name: format!("{env}-public-routetable"),
            target: Target::InternetGateway,
            subnets: public_names(None),
        }];
        let mut nats = Vec::new();
        if vpc.create_private_subnets {
            match vpc.nat_gateways {
                NatGateways::PerAz => {
                    for az in &zones {
                        let name = format!("{env}-{az}-nat-gateway");
                        nats.push(NatSpec {
                            name: name.clone(),
                            eip_name: format!("{env}-{az}-nat-eip"),
                            subnet: format!("{env}-{az}-public"),
                        });
                        route_tables.push(RouteTableSpec {
                            name: format!("{env}-{az}-private-routetable"),
                            target: Target::Nat(name),
                            subnets: private_names(Some(az)),
                        });
                    }
                }
                one_or_none => {
                    let target = if one_or_none == NatGateways::One {
                        let name = format!("{env}-nat-gateway");
                        nats.push(NatSpec {
                            name: name.clone(),
                            eip_name: format!("{env}-nat-eip"),
                            subnet: format!("{env}-{}-public", zones[0]),
                        });
                        Target::Nat(name)
                    } else {
                        Target::None
                    };
                    route_tables.push(RouteTableSpec {
                        name: format!("{env}-private-routetable"),
                        target,
                        subnets: private_names(None),
                    });
                }
            }
        }

        Layout {
            vpc_name: format!("{env}-vpc"),
            cidr: vpc.cidr_block,
            igw_name: format!("{env}-internet-gateway"),
            subnets,
            nats,
            route_tables,
            zone: vpc
                .create_private_hosted_zone
                .then(|| format!("{env}.local")),
            zones,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones() -> Vec<String> {
        ["us-east-1a", "us-east-1b", "us-east-1c"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn the_modules_addressing_and_names() {
        let vpc = Vpc::builder().environment("blog").build().unwrap();
        let d = Layout::new(&vpc, zones());
        let subnets: Vec<_> = d
            .subnets
            .iter()
            .map(|s| (s.name.as_str(), s.cidr.to_string()))
            .collect();
        assert_eq!(
            subnets,
            [
                ("blog-us-east-1a-public", "10.0.0.0/24".to_owned()),
                ("blog-us-east-1b-public", "10.0.1.0/24".to_owned()),
                ("blog-us-east-1c-public", "10.0.2.0/24".to_owned()),
                ("blog-us-east-1a-private", "10.0.3.0/24".to_owned()),
                ("blog-us-east-1b-private", "10.0.4.0/24".to_owned()),
                ("blog-us-east-1c-private", "10.0.5.0/24".to_owned()),
            ]
        );
        assert_eq!(d.vpc_name, "blog-vpc");
        assert_eq!(d.igw_name, "blog-internet-gateway");
        assert_eq!(d.nats.len(), 1);
        assert_eq!(d.nats[0].subnet, "blog-us-east-1a-public");
        assert_eq!(d.route_tables.len(), 2);
        assert_eq!(
            d.route_tables[1].target,
            Target::Nat("blog-nat-gateway".into())
        );
        assert_eq!(d.route_tables[1].subnets.len(), 3);
        assert_eq!(d.zone, None);
    }

    #[test]
    fn nat_per_az_gives_a_route_table_per_az() {
        let vpc = Vpc::builder()
            .environment("blog")
            .nat_gateways(NatGateways::PerAz)
            .create_private_hosted_zone(true)
            .build()
            .unwrap();
        let d = Layout::new(&vpc, zones());
        assert_eq!(d.nats.len(), 3);
        assert_eq!(d.route_tables.len(), 4);
        assert_eq!(d.route_tables[2].name, "blog-us-east-1b-private-routetable");
        assert_eq!(d.route_tables[2].subnets, ["blog-us-east-1b-private"]);
        assert_eq!(d.zone.as_deref(), Some("blog.local"));
    }

    #[test]
    fn no_private_subnets_means_no_nat() {
        let vpc = Vpc::builder()
            .environment("blog")
            .create_private_subnets(false)
            .build()
            .unwrap();
        let d = Layout::new(&vpc, zones());
        assert_eq!(d.subnets.len(), 3);
        assert!(d.nats.is_empty());
        assert_eq!(d.route_tables.len(), 1);
    }
}
