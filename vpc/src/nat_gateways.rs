//! NAT gateways and their Elastic IPs: find, create, wait, delete, release.

use aws_sdk_ec2::types::{DomainType, NatGatewayState, ResourceType};
use converge::{ec2_name, Aws, AwsResultExt, Error, Tags, Transient, Wait};

use converge::ignore_not_found;

/// A NAT gateway we own that is not yet deleted.
#[derive(Clone, Debug)]
pub(crate) struct FoundNat {
    pub id: String,
    pub name: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub state: NatGatewayState,
}

impl FoundNat {
    /// Pending or available: something apply can route through (or wait for).
    pub fn is_live(&self) -> bool {
        matches!(
            self.state,
            NatGatewayState::Pending | NatGatewayState::Available
        )
    }
}

/// An Elastic IP we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundEip {
    pub allocation_id: String,
    pub name: String,
}

pub(crate) const NAT_KIND: &str = "aws_nat_gateway";
pub(crate) const EIP_KIND: &str = "aws_eip";

/// Not-yet-deleted NAT gateways carrying our ownership tag.
pub(crate) async fn find(aws: &Aws, tags: &Tags) -> Result<Vec<FoundNat>, Error> {
    let out = aws
        .ec2()
        .describe_nat_gateways()
        .filter(tags.ec2_filter())
        .send()
        .await
        .context("DescribeNatGateways", tags.owner())?;
    Ok(out
        .nat_gateways()
        .iter()
        .filter(|n| tags.ec2_owned(n.tags()))
        .filter(|n| n.state() != Some(&NatGatewayState::Deleted))
        .map(|n| FoundNat {
            id: n.nat_gateway_id().unwrap_or_default().to_owned(),
            name: ec2_name(n.tags()).unwrap_or_default().to_owned(),
            vpc_id: n.vpc_id().unwrap_or_default().to_owned(),
            subnet_id: n.subnet_id().unwrap_or_default().to_owned(),
            state: n.state().cloned().unwrap_or(NatGatewayState::Pending),
        })
        .collect())
}

/// Elastic IPs carrying our ownership tag.
pub(crate) async fn find_eips(aws: &Aws, tags: &Tags) -> Result<Vec<FoundEip>, Error> {
    let out = aws
        .ec2()
        .describe_addresses()
        .filters(tags.ec2_filter())
        .send()
        .await
        .context("DescribeAddresses", tags.owner())?;
    Ok(out
        .addresses()
        .iter()
        .filter(|a| tags.ec2_owned(a.tags()))
        .filter_map(|a| {
            Some(FoundEip {
                allocation_id: a.allocation_id()?.to_owned(),
                name: ec2_name(a.tags()).unwrap_or_default().to_owned(),
            })
        })
        .collect())
}

pub(crate) async fn allocate_eip(aws: &Aws, tags: &Tags, name: &str) -> Result<String, Error> {
    let out = aws
        .ec2()
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(tags.ec2_spec(ResourceType::ElasticIp, name))
        .send()
        .await
        .context("AllocateAddress", format_args!("{EIP_KIND} \"{name}\""))?;
    Ok(out.allocation_id().unwrap_or_default().to_owned())
}

pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    subnet_id: &str,
    allocation_id: &str,
) -> Result<String, Error> {
    let out = aws
        .retry()
        .run(name, Transient::EC2_JUST_CREATED, || {
            aws.ec2()
                .create_nat_gateway()
                .subnet_id(subnet_id)
                .allocation_id(allocation_id)
                .tag_specifications(tags.ec2_spec(ResourceType::Natgateway, name))
                .send()
        })
        .await
        .context("CreateNatGateway", format_args!("{NAT_KIND} \"{name}\""))?;
    Ok(out
        .nat_gateway()
        .and_then(|n| n.nat_gateway_id())
        .unwrap_or_default()
        .to_owned())
}

/// Waits until the NAT gateway is available; a failed one is an error with AWS's reason.
pub(crate) async fn wait_available(aws: &Aws, wait: &Wait, id: &str) -> Result<(), Error> {
    let what = format!("NAT gateway {id} to be available");
    wait.until(&what, || async {
        let out = aws
            .ec2()
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
            .context("DescribeNatGateways", id);
        let out = match out {
            // Just made, not yet visible: keep waiting.
            Err(err) if err.is_not_found() => return Ok(None),
            other => other?,
        };
        let Some(nat) = out.nat_gateways().first() else {
            return Ok(None);
        };
        match nat.state() {
            Some(NatGatewayState::Available) => Ok(Some(())),
            Some(
                NatGatewayState::Failed | NatGatewayState::Deleting | NatGatewayState::Deleted,
            ) => Err(Error::Failed {
                resource: format!("{NAT_KIND} {id}"),
                reason: format!(
                    "{}: {}",
                    nat.failure_code().unwrap_or("state is no longer pending"),
                    nat.failure_message().unwrap_or_default()
                ),
            }),
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) async fn delete(aws: &Aws, id: &str) -> Result<(), Error> {
    let result = aws
        .ec2()
        .delete_nat_gateway()
        .nat_gateway_id(id)
        .send()
        .await
        .context("DeleteNatGateway", id);
    ignore_not_found(result)
}

/// Waits until the NAT gateways are deleted: only then can their Elastic IPs be released and
/// their subnets deleted.
pub(crate) async fn wait_deleted(aws: &Aws, wait: &Wait, ids: &[String]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let what = format!("NAT gateways {} to be deleted", ids.join(", "));
    wait.until(&what, || async {
        let out = aws
            .ec2()
            .describe_nat_gateways()
            .set_nat_gateway_ids(Some(ids.to_vec()))
            .send()
            .await;
        let out = match out.context("DescribeNatGateways", ids.join(", ")) {
            Err(err) if err.is_not_found() => return Ok(Some(())),
            other => other?,
        };
        let gone = out.nat_gateways().iter().all(|n| {
            matches!(
                n.state(),
                Some(NatGatewayState::Deleted) | Some(NatGatewayState::Failed)
            )
        });
        Ok(gone.then_some(()))
    })
    .await
}

pub(crate) async fn release_eip(aws: &Aws, allocation_id: &str) -> Result<(), Error> {
    const IN_USE: Transient = Transient::codes(&["InvalidIPAddress.InUse", "AuthFailure"]);
    let result = aws
        .retry()
        .run(allocation_id, IN_USE, || {
            aws.ec2()
                .release_address()
                .allocation_id(allocation_id)
                .send()
        })
        .await
        .context("ReleaseAddress", allocation_id);
    ignore_not_found(result)
}
