//! The difference between what the inputs ask for and what exists, resource by resource.
//! Plan prints it; apply acts on the same decisions.

use converge::{Action, Change, Plan};

use crate::desired::{Desired, RouteTableSpec, SubnetSpec, Target};
use crate::existing::Existing;
use crate::nat_gateways::{FoundEip, FoundNat, EIP_KIND, NAT_KIND};
use crate::route_tables::FoundRouteTable;
use crate::subnets::FoundSubnet;
use crate::{hosted_zones, internet_gateways, route_tables, subnets, vpcs};

const AFTER_APPLY: &str = "(known after apply)";

pub(crate) fn vpc(d: &Desired, existing: &Existing) -> Change {
    let cidr = d.cidr.to_string();
    match existing.vpcs.iter().find(|v| v.name == d.vpc_name) {
        None => Change::new(Action::Create, vpcs::KIND, &d.vpc_name).diff(
            "cidr_block",
            None::<String>,
            Some(cidr),
        ),
        Some(found) if found.cidr != cidr => Change::new(Action::Replace, vpcs::KIND, &d.vpc_name)
            .id(&found.id)
            .diff("cidr_block", Some(&found.cidr), Some(cidr)),
        Some(found) => {
            let mut change = Change::new(Action::NoOp, vpcs::KIND, &d.vpc_name).id(&found.id);
            for (field, on) in [
                ("enable_dns_support", found.dns_support),
                ("enable_dns_hostnames", found.dns_hostnames),
            ] {
                if !on {
                    change.action = Action::Update;
                    change = change.diff(field, Some("false"), Some("true"));
                }
            }
            change
        }
    }
}

pub(crate) fn igw(d: &Desired, existing: &Existing, vpc_id: Option<&str>) -> Change {
    match existing.igw(&d.igw_name) {
        None => Change::new(Action::Create, internet_gateways::KIND, &d.igw_name),
        Some(found) => {
            let attached = vpc_id.is_some_and(|v| found.attached_to.iter().any(|a| a == v));
            let change =
                Change::new(Action::NoOp, internet_gateways::KIND, &d.igw_name).id(&found.id);
            if attached {
                change
            } else {
                Change {
                    action: Action::Update,
                    ..change
                }
                .diff(
                    "vpc_id",
                    found.attached_to.first(),
                    Some(vpc_id.unwrap_or(AFTER_APPLY)),
                )
            }
        }
    }
}

pub(crate) fn subnet(spec: &SubnetSpec, found: Option<&FoundSubnet>) -> Change {
    let cidr = spec.cidr.to_string();
    let Some(found) = found else {
        return Change::new(Action::Create, subnets::KIND, &spec.name)
            .diff("cidr_block", None::<String>, Some(cidr))
            .diff("availability_zone", None::<String>, Some(&spec.az));
    };
    let mut change = Change::new(Action::NoOp, subnets::KIND, &spec.name).id(&found.id);
    if found.cidr != cidr || found.az != spec.az {
        change.action = Action::Replace;
        change = change
            .diff("cidr_block", Some(&found.cidr), Some(cidr))
            .diff("availability_zone", Some(&found.az), Some(&spec.az));
    } else if found.map_public_ip != spec.map_public_ip {
        change.action = Action::Update;
        change = change.diff(
            "map_public_ip_on_launch",
            Some(found.map_public_ip.to_string()),
            Some(spec.map_public_ip.to_string()),
        );
    }
    change
}

/// The subnet id a desired subnet will have after apply, when it is known now: it exists and
/// is not being replaced.
pub(crate) fn kept_subnet_id<'a>(existing: &'a Existing, spec: &SubnetSpec) -> Option<&'a str> {
    let found = existing.subnet(&spec.name)?;
    (subnet(spec, Some(found)).action != Action::Replace).then_some(found.id.as_str())
}

pub(crate) fn eip(name: &str, found: Option<&FoundEip>) -> Change {
    match found {
        None => Change::new(Action::Create, EIP_KIND, name),
        Some(e) => Change::new(Action::NoOp, EIP_KIND, name).id(&e.allocation_id),
    }
}

/// A NAT gateway is replaced when it sits in another subnet than the one wanted (or that
/// subnet is itself being replaced).
pub(crate) fn nat(name: &str, found: Option<&FoundNat>, subnet_id: Option<&str>) -> Change {
    match found {
        None => Change::new(Action::Create, NAT_KIND, name),
        Some(n) if Some(n.subnet_id.as_str()) != subnet_id => {
            Change::new(Action::Replace, NAT_KIND, name).id(&n.id).diff(
                "subnet_id",
                Some(&n.subnet_id),
                Some(subnet_id.unwrap_or(AFTER_APPLY)),
            )
        }
        Some(n) => Change::new(Action::NoOp, NAT_KIND, name).id(&n.id),
    }
}

/// What a route table needs: its default route and its subnet associations.
#[derive(Debug, Default)]
pub(crate) struct RouteTableWork {
    /// (current target, wanted target), when they differ.
    pub route: Option<(Option<String>, Option<String>)>,
    /// (subnet name, subnet id if known, association elsewhere to move if any).
    pub associate: Vec<(String, Option<String>, Option<String>)>,
    /// (association id, subnet id) to remove.
    pub disassociate: Vec<(String, String)>,
}

/// `target` is the wanted default-route target id (`None` when there should be none, or
/// [`AFTER_APPLY`] when it does not exist yet); `subnets` the wanted subnets' names and ids;
/// `all_subnets` the ids of every subnet any table wants.
pub(crate) fn route_table_work(
    found: Option<&FoundRouteTable>,
    target: Option<String>,
    subnets: &[(String, Option<String>)],
    all_subnets: &[String],
    existing: &Existing,
) -> RouteTableWork {
    let current = found.and_then(|rt| rt.default_route.clone());
    let route = (current != target).then_some((current, target));
    let mine = |subnet_id: &str| {
        found.is_some_and(|rt| rt.associations.iter().any(|(_, s)| s == subnet_id))
    };
    let associate = subnets
        .iter()
        .filter(|(_, id)| !id.as_deref().is_some_and(mine))
        .map(|(name, id)| {
            let elsewhere = id
                .as_deref()
                .and_then(|id| existing.association_of(id))
                .map(|(assoc, _)| assoc.to_owned());
            (name.clone(), id.clone(), elsewhere)
        })
        .collect();
    let disassociate = found
        .map(|rt| {
            rt.associations
                .iter()
                // A subnet another table wants is moved by that table, not dropped here.
                .filter(|(_, s)| !all_subnets.contains(s))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    RouteTableWork {
        route,
        associate,
        disassociate,
    }
}

impl RouteTableWork {
    pub(crate) fn change(&self, spec: &RouteTableSpec, found: Option<&FoundRouteTable>) -> Change {
        let mut change = match found {
            None => Change::new(Action::Create, route_tables::KIND, &spec.name),
            Some(rt) => Change::new(Action::NoOp, route_tables::KIND, &spec.name).id(&rt.id),
        };
        let touched =
            self.route.is_some() || !self.associate.is_empty() || !self.disassociate.is_empty();
        if found.is_some() && touched {
            change.action = Action::Update;
        }
        if let Some((before, after)) = &self.route {
            change = change.diff(
                format!("route {}", route_tables::DEFAULT_ROUTE),
                before.clone(),
                after.clone(),
            );
        }
        for (name, _, _) in &self.associate {
            change = change.diff(
                format!("association {name}"),
                None::<String>,
                Some("associated"),
            );
        }
        for (_, subnet_id) in &self.disassociate {
            change = change.diff(
                format!("association {subnet_id}"),
                Some("associated"),
                None::<String>,
            );
        }
        change
    }
}

/// The wanted default-route target id of a route table, given the ids known so far.
pub(crate) fn target_id(
    spec: &RouteTableSpec,
    igw_id: Option<&str>,
    nat_id: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    match &spec.target {
        Target::InternetGateway => Some(igw_id.unwrap_or(AFTER_APPLY).to_owned()),
        Target::Nat(name) => Some(nat_id(name).unwrap_or_else(|| AFTER_APPLY.to_owned())),
        Target::None => None,
    }
}

/// Owned resources in the VPC that the inputs no longer ask for.
pub(crate) struct Extras<'a> {
    pub subnets: Vec<&'a FoundSubnet>,
    pub nats: Vec<&'a FoundNat>,
    pub eips: Vec<&'a FoundEip>,
    pub route_tables: Vec<&'a FoundRouteTable>,
    pub zones: Vec<&'a hosted_zones::FoundZone>,
}

pub(crate) fn extras<'a>(d: &Desired, existing: &'a Existing) -> Extras<'a> {
    Extras {
        subnets: existing
            .subnets
            .iter()
            .filter(|s| !d.subnets.iter().any(|w| w.name == s.name))
            .collect(),
        nats: existing
            .nats
            .iter()
            .filter(|n| n.is_live() && !d.nats.iter().any(|w| w.name == n.name))
            .collect(),
        eips: existing
            .eips
            .iter()
            .filter(|e| !d.nats.iter().any(|w| w.eip_name == e.name))
            .collect(),
        route_tables: existing
            .route_tables
            .iter()
            .filter(|rt| !d.route_tables.iter().any(|w| w.name == rt.name))
            .collect(),
        zones: match &d.zone {
            // Keep the first zone we made; duplicates (a crash between create and tag) go.
            Some(_) => existing.zones.iter().skip(1).collect(),
            None => existing.zones.iter().collect(),
        },
    }
}

impl Extras<'_> {
    pub(crate) fn changes(&self) -> Vec<Change> {
        let del = |kind: &str, name: &str, id: &str| Change::new(Action::Delete, kind, name).id(id);
        let mut out = Vec::new();
        out.extend(
            self.zones
                .iter()
                .map(|z| del(hosted_zones::KIND, &z.name, &z.id)),
        );
        out.extend(self.nats.iter().map(|n| del(NAT_KIND, &n.name, &n.id)));
        out.extend(
            self.eips
                .iter()
                .map(|e| del(EIP_KIND, &e.name, &e.allocation_id)),
        );
        out.extend(
            self.route_tables
                .iter()
                .map(|rt| del(route_tables::KIND, &rt.name, &rt.id)),
        );
        out.extend(
            self.subnets
                .iter()
                .map(|s| del(subnets::KIND, &s.name, &s.id)),
        );
        out
    }
}

/// The whole plan: every resource's change, in the order apply makes them.
pub(crate) fn plan(d: &Desired, existing: &Existing) -> Plan {
    let mut plan = Plan::new();
    let vpc_change = vpc(d, existing);
    let replacing = vpc_change.action == Action::Replace;
    let vpc_id = (vpc_change.action != Action::Create && !replacing)
        .then(|| vpc_change.id.clone())
        .flatten();
    if replacing {
        // Everything in the old VPC goes with it; everything is made anew in the new one.
        let mut everything = crate::destroy::changes(existing);
        everything
            .changes
            .retain(|c| !(c.kind == vpcs::KIND && c.name == d.vpc_name));
        plan.extend(everything);
        plan.push(vpc_change);
        return plan_fresh(plan, d);
    }
    plan.push(vpc_change);
    let existing = existing.clone().scoped_to(vpc_id.as_deref());
    plan.push(igw(d, &existing, vpc_id.as_deref()));
    for spec in &d.subnets {
        plan.push(subnet(spec, existing.subnet(&spec.name)));
    }
    let mut nat_ids = Vec::new();
    for spec in &d.nats {
        plan.push(eip(&spec.eip_name, existing.eip(&spec.eip_name)));
        let subnet_id = d
            .subnets
            .iter()
            .find(|s| s.name == spec.subnet)
            .and_then(|s| kept_subnet_id(&existing, s));
        let change = nat(&spec.name, existing.nat(&spec.name), subnet_id);
        if change.action == Action::NoOp {
            nat_ids.push((spec.name.clone(), change.id.clone().unwrap_or_default()));
        }
        plan.push(change);
    }
    let igw_id = existing.igw(&d.igw_name).map(|g| g.id.as_str());
    let all_subnets: Vec<String> = d
        .subnets
        .iter()
        .filter_map(|s| kept_subnet_id(&existing, s).map(str::to_owned))
        .collect();
    for spec in &d.route_tables {
        let found = existing.route_table(&spec.name);
        let target = target_id(spec, igw_id, |name| {
            nat_ids
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, id)| id.clone())
        });
        let subnets: Vec<_> = spec
            .subnets
            .iter()
            .map(|name| {
                let id = d
                    .subnets
                    .iter()
                    .find(|s| &s.name == name)
                    .and_then(|s| kept_subnet_id(&existing, s));
                (name.clone(), id.map(str::to_owned))
            })
            .collect();
        let work = route_table_work(found, target, &subnets, &all_subnets, &existing);
        plan.push(work.change(spec, found));
    }
    if let Some(domain) = &d.zone {
        match existing.zones.first() {
            None => plan.push(Change::new(Action::Create, hosted_zones::KIND, domain)),
            Some(z) => plan.push(Change::new(Action::NoOp, hosted_zones::KIND, domain).id(&z.id)),
        }
    }
    for change in extras(d, &existing).changes() {
        plan.push(change);
    }
    plan
}

/// Everything created from nothing (a new or replaced VPC).
fn plan_fresh(mut plan: Plan, d: &Desired) -> Plan {
    let empty = Existing::default();
    let fresh = self::plan(d, &empty);
    plan.changes
        .extend(fresh.changes.into_iter().filter(|c| c.kind != vpcs::KIND));
    plan
}
