//! The internet gateway: find, create, attach, detach, delete.

use aws_sdk_ec2::types::ResourceType;
use converge::{ec2_name, Aws, AwsResultExt, Error, Tags, Transient};

use converge::ignore_not_found;

/// An internet gateway we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundIgw {
    pub id: String,
    pub name: String,
    pub attached_to: Vec<String>,
}

pub(crate) const KIND: &str = "aws_internet_gateway";

pub(crate) async fn find(aws: &Aws, tags: &Tags) -> Result<Vec<FoundIgw>, Error> {
    let out = aws
        .ec2()
        .describe_internet_gateways()
        .filters(tags.ec2_filter())
        .send()
        .await
        .context("DescribeInternetGateways", tags.owner())?;
    Ok(out
        .internet_gateways()
        .iter()
        .filter(|igw| tags.ec2_owned(igw.tags()))
        .map(|igw| FoundIgw {
            id: igw.internet_gateway_id().unwrap_or_default().to_owned(),
            name: ec2_name(igw.tags()).unwrap_or_default().to_owned(),
            attached_to: igw
                .attachments()
                .iter()
                .filter_map(|a| a.vpc_id().map(str::to_owned))
                .collect(),
        })
        .collect())
}

pub(crate) async fn create(aws: &Aws, tags: &Tags, name: &str) -> Result<String, Error> {
    let out = aws
        .ec2()
        .create_internet_gateway()
        .tag_specifications(tags.ec2_spec(ResourceType::InternetGateway, name))
        .send()
        .await
        .context("CreateInternetGateway", format_args!("{KIND} \"{name}\""))?;
    Ok(out
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .unwrap_or_default()
        .to_owned())
}

pub(crate) async fn attach(aws: &Aws, id: &str, vpc_id: &str) -> Result<(), Error> {
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

/// Detaches from every VPC it is attached to. Detaching waits out the public addresses (NAT,
/// load balancers) still mapped in the VPC, which EC2 reports as a dependency.
pub(crate) async fn detach(aws: &Aws, igw: &FoundIgw) -> Result<(), Error> {
    for vpc_id in &igw.attached_to {
        let result = aws
            .retry()
            .run(&igw.id, Transient::DEPENDENCY, || {
                aws.ec2()
                    .detach_internet_gateway()
                    .internet_gateway_id(&igw.id)
                    .vpc_id(vpc_id)
                    .send()
            })
            .await
            .context("DetachInternetGateway", &igw.id);
        if result.as_ref().err().and_then(Error::code) != Some("Gateway.NotAttached") {
            ignore_not_found(result)?;
        }
    }
    Ok(())
}

/// Detaches, then deletes.
pub(crate) async fn delete(aws: &Aws, igw: &FoundIgw) -> Result<(), Error> {
    detach(aws, igw).await?;
    let result = aws
        .ec2()
        .delete_internet_gateway()
        .internet_gateway_id(&igw.id)
        .send()
        .await
        .context("DeleteInternetGateway", &igw.id);
    ignore_not_found(result)
}
