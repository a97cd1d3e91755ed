//! `aws_subnet`: a public or private subnet of one zone.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Transient, Value,
    Wanted,
};

/// The subnet kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SubnetKind;

/// What the inputs ask for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SubnetDesired<P: Phase = AtPlan> {
    pub vpc_id: P::Value<String>,
    pub cidr: String,
    pub az: String,
    pub map_public_ip: bool,
}

impl Resolve for SubnetDesired {
    type Output = SubnetDesired<AtApply>;

    fn resolve(&self) -> Result<SubnetDesired<AtApply>, Unknown> {
        Ok(SubnetDesired {
            vpc_id: self.vpc_id.resolve("vpc_id")?,
            cidr: self.cidr.clone(),
            az: self.az.clone(),
            map_public_ip: self.map_public_ip,
        })
    }
}

/// A subnet we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundSubnet {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub vpc_id: String,
    pub az: String,
    pub cidr: String,
    pub map_public_ip: bool,
}

/// What other resources use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SubnetOut {
    pub id: String,
}

pub(crate) const KIND: &str = "aws_subnet";

/// A subnet's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubnetField {
    /// The VPC it is in; fixed.
    VpcId,
    /// Its IPv4 CIDR block; fixed.
    CidrBlock,
    /// Its availability zone; fixed.
    AvailabilityZone,
    /// Whether instances launched in it get a public IPv4 address.
    MapPublicIpOnLaunch,
}

impl Field for SubnetField {
    fn name(&self) -> &str {
        match self {
            SubnetField::VpcId => "vpc_id",
            SubnetField::CidrBlock => "cidr_block",
            SubnetField::AvailabilityZone => "availability_zone",
            SubnetField::MapPublicIpOnLaunch => "map_public_ip_on_launch",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            SubnetField::VpcId => Some("a subnet cannot move to another VPC"),
            SubnetField::CidrBlock => Some("AWS cannot change a subnet's CIDR block"),
            SubnetField::AvailabilityZone => {
                Some("a subnet cannot move to another availability zone")
            }
            SubnetField::MapPublicIpOnLaunch => None,
        }
    }
}

#[async_trait]
impl Resource for SubnetKind {
    const KIND: &'static str = KIND;
    // Subnets of a zone no longer listed go.
    const PRUNE: bool = true;
    // The VPC just made and not yet visible to CreateSubnet. Not the subnet's own id: that
    // is what the attribute call after it meets, and a retry of the whole create would make a
    // second subnet.
    const TRANSIENT: Transient = Transient::codes(&["InvalidVpcID.NotFound"]);
    // Network interfaces still going away (a NAT gateway's, a task's) hold it a while.
    const IN_USE: Transient = Transient::DEPENDENCY;
    type Field = SubnetField;
    type Key = ();
    type Desired = SubnetDesired;
    type Observed = FoundSubnet;
    type Outputs = SubnetOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        vec![
            Grant::new([
                "ec2:DescribeSubnets",
                "ec2:CreateSubnet",
                "ec2:ModifySubnetAttribute",
            ]),
            ec2_tags_on_create("CreateSubnet"),
            Grant::new(["ec2:DeleteSubnet"]).owned(),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundSubnet>, Error> {
        let found = converge::ec2::read_owned(
            wanted,
            "DescribeSubnets",
            KIND,
            |owned| {
                aws.ec2()
                    .describe_subnets()
                    .filters(owned)
                    .into_paginator()
                    .send()
            },
            |page| page.subnets.unwrap_or_default(),
        )
        .await?;
        Ok(found
            .into_iter()
            .map(|f| {
                let s = f.item;
                FoundSubnet {
                    id: s.subnet_id().unwrap_or_default().to_owned(),
                    name: f.name,
                    owner: f.owner,
                    vpc_id: s.vpc_id().unwrap_or_default().to_owned(),
                    az: s.availability_zone().unwrap_or_default().to_owned(),
                    cidr: s.cidr_block().unwrap_or_default().to_owned(),
                    map_public_ip: s.map_public_ip_on_launch().unwrap_or(false),
                }
            })
            .collect())
    }

    fn name<'o>(&self, o: &'o FoundSubnet) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundSubnet) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundSubnet) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &SubnetDesired) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(SubnetField::VpcId, None::<String>, Some(&d.vpc_id))
            .update(SubnetField::CidrBlock, None::<String>, Some(&d.cidr))
            .update(SubnetField::AvailabilityZone, None::<String>, Some(&d.az));
        if d.map_public_ip {
            delta.update(SubnetField::MapPublicIpOnLaunch, None::<bool>, Some(true));
        }
        delta.described()
    }

    fn diff(&self, d: &SubnetDesired, o: &FoundSubnet) -> Delta<SubnetField> {
        let mut delta = Delta::new();
        delta
            .compare(SubnetField::VpcId, &o.vpc_id, &d.vpc_id)
            .compare(
                SubnetField::CidrBlock,
                &o.cidr,
                &Value::Known(d.cidr.clone()),
            )
            .compare(
                SubnetField::AvailabilityZone,
                &o.az,
                &Value::Known(d.az.clone()),
            )
            .compare(
                SubnetField::MapPublicIpOnLaunch,
                &o.map_public_ip,
                &Value::Known(d.map_public_ip),
            );
        delta
    }

    fn outputs(&self, o: &FoundSubnet) -> SubnetOut {
        SubnetOut { id: o.id.clone() }
    }
    fn output_id(&self, out: &SubnetOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &SubnetDesired<AtApply>) -> Result<SubnetOut, Error> {
        let out = cx
            .aws
            .ec2()
            .create_subnet()
            .vpc_id(&d.vpc_id)
            .cidr_block(&d.cidr)
            .availability_zone(&d.az)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::Subnet, cx.name))
            .send()
            .await
            .context("CreateSubnet", cx.address(KIND, None))?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .unwrap_or_default()
            .to_owned();
        if d.map_public_ip {
            set_map_public_ip(cx.aws, &id, true).await?;
        }
        Ok(SubnetOut { id })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &SubnetDesired<AtApply>,
        o: &FoundSubnet,
        delta: &Delta<SubnetField>,
    ) -> Result<SubnetOut, Error> {
        for field in delta.fields() {
            match field {
                // Replaced, never updated.
                SubnetField::VpcId | SubnetField::CidrBlock | SubnetField::AvailabilityZone => {}
                SubnetField::MapPublicIpOnLaunch => {
                    set_map_public_ip(cx.aws, &o.id, d.map_public_ip).await?;
                }
            }
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundSubnet) -> Result<(), Error> {
        let result = cx
            .aws
            .ec2()
            .delete_subnet()
            .subnet_id(&o.id)
            .send()
            .await
            .context("DeleteSubnet", cx.address(KIND, Some(o.id.clone())));
        ignore_not_found(result)
    }
}

/// Sets whether instances get a public address. Its own retry, not the engine's: in a
/// create it follows CreateSubnet (no client token), which a retry of the whole create would
/// repeat, making a second subnet.
async fn set_map_public_ip(aws: &Aws, id: &str, map: bool) -> Result<(), Error> {
    aws.retry()
        .run(id, Transient::EC2_JUST_CREATED, || {
            aws.ec2()
                .modify_subnet_attribute()
                .subnet_id(id)
                .map_public_ip_on_launch(AttributeBooleanValue::builder().value(map).build())
                .send()
        })
        .await
        .context("ModifySubnetAttribute", id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> FoundSubnet {
        FoundSubnet {
            id: "subnet-1".into(),
            name: "blog-us-east-1a-public".into(),
            owner: Some("vpc/blog".into()),
            vpc_id: "vpc-1".into(),
            az: "us-east-1a".into(),
            cidr: "10.0.0.0/24".into(),
            map_public_ip: false,
        }
    }

    fn wants() -> SubnetDesired {
        SubnetDesired {
            vpc_id: Value::Known("vpc-1".into()),
            cidr: "10.0.0.0/24".into(),
            az: "us-east-1a".into(),
            map_public_ip: false,
        }
    }

    #[test]
    fn public_ips_change_in_place_addressing_by_replacement() {
        assert!(SubnetKind.diff(&wants(), &found()).is_empty());
        let ips = SubnetDesired {
            map_public_ip: true,
            ..wants()
        };
        let delta = SubnetKind.diff(&ips, &found());
        assert_eq!(delta.fields(), [SubnetField::MapPublicIpOnLaunch]);
        assert!(!delta.replaces());
        for changed in [
            SubnetDesired {
                cidr: "10.0.9.0/24".into(),
                ..wants()
            },
            SubnetDesired {
                vpc_id: Value::AfterApply,
                ..wants()
            },
        ] {
            assert!(
                SubnetKind.diff(&changed, &found()).replaces(),
                "{changed:?}"
            );
        }
        let moved = SubnetDesired {
            az: "us-east-1b".into(),
            ..wants()
        };
        let delta = SubnetKind.diff(&moved, &found());
        assert_eq!(delta.diffs()[0].field, "availability_zone");
        assert_eq!(
            delta.changes[0].replaces,
            Some("a subnet cannot move to another availability zone")
        );
    }

    /// A stack's subnets past AWS's first page are read too (the read was one call once).
    #[tokio::test]
    async fn the_read_takes_every_page() {
        use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
        use aws_sdk_ec2::types::{Subnet, Tag};
        use aws_smithy_mocks::{mock, mock_client, RuleMode};

        let subnet = |id: &str, name: &str| {
            Subnet::builder()
                .subnet_id(id)
                .vpc_id("vpc-1")
                .tags(Tag::builder().key("Name").value(name).build())
                .tags(
                    Tag::builder()
                        .key(converge::OWNER_TAG)
                        .value("vpc/blog")
                        .build(),
                )
                .build()
        };
        let owner_filtered =
            |r: &aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsInput| {
                r.filters().iter().any(|f| {
                    f.name() == Some("tag:ecs-modules:owner") && f.values() == ["vpc/blog"]
                })
            };
        let first = mock!(aws_sdk_ec2::Client::describe_subnets)
            .match_requests(move |r| owner_filtered(r) && r.next_token().is_none())
            .then_output(move || {
                DescribeSubnetsOutput::builder()
                    .subnets(subnet("subnet-1", "blog-us-east-1a-public"))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_ec2::Client::describe_subnets)
            .match_requests(move |r| owner_filtered(r) && r.next_token() == Some("page-2"))
            .then_output(move || {
                DescribeSubnetsOutput::builder()
                    .subnets(subnet("subnet-2", "blog-us-east-1b-public"))
                    .build()
            });
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&first, &second], |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        let aws = Aws::builder().ec2(ec2).build();
        let tags = converge::Tags::new("vpc", "blog");
        let wanted: Vec<Wanted<'_, ()>> = ["blog-us-east-1a-public", "blog-us-east-1b-public"]
            .into_iter()
            .map(|name| Wanted {
                name,
                tags: &tags,
                key: &(),
                teardown: false,
            })
            .collect();
        let found = SubnetKind.read(&aws, &wanted).await.unwrap();
        let seen: Vec<(&str, &str, Option<&str>)> = found
            .iter()
            .map(|s| (s.id.as_str(), s.name.as_str(), s.owner.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                ("subnet-1", "blog-us-east-1a-public", Some("vpc/blog")),
                ("subnet-2", "blog-us-east-1b-public", Some("vpc/blog")),
            ]
        );
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }
}
