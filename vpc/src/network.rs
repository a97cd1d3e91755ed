//! The network as the modules that live in it take it, whichever way it is known: from the
//! VPC module's references in the same stack, from its outputs, or from ids.

use std::collections::BTreeMap;

use converge::{Applied, Ref};

use crate::outputs::{VpcOutputs, VpcRefs};

/// A VPC and its subnets, as a service, a shared load balancer or a fleet of instances takes
/// it (`.network(..)` on their builders). Converts from [`VpcRefs`] (what uses it waits only
/// for the parts it reads: a target group for the VPC, tasks for the private subnets' route
/// to the NAT gateway), from [`VpcOutputs`] (a network applied before), or is built from ids
/// with [`Network::ids`].
///
/// ```
/// let network = vpc::Network::ids("vpc-0abc", "10.0.0.0/16")
///     .private_subnets(["subnet-1", "subnet-2"])
///     .public_subnets(["subnet-3", "subnet-4"]);
/// assert_eq!(network.zone_of("subnet-1"), None);
/// ```
#[derive(Clone, Debug)]
pub struct Network {
    pub(crate) vpc_id: Ref<String>,
    pub(crate) vpc_cidr: Ref<String>,
    pub(crate) public_subnets: Ref<Vec<String>>,
    pub(crate) private_subnets: Ref<Vec<String>>,
    pub(crate) private_egress: Ref<()>,
    /// Each subnet's zone and zone id, where known before any call (from outputs), so
    /// builders can check zones at `build()`.
    zones: BTreeMap<String, (String, Option<String>)>,
    /// The subnets' ids when known before any call (private, public): `None` for
    /// references to a network declared in the same stack.
    known: Option<(Vec<String>, Vec<String>)>,
    /// The VPC's id and CIDR block when known before any call.
    known_vpc: Option<(String, String)>,
}

impl Network {
    /// The VPC `vpc_id` with CIDR block `vpc_cidr`, and no subnets yet.
    pub fn ids(vpc_id: impl Into<String>, vpc_cidr: impl Into<String>) -> Self {
        let (vpc_id, vpc_cidr) = (vpc_id.into(), vpc_cidr.into());
        Self {
            vpc_id: Ref::known(vpc_id.clone()),
            vpc_cidr: Ref::known(vpc_cidr.clone()),
            known_vpc: Some((vpc_id, vpc_cidr)),
            public_subnets: Ref::known(Vec::new()),
            private_subnets: Ref::known(Vec::new()),
            private_egress: Ref::known(()),
            zones: BTreeMap::new(),
            known: Some((Vec::new(), Vec::new())),
        }
    }

    /// The private subnets, where tasks and instances go.
    pub fn private_subnets<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        self.private_subnets = Ref::known(ids.clone());
        self.known.get_or_insert_with(Default::default).0 = ids;
        self
    }

    /// The public subnets, where an internet-facing load balancer goes.
    pub fn public_subnets<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        self.public_subnets = Ref::known(ids.clone());
        self.known.get_or_insert_with(Default::default).1 = ids;
        self
    }

    /// The VPC id.
    pub fn vpc_id(&self) -> &Ref<String> {
        &self.vpc_id
    }

    /// The VPC's CIDR block.
    pub fn vpc_cidr(&self) -> &Ref<String> {
        &self.vpc_cidr
    }

    /// The public subnets' ids.
    pub fn public_subnet_ids(&self) -> &Ref<Vec<String>> {
        &self.public_subnets
    }

    /// The private subnets' ids.
    pub fn private_subnet_ids(&self) -> &Ref<Vec<String>> {
        &self.private_subnets
    }

    /// Known once the private subnets can reach the internet (their route to the NAT
    /// gateway, for a network declared in the same stack).
    pub fn private_egress(&self) -> &Ref<()> {
        &self.private_egress
    }

    /// A subnet's availability zone, when known before any call (from outputs).
    pub fn zone_of(&self, subnet: &str) -> Option<&str> {
        self.zones.get(subnet).map(|(zone, _)| zone.as_str())
    }

    /// A subnet's availability zone id (`use1-az1`), when known before any call.
    pub fn zone_id_of(&self, subnet: &str) -> Option<&str> {
        self.zones.get(subnet).and_then(|(_, id)| id.as_deref())
    }

    /// The private subnets' ids when known before any call: `None` for references to a
    /// network declared in the same stack, which a builder cannot count.
    pub fn known_private_subnets(&self) -> Option<&[String]> {
        self.known.as_ref().map(|(private, _)| private.as_slice())
    }

    /// The VPC id when known before any call (not for references).
    pub fn known_vpc_id(&self) -> Option<&str> {
        self.known_vpc.as_ref().map(|(id, _)| id.as_str())
    }

    /// The VPC's CIDR block when known before any call.
    pub fn known_vpc_cidr(&self) -> Option<&str> {
        self.known_vpc.as_ref().map(|(_, cidr)| cidr.as_str())
    }

    /// The public subnets' ids when known before any call.
    pub fn known_public_subnets(&self) -> Option<&[String]> {
        self.known.as_ref().map(|(_, public)| public.as_slice())
    }
}

impl From<&VpcRefs> for Network {
    fn from(vpc: &VpcRefs) -> Self {
        Self {
            vpc_id: vpc.vpc_id.clone(),
            vpc_cidr: vpc.vpc_cidr.clone(),
            public_subnets: vpc.public_subnets.clone(),
            private_subnets: vpc.private_subnets.clone(),
            private_egress: vpc.private_egress.clone(),
            zones: BTreeMap::new(),
            known: None,
            known_vpc: None,
        }
    }
}

impl From<VpcRefs> for Network {
    fn from(vpc: VpcRefs) -> Self {
        Self::from(&vpc)
    }
}

impl From<&VpcOutputs> for Network {
    fn from(vpc: &VpcOutputs) -> Self {
        let mut zones = BTreeMap::new();
        // Both lists are in zone order.
        for subnets in [&vpc.public_subnets, &vpc.private_subnets] {
            let places = vpc.availability_zones.iter().zip(
                vpc.availability_zone_ids
                    .iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            );
            // Outputs an older release serialized have no zone ids.
            for (subnet, (zone, id)) in subnets.iter().zip(places) {
                zones.insert(subnet.clone(), (zone.clone(), id.cloned()));
            }
        }
        Self {
            zones,
            ..Self::ids(&vpc.vpc_id, &vpc.vpc_cidr)
                .private_subnets(vpc.private_subnets.iter().cloned())
                .public_subnets(vpc.public_subnets.iter().cloned())
        }
    }
}

impl From<&Applied<VpcOutputs>> for Network {
    fn from(vpc: &Applied<VpcOutputs>) -> Self {
        Self::from(&vpc.outputs)
    }
}

impl From<VpcOutputs> for Network {
    fn from(vpc: VpcOutputs) -> Self {
        Self::from(&vpc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_give_each_subnet_its_zone() {
        let out = VpcOutputs {
            vpc_id: "vpc-1".into(),
            vpc_cidr: "10.0.0.0/16".into(),
            public_subnets: vec!["pub-a".into(), "pub-b".into()],
            private_subnets: vec!["priv-a".into(), "priv-b".into()],
            availability_zones: vec!["us-east-1a".into(), "us-east-1b".into()],
            availability_zone_ids: vec!["use1-az1".into(), "use1-az2".into()],
            private_dns_zone_id: None,
            private_domain_name: None,
            nat_gateway_ids: Vec::new(),
            internet_gateway_id: "igw-1".into(),
        };
        let network = Network::from(&out);
        assert_eq!(network.zone_of("priv-b"), Some("us-east-1b"));
        assert_eq!(network.zone_id_of("pub-a"), Some("use1-az1"));
        assert_eq!(
            network.known_private_subnets(),
            Some(&out.private_subnets[..])
        );
        // Outputs without zone ids (an older release's) give zones, and no ids.
        let older = VpcOutputs {
            availability_zone_ids: Vec::new(),
            ..out
        };
        let network = Network::from(&older);
        assert_eq!(network.zone_of("pub-b"), Some("us-east-1b"));
        assert_eq!(network.zone_id_of("pub-b"), None);
    }
}
