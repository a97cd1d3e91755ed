//! `aws_route53_zone`: the private hosted zone `<environment>.local`, attached to the VPC.
//!
//! Route 53 takes no tags in `CreateHostedZone`, so the zone's identity is its caller
//! reference, which is part of the create call: `ecs-modules/<owner>/<nanos>`. Tags are added
//! right after, for people and billing. The resource's name is the domain.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_route53::types::{HostedZoneConfig, TagResourceType, Vpc as ZoneVpc, VpcRegion};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Resource, Value, Wanted,
};

/// The hosted zone kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ZoneKind;

/// What the inputs ask for.
#[derive(Clone, Debug)]
pub(crate) struct ZoneDesired {
    pub vpc_id: Value<String>,
}

/// A private hosted zone we made.
#[derive(Clone, Debug)]
pub(crate) struct FoundZone {
    /// The bare id, `Z...`.
    pub id: String,
    /// The domain, without the trailing dot.
    pub domain: String,
    pub owner: String,
    /// The VPCs it is attached to.
    pub vpcs: Vec<String>,
}

/// The zone's id and domain, for the outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ZoneOut {
    pub id: String,
    pub domain: String,
}

pub(crate) const KIND: &str = "aws_route53_zone";

const PREFIX: &str = "ecs-modules/";

/// The owner a caller reference names: `ecs-modules/vpc/blog/123` is `vpc/blog`'s.
fn owner_of(caller_reference: &str) -> Option<&str> {
    let rest = caller_reference.strip_prefix(PREFIX)?;
    rest.rsplit_once('/').map(|(owner, _)| owner)
}

fn bare_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

#[async_trait]
impl Resource for ZoneKind {
    const KIND: &'static str = KIND;
    // A duplicate (a crash between create and tag, then a second apply) goes.
    const PRUNE: bool = true;
    type Key = ();
    type Desired = ZoneDesired;
    type Observed = FoundZone;
    type Outputs = ZoneOut;

    /// One listing per domain; zones of the same name that another made are not ours and
    /// not returned (Route 53 allows several private zones of one name).
    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundZone>, Error> {
        let mut domains: Vec<&str> = wanted.iter().map(|w| w.name).collect();
        domains.sort_unstable();
        domains.dedup();
        let owners: Vec<&str> = wanted.iter().map(|w| w.tags.owner()).collect();
        let mut found = Vec::new();
        for domain in domains {
            let dns_name = format!("{domain}.");
            let out = aws
                .route53()
                .list_hosted_zones_by_name()
                .dns_name(&dns_name)
                .send()
                .await
                .context("ListHostedZonesByName", &dns_name)?;
            for z in out.hosted_zones() {
                let owner = owner_of(z.caller_reference());
                let Some(owner) = owner.filter(|o| owners.contains(o)) else {
                    continue;
                };
                if z.name() != dns_name {
                    continue;
                }
                let id = bare_id(z.id()).to_owned();
                // The listing does not say which VPC a zone serves.
                let zone = aws
                    .route53()
                    .get_hosted_zone()
                    .id(&id)
                    .send()
                    .await
                    .context("GetHostedZone", &id)?;
                found.push(FoundZone {
                    vpcs: zone
                        .vpcs()
                        .iter()
                        .filter_map(|v| v.vpc_id().map(str::to_owned))
                        .collect(),
                    id,
                    domain: domain.to_owned(),
                    owner: owner.to_owned(),
                });
            }
        }
        Ok(found)
    }

    fn name<'o>(&self, o: &'o FoundZone) -> &'o str {
        &o.domain
    }
    fn owner<'o>(&self, o: &'o FoundZone) -> Option<&'o str> {
        Some(&o.owner)
    }
    fn id(&self, o: &FoundZone) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &ZoneDesired) -> Vec<Diff> {
        let mut delta = Delta::new();
        delta.update("vpc_id", None::<String>, Some(&d.vpc_id));
        delta.diffs
    }

    fn diff(&self, d: &ZoneDesired, o: &FoundZone) -> Delta {
        let mut delta = Delta::new();
        let attached = d.vpc_id.known().is_some_and(|v| o.vpcs.contains(v));
        if !attached {
            // A private zone must always serve a VPC: a new one is made for the new VPC.
            delta.replace("vpc_id", o.vpcs.first(), Some(&d.vpc_id));
        }
        delta
    }

    fn outputs(&self, o: &FoundZone) -> ZoneOut {
        ZoneOut {
            id: o.id.clone(),
            domain: o.domain.clone(),
        }
    }
    fn output_id(&self, out: &ZoneOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &ZoneDesired) -> Result<ZoneOut, Error> {
        let vpc_id = d.vpc_id.clone().require(cx.name)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let environment = cx.tags.environment();
        let out = cx
            .aws
            .route53()
            .create_hosted_zone()
            .name(cx.name)
            .caller_reference(format!("{PREFIX}{}/{nanos}", cx.tags.owner()))
            .vpc(
                ZoneVpc::builder()
                    .vpc_id(&vpc_id)
                    .vpc_region(VpcRegion::from(cx.aws.region()))
                    .build(),
            )
            .hosted_zone_config(
                HostedZoneConfig::builder()
                    .comment(format!("{environment} - route53 - local hosted zone"))
                    .private_zone(true)
                    .build(),
            )
            .send()
            .await
            .context("CreateHostedZone", cx.address(KIND, None))?;
        let id = bare_id(out.hosted_zone().map(|z| z.id()).unwrap_or_default()).to_owned();
        let name = format!("{environment}-route53-private-hosted-zone");
        cx.aws
            .route53()
            .change_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(&id)
            .set_add_tags(Some(cx.tags.route53(&name)))
            .send()
            .await
            .context("ChangeTagsForResource", cx.address(KIND, Some(id.clone())))?;
        Ok(ZoneOut {
            id,
            domain: cx.name.to_owned(),
        })
    }

    async fn update(
        &self,
        _: Cx<'_>,
        _: &ZoneDesired,
        o: &FoundZone,
        _: &Delta,
    ) -> Result<ZoneOut, Error> {
        // Every difference is a replacement.
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundZone) -> Result<(), Error> {
        let result = cx
            .aws
            .route53()
            .delete_hosted_zone()
            .id(&o.id)
            .send()
            .await
            .context("DeleteHostedZone", cx.address(KIND, Some(o.id.clone())));
        ignore_not_found(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_reference_names_the_owner() {
        assert_eq!(owner_of("ecs-modules/vpc/blog/123"), Some("vpc/blog"));
        assert_eq!(owner_of("terraform-2024"), None);
    }
}
