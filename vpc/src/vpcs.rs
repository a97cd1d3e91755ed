//! `aws_vpc`: the VPC, with DNS support and hostnames on, as the module leaves them.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, VpcAttributeName};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Transient, Value,
    Wanted, NAME_TAG,
};

/// The VPC kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct VpcKind;

/// What the inputs ask for.
#[derive(Clone, Debug)]
pub(crate) struct VpcDesired {
    pub cidr: String,
}

/// Every input is its own: the CIDR block.
impl converge::phase::KnownAtPlan for VpcDesired {}

/// A VPC as AWS has it; a look-alike (same name, not ours) has no owner and its DNS
/// attributes are not read.
#[derive(Clone, Debug)]
pub(crate) struct FoundVpc {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub cidr: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
}

/// What other resources use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VpcOut {
    pub id: String,
}

pub(crate) const KIND: &str = "aws_vpc";

/// A VPC's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VpcField {
    /// Its IPv4 CIDR block; fixed.
    CidrBlock,
    /// Whether the Amazon DNS server answers in it.
    EnableDnsSupport,
    /// Whether its instances get public DNS hostnames.
    EnableDnsHostnames,
}

impl Field for VpcField {
    fn name(&self) -> &str {
        match self {
            VpcField::CidrBlock => "cidr_block",
            VpcField::EnableDnsSupport => "enable_dns_support",
            VpcField::EnableDnsHostnames => "enable_dns_hostnames",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            // Like Terraform, the VPC is replaced with all it holds.
            VpcField::CidrBlock => Some("AWS cannot change a VPC's primary CIDR block"),
            VpcField::EnableDnsSupport | VpcField::EnableDnsHostnames => None,
        }
    }
}

#[async_trait]
impl Resource for VpcKind {
    const KIND: &'static str = KIND;
    // Network interfaces of what was in it (NAT, load balancers) can linger a while.
    const IN_USE: Transient = Transient::DEPENDENCY;
    type Field = VpcField;
    type Key = ();
    type Desired = VpcDesired;
    type Observed = FoundVpc;
    type Outputs = VpcOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        vec![
            Grant::new([
                "ec2:DescribeVpcs",
                "ec2:DescribeVpcAttribute",
                "ec2:CreateVpc",
                "ec2:ModifyVpcAttribute",
            ]),
            ec2_tags_on_create("CreateVpc"),
            Grant::new(["ec2:DeleteVpc"]).owned(),
        ]
    }

    /// One call finds every VPC named as a declared one, ours or not (a look-alike must be
    /// seen to be refused); the DNS attributes are read only for those a declaration claims
    /// (`Found::claimed`: the stack's rule, not the kind's).
    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundVpc>, Error> {
        let mut names: Vec<String> = wanted.iter().map(|w| w.name.to_owned()).collect();
        names.sort();
        names.dedup();
        // By name, not `tag-value` (name or owner): the emulator treats a `tag-value` list as
        // "all of", which hides look-alikes.
        let named = Filter::builder()
            .name(format!("tag:{NAME_TAG}"))
            .set_values(Some(names))
            .build();
        let vpcs = converge::ec2::read_tagged(
            wanted,
            "DescribeVpcs",
            KIND,
            aws.ec2()
                .describe_vpcs()
                .filters(named)
                .into_paginator()
                .send(),
            |page| page.vpcs.unwrap_or_default(),
        )
        .await?;
        let found = vpcs.into_iter().filter_map(|vpc| {
            let id = vpc.item.vpc_id()?.to_owned();
            Some(async move {
                let (dns_support, dns_hostnames) = if vpc.claimed {
                    tokio::try_join!(
                        attribute(aws, &id, VpcAttributeName::EnableDnsSupport),
                        attribute(aws, &id, VpcAttributeName::EnableDnsHostnames),
                    )?
                } else {
                    (false, false)
                };
                Ok::<_, Error>(FoundVpc {
                    name: vpc.name,
                    owner: vpc.owner,
                    cidr: vpc.item.cidr_block().unwrap_or_default().to_owned(),
                    dns_support,
                    dns_hostnames,
                    id,
                })
            })
        });
        futures::future::try_join_all(found).await
    }

    fn name<'o>(&self, o: &'o FoundVpc) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundVpc) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundVpc) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &VpcDesired) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(VpcField::CidrBlock, None::<String>, Some(&d.cidr))
            .update(VpcField::EnableDnsSupport, None::<bool>, Some(true))
            .update(VpcField::EnableDnsHostnames, None::<bool>, Some(true));
        delta.described()
    }

    fn diff(&self, d: &VpcDesired, o: &FoundVpc) -> Delta<VpcField> {
        let mut delta = Delta::new();
        delta
            .compare(VpcField::CidrBlock, &o.cidr, &Value::Known(d.cidr.clone()))
            .compare(
                VpcField::EnableDnsSupport,
                &o.dns_support,
                &Value::Known(true),
            )
            .compare(
                VpcField::EnableDnsHostnames,
                &o.dns_hostnames,
                &Value::Known(true),
            );
        delta
    }

    fn outputs(&self, o: &FoundVpc) -> VpcOut {
        VpcOut { id: o.id.clone() }
    }
    fn output_id(&self, out: &VpcOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &VpcDesired) -> Result<VpcOut, Error> {
        let out = cx
            .aws
            .ec2()
            .create_vpc()
            .cidr_block(&d.cidr)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::Vpc, cx.name))
            .send()
            .await
            .context("CreateVpc", cx.address(KIND, None))?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_owned();
        // A new VPC has DNS support but not hostnames; the module wants both.
        enable_dns(cx.aws, &id, true, false).await?;
        Ok(VpcOut { id })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        _: &VpcDesired,
        o: &FoundVpc,
        delta: &Delta<VpcField>,
    ) -> Result<VpcOut, Error> {
        // What is on already: the diff reports an attribute that is off.
        let (mut support, mut hostnames) = (true, true);
        for field in delta.fields() {
            match field {
                // Replaced, never updated.
                VpcField::CidrBlock => {}
                VpcField::EnableDnsSupport => support = false,
                VpcField::EnableDnsHostnames => hostnames = false,
            }
        }
        enable_dns(cx.aws, &o.id, support, hostnames).await?;
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundVpc) -> Result<(), Error> {
        let result = cx
            .aws
            .ec2()
            .delete_vpc()
            .vpc_id(&o.id)
            .send()
            .await
            .context("DeleteVpc", cx.address(KIND, Some(o.id.clone())));
        ignore_not_found(result)
    }
}

async fn attribute(aws: &Aws, id: &str, name: VpcAttributeName) -> Result<bool, Error> {
    let out = aws
        .ec2()
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(name.clone())
        .send()
        .await
        .context("DescribeVpcAttribute", id)?;
    let value = match name {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        _ => out.enable_dns_hostnames(),
    };
    Ok(value.and_then(|v| v.value()).unwrap_or(false))
}

/// Turns on DNS support and hostnames where they are off. Its own retry, not the engine's:
/// in a create it follows CreateVpc (no client token), which a retry of the whole create
/// would repeat, making a second VPC.
async fn enable_dns(aws: &Aws, id: &str, support: bool, hostnames: bool) -> Result<(), Error> {
    let on = || AttributeBooleanValue::builder().value(true).build();
    // One attribute per call (EC2's rule); a VPC just made may not be visible yet.
    for (needed, is_hostnames) in [(!support, false), (!hostnames, true)] {
        if !needed {
            continue;
        }
        aws.retry()
            .run(id, Transient::EC2_JUST_CREATED, || {
                let call = aws.ec2().modify_vpc_attribute().vpc_id(id);
                if is_hostnames {
                    call.enable_dns_hostnames(on())
                } else {
                    call.enable_dns_support(on())
                }
                .send()
            })
            .await
            .context("ModifyVpcAttribute", id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(cidr: &str, hostnames: bool) -> FoundVpc {
        FoundVpc {
            id: "vpc-1".into(),
            name: "blog-vpc".into(),
            owner: Some("vpc/blog".into()),
            cidr: cidr.into(),
            dns_support: true,
            dns_hostnames: hostnames,
        }
    }

    #[test]
    fn dns_is_turned_on_in_place_and_a_new_cidr_replaces() {
        let d = VpcDesired {
            cidr: "10.0.0.0/16".into(),
        };
        assert!(VpcKind.diff(&d, &found("10.0.0.0/16", true)).is_empty());
        let dns = VpcKind.diff(&d, &found("10.0.0.0/16", false));
        assert_eq!(dns.fields(), [VpcField::EnableDnsHostnames]);
        assert_eq!(dns.diffs()[0].field, "enable_dns_hostnames");
        assert!(!dns.replaces());
        let moved = VpcKind.diff(&d, &found("10.1.0.0/16", true));
        assert!(moved.replaces());
        assert_eq!(moved.changes[0].field, VpcField::CidrBlock);
        assert_eq!(
            moved.changes[0].replaces,
            Some("AWS cannot change a VPC's primary CIDR block")
        );
    }

    #[test]
    fn a_new_vpc_replaces_nothing_in_the_plan() {
        let d = VpcDesired {
            cidr: "10.0.0.0/16".into(),
        };
        let diffs = VpcKind.describe(&d);
        assert_eq!(diffs[0].field, "cidr_block");
        assert!(diffs.iter().all(|d| d.replaces.is_none()), "{diffs:?}");
    }
}
