//! `aws_internet_gateway`: the internet gateway and its attachment to the VPC, one resource
//! as in Terraform (`vpc_id` is an attribute of the gateway).

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Transient, Wanted,
};

/// The internet gateway kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IgwKind;

/// What the inputs ask for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IgwDesired<P: Phase = AtPlan> {
    pub vpc_id: P::Value<String>,
}

impl Resolve for IgwDesired {
    type Output = IgwDesired<AtApply>;

    fn resolve(&self) -> Result<IgwDesired<AtApply>, Unknown> {
        Ok(IgwDesired {
            vpc_id: self.vpc_id.resolve("vpc_id")?,
        })
    }
}

/// An internet gateway we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundIgw {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub attached_to: Vec<String>,
}

/// What the public route table uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IgwOut {
    pub id: String,
}

pub(crate) const KIND: &str = "aws_internet_gateway";

/// An internet gateway's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgwField {
    /// The VPC it is attached to: moved in place, unless it holds a VPC being replaced.
    VpcId,
}

/// Why a gateway attached to a VPC that is made anew is replaced rather than moved.
const ATTACHED_TO_OLD_VPC: &str =
    "EC2 cannot delete a VPC while an internet gateway is attached to it";

impl Field for IgwField {
    fn name(&self) -> &str {
        match self {
            IgwField::VpcId => "vpc_id",
        }
    }
}

#[async_trait]
impl Resource for IgwKind {
    const KIND: &'static str = KIND;
    const PRUNE: bool = true;
    // Detaching waits out the public addresses (NAT gateways, load balancers) still mapped
    // in the VPC; the delete is repeated whole (a detached gateway detaches as done).
    const IN_USE: Transient = Transient::DEPENDENCY;
    type Field = IgwField;
    type Key = ();
    type Desired = IgwDesired;
    type Observed = FoundIgw;
    type Outputs = IgwOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        vec![
            Grant::new([
                "ec2:DescribeInternetGateways",
                "ec2:CreateInternetGateway",
                "ec2:AttachInternetGateway",
                "ec2:DetachInternetGateway",
            ]),
            ec2_tags_on_create("CreateInternetGateway"),
            Grant::new(["ec2:DeleteInternetGateway"]).owned(),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundIgw>, Error> {
        let found = converge::ec2::read_owned(
            wanted,
            "DescribeInternetGateways",
            KIND,
            |owned| {
                aws.ec2()
                    .describe_internet_gateways()
                    .filters(owned)
                    .into_paginator()
                    .send()
            },
            |page| page.internet_gateways.unwrap_or_default(),
        )
        .await?;
        Ok(found
            .into_iter()
            .map(|f| {
                let g = f.item;
                FoundIgw {
                    id: g.internet_gateway_id().unwrap_or_default().to_owned(),
                    name: f.name,
                    owner: f.owner,
                    attached_to: g
                        .attachments()
                        .iter()
                        .filter_map(|a| a.vpc_id().map(str::to_owned))
                        .collect(),
                }
            })
            .collect())
    }

    fn name<'o>(&self, o: &'o FoundIgw) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundIgw) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundIgw) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &IgwDesired) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta.update(IgwField::VpcId, None::<String>, Some(&d.vpc_id));
        delta.described()
    }

    fn diff(&self, d: &IgwDesired, o: &FoundIgw) -> Delta<IgwField> {
        let mut delta = Delta::new();
        let attached = o.attached_to.first();
        match d.vpc_id.known() {
            Some(want) if o.attached_to == [want.clone()] => {}
            // Attached to a VPC that is being made anew: the old VPC cannot go while the
            // gateway holds it, so the gateway goes first and is made again.
            None if attached.is_some() => {
                delta.replace_because(
                    IgwField::VpcId,
                    ATTACHED_TO_OLD_VPC,
                    attached,
                    Some(&d.vpc_id),
                );
            }
            // Detached, or attached elsewhere: moved in place.
            _ => {
                delta.update(IgwField::VpcId, attached, Some(&d.vpc_id));
            }
        }
        delta
    }

    fn outputs(&self, o: &FoundIgw) -> IgwOut {
        IgwOut { id: o.id.clone() }
    }
    fn output_id(&self, out: &IgwOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &IgwDesired<AtApply>) -> Result<IgwOut, Error> {
        let out = cx
            .aws
            .ec2()
            .create_internet_gateway()
            .tag_specifications(cx.tags.ec2_spec(ResourceType::InternetGateway, cx.name))
            .send()
            .await
            .context("CreateInternetGateway", cx.address(KIND, None))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_owned();
        attach(cx.aws, &id, &d.vpc_id).await?;
        Ok(IgwOut { id })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &IgwDesired<AtApply>,
        o: &FoundIgw,
        delta: &Delta<IgwField>,
    ) -> Result<IgwOut, Error> {
        let mut move_it = false;
        for field in delta.fields() {
            match field {
                IgwField::VpcId => move_it = true,
            }
        }
        if !move_it {
            return Ok(self.outputs(o));
        }
        let vpc_id = &d.vpc_id;
        // A gateway takes one VPC: let go of any other first.
        let others: Vec<String> = o
            .attached_to
            .iter()
            .filter(|v| *v != vpc_id)
            .cloned()
            .collect();
        // Public addresses still mapped in the VPC it leaves hold it a while.
        cx.aws
            .retry()
            .run_while(
                &o.id,
                |e| Transient::DEPENDENCY.matches_error(e),
                || detach(cx.aws, &o.id, &others),
            )
            .await?;
        if !o.attached_to.contains(vpc_id) {
            attach(cx.aws, &o.id, vpc_id).await?;
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundIgw) -> Result<(), Error> {
        detach(cx.aws, &o.id, &o.attached_to).await?;
        let result = cx
            .aws
            .ec2()
            .delete_internet_gateway()
            .internet_gateway_id(&o.id)
            .send()
            .await
            .context(
                "DeleteInternetGateway",
                cx.address(KIND, Some(o.id.clone())),
            );
        ignore_not_found(result)
    }
}

/// Attaches the gateway. Its own retry, not the engine's: in a create it follows
/// CreateInternetGateway (no client token), which a retry of the whole create would repeat,
/// making a second gateway.
async fn attach(aws: &Aws, id: &str, vpc_id: &str) -> Result<(), Error> {
    aws.retry()
        .run(id, Transient::EC2_JUST_CREATED, || {
            aws.ec2()
                .attach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc_id)
                .send()
        })
        .await
        .context("AttachInternetGateway", id)?;
    Ok(())
}

/// Detaches the gateway from `vpcs`; one already detached is done, so a retry may repeat
/// it. EC2 refuses (a dependency) while public addresses (NAT gateways, load balancers) are
/// still mapped in a VPC: the caller retries.
async fn detach(aws: &Aws, id: &str, vpcs: &[String]) -> Result<(), Error> {
    for vpc_id in vpcs {
        let result = aws
            .ec2()
            .detach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc_id)
            .send()
            .await
            .context("DetachInternetGateway", id);
        if result.as_ref().err().and_then(Error::code) != Some("Gateway.NotAttached") {
            ignore_not_found(result)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use converge::Value;

    use super::*;

    fn found(attached_to: &[&str]) -> FoundIgw {
        FoundIgw {
            id: "igw-1".into(),
            name: "blog-internet-gateway".into(),
            owner: Some("vpc/blog".into()),
            attached_to: attached_to.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn wants(vpc: Value<String>) -> IgwDesired {
        IgwDesired { vpc_id: vpc }
    }

    #[test]
    fn attached_to_its_vpc_is_no_change() {
        let d = wants(Value::Known("vpc-1".into()));
        assert!(IgwKind.diff(&d, &found(&["vpc-1"])).is_empty());
    }

    #[test]
    fn detached_or_elsewhere_is_reattached_in_place() {
        let d = wants(Value::Known("vpc-1".into()));
        for attached in [&[][..], &["vpc-2"][..]] {
            let delta = IgwKind.diff(&d, &found(attached));
            assert!(!delta.is_empty() && !delta.replaces(), "{attached:?}");
        }
    }

    #[test]
    fn attached_to_a_vpc_made_anew_is_replaced() {
        let d = wants(Value::AfterApply);
        let delta = IgwKind.diff(&d, &found(&["vpc-old"]));
        assert!(delta.replaces());
        assert_eq!(delta.changes[0].field, IgwField::VpcId);
        assert_eq!(delta.changes[0].replaces, Some(ATTACHED_TO_OLD_VPC));
        assert!(!IgwKind.diff(&d, &found(&[])).replaces());
    }
}
