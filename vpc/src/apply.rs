//! Plan and apply: read what exists, diff, make only what differs, in dependency order.

use std::collections::HashMap;

use aws_sdk_ec2::types::NatGatewayState;
use converge::{Action, Aws, Error, Plan, Progress, Tags};
use futures::future::try_join_all;

use crate::desired::{Desired, SubnetSpec};
use crate::diff;
use crate::existing::Existing;
use crate::inputs::Vpc;
use crate::outputs::VpcOutputs;
use crate::{destroy, hosted_zones, internet_gateways, nat_gateways, route_tables, subnets, vpcs};

impl Vpc {
    /// What [`apply`](Vpc::apply) would change, without changing anything. Checks the
    /// availability zones against the region first.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let (desired, existing) = self.read_strict(aws).await?;
        Ok(diff::plan(&desired, &existing))
    }

    /// [`plan`](Vpc::plan) and [`outputs`](Vpc::outputs) from one read, for a composition
    /// that plans what lives in the network.
    pub async fn plan_and_outputs(&self, aws: &Aws) -> Result<(Plan, Option<VpcOutputs>), Error> {
        let (desired, existing) = self.read_strict(aws).await?;
        let plan = diff::plan(&desired, &existing);
        Ok((plan, outputs_of(&desired, existing)))
    }

    /// Makes AWS match the inputs and returns the outputs. Creates or updates only what
    /// differs: a second apply with the same inputs makes no mutating call, and an apply cut
    /// off part way and run again finishes the job. A failure says what was left behind.
    pub async fn apply(&self, aws: &Aws) -> Result<VpcOutputs, Error> {
        let (desired, existing) = self.read_strict(aws).await?;
        converge::events::planned(&diff::plan(&desired, &existing).changes);
        let progress = Progress::new();
        let run = Run {
            aws,
            vpc: self,
            tags: self.tags(),
            desired: &desired,
            progress: &progress,
        };
        run.converge(existing)
            .await
            .map_err(|err| progress.fail(err))
    }

    /// The outputs of what exists now, like `terraform output`: `None` when the VPC does not
    /// exist. Resources still missing (a half-built stack) are left out of the lists.
    pub async fn outputs(&self, aws: &Aws) -> Result<Option<VpcOutputs>, Error> {
        let (d, existing) = self.read(aws).await?;
        Ok(outputs_of(&d, existing))
    }

    async fn read(&self, aws: &Aws) -> Result<(Desired, Existing), Error> {
        let tags = self.tags();
        let (zones, existing) = tokio::try_join!(
            crate::zones::resolve(aws, self),
            Existing::discover(aws, &tags)
        )?;
        Ok((Desired::new(self, zones), existing))
    }

    /// What plan and apply read: a same-named VPC we do not own is a conflict, not a reason
    /// to make a second one.
    async fn read_strict(&self, aws: &Aws) -> Result<(Desired, Existing), Error> {
        let (desired, existing) = self.read(aws).await?;
        if let Some(id) = existing.look_alike_vpcs.first() {
            return Err(Error::NotOwned {
                kind: vpcs::KIND.into(),
                id: format!("{id} (\"{}\")", desired.vpc_name),
                owner: self.tags().owner().to_owned(),
            });
        }
        Ok((desired, existing))
    }
}

struct Run<'a> {
    aws: &'a Aws,
    vpc: &'a Vpc,
    tags: Tags,
    desired: &'a Desired,
    progress: &'a Progress,
}

impl Run<'_> {
    async fn converge(&self, existing: Existing) -> Result<VpcOutputs, Error> {
        let (aws, d) = (self.aws, self.desired);

        // The VPC first: everything else lives in it.
        let vpc_change = diff::vpc(d, &existing);
        let (vpc_id, existing) = match vpc_change.action {
            Action::NoOp | Action::Update => {
                let found = existing
                    .vpcs
                    .iter()
                    .find(|v| v.name == d.vpc_name)
                    .expect("diff found it");
                vpcs::enable_dns(aws, &found.id, found.dns_support, found.dns_hostnames).await?;
                let id = found.id.clone();
                let scoped = existing.clone().scoped_to(Some(&id));
                (id, scoped)
            }
            Action::Replace => {
                // A VPC's CIDR block cannot change: like Terraform, replace it with all it holds.
                destroy::delete_all(aws, self.vpc, &existing).await?;
                (self.create_vpc().await?, Existing::default())
            }
            Action::Create | Action::Delete => {
                let scoped = existing.scoped_to(None);
                (self.create_vpc().await?, scoped)
            }
        };

        // NAT gateways that must go (not wanted, or moving subnet) go before their subnets.
        let mut moving = Vec::new();
        for spec in &d.nats {
            let subnet = d
                .subnets
                .iter()
                .find(|s| s.name == spec.subnet)
                .expect("desired NAT subnet");
            let change = diff::nat(
                &spec.name,
                existing.nat(&spec.name),
                diff::kept_subnet_id(&existing, subnet),
            );
            if change.action == Action::Replace {
                moving.extend(change.id);
            }
        }
        let extras = diff::extras(d, &existing);
        let stale: Vec<String> = extras
            .nats
            .iter()
            .map(|n| n.id.clone())
            .chain(moving)
            .collect();
        try_join_all(stale.iter().map(|id| nat_gateways::delete(aws, id))).await?;
        nat_gateways::wait_deleted(aws, &self.vpc.wait, &stale).await?;

        // The internet gateway and the subnets are independent of each other.
        let (igw_id, subnet_ids) = tokio::try_join!(
            self.ensure_igw(&existing, &vpc_id),
            try_join_all(
                d.subnets
                    .iter()
                    .map(|spec| self.ensure_subnet(&existing, &vpc_id, spec))
            ),
        )?;
        let subnet_id: HashMap<&str, String> = d
            .subnets
            .iter()
            .map(|s| s.name.as_str())
            .zip(subnet_ids.iter().cloned())
            .collect();

        // NAT gateways (each behind its Elastic IP), waited for together.
        let nat_ids = try_join_all(d.nats.iter().map(|spec| async {
            let eip = match existing.eip(&spec.eip_name) {
                Some(e) => e.allocation_id.clone(),
                None => {
                    let id = nat_gateways::allocate_eip(aws, &self.tags, &spec.eip_name).await?;
                    self.progress.made(format_args!(
                        "{} \"{}\" ({id})",
                        nat_gateways::EIP_KIND,
                        spec.eip_name
                    ));
                    id
                }
            };
            let subnet = &subnet_id[spec.subnet.as_str()];
            let (id, available) = match existing.nat(&spec.name).filter(|n| &n.subnet_id == subnet)
            {
                Some(n) => (n.id.clone(), n.state == NatGatewayState::Available),
                None => {
                    let id =
                        nat_gateways::create(aws, &self.tags, &spec.name, subnet, &eip).await?;
                    self.progress.made(format_args!(
                        "{} \"{}\" ({id})",
                        nat_gateways::NAT_KIND,
                        spec.name
                    ));
                    (id, false)
                }
            };
            if !available {
                nat_gateways::wait_available(aws, &self.vpc.wait, &id).await?;
            }
            Ok::<_, Error>((spec.name.clone(), id))
        }))
        .await?;

        // Route tables: default route and associations.
        try_join_all(d.route_tables.iter().map(|spec| async {
            let found = existing.route_table(&spec.name);
            let target = diff::target_id(spec, Some(&igw_id), |name| {
                nat_ids
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, id)| id.clone())
            });
            let wanted: Vec<_> = spec
                .subnets
                .iter()
                .map(|name| (name.clone(), Some(subnet_id[name.as_str()].clone())))
                .collect();
            let work = diff::route_table_work(found, target, &wanted, &subnet_ids, &existing);
            let id = match found {
                Some(rt) => rt.id.clone(),
                None => {
                    let id = route_tables::create(aws, &self.tags, &vpc_id, &spec.name).await?;
                    self.progress.made(format_args!(
                        "{} \"{}\" ({id})",
                        route_tables::KIND,
                        spec.name
                    ));
                    id
                }
            };
            if let Some((current, want)) = &work.route {
                route_tables::set_default_route(aws, &id, current.as_deref(), want.as_deref())
                    .await?;
            }
            for (association, _) in &work.disassociate {
                route_tables::disassociate(aws, association).await?;
            }
            for (_, subnet, elsewhere) in &work.associate {
                let subnet = subnet.as_deref().expect("apply knows every subnet id");
                match elsewhere {
                    Some(association) => route_tables::reassociate(aws, association, &id).await?,
                    None => route_tables::associate(aws, &id, subnet).await?,
                }
            }
            Ok::<_, Error>(())
        }))
        .await?;

        // What the inputs no longer ask for: tables, then addresses and subnets.
        try_join_all(
            extras
                .route_tables
                .iter()
                .map(|rt| route_tables::delete(aws, rt)),
        )
        .await?;
        try_join_all(
            extras
                .eips
                .iter()
                .map(|e| nat_gateways::release_eip(aws, &e.allocation_id)),
        )
        .await?;
        try_join_all(extras.subnets.iter().map(|s| subnets::delete(aws, &s.id))).await?;
        try_join_all(
            extras
                .zones
                .iter()
                .map(|z| hosted_zones::delete(aws, &z.id)),
        )
        .await?;

        let zone_id = match &d.zone {
            None => None,
            Some(domain) => Some(match existing.zones.first() {
                Some(z) => z.id.clone(),
                None => {
                    let name = format!("{}-route53-private-hosted-zone", self.vpc.environment);
                    let id = hosted_zones::create(aws, &self.tags, domain, &vpc_id).await?;
                    self.progress
                        .made(format_args!("{} \"{domain}\" ({id})", hosted_zones::KIND));
                    hosted_zones::tag(aws, &self.tags, &id, &name).await?;
                    id
                }
            }),
        };

        let ids_where = |public: bool| -> Vec<String> {
            d.subnets
                .iter()
                .filter(|s| s.public == public)
                .map(|s| subnet_id[s.name.as_str()].clone())
                .collect()
        };
        Ok(VpcOutputs {
            vpc_id,
            vpc_cidr: d.cidr.to_string(),
            public_subnets: ids_where(true),
            private_subnets: ids_where(false),
            availability_zones: d.zones.clone(),
            private_dns_zone_id: zone_id,
            private_domain_name: d.zone.clone(),
            nat_gateway_ids: nat_ids.into_iter().map(|(_, id)| id).collect(),
            internet_gateway_id: igw_id,
        })
    }

    async fn create_vpc(&self) -> Result<String, Error> {
        let d = self.desired;
        let id = vpcs::create(self.aws, &self.tags, &d.vpc_name, &d.cidr.to_string()).await?;
        self.progress
            .made(format_args!("{} \"{}\" ({id})", vpcs::KIND, d.vpc_name));
        // A new VPC has DNS support but not hostnames; the module wants both.
        vpcs::enable_dns(self.aws, &id, true, false).await?;
        Ok(id)
    }

    async fn ensure_igw(&self, existing: &Existing, vpc_id: &str) -> Result<String, Error> {
        let name = &self.desired.igw_name;
        let (id, attached) = match existing.igw(name) {
            Some(g) => {
                // Still attached to a VPC of ours that was replaced: a gateway takes one VPC.
                if g.attached_to.iter().any(|v| v != vpc_id) {
                    let stale = internet_gateways::FoundIgw {
                        attached_to: g
                            .attached_to
                            .iter()
                            .filter(|v| *v != vpc_id)
                            .cloned()
                            .collect(),
                        ..g.clone()
                    };
                    internet_gateways::detach(self.aws, &stale).await?;
                }
                (g.id.clone(), g.attached_to.iter().any(|v| v == vpc_id))
            }
            None => {
                let id = internet_gateways::create(self.aws, &self.tags, name).await?;
                self.progress.made(format_args!(
                    "{} \"{name}\" ({id})",
                    internet_gateways::KIND
                ));
                (id, false)
            }
        };
        if !attached {
            internet_gateways::attach(self.aws, &id, vpc_id).await?;
        }
        Ok(id)
    }

    async fn ensure_subnet(
        &self,
        existing: &Existing,
        vpc_id: &str,
        spec: &SubnetSpec,
    ) -> Result<String, Error> {
        let found = existing.subnet(&spec.name);
        let change = diff::subnet(spec, found);
        match (change.action, found) {
            (Action::NoOp, Some(s)) => Ok(s.id.clone()),
            (Action::Update, Some(s)) => {
                subnets::set_map_public_ip(self.aws, &s.id, spec.map_public_ip).await?;
                Ok(s.id.clone())
            }
            (action, found) => {
                if let (Action::Replace, Some(old)) = (action, found) {
                    if let Some((association, _)) = existing.association_of(&old.id) {
                        route_tables::disassociate(self.aws, association).await?;
                    }
                    subnets::delete(self.aws, &old.id).await?;
                }
                let id = subnets::create(self.aws, &self.tags, vpc_id, spec).await?;
                self.progress
                    .made(format_args!("{} \"{}\" ({id})", subnets::KIND, spec.name));
                if spec.map_public_ip {
                    subnets::set_map_public_ip(self.aws, &id, true).await?;
                }
                Ok(id)
            }
        }
    }
}

/// The outputs of what exists: `None` without the VPC; missing pieces are left out.
fn outputs_of(d: &Desired, existing: Existing) -> Option<VpcOutputs> {
    let found = existing.vpcs.iter().find(|v| v.name == d.vpc_name)?.clone();
    let existing = existing.scoped_to(Some(&found.id));
    let ids_where = |public: bool| -> Vec<String> {
        d.subnets
            .iter()
            .filter(|s| s.public == public)
            .filter_map(|s| existing.subnet(&s.name).map(|f| f.id.clone()))
            .collect()
    };
    Some(VpcOutputs {
        vpc_id: found.id.clone(),
        vpc_cidr: found.cidr.clone(),
        public_subnets: ids_where(true),
        private_subnets: ids_where(false),
        availability_zones: d.zones.clone(),
        private_dns_zone_id: existing.zones.first().map(|z| z.id.clone()),
        private_domain_name: existing.zones.first().map(|z| z.name.clone()),
        nat_gateway_ids: d
            .nats
            .iter()
            .filter_map(|n| existing.nat(&n.name).map(|f| f.id.clone()))
            .collect(),
        internet_gateway_id: existing
            .igw(&d.igw_name)
            .map(|g| g.id.clone())
            .unwrap_or_default(),
    })
}
