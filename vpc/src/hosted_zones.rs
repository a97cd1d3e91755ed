//! `aws_route53_zone`: the private hosted zone `<environment>.local`, attached to the VPC.
//!
//! Route 53 takes no tags in `CreateHostedZone`, so the zone's identity is its caller
//! reference, which is part of the create call: `ecs-modules/<owner>/<client token>`. Tags
//! are added right after, for people and billing. The resource's name is the domain.

use async_trait::async_trait;
use aws_sdk_route53::types::{HostedZoneConfig, TagResourceType, Vpc as ZoneVpc, VpcRegion};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Wanted,
};

/// The hosted zone kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ZoneKind;

/// What the inputs ask for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ZoneDesired<P: Phase = AtPlan> {
    pub vpc_id: P::Value<String>,
}

impl Resolve for ZoneDesired {
    type Output = ZoneDesired<AtApply>;

    fn resolve(&self) -> Result<ZoneDesired<AtApply>, Unknown> {
        Ok(ZoneDesired {
            vpc_id: self.vpc_id.resolve("vpc_id")?,
        })
    }
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

/// The bare id of the zone of `domain` that `CreateHostedZone` made with `reference`.
async fn made_with(aws: &Aws, domain: &str, reference: &str) -> Result<Option<String>, Error> {
    let dns_name = format!("{domain}.");
    let out = aws
        .route53()
        .list_hosted_zones_by_name()
        .dns_name(&dns_name)
        .send()
        .await
        .context("ListHostedZonesByName", &dns_name)?;
    Ok(out
        .hosted_zones()
        .iter()
        .find(|z| z.caller_reference() == reference)
        .map(|z| bare_id(z.id()).to_owned()))
}

/// A private hosted zone's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneField {
    /// The VPC it serves; a new VPC gets a new zone.
    VpcId,
}

impl Field for ZoneField {
    fn name(&self) -> &str {
        match self {
            ZoneField::VpcId => "vpc_id",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            ZoneField::VpcId => Some("a private hosted zone must always serve a VPC"),
        }
    }
}

#[async_trait]
impl Resource for ZoneKind {
    const KIND: &'static str = KIND;
    // A duplicate (a crash between create and tag, then a second apply) goes.
    const PRUNE: bool = true;
    type Field = ZoneField;
    type Key = ();
    type Desired = ZoneDesired;
    type Observed = FoundZone;
    type Outputs = ZoneOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        // Route 53 has no tag conditions on its zone actions; a private zone's create
        // associates the VPC (route53:AssociateVPCWithHostedZone, ec2:DescribeVpcs).
        vec![Grant::new([
            "route53:ListHostedZonesByName",
            "route53:GetHostedZone",
            "route53:CreateHostedZone",
            "route53:AssociateVPCWithHostedZone",
            "route53:ChangeTagsForResource",
            "route53:DeleteHostedZone",
            "ec2:DescribeVpcs",
        ])]
    }

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
            let zones = converge::paging::drain_by_marker(
                "ListHostedZonesByName",
                &dns_name,
                |at: Option<(String, String)>| {
                    let (name, id) = at.map_or((dns_name.clone(), None), |(n, i)| (n, Some(i)));
                    (aws.route53().list_hosted_zones_by_name())
                        .dns_name(name)
                        .set_hosted_zone_id(id)
                        .send()
                },
                |page| {
                    // Zones come in name order from `dns_name` on: a page that ends past it
                    // leaves nothing of that name for the next.
                    let past = page.hosted_zones.last().is_some_and(|z| z.name != dns_name);
                    let next = match (page.next_dns_name, page.next_hosted_zone_id) {
                        (Some(n), Some(i)) if page.is_truncated && !past => Some((n, i)),
                        _ => None,
                    };
                    (page.hosted_zones, next)
                },
            )
            .await?;
            for z in &zones {
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
        let mut delta = Delta::<Self::Field>::new();
        delta.update(ZoneField::VpcId, None::<String>, Some(&d.vpc_id));
        delta.described()
    }

    fn diff(&self, d: &ZoneDesired, o: &FoundZone) -> Delta<ZoneField> {
        let mut delta = Delta::new();
        let attached = d.vpc_id.known().is_some_and(|v| o.vpcs.contains(v));
        if !attached {
            // A new zone is made for the new VPC.
            delta.update(ZoneField::VpcId, o.vpcs.first(), Some(&d.vpc_id));
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

    async fn create(&self, cx: Cx<'_>, d: &ZoneDesired<AtApply>) -> Result<ZoneOut, Error> {
        let owner = cx.tags.owner();
        // The reference must be unique for ever, and stay within Route 53's 128 bytes.
        let room = converge::token::ROUTE53.saturating_sub(PREFIX.len() + owner.len() + 1);
        let token = converge::client_token(&cx, KIND, "create", room);
        let reference = format!("{PREFIX}{owner}/{token}");
        let environment = cx.tags.environment();
        let out = cx
            .aws
            .route53()
            .create_hosted_zone()
            .name(cx.name)
            .caller_reference(&reference)
            .vpc(
                ZoneVpc::builder()
                    .vpc_id(&d.vpc_id)
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
            .context("CreateHostedZone", cx.address(KIND, None));
        let id = match out {
            Ok(out) => bare_id(out.hosted_zone().map(|z| z.id()).unwrap_or_default()).to_owned(),
            // Route 53 answers a resend of a create it carried out (the SDK's retry after a
            // lost answer) with this: the zone is the one this reference made.
            Err(err) if err.code() == Some("HostedZoneAlreadyExists") => {
                match made_with(cx.aws, cx.name, &reference).await? {
                    Some(id) => id,
                    None => return Err(err),
                }
            }
            Err(err) => return Err(err),
        };
        token.made();
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
        _: &ZoneDesired<AtApply>,
        o: &FoundZone,
        delta: &Delta<ZoneField>,
    ) -> Result<ZoneOut, Error> {
        for field in delta.fields() {
            match field {
                // Replaced, never updated.
                ZoneField::VpcId => {}
            }
        }
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
    use std::sync::{Arc, Mutex};

    use aws_sdk_route53::operation::change_tags_for_resource::ChangeTagsForResourceOutput;
    use aws_sdk_route53::operation::create_hosted_zone::{
        CreateHostedZoneError, CreateHostedZoneOutput,
    };
    use aws_sdk_route53::operation::list_hosted_zones_by_name::ListHostedZonesByNameOutput;
    use aws_sdk_route53::types::{DelegationSet, HostedZone};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use converge::Value;

    use super::*;

    fn zone(id: &str, reference: &str) -> HostedZone {
        HostedZone::builder()
            .id(format!("/hostedzone/{id}"))
            .name("blog.local.")
            .caller_reference(reference)
            .build()
            .expect("required fields set")
    }

    /// Route 53 clients whose first `CreateHostedZone` is refused as a repeat (the SDK's
    /// retry of a create whose answer was lost), later ones make `Z2`; the listing holds
    /// another owner's zone of the same name and `Z1`, made with the last reference sent.
    fn route53(sent: &Arc<Mutex<Vec<String>>>) -> Aws {
        let log = Arc::clone(sent);
        let create = mock!(aws_sdk_route53::Client::create_hosted_zone)
            .match_requests(move |r| {
                log.lock()
                    .unwrap()
                    .push(r.caller_reference().unwrap_or_default().to_owned());
                true
            })
            .sequence()
            .error(|| {
                CreateHostedZoneError::generic(
                    aws_sdk_route53::error::ErrorMetadata::builder()
                        .code("HostedZoneAlreadyExists")
                        .build(),
                )
            })
            .output(|| {
                CreateHostedZoneOutput::builder()
                    .hosted_zone(zone("Z2", "made"))
                    .change_info(
                        aws_sdk_route53::types::ChangeInfo::builder()
                            .id("c")
                            .status(aws_sdk_route53::types::ChangeStatus::Insync)
                            .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                            .build()
                            .expect("required fields set"),
                    )
                    .delegation_set(
                        DelegationSet::builder()
                            .name_servers("ns")
                            .build()
                            .expect("required fields set"),
                    )
                    .location("l")
                    .build()
                    .expect("required fields set")
            })
            .repeatedly()
            .build();
        let made = Arc::clone(sent);
        let list = mock!(aws_sdk_route53::Client::list_hosted_zones_by_name)
            .match_requests(|r| r.dns_name() == Some("blog.local."))
            .then_output(move || {
                let reference = made.lock().unwrap().last().cloned().unwrap_or_default();
                ListHostedZonesByNameOutput::builder()
                    .hosted_zones(zone("Z0", "ecs-modules/vpc/blog2/abc"))
                    .hosted_zones(zone("Z1", &reference))
                    .is_truncated(false)
                    .max_items(100)
                    .build()
                    .expect("required fields set")
            });
        let tag = mock!(aws_sdk_route53::Client::change_tags_for_resource)
            .then_output(|| ChangeTagsForResourceOutput::builder().build());
        let client = mock_client!(
            aws_sdk_route53,
            RuleMode::MatchAny,
            &[create, list, tag],
            |c| c.retry_config(aws_sdk_route53::config::retry::RetryConfig::disabled())
        );
        Aws::builder().route53(client).build()
    }

    #[tokio::test]
    async fn a_zone_refused_as_a_repeat_is_the_one_its_reference_made() {
        let sent = Arc::default();
        let tags = converge::Tags::new("vpc", "blog");
        let d = ZoneDesired::<AtApply> {
            vpc_id: "vpc-1".into(),
        };
        let aws = route53(&sent);
        let cx = |aws| Cx {
            aws,
            name: "blog.local",
            tags: &tags,
            teardown: false,
        };
        assert_eq!(ZoneKind.create(cx(&aws), &d).await.unwrap().id, "Z1");
        // Made: a zone made again in this run (after a destroy) is a new request.
        assert_eq!(ZoneKind.create(cx(&aws), &d).await.unwrap().id, "Z2");
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 2);
        assert_ne!(sent[0], sent[1]);
        for reference in &sent {
            assert_eq!(owner_of(reference), Some("vpc/blog"), "{reference}");
            assert!(reference.len() <= converge::token::ROUTE53);
        }
    }

    #[test]
    fn a_zone_of_another_vpc_is_replaced_and_says_why() {
        let found = FoundZone {
            id: "Z1".into(),
            domain: "blog.local".into(),
            owner: "vpc/blog".into(),
            vpcs: vec!["vpc-1".into()],
        };
        let d = |vpc: &str| ZoneDesired {
            vpc_id: Value::Known(vpc.into()),
        };
        assert!(ZoneKind.diff(&d("vpc-1"), &found).is_empty());
        let delta = ZoneKind.diff(&d("vpc-2"), &found);
        assert_eq!(delta.fields(), [ZoneField::VpcId]);
        assert_eq!(delta.diffs()[0].field, "vpc_id");
        assert_eq!(
            delta.changes[0].replaces,
            Some("a private hosted zone must always serve a VPC")
        );
        assert_eq!(ZoneKind.describe(&d("vpc-1"))[0].replaces, None);
    }

    #[test]
    fn the_caller_reference_names_the_owner() {
        assert_eq!(owner_of("ecs-modules/vpc/blog/123"), Some("vpc/blog"));
        assert_eq!(owner_of("terraform-2024"), None);
    }
}
