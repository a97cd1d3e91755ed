//! `aws_default_security_group`: the VPC's default security group, closed. EC2 makes it with
//! the VPC (all egress, and ingress from itself); nothing of ours uses it, so its rules go
//! (Security Hub control EC2.2), as terraform-aws-vpc's `manage_default_security_group` does.
//!
//! It cannot be made or deleted, only adopted: the first apply finds it by the VPC, revokes
//! its rules and tags it with our identity, by which later reads find it. A rule added to it
//! out of band shows in the plan, and apply revokes it. Destroy leaves it to the VPC's
//! deletion, which takes it along.

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, IpPermission, SecurityGroup};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{ec2_name, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Wanted};

/// The default security group kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DefaultSgKind;

/// What the inputs ask for: the VPC's default group, without rules.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DefaultSgDesired<P: Phase = AtPlan> {
    pub vpc_id: P::Value<String>,
}

impl Resolve for DefaultSgDesired {
    type Output = DefaultSgDesired<AtApply>;

    fn resolve(&self) -> Result<DefaultSgDesired<AtApply>, Unknown> {
        Ok(DefaultSgDesired {
            vpc_id: self.vpc_id.resolve("vpc_id")?,
        })
    }
}

/// The default group, once adopted.
#[derive(Clone, Debug)]
pub(crate) struct FoundDefaultSg {
    id: String,
    name: String,
    owner: Option<String>,
    ingress: Vec<IpPermission>,
    egress: Vec<IpPermission>,
}

/// Its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DefaultSgOut {
    pub id: String,
}

pub(crate) const KIND: &str = "aws_default_security_group";

/// A rule as the plan shows it: protocol, ports and peers.
fn rule_text(p: &IpPermission) -> String {
    let ports = match (p.from_port(), p.to_port()) {
        (Some(from), Some(to)) if from == to => format!(" {from}"),
        (Some(from), Some(to)) if from >= 0 => format!(" {from}-{to}"),
        _ => String::new(),
    };
    let protocol = match p.ip_protocol().unwrap_or("-1") {
        "-1" => "all",
        other => other,
    };
    let peers: Vec<&str> = p
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
        .chain(p.user_id_group_pairs().iter().filter_map(|g| g.group_id()))
        .chain(
            p.prefix_list_ids()
                .iter()
                .filter_map(|l| l.prefix_list_id()),
        )
        .collect();
    format!("{protocol}{ports} {}", peers.join(","))
}

fn rules_text(rules: &[IpPermission]) -> String {
    rules.iter().map(rule_text).collect::<Vec<_>>().join("; ")
}

fn found(g: &SecurityGroup) -> FoundDefaultSg {
    FoundDefaultSg {
        id: g.group_id().unwrap_or_default().to_owned(),
        name: ec2_name(g.tags()).unwrap_or_default().to_owned(),
        owner: converge::ec2_owner(g.tags()),
        ingress: g.ip_permissions().to_vec(),
        egress: g.ip_permissions_egress().to_vec(),
    }
}

/// Revokes the rules of the group: its ingress rules if `ingress`, its egress rules if
/// `egress`.
async fn close(cx: Cx<'_>, g: &FoundDefaultSg, ingress: bool, egress: bool) -> Result<(), Error> {
    let ec2 = cx.aws.ec2();
    if ingress && !g.ingress.is_empty() {
        ec2.revoke_security_group_ingress()
            .group_id(&g.id)
            .set_ip_permissions(Some(g.ingress.clone()))
            .send()
            .await
            .context(
                "RevokeSecurityGroupIngress",
                cx.address(KIND, Some(g.id.clone())),
            )?;
    }
    if egress && !g.egress.is_empty() {
        ec2.revoke_security_group_egress()
            .group_id(&g.id)
            .set_ip_permissions(Some(g.egress.clone()))
            .send()
            .await
            .context(
                "RevokeSecurityGroupEgress",
                cx.address(KIND, Some(g.id.clone())),
            )?;
    }
    Ok(())
}

/// The default security group's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultSgField {
    /// The VPC whose group it is: shown when adopted, never compared.
    VpcId,
    /// All its rules, shown when adopted.
    Rules,
    /// Its ingress rules, to be revoked.
    Ingress,
    /// Its egress rules, to be revoked.
    Egress,
}

impl Field for DefaultSgField {
    fn name(&self) -> &str {
        match self {
            DefaultSgField::VpcId => "vpc_id",
            DefaultSgField::Rules => "rules",
            DefaultSgField::Ingress => "ingress",
            DefaultSgField::Egress => "egress",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            DefaultSgField::VpcId => Some("a security group cannot move to another VPC"),
            DefaultSgField::Rules | DefaultSgField::Ingress | DefaultSgField::Egress => None,
        }
    }
}

#[async_trait]
impl Resource for DefaultSgKind {
    const KIND: &'static str = KIND;
    type Field = DefaultSgField;
    type Key = ();
    type Desired = DefaultSgDesired;
    type Observed = FoundDefaultSg;
    type Outputs = DefaultSgOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        // The VPC's default group is adopted, never made: it is tagged after the fact.
        vec![
            Grant::new([
                "ec2:DescribeSecurityGroups",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
            ]),
            Grant::new(["ec2:CreateTags"]).on("arn:aws:ec2:*:*:security-group/*"),
        ]
    }

    /// One tag-filtered read; a VPC's group not adopted yet is not found, and adopted at
    /// apply.
    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ()>],
    ) -> Result<Vec<FoundDefaultSg>, Error> {
        let groups = converge::ec2::read_owned(
            wanted,
            "DescribeSecurityGroups",
            KIND,
            |owned| {
                let default = Filter::builder()
                    .name("group-name")
                    .values("default")
                    .build();
                aws.ec2()
                    .describe_security_groups()
                    .filters(owned)
                    .filters(default)
                    .into_paginator()
                    .send()
            },
            |page| page.security_groups.unwrap_or_default(),
        )
        .await?;
        // The same mapping as the adoption's, which finds the group by its VPC.
        Ok(groups.iter().map(|g| found(&g.item)).collect())
    }

    fn name<'o>(&self, o: &'o FoundDefaultSg) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundDefaultSg) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundDefaultSg) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &DefaultSgDesired) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(DefaultSgField::VpcId, None::<String>, Some(&d.vpc_id))
            .update(DefaultSgField::Rules, Some("EC2's defaults"), Some("none"));
        delta.described()
    }

    fn diff(&self, _d: &DefaultSgDesired, o: &FoundDefaultSg) -> Delta<DefaultSgField> {
        let mut delta = Delta::new();
        if !o.ingress.is_empty() {
            delta.update(
                DefaultSgField::Ingress,
                Some(rules_text(&o.ingress)),
                Some("none"),
            );
        }
        if !o.egress.is_empty() {
            delta.update(
                DefaultSgField::Egress,
                Some(rules_text(&o.egress)),
                Some("none"),
            );
        }
        delta
    }

    fn outputs(&self, o: &FoundDefaultSg) -> DefaultSgOut {
        DefaultSgOut { id: o.id.clone() }
    }
    fn output_id(&self, out: &DefaultSgOut) -> Option<String> {
        Some(out.id.clone())
    }

    /// Adopts the group EC2 made with the VPC: closes it, then tags it ours.
    async fn create(
        &self,
        cx: Cx<'_>,
        d: &DefaultSgDesired<AtApply>,
    ) -> Result<DefaultSgOut, Error> {
        let vpc_id = &d.vpc_id;
        let out = cx
            .aws
            .ec2()
            .describe_security_groups()
            .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
            .filters(
                Filter::builder()
                    .name("group-name")
                    .values("default")
                    .build(),
            )
            .send()
            .await
            .context("DescribeSecurityGroups", cx.address(KIND, None))?;
        let group = out.security_groups().first().ok_or_else(|| Error::Failed {
            resource: cx.address(KIND, None).to_string(),
            reason: format!("VPC {vpc_id} has no default security group"),
        })?;
        let group = found(group);
        close(cx, &group, true, true).await?;
        let tags = cx
            .tags
            .for_resource(cx.name)
            .into_iter()
            .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
        cx.aws
            .ec2()
            .create_tags()
            .resources(&group.id)
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .context("CreateTags", cx.address(KIND, Some(group.id.clone())))?;
        Ok(DefaultSgOut { id: group.id })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        _d: &DefaultSgDesired<AtApply>,
        o: &FoundDefaultSg,
        delta: &Delta<DefaultSgField>,
    ) -> Result<DefaultSgOut, Error> {
        let (mut ingress, mut egress) = (false, false);
        for field in delta.fields() {
            match field {
                // Fixed, and never compared: the group found is the VPC's.
                DefaultSgField::VpcId => {}
                DefaultSgField::Rules => (ingress, egress) = (true, true),
                DefaultSgField::Ingress => ingress = true,
                DefaultSgField::Egress => egress = true,
            }
        }
        close(cx, o, ingress, egress).await?;
        Ok(self.outputs(o))
    }

    /// EC2 deletes no default group; the VPC's deletion takes it along.
    async fn delete(&self, _cx: Cx<'_>, _o: &FoundDefaultSg) -> Result<(), Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::operation::create_tags::CreateTagsOutput;
    use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
    use aws_sdk_ec2::operation::revoke_security_group_egress::RevokeSecurityGroupEgressOutput;
    use aws_sdk_ec2::operation::revoke_security_group_ingress::RevokeSecurityGroupIngressOutput;
    use aws_sdk_ec2::types::{IpRange, Tag, UserIdGroupPair};
    use aws_sdk_ec2::Client as Ec2;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use converge::{Action, Stack, Tags, Value};

    use super::*;

    fn self_ingress() -> IpPermission {
        IpPermission::builder()
            .ip_protocol("-1")
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-default").build())
            .build()
    }

    fn all_egress() -> IpPermission {
        IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build()
    }

    fn group(
        tags: Vec<Tag>,
        ingress: Vec<IpPermission>,
        egress: Vec<IpPermission>,
    ) -> SecurityGroup {
        SecurityGroup::builder()
            .group_id("sg-default")
            .group_name("default")
            .vpc_id("vpc-1")
            .set_tags(Some(tags))
            .set_ip_permissions(Some(ingress))
            .set_ip_permissions_egress(Some(egress))
            .build()
    }

    fn ours() -> Vec<Tag> {
        Tags::new("vpc", "blog")
            .for_resource("blog-default")
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }

    /// Answers the tag-filtered read with `tagged`.
    fn describe(tagged: Option<SecurityGroup>) -> Rule {
        mock!(Ec2::describe_security_groups).then_output(move || {
            DescribeSecurityGroupsOutput::builder()
                .set_security_groups(Some(tagged.clone().into_iter().collect()))
                .build()
        })
    }

    fn stack() -> Stack {
        let mut stack = Stack::new();
        stack.add(
            DefaultSgKind,
            "blog-default",
            Tags::new("vpc", "blog"),
            (),
            |_| DefaultSgDesired {
                vpc_id: Value::Known("vpc-1".into()),
            },
        );
        stack
    }

    fn clients(rules: &[Rule]) -> Aws {
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules, |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        Aws::builder()
            .ec2(ec2)
            .retry(converge::Retry::fast())
            .build()
    }

    #[tokio::test]
    async fn adopted_closed_then_tagged_and_later_rules_revoked() {
        // Not adopted yet: the tag-filtered read finds nothing; the look-up by VPC finds
        // EC2's group with its two rules.
        let by_tag = mock!(Ec2::describe_security_groups)
            .match_requests(|r| {
                r.filters()
                    .iter()
                    .any(|f| f.name() == Some("tag:ecs-modules:owner"))
            })
            .then_output(|| DescribeSecurityGroupsOutput::builder().build());
        let by_vpc = mock!(Ec2::describe_security_groups)
            .match_requests(|r| r.filters().iter().any(|f| f.name() == Some("vpc-id")))
            .then_output(|| {
                DescribeSecurityGroupsOutput::builder()
                    .security_groups(group(Vec::new(), vec![self_ingress()], vec![all_egress()]))
                    .build()
            });
        let ingress = mock!(Ec2::revoke_security_group_ingress)
            .match_requests(|r| {
                r.group_id() == Some("sg-default") && r.ip_permissions() == [self_ingress()]
            })
            .then_output(|| RevokeSecurityGroupIngressOutput::builder().build());
        let egress = mock!(Ec2::revoke_security_group_egress)
            .match_requests(|r| {
                r.group_id() == Some("sg-default") && r.ip_permissions() == [all_egress()]
            })
            .then_output(|| RevokeSecurityGroupEgressOutput::builder().build());
        let tag = mock!(Ec2::create_tags)
            .match_requests(|r| r.resources() == ["sg-default"] && r.tags().len() == 3)
            .then_output(|| CreateTagsOutput::builder().build());
        let aws = clients(&[by_tag, by_vpc, ingress, egress, tag]);
        let plan = stack().plan(&aws).await.unwrap().into_plan();
        assert_eq!(plan.changes[0].action, Action::Create);
        stack().apply(&aws).await.unwrap();
        assert_eq!(
            aws.calls().report().mutations(),
            [
                ("CreateTags", 1),
                ("RevokeSecurityGroupEgress", 1),
                ("RevokeSecurityGroupIngress", 1)
            ]
            .into()
        );

        // Adopted, and a rule added out of band: the plan shows it, apply revokes it alone.
        let open = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let added = open.clone();
        let drifted = describe(Some(group(ours(), vec![open.clone()], Vec::new())));
        let revoke = mock!(Ec2::revoke_security_group_ingress)
            .match_requests(move |r| r.ip_permissions() == [added.clone()])
            .then_output(|| RevokeSecurityGroupIngressOutput::builder().build());
        let aws_drifted = clients(&[drifted, revoke]);
        let plan = stack().plan(&aws_drifted).await.unwrap().into_plan();
        let change = &plan.changes[0];
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.diffs[0].field, "ingress");
        assert_eq!(change.diffs[0].before.as_deref(), Some("tcp 22 0.0.0.0/0"));
        stack().apply(&aws_drifted).await.unwrap();
        assert_eq!(
            aws_drifted.calls().report().mutations(),
            [("RevokeSecurityGroupIngress", 1)].into()
        );

        // Closed: nothing to do; destroy leaves it to the VPC.
        let closed = clients(&[describe(Some(group(ours(), Vec::new(), Vec::new())))]);
        assert!(stack().plan(&closed).await.unwrap().into_plan().is_empty());
        stack().destroy(&closed).await.unwrap();
        assert!(closed.calls().report().mutations().is_empty());
    }

    #[test]
    fn each_direction_with_rules_is_a_field_and_the_vpc_is_fixed() {
        let open = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let group = FoundDefaultSg {
            id: "sg-default".into(),
            name: "blog-default".into(),
            owner: Some("vpc/blog".into()),
            ingress: Vec::new(),
            egress: vec![open],
        };
        let d = DefaultSgDesired {
            vpc_id: Value::Known("vpc-1".into()),
        };
        let delta = DefaultSgKind.diff(&d, &group);
        assert_eq!(delta.fields(), [DefaultSgField::Egress]);
        assert_eq!(delta.diffs()[0].field, "egress");
        assert!(!delta.replaces());
        assert_eq!(
            DefaultSgField::VpcId.replaces(),
            Some("a security group cannot move to another VPC")
        );
        assert!(DefaultSgKind
            .describe(&d)
            .iter()
            .all(|d| d.replaces.is_none()));
    }
}
