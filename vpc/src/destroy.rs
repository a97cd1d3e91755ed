//! Destroy: find by tags, delete in reverse dependency order, wait where AWS needs it.

use converge::{Action, Aws, Change, Error, Plan, Tags};
use futures::future::try_join_all;

use crate::existing::Existing;
use crate::inputs::Vpc;
use crate::nat_gateways::{self, EIP_KIND, NAT_KIND};
use crate::{hosted_zones, internet_gateways, route_tables, subnets, vpcs};

/// Deletes everything in `existing`, in dependency order: the hosted zone, NAT gateways (and
/// waits until they are deleted), their Elastic IPs, route tables, subnets, the internet
/// gateway, the VPC last.
pub(crate) async fn delete_all(aws: &Aws, vpc: &Vpc, existing: &Existing) -> Result<(), Error> {
    try_join_all(
        existing
            .zones
            .iter()
            .map(|z| hosted_zones::delete(aws, &z.id)),
    )
    .await?;

    let live: Vec<String> = existing
        .nats
        .iter()
        .filter(|n| n.is_live())
        .map(|n| n.id.clone())
        .collect();
    try_join_all(live.iter().map(|id| nat_gateways::delete(aws, id))).await?;
    let deleting: Vec<String> = existing.nats.iter().map(|n| n.id.clone()).collect();
    nat_gateways::wait_deleted(aws, &vpc.wait, &deleting).await?;

    try_join_all(
        existing
            .eips
            .iter()
            .map(|e| nat_gateways::release_eip(aws, &e.allocation_id)),
    )
    .await?;
    try_join_all(
        existing
            .route_tables
            .iter()
            .map(|rt| route_tables::delete(aws, rt)),
    )
    .await?;
    try_join_all(existing.subnets.iter().map(|s| subnets::delete(aws, &s.id))).await?;
    try_join_all(
        existing
            .igws
            .iter()
            .map(|g| internet_gateways::delete(aws, g)),
    )
    .await?;
    try_join_all(existing.vpcs.iter().map(|v| vpcs::delete(aws, &v.id))).await?;
    Ok(())
}

/// The deletions destroy would make, in its order.
pub(crate) fn changes(existing: &Existing) -> Plan {
    let mut plan = Plan::new();
    let mut del = |kind: &str, name: &str, id: &str| {
        plan.push(Change::new(Action::Delete, kind, name).id(id))
    };
    for z in &existing.zones {
        del(hosted_zones::KIND, &z.name, &z.id);
    }
    for n in existing.nats.iter().filter(|n| n.is_live()) {
        del(NAT_KIND, &n.name, &n.id);
    }
    for e in &existing.eips {
        del(EIP_KIND, &e.name, &e.allocation_id);
    }
    for rt in &existing.route_tables {
        del(route_tables::KIND, &rt.name, &rt.id);
    }
    for s in &existing.subnets {
        del(subnets::KIND, &s.name, &s.id);
    }
    for g in &existing.igws {
        del(internet_gateways::KIND, &g.name, &g.id);
    }
    for v in &existing.vpcs {
        del(vpcs::KIND, &v.name, &v.id);
    }
    plan
}

impl Vpc {
    /// What [`destroy`](Vpc::destroy) would delete: everything tagged as this instance's.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let existing = Existing::discover(aws, &self.tags()).await?;
        Ok(changes(&existing))
    }

    /// Deletes everything this instance made, found by its ownership tag (never by saved
    /// outputs), in reverse dependency order. Works on a half-built or absent stack, and never
    /// touches a resource without our ownership tag, whatever its name. Returns what it deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let existing = Existing::discover(aws, &self.tags()).await?;
        let plan = changes(&existing);
        delete_all(aws, self, &existing).await?;
        tracing::info!(environment = %self.environment, deleted = plan.changes.len(), "vpc destroyed");
        Ok(plan)
    }

    pub(crate) fn tags(&self) -> Tags {
        Tags::new("vpc", &self.environment).with_extra(self.tags.clone())
    }
}
