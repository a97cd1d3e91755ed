//! The VPC itself: find, create, update DNS attributes, delete.

use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, VpcAttributeName};
use converge::{ec2_name, ignore_not_found, Aws, AwsResultExt, Error, Tags, Transient};

/// A VPC we own, as AWS has it.
#[derive(Clone, Debug)]
pub(crate) struct FoundVpc {
    pub id: String,
    pub name: String,
    pub cidr: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
}

pub(crate) const KIND: &str = "aws_vpc";

/// Every VPC carrying our ownership tag, with its DNS attributes, and the ids of VPCs named
/// `name` without it (look-alikes, which we must neither adopt nor delete).
pub(crate) async fn find(
    aws: &Aws,
    tags: &Tags,
    name: &str,
) -> Result<(Vec<FoundVpc>, Vec<String>), Error> {
    // One call for both: any tag with our name or our ownership value.
    let out = aws
        .ec2()
        .describe_vpcs()
        .filters(
            Filter::builder()
                .name("tag-value")
                .values(name)
                .values(tags.owner())
                .build(),
        )
        .send()
        .await
        .context("DescribeVpcs", tags.owner())?;
    let mut found = Vec::new();
    let mut look_alikes = Vec::new();
    for vpc in out.vpcs() {
        let Some(id) = vpc.vpc_id() else {
            continue;
        };
        if !tags.ec2_owned(vpc.tags()) {
            if ec2_name(vpc.tags()) == Some(name) {
                look_alikes.push(id.to_owned());
            }
            continue;
        }
        let (dns_support, dns_hostnames) = tokio::try_join!(
            attribute(aws, id, VpcAttributeName::EnableDnsSupport),
            attribute(aws, id, VpcAttributeName::EnableDnsHostnames),
        )?;
        found.push(FoundVpc {
            id: id.to_owned(),
            name: ec2_name(vpc.tags()).unwrap_or_default().to_owned(),
            cidr: vpc.cidr_block().unwrap_or_default().to_owned(),
            dns_support,
            dns_hostnames,
        });
    }
    Ok((found, look_alikes))
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

/// Creates the VPC, tagged in the same call, and returns its id.
pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    cidr: &str,
) -> Result<String, Error> {
    let out = aws
        .ec2()
        .create_vpc()
        .cidr_block(cidr)
        .tag_specifications(tags.ec2_spec(ResourceType::Vpc, name))
        .send()
        .await
        .context("CreateVpc", format_args!("{KIND} \"{name}\""))?;
    Ok(out
        .vpc()
        .and_then(|v| v.vpc_id())
        .unwrap_or_default()
        .to_owned())
}

/// Turns on DNS support and hostnames where they are off, as the module does.
pub(crate) async fn enable_dns(
    aws: &Aws,
    id: &str,
    support: bool,
    hostnames: bool,
) -> Result<(), Error> {
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

/// Deletes the VPC; gone already counts as done.
pub(crate) async fn delete(aws: &Aws, id: &str) -> Result<(), Error> {
    let result = aws
        .retry()
        .run(id, Transient::DEPENDENCY, || {
            aws.ec2().delete_vpc().vpc_id(id).send()
        })
        .await
        .context("DeleteVpc", id);
    ignore_not_found(result)
}
