//! `aws_security_group` with its TCP ingress rules (egress stays EC2's default, everything
//! out): read by ownership tag, one call for every group of a stack.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, UserIdGroupPair};

use crate::delta::{Delta, Field};
use crate::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use crate::plan::Diff;
use crate::resource::{Cx, Progress, Resource, Wanted};
use crate::{Aws, AwsResultExt, Error, Transient, Value, Wait};

/// The security group kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecurityGroupKind;

/// Where an ingress rule admits traffic from, once known.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// An IPv4 CIDR block.
    Cidr(String),
    /// Another security group, by id.
    Group(String),
}

/// A TCP ingress rule, once every id in it is known.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    /// First port.
    pub from: i32,
    /// Last port.
    pub to: i32,
    /// Who may connect.
    pub peer: Peer,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peer = match &self.peer {
            Peer::Cidr(c) => c,
            Peer::Group(g) => g,
        };
        if self.from == self.to {
            write!(f, "tcp {} from {peer}", self.from)
        } else {
            write!(f, "tcp {}-{} from {peer}", self.from, self.to)
        }
    }
}

/// An ingress rule as the inputs ask for it: a group peer may not exist yet.
#[derive(Clone, Debug, PartialEq)]
pub struct IngressRule<P: Phase = AtPlan> {
    /// First port.
    pub from: i32,
    /// Last port.
    pub to: i32,
    /// A CIDR block, or a group id (known after apply when the group is new).
    pub peer: P::Value<Peer>,
}

/// What a security group should be.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityGroupSpec<P: Phase = AtPlan> {
    /// The VPC it lives in.
    pub vpc_id: P::Value<String>,
    /// Its description (EC2 cannot change it in place).
    pub description: String,
    /// Its TCP ingress rules.
    pub ingress: Vec<IngressRule<P>>,
}

impl Resolve for SecurityGroupSpec {
    type Output = SecurityGroupSpec<AtApply>;

    fn resolve(&self) -> Result<SecurityGroupSpec<AtApply>, Unknown> {
        Ok(SecurityGroupSpec {
            vpc_id: self.vpc_id.resolve("vpc_id")?,
            description: self.description.clone(),
            ingress: self
                .ingress
                .iter()
                .map(|r| {
                    Ok(IngressRule {
                        from: r.from,
                        to: r.to,
                        peer: r.peer.resolve("ingress.peer")?,
                    })
                })
                .collect::<Result<_, Unknown>>()?,
        })
    }
}

impl SecurityGroupSpec<AtApply> {
    /// The rules.
    fn rules(&self) -> Vec<Rule> {
        self.ingress
            .iter()
            .map(|r| Rule {
                from: r.from,
                to: r.to,
                peer: r.peer.clone(),
            })
            .collect()
    }
}

impl SecurityGroupSpec {
    /// The rules, when every peer is known.
    fn rules(&self) -> Value<Vec<Rule>> {
        self.ingress
            .iter()
            .map(|r| {
                r.peer.clone().map(|peer| Rule {
                    from: r.from,
                    to: r.to,
                    peer,
                })
            })
            .collect()
    }
}

/// A security group as EC2 has it.
#[derive(Clone, Debug)]
pub struct FoundGroup {
    id: String,
    name: String,
    vpc_id: String,
    description: String,
    owner: Option<String>,
    rules: Vec<Rule>,
}

/// A security group's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecurityGroupOutputs {
    /// The group's id.
    pub id: String,
}

fn rules_of(p: &IpPermission) -> Vec<Rule> {
    if p.ip_protocol() != Some("tcp") {
        return Vec::new();
    }
    let (from, to) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535));
    let cidrs = p
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .map(|c| Peer::Cidr(c.to_owned()));
    let groups = p
        .user_id_group_pairs()
        .iter()
        .filter_map(|g| g.group_id())
        .map(|g| Peer::Group(g.to_owned()));
    cidrs
        .chain(groups)
        .map(|peer| Rule { from, to, peer })
        .collect()
}

fn permission(rule: &Rule) -> IpPermission {
    let b = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(rule.from)
        .to_port(rule.to);
    match &rule.peer {
        Peer::Cidr(c) => b.ip_ranges(IpRange::builder().cidr_ip(c).build()),
        Peer::Group(g) => b.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build()),
    }
    .build()
}

/// Adds the rules `want` lacks in `have` and removes the ones it has too many.
async fn converge_rules(aws: &Aws, id: &str, have: &[Rule], want: &[Rule]) -> Result<(), Error> {
    let add: Vec<_> = want
        .iter()
        .filter(|r| !have.contains(r))
        .map(permission)
        .collect();
    let remove: Vec<_> = have
        .iter()
        .filter(|r| !want.contains(r))
        .map(permission)
        .collect();
    if !add.is_empty() {
        aws.ec2()
            .authorize_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(add))
            .send()
            .await
            .context("AuthorizeSecurityGroupIngress", id)?;
    }
    if !remove.is_empty() {
        aws.ec2()
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(remove))
            .send()
            .await
            .context("RevokeSecurityGroupIngress", id)?;
    }
    Ok(())
}

/// A security group's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityGroupField {
    /// The VPC it lives in; fixed.
    VpcId,
    /// Its description; fixed.
    Description,
    /// One TCP ingress rule, added or removed.
    Ingress,
}

impl Field for SecurityGroupField {
    fn name(&self) -> &str {
        match self {
            SecurityGroupField::VpcId => "vpc_id",
            SecurityGroupField::Description => "description",
            SecurityGroupField::Ingress => "ingress",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            SecurityGroupField::VpcId => Some("a security group cannot move to another VPC"),
            SecurityGroupField::Description => {
                Some("EC2 cannot change a security group's description")
            }
            SecurityGroupField::Ingress => None,
        }
    }
}

#[async_trait]
impl Resource for SecurityGroupKind {
    const KIND: &'static str = "aws_security_group";
    const PRUNE: bool = true;
    // Tasks' and load balancer nodes' network interfaces take minutes to release a group.
    const WAIT: Wait = Wait::new(
        Duration::from_secs(900),
        Duration::from_secs(2),
        Duration::from_secs(20),
    );
    // The VPC, or the group, just made and not yet visible to the next call (EC2's eventual
    // consistency). A create is repeated whole: the group's name is taken, so the repeat
    // adopts the group the first attempt made, and a failed AuthorizeSecurityGroupIngress
    // added no rule.
    const TRANSIENT: Transient =
        Transient::codes(&["InvalidVpcID.NotFound", "InvalidGroup.NotFound"]);
    const IN_USE: Transient = Transient::DEPENDENCY;
    type Field = SecurityGroupField;
    type Key = ();
    type Desired = SecurityGroupSpec;
    type Observed = FoundGroup;
    type Outputs = SecurityGroupOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<crate::permissions::Grant> {
        use crate::permissions::{ec2_retag, ec2_tags_on_create, Grant};
        // DescribeNetworkInterfaces: delete waits for the ENIs that hold the group.
        vec![
            Grant::new([
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeNetworkInterfaces",
                "ec2:CreateSecurityGroup",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
            ]),
            ec2_tags_on_create("CreateSecurityGroup"),
            ec2_retag(),
            Grant::new(["ec2:DeleteSecurityGroup"]).owned(),
        ]
    }

    /// Ours by their ownership tag (leftovers included) and, in the same round trip, any
    /// group with a declared name: EC2 refuses a second group of that name in a VPC, so one
    /// that is not ours must stop the plan before anything is made.
    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundGroup>, Error> {
        let owners = crate::owners_of(wanted).join(",");
        let names: Vec<String> = wanted.iter().map(|w| w.name.to_owned()).collect();
        let groups = |page: aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput| {
            page.security_groups.unwrap_or_default()
        };
        let by_owner = crate::ec2::read_owned(
            wanted,
            "DescribeSecurityGroups",
            &owners,
            |owned| {
                (aws.ec2().describe_security_groups())
                    .filters(owned)
                    .into_paginator()
                    .send()
            },
            groups,
        );
        let named = Filter::builder()
            .name("group-name")
            .set_values(Some(names))
            .build();
        let by_name = crate::ec2::read_tagged(
            wanted,
            "DescribeSecurityGroups",
            &owners,
            (aws.ec2().describe_security_groups())
                .filters(named)
                .into_paginator()
                .send(),
            groups,
        );
        let (by_owner, by_name) = tokio::try_join!(by_owner, by_name)?;
        let mut found: Vec<FoundGroup> = Vec::new();
        for f in by_owner.into_iter().chain(by_name) {
            let g = &f.item;
            let id = g.group_id().unwrap_or_default();
            // A VPC's default group is the VPC module's to close, never a group to delete,
            // though it carries the module's ownership tag.
            if found.iter().any(|f| f.id == id) || g.group_name() == Some("default") {
                continue;
            }
            found.push(FoundGroup {
                id: id.to_owned(),
                // The group name is what EC2 keeps unique; ours carry it as `Name` too.
                name: g.group_name().map_or(f.name, str::to_owned),
                vpc_id: g.vpc_id().unwrap_or_default().to_owned(),
                description: g.description().unwrap_or_default().to_owned(),
                owner: f.owner,
                rules: g.ip_permissions().iter().flat_map(rules_of).collect(),
            });
        }
        Ok(found)
    }

    fn name<'o>(&self, o: &'o FoundGroup) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundGroup) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundGroup) -> String {
        o.id.clone()
    }

    fn tag_target(&self, o: &FoundGroup) -> Option<crate::TagTarget> {
        Some(crate::TagTarget::Ec2(o.id.clone()))
    }

    fn describe(&self, d: &SecurityGroupSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta.update(SecurityGroupField::VpcId, None::<&str>, Some(&d.vpc_id));
        for r in &d.ingress {
            let rule = match &r.peer {
                Value::Known(peer) => Rule {
                    from: r.from,
                    to: r.to,
                    peer: peer.clone(),
                }
                .to_string(),
                Value::AfterApply => {
                    format!("tcp {}-{} from {}", r.from, r.to, crate::AFTER_APPLY)
                }
            };
            delta.update(SecurityGroupField::Ingress, None::<&str>, Some(rule));
        }
        delta.described()
    }

    fn diff(&self, d: &SecurityGroupSpec, o: &FoundGroup) -> Delta<SecurityGroupField> {
        let mut delta = Delta::new();
        delta.compare(SecurityGroupField::VpcId, &o.vpc_id, &d.vpc_id);
        delta.compare(
            SecurityGroupField::Description,
            &o.description,
            &Value::Known(d.description.clone()),
        );
        match d.rules() {
            Value::Known(want) => {
                for r in want.iter().filter(|r| !o.rules.contains(r)) {
                    delta.update(SecurityGroupField::Ingress, None::<&str>, Some(r));
                }
                for r in o.rules.iter().filter(|r| !want.contains(r)) {
                    delta.update(SecurityGroupField::Ingress, Some(r), None::<&str>);
                }
            }
            Value::AfterApply => {
                delta.update(
                    SecurityGroupField::Ingress,
                    None::<&str>,
                    Some(crate::AFTER_APPLY),
                );
            }
        }
        delta
    }

    fn outputs(&self, o: &FoundGroup) -> SecurityGroupOutputs {
        SecurityGroupOutputs { id: o.id.clone() }
    }

    fn output_id(&self, out: &SecurityGroupOutputs) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &SecurityGroupSpec<AtApply>,
    ) -> Result<SecurityGroupOutputs, Error> {
        let aws = cx.aws;
        let vpc_id = &d.vpc_id;
        let rules = d.rules();
        let out = aws
            .ec2()
            .create_security_group()
            .group_name(cx.name)
            .description(&d.description)
            .vpc_id(vpc_id)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::SecurityGroup, cx.name))
            .send()
            .await
            .context("CreateSecurityGroup", SecurityGroupKind::label(cx.name));
        let id = match out {
            Ok(out) => out.group_id().unwrap_or_default().to_owned(),
            // A same-named group: ours when a retried create meets the one its lost answer
            // made (CreateSecurityGroup takes no client token), else another's: say so.
            Err(err) if err.code() == Some("InvalidGroup.Duplicate") => {
                let found = aws
                    .ec2()
                    .describe_security_groups()
                    .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
                    .filters(Filter::builder().name("group-name").values(cx.name).build())
                    .send()
                    .await
                    .context("DescribeSecurityGroups", SecurityGroupKind::label(cx.name))?;
                match found.security_groups().first() {
                    Some(g)
                        if cx.tags.claim(crate::ec2_owner(g.tags()).as_deref())
                            == crate::Claim::Ours =>
                    {
                        g.group_id().unwrap_or_default().to_owned()
                    }
                    Some(g) => {
                        return Err(Error::NotOwned {
                            kind: Self::KIND.into(),
                            id: format!("{} (\"{}\")", g.group_id().unwrap_or_default(), cx.name),
                            owner: cx.tags.owner().to_owned(),
                            found: crate::ec2_owner(g.tags()),
                        })
                    }
                    None => return Err(err),
                }
            }
            Err(err) => return Err(err),
        };
        converge_rules(aws, &id, &[], &rules).await?;
        Ok(SecurityGroupOutputs { id })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &SecurityGroupSpec<AtApply>,
        o: &FoundGroup,
        delta: &Delta<SecurityGroupField>,
    ) -> Result<SecurityGroupOutputs, Error> {
        for field in delta.fields() {
            match field {
                // Forces a replacement: never reaches an update.
                SecurityGroupField::VpcId | SecurityGroupField::Description => {}
                // One call each for every rule to add and every rule to remove.
                SecurityGroupField::Ingress => {
                    converge_rules(cx.aws, &o.id, &o.rules, &d.rules()).await?;
                }
            }
        }
        Ok(self.outputs(o))
    }

    /// Deletes it, once [`unused`](Resource::unused); the engine retries while EC2 still
    /// calls it in use.
    async fn delete(&self, cx: Cx<'_>, o: &FoundGroup) -> Result<(), Error> {
        cx.aws
            .ec2()
            .delete_security_group()
            .group_id(&o.id)
            .send()
            .await
            .context("DeleteSecurityGroup", SecurityGroupKind::label(cx.name))?;
        Ok(())
    }

    /// The network interfaces still in the group (tasks, load balancer nodes) are gone.
    async fn unused(&self, cx: Cx<'_>, o: &FoundGroup) -> Result<Progress<()>, Error> {
        let id = o.id.as_str();
        let out = cx
            .aws
            .ec2()
            .describe_network_interfaces()
            .filters(Filter::builder().name("group-id").values(id).build())
            .send()
            .await
            .context("DescribeNetworkInterfaces", id)?;
        Ok(if out.network_interfaces().is_empty() {
            Progress::Done(())
        } else {
            Progress::pending(format!(
                "the network interfaces in security group {id} to be released"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(rules: Vec<Rule>) -> FoundGroup {
        FoundGroup {
            id: "sg-1".into(),
            name: "blog-alb-sg".into(),
            vpc_id: "vpc-1".into(),
            description: "alb".into(),
            owner: None,
            rules,
        }
    }

    fn http_from(cidr: &str) -> Rule {
        Rule {
            from: 80,
            to: 80,
            peer: Peer::Cidr(cidr.into()),
        }
    }

    fn spec(vpc: Value<String>, ingress: Vec<IngressRule>) -> SecurityGroupSpec {
        SecurityGroupSpec {
            vpc_id: vpc,
            description: "alb".into(),
            ingress,
        }
    }

    #[test]
    fn rules_are_compared_as_a_set_and_the_vpc_forces_a_replacement() {
        let want = vec![IngressRule {
            from: 80,
            to: 80,
            peer: Value::Known(Peer::Cidr("0.0.0.0/0".into())),
        }];
        let same = SecurityGroupKind.diff(
            &spec(Value::Known("vpc-1".into()), want.clone()),
            &found(vec![http_from("0.0.0.0/0")]),
        );
        assert!(same.is_empty());
        let drifted = SecurityGroupKind.diff(
            &spec(Value::Known("vpc-1".into()), want.clone()),
            &found(vec![http_from("0.0.0.0/0"), http_from("10.0.0.0/8")]),
        );
        assert_eq!(drifted.diffs().len(), 1);
        assert_eq!(drifted.fields(), [SecurityGroupField::Ingress]);
        assert_eq!(drifted.diffs()[0].field, "ingress");
        assert!(!drifted.replaces());
        assert_eq!(
            drifted.diffs()[0].before.as_deref(),
            Some("tcp 80 from 10.0.0.0/8")
        );
        let moved = SecurityGroupKind.diff(
            &spec(Value::AfterApply, want),
            &found(vec![http_from("0.0.0.0/0")]),
        );
        assert!(moved.replaces());
        assert_eq!(moved.changes[0].field, SecurityGroupField::VpcId);
        assert_eq!(
            moved.changes[0].replaces,
            Some("a security group cannot move to another VPC")
        );
        let mut renamed = spec(Value::Known("vpc-1".into()), vec![]);
        renamed.description = "the load balancer".into();
        let described = SecurityGroupKind.diff(&renamed, &found(vec![]));
        assert_eq!(described.fields(), [SecurityGroupField::Description]);
        assert!(described.changes[0].replaces.is_some());
        // A create's attributes replace nothing.
        assert!(SecurityGroupKind
            .describe(&renamed)
            .iter()
            .all(|d| d.replaces.is_none()));
    }

    #[test]
    fn a_peer_not_made_yet_is_a_difference() {
        let want = vec![IngressRule {
            from: 80,
            to: 80,
            peer: Value::AfterApply,
        }];
        let delta =
            SecurityGroupKind.diff(&spec(Value::Known("vpc-1".into()), want), &found(vec![]));
        assert_eq!(delta.diffs()[0].after.as_deref(), Some(crate::AFTER_APPLY));
    }
}
