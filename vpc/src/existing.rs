//! What AWS has: everything carrying this instance's ownership tag, read with one batched,
//! tag-filtered call per resource kind, all at once.

use converge::{Aws, Error, Tags};

use crate::hosted_zones::{self, FoundZone};
use crate::internet_gateways::{self, FoundIgw};
use crate::nat_gateways::{self, FoundEip, FoundNat};
use crate::route_tables::{self, FoundRouteTable};
use crate::subnets::{self, FoundSubnet};
use crate::vpcs::{self, FoundVpc};

/// Every resource of one module instance that exists now.
#[derive(Clone, Debug, Default)]
pub(crate) struct Existing {
    pub vpcs: Vec<FoundVpc>,
    pub igws: Vec<FoundIgw>,
    pub subnets: Vec<FoundSubnet>,
    pub route_tables: Vec<FoundRouteTable>,
    pub nats: Vec<FoundNat>,
    pub eips: Vec<FoundEip>,
    pub zones: Vec<FoundZone>,
    /// VPCs with our VPC's name but not our ownership tag.
    pub look_alike_vpcs: Vec<String>,
}

impl Existing {
    pub(crate) async fn discover(aws: &Aws, tags: &Tags) -> Result<Self, Error> {
        let domain = format!("{}.local", tags.environment());
        let vpc_name = format!("{}-vpc", tags.environment());
        let ((vpcs, look_alike_vpcs), igws, subnets, route_tables, nats, eips, zones) = tokio::try_join!(
            vpcs::find(aws, tags, &vpc_name),
            internet_gateways::find(aws, tags),
            subnets::find(aws, tags),
            route_tables::find(aws, tags),
            nat_gateways::find(aws, tags),
            nat_gateways::find_eips(aws, tags),
            hosted_zones::find(aws, tags, &domain),
        )?;
        Ok(Self {
            vpcs,
            igws,
            subnets,
            route_tables,
            nats,
            eips,
            zones,
            look_alike_vpcs,
        })
    }

    /// Only what lives in VPC `vpc_id` (or is not tied to one), so leftovers of another VPC
    /// are never mistaken for this one's.
    pub(crate) fn scoped_to(mut self, vpc_id: Option<&str>) -> Self {
        let Some(vpc_id) = vpc_id else {
            return Self {
                igws: self.igws,
                eips: self.eips,
                zones: self.zones,
                ..Self::default()
            };
        };
        self.subnets.retain(|s| s.vpc_id == vpc_id);
        self.route_tables.retain(|rt| rt.vpc_id == vpc_id);
        self.nats.retain(|n| n.vpc_id == vpc_id);
        self
    }

    pub(crate) fn subnet(&self, name: &str) -> Option<&FoundSubnet> {
        self.subnets.iter().find(|s| s.name == name)
    }

    pub(crate) fn nat(&self, name: &str) -> Option<&FoundNat> {
        self.nats.iter().find(|n| n.name == name && n.is_live())
    }

    pub(crate) fn eip(&self, name: &str) -> Option<&FoundEip> {
        self.eips.iter().find(|e| e.name == name)
    }

    pub(crate) fn route_table(&self, name: &str) -> Option<&FoundRouteTable> {
        self.route_tables.iter().find(|rt| rt.name == name)
    }

    pub(crate) fn igw(&self, name: &str) -> Option<&FoundIgw> {
        self.igws.iter().find(|g| g.name == name)
    }

    /// The route table association of each subnet, across all our tables:
    /// subnet id → (association id, route table id).
    pub(crate) fn association_of(&self, subnet_id: &str) -> Option<(&str, &str)> {
        self.route_tables.iter().find_map(|rt| {
            rt.associations
                .iter()
                .find(|(_, s)| s == subnet_id)
                .map(|(a, _)| (a.as_str(), rt.id.as_str()))
        })
    }
}
