//! Route tables, their default route and their subnet associations.

use aws_sdk_ec2::types::ResourceType;
use converge::{ec2_name, Aws, AwsResultExt, Error, Tags, Transient};

use converge::ignore_not_found;

/// The IPv4 default route every route table of the module manages.
pub(crate) const DEFAULT_ROUTE: &str = "0.0.0.0/0";

/// A route table we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundRouteTable {
    pub id: String,
    pub name: String,
    pub vpc_id: String,
    /// The gateway or NAT gateway id the default route points at.
    pub default_route: Option<String>,
    /// (association id, subnet id), main association excluded.
    pub associations: Vec<(String, String)>,
}

pub(crate) const KIND: &str = "aws_route_table";

pub(crate) async fn find(aws: &Aws, tags: &Tags) -> Result<Vec<FoundRouteTable>, Error> {
    let out = aws
        .ec2()
        .describe_route_tables()
        .filters(tags.ec2_filter())
        .send()
        .await
        .context("DescribeRouteTables", tags.owner())?;
    Ok(out
        .route_tables()
        .iter()
        .filter(|rt| tags.ec2_owned(rt.tags()))
        .map(|rt| FoundRouteTable {
            id: rt.route_table_id().unwrap_or_default().to_owned(),
            name: ec2_name(rt.tags()).unwrap_or_default().to_owned(),
            vpc_id: rt.vpc_id().unwrap_or_default().to_owned(),
            default_route: rt
                .routes()
                .iter()
                .find(|r| r.destination_cidr_block() == Some(DEFAULT_ROUTE))
                .and_then(|r| r.nat_gateway_id().or(r.gateway_id()))
                .map(str::to_owned),
            associations: rt
                .associations()
                .iter()
                .filter(|a| !a.main().unwrap_or(false))
                .filter_map(|a| {
                    Some((
                        a.route_table_association_id()?.to_owned(),
                        a.subnet_id()?.to_owned(),
                    ))
                })
                .collect(),
        })
        .collect())
}

pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    vpc_id: &str,
    name: &str,
) -> Result<String, Error> {
    let out = aws
        .retry()
        .run(name, Transient::EC2_JUST_CREATED, || {
            aws.ec2()
                .create_route_table()
                .vpc_id(vpc_id)
                .tag_specifications(tags.ec2_spec(ResourceType::RouteTable, name))
                .send()
        })
        .await
        .context("CreateRouteTable", format_args!("{KIND} \"{name}\""))?;
    Ok(out
        .route_table()
        .and_then(|rt| rt.route_table_id())
        .unwrap_or_default()
        .to_owned())
}

/// Points the default route at `target` (an `igw-` or `nat-` id), or removes it (`None`).
/// `current` is what the table has now.
pub(crate) async fn set_default_route(
    aws: &Aws,
    id: &str,
    current: Option<&str>,
    target: Option<&str>,
) -> Result<(), Error> {
    let ec2 = aws.ec2();
    match (current, target) {
        (Some(now), Some(want)) if now == want => {}
        (None, Some(want)) => {
            aws.retry()
                .run(id, Transient::EC2_JUST_CREATED, || {
                    let call = ec2
                        .create_route()
                        .route_table_id(id)
                        .destination_cidr_block(DEFAULT_ROUTE);
                    if want.starts_with("nat-") {
                        call.nat_gateway_id(want)
                    } else {
                        call.gateway_id(want)
                    }
                    .send()
                })
                .await
                .context("CreateRoute", id)?;
        }
        (Some(_), Some(want)) => {
            let call = ec2
                .replace_route()
                .route_table_id(id)
                .destination_cidr_block(DEFAULT_ROUTE);
            if want.starts_with("nat-") {
                call.nat_gateway_id(want)
            } else {
                call.gateway_id(want)
            }
            .send()
            .await
            .context("ReplaceRoute", id)?;
        }
        (Some(_), None) => {
            ec2.delete_route()
                .route_table_id(id)
                .destination_cidr_block(DEFAULT_ROUTE)
                .send()
                .await
                .context("DeleteRoute", id)?;
        }
        (None, None) => {}
    }
    Ok(())
}

pub(crate) async fn associate(aws: &Aws, id: &str, subnet_id: &str) -> Result<(), Error> {
    aws.retry()
        .run(id, Transient::EC2_JUST_CREATED, || {
            aws.ec2()
                .associate_route_table()
                .route_table_id(id)
                .subnet_id(subnet_id)
                .send()
        })
        .await
        .context("AssociateRouteTable", format_args!("{id} and {subnet_id}"))?;
    Ok(())
}

pub(crate) async fn disassociate(aws: &Aws, association_id: &str) -> Result<(), Error> {
    let result = aws
        .ec2()
        .disassociate_route_table()
        .association_id(association_id)
        .send()
        .await
        .context("DisassociateRouteTable", association_id);
    ignore_not_found(result)
}

/// Removes the table's subnet associations, then the table.
pub(crate) async fn delete(aws: &Aws, rt: &FoundRouteTable) -> Result<(), Error> {
    for (association, _) in &rt.associations {
        disassociate(aws, association).await?;
    }
    let result = aws
        .ec2()
        .delete_route_table()
        .route_table_id(&rt.id)
        .send()
        .await
        .context("DeleteRouteTable", &rt.id);
    ignore_not_found(result)
}

/// Moves a subnet's association to table `id` (AWS refuses a second association).
pub(crate) async fn reassociate(aws: &Aws, association_id: &str, id: &str) -> Result<(), Error> {
    aws.ec2()
        .replace_route_table_association()
        .association_id(association_id)
        .route_table_id(id)
        .send()
        .await
        .context("ReplaceRouteTableAssociation", association_id)?;
    Ok(())
}
