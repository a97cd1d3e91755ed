//! The instances' security group: all TCP from the VPC's CIDR block, AWS's default egress.

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType};
use converge::{Aws, AwsResultExt, Error, Tags, Transient};

/// The plan's name for it.
pub(crate) const KIND: &str = "aws_security_group";

/// The group as EC2 has it.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub id: String,
    /// Whether all TCP from the VPC CIDR is allowed in.
    pub has_ingress: bool,
}

fn ingress(cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(0)
        .to_port(65535)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

/// Our group called `name`, found by ownership tag and name.
pub(crate) async fn find(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    cidr: &str,
) -> Result<Option<Found>, Error> {
    let out = aws
        .ec2()
        .describe_security_groups()
        .filters(tags.ec2_filter())
        .filters(Filter::builder().name("tag:Name").values(name).build())
        .send()
        .await
        .context("DescribeSecurityGroups", format_args!("{KIND} \"{name}\""))?;
    Ok(out
        .security_groups()
        .iter()
        .find(|g| tags.ec2_owned(g.tags()))
        .map(|g| Found {
            id: g.group_id().unwrap_or_default().to_owned(),
            has_ingress: g.ip_permissions().iter().any(|p| {
                p.ip_protocol() == Some("tcp")
                    && p.from_port() == Some(0)
                    && p.to_port() == Some(65535)
                    && p.ip_ranges().iter().any(|r| r.cidr_ip() == Some(cidr))
            }),
        }))
}

/// Makes the group, tagged in the create call, and opens it to the VPC.
pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    vpc_id: &str,
    cidr: &str,
) -> Result<String, Error> {
    let out = aws
        .ec2()
        .create_security_group()
        .group_name(name)
        .description("ECS instances: all TCP from the VPC")
        .vpc_id(vpc_id)
        .tag_specifications(tags.ec2_spec(ResourceType::SecurityGroup, name))
        .send()
        .await
        .context("CreateSecurityGroup", format_args!("{KIND} \"{name}\""))?;
    let id = out.group_id().unwrap_or_default().to_owned();
    authorize(aws, &id, cidr).await?;
    Ok(id)
}

/// Allows all TCP from `cidr`.
pub(crate) async fn authorize(aws: &Aws, id: &str, cidr: &str) -> Result<(), Error> {
    aws.retry()
        .run(id, Transient::EC2_JUST_CREATED, || {
            aws.ec2()
                .authorize_security_group_ingress()
                .group_id(id)
                .ip_permissions(ingress(cidr))
                .send()
        })
        .await
        .context("AuthorizeSecurityGroupIngress", format_args!("{KIND} {id}"))?;
    Ok(())
}

/// Deletes the group, waiting (bounded) for terminating instances to let go of it.
pub(crate) async fn delete(aws: &Aws, id: &str) -> Result<(), Error> {
    let result = aws
        .retry()
        .run(id, Transient::DEPENDENCY, || {
            aws.ec2().delete_security_group().group_id(id).send()
        })
        .await
        .context("DeleteSecurityGroup", format_args!("{KIND} {id}"));
    crate::ignore_gone(result)
}
