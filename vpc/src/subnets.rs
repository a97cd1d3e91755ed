//! Subnets: find, create, update the public-IP attribute, delete.

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use converge::{ec2_name, Aws, AwsResultExt, Error, Tags, Transient};

use crate::desired::SubnetSpec;
use converge::ignore_not_found;

/// A subnet we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundSubnet {
    pub id: String,
    pub name: String,
    pub vpc_id: String,
    pub az: String,
    pub cidr: String,
    pub map_public_ip: bool,
}

pub(crate) const KIND: &str = "aws_subnet";

pub(crate) async fn find(aws: &Aws, tags: &Tags) -> Result<Vec<FoundSubnet>, Error> {
    let out = aws
        .ec2()
        .describe_subnets()
        .filters(tags.ec2_filter())
        .send()
        .await
        .context("DescribeSubnets", tags.owner())?;
    Ok(out
        .subnets()
        .iter()
        .filter(|s| tags.ec2_owned(s.tags()))
        .map(|s| FoundSubnet {
            id: s.subnet_id().unwrap_or_default().to_owned(),
            name: ec2_name(s.tags()).unwrap_or_default().to_owned(),
            vpc_id: s.vpc_id().unwrap_or_default().to_owned(),
            az: s.availability_zone().unwrap_or_default().to_owned(),
            cidr: s.cidr_block().unwrap_or_default().to_owned(),
            map_public_ip: s.map_public_ip_on_launch().unwrap_or(false),
        })
        .collect())
}

pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    vpc_id: &str,
    spec: &SubnetSpec,
) -> Result<String, Error> {
    let out = aws
        .retry()
        .run(&spec.name, Transient::EC2_JUST_CREATED, || {
            aws.ec2()
                .create_subnet()
                .vpc_id(vpc_id)
                .cidr_block(spec.cidr.to_string())
                .availability_zone(&spec.az)
                .tag_specifications(tags.ec2_spec(ResourceType::Subnet, &spec.name))
                .send()
        })
        .await
        .context("CreateSubnet", format_args!("{KIND} \"{}\"", spec.name))?;
    Ok(out
        .subnet()
        .and_then(|s| s.subnet_id())
        .unwrap_or_default()
        .to_owned())
}

pub(crate) async fn set_map_public_ip(aws: &Aws, id: &str, map: bool) -> Result<(), Error> {
    aws.ec2()
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(map).build())
        .send()
        .await
        .context("ModifySubnetAttribute", id)?;
    Ok(())
}

/// Deletes a subnet, waiting out network interfaces that are still going away.
pub(crate) async fn delete(aws: &Aws, id: &str) -> Result<(), Error> {
    let result = aws
        .retry()
        .run(id, Transient::DEPENDENCY, || {
            aws.ec2().delete_subnet().subnet_id(id).send()
        })
        .await
        .context("DeleteSubnet", id);
    ignore_not_found(result)
}
