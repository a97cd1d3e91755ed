//! The Route 53 private hosted zone `<environment>.local`.
//!
//! Route 53 takes no tags in `CreateHostedZone`, so the zone's identity is its caller
//! reference, which is part of the create call: `ecs-modules/vpc/<environment>/...`. Tags are
//! added right after, for people and billing.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_route53::types::{HostedZoneConfig, TagResourceType, Vpc as ZoneVpc, VpcRegion};
use converge::{Aws, AwsResultExt, Error, Tags};

use converge::ignore_not_found;

/// A private hosted zone we made.
#[derive(Clone, Debug)]
pub(crate) struct FoundZone {
    /// The bare id, `Z...`.
    pub id: String,
    /// The domain, without the trailing dot.
    pub name: String,
}

pub(crate) const KIND: &str = "aws_route53_zone";

fn caller_reference_prefix(tags: &Tags) -> String {
    format!("ecs-modules/{}/", tags.owner())
}

/// The zones named `domain` whose caller reference says we made them.
pub(crate) async fn find(aws: &Aws, tags: &Tags, domain: &str) -> Result<Vec<FoundZone>, Error> {
    let dns_name = format!("{domain}.");
    let out = aws
        .route53()
        .list_hosted_zones_by_name()
        .dns_name(&dns_name)
        .send()
        .await
        .context("ListHostedZonesByName", &dns_name)?;
    let prefix = caller_reference_prefix(tags);
    Ok(out
        .hosted_zones()
        .iter()
        .filter(|z| z.name() == dns_name && z.caller_reference().starts_with(&prefix))
        .map(|z| FoundZone {
            id: bare_id(z.id()).to_owned(),
            name: domain.to_owned(),
        })
        .collect())
}

fn bare_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// Creates the private zone attached to `vpc_id`; [`tag`] it next.
pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    domain: &str,
    vpc_id: &str,
) -> Result<String, Error> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let out = aws
        .route53()
        .create_hosted_zone()
        .name(domain)
        .caller_reference(format!("{}{nanos}", caller_reference_prefix(tags)))
        .vpc(
            ZoneVpc::builder()
                .vpc_id(vpc_id)
                .vpc_region(VpcRegion::from(aws.region()))
                .build(),
        )
        .hosted_zone_config(
            HostedZoneConfig::builder()
                .comment(format!(
                    "{} - route53 - local hosted zone",
                    tags.environment()
                ))
                .private_zone(true)
                .build(),
        )
        .send()
        .await
        .context("CreateHostedZone", format_args!("{KIND} \"{domain}\""))?;
    Ok(bare_id(out.hosted_zone().map(|z| z.id()).unwrap_or_default()).to_owned())
}

/// Tags the zone `name` (Route 53 takes no tags in the create call).
pub(crate) async fn tag(aws: &Aws, tags: &Tags, id: &str, name: &str) -> Result<(), Error> {
    aws.route53()
        .change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(id)
        .set_add_tags(Some(tags.route53(name)))
        .send()
        .await
        .context("ChangeTagsForResource", format_args!("{KIND} {id}"))?;
    Ok(())
}

pub(crate) async fn delete(aws: &Aws, id: &str) -> Result<(), Error> {
    let result = aws
        .route53()
        .delete_hosted_zone()
        .id(id)
        .send()
        .await
        .context("DeleteHostedZone", id);
    ignore_not_found(result)
}
