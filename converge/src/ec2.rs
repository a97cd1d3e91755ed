//! EC2 reads by tag: one describe call for every declared resource of a kind, every page of
//! it, and each item's `Name` and ownership taken from its tags here, once, so an EC2 kind's
//! read is its call and its own fields.

use std::fmt;

use aws_sdk_ec2::types::{
    Address, Filter, FlowLog, InternetGateway, LaunchTemplate, NatGateway, RouteTable,
    SecurityGroup, Subnet, Tag, Vpc, VpcEndpoint,
};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::{ec2_name, ec2_owner, ec2_owner_filter, paging, Error, Wanted};

/// An EC2 item that carries tags.
pub trait Tagged {
    /// Its tags.
    fn ec2_tags(&self) -> &[Tag];
}

macro_rules! tagged {
    ($($item:ty),* $(,)?) => {
        $(impl Tagged for $item {
            fn ec2_tags(&self) -> &[Tag] {
                self.tags()
            }
        })*
    };
}

tagged!(
    Address,
    FlowLog,
    InternetGateway,
    LaunchTemplate,
    NatGateway,
    RouteTable,
    SecurityGroup,
    Subnet,
    Vpc,
    VpcEndpoint,
);

/// One item an EC2 read found, with what its tags say.
#[derive(Clone, Debug)]
pub struct Found<T> {
    /// Its `Name` tag; empty when it has none.
    pub name: String,
    /// Its ownership value, canonical as [`ec2_owner`] gives it: what a kind's
    /// [`Resource::owner`](crate::Resource::owner) answers.
    pub owner: Option<String>,
    /// Whether one of the declared resources claims that owner, by the rule the stack
    /// applies ([`Tags::claim`](crate::Tags::claim)): a kind that makes more calls per item
    /// (attributes, versions) makes them for these only. The stack still decides, per
    /// declaration, what is ours.
    pub claimed: bool,
    /// The item as AWS described it.
    pub item: T,
}

impl<T: Tagged> Found<T> {
    /// `item`, with what its tags say as `wanted` see it.
    pub fn new<K>(item: T, wanted: &[Wanted<'_, K>]) -> Self {
        let tags = item.ec2_tags();
        let owner = ec2_owner(tags);
        Self {
            name: ec2_name(tags).unwrap_or_default().to_owned(),
            claimed: wanted
                .iter()
                .any(|w| w.tags.claim(owner.as_deref()).is_ours()),
            owner,
            item,
        }
    }
}

/// Every item the declared resources' owners own: `describe` sends the kind's describe call
/// with the ownership filter this builds (one for every owner in `wanted`) as a paginator,
/// `items` takes the items out of each page. `operation` and `resource` name the read in an
/// error.
///
/// ```no_run
/// # async fn read(aws: &converge::Aws, wanted: &[converge::Wanted<'_, ()>]) -> Result<(), converge::Error> {
/// let subnets = converge::ec2::read_owned(
///     wanted,
///     "DescribeSubnets",
///     "aws_subnet",
///     |owned| aws.ec2().describe_subnets().filters(owned).into_paginator().send(),
///     |page| page.subnets.unwrap_or_default(),
/// )
/// .await?;
/// for s in subnets {
///     println!("{} {:?} {:?}", s.name, s.owner, s.item.subnet_id());
/// }
/// # Ok(()) }
/// ```
pub async fn read_owned<K, P, E, R, I>(
    wanted: &[Wanted<'_, K>],
    operation: &'static str,
    resource: impl fmt::Display,
    describe: impl FnOnce(Filter) -> PaginationStream<Result<P, SdkError<E, R>>>,
    items: impl FnMut(P) -> I,
) -> Result<Vec<Found<I::Item>>, Error>
where
    I: IntoIterator,
    I::Item: Tagged,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let pages = describe(ec2_owner_filter(wanted));
    read_tagged(wanted, operation, resource, pages, items).await
}

/// Every item of a describe call filtered otherwise (by name, so that a look-alike without
/// our tag is seen and refused), every page, with what its tags say.
pub async fn read_tagged<K, P, E, R, I>(
    wanted: &[Wanted<'_, K>],
    operation: &'static str,
    resource: impl fmt::Display,
    pages: PaginationStream<Result<P, SdkError<E, R>>>,
    items: impl FnMut(P) -> I,
) -> Result<Vec<Found<I::Item>>, Error>
where
    I: IntoIterator,
    I::Item: Tagged,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let all = paging::drain(operation, resource, pages, items).await?;
    Ok(all.into_iter().map(|i| Found::new(i, wanted)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tags, OWNER_TAG};
    use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn tag(key: &str, value: &str) -> Tag {
        Tag::builder().key(key).value(value).build()
    }

    fn group(id: &str, tags: &[(&str, &str)]) -> SecurityGroup {
        let mut g = SecurityGroup::builder().group_id(id);
        for (k, v) in tags {
            g = g.tags(tag(k, v));
        }
        g.build()
    }

    #[test]
    fn found_takes_name_owner_and_claim_from_the_tags() {
        let ours = Tags::new("vpc", "blog");
        let old = Tags::for_instance("ecs-service", "blog", "api");
        let wanted = [
            Wanted {
                name: "blog-vpc",
                tags: &ours,
                key: &(),
                teardown: false,
            },
            Wanted {
                name: "blog-api",
                tags: &old,
                key: &(),
                teardown: false,
            },
        ];
        let mine = Found::new(
            group("sg-1", &[("Name", "blog-web"), (OWNER_TAG, "vpc/blog")]),
            &wanted,
        );
        assert_eq!(
            (mine.name.as_str(), mine.owner.as_deref(), mine.claimed),
            ("blog-web", Some("vpc/blog"), true)
        );
        // The value an earlier release wrote, in its environment: claimed, in its canonical
        // form.
        let legacy = Found::new(
            group(
                "sg-2",
                &[(OWNER_TAG, "ecs-service/api"), ("Environment", "blog")],
            ),
            &wanted,
        );
        assert_eq!(legacy.owner.as_deref(), Some("ecs-service/api|blog"));
        assert!(legacy.claimed);
        let other = Found::new(
            group("sg-3", &[("Name", "blog-vpc"), (OWNER_TAG, "vpc/blog2")]),
            &wanted,
        );
        assert_eq!(
            (other.owner.as_deref(), other.claimed),
            (Some("vpc/blog2"), false)
        );
        let untagged = Found::new(group("sg-4", &[]), &wanted);
        assert_eq!(
            (untagged.name.as_str(), untagged.owner, untagged.claimed),
            ("", None, false)
        );
    }

    #[tokio::test]
    async fn read_owned_filters_by_every_owner_and_reads_every_page() {
        let a = Tags::new("vpc", "blog");
        let b = Tags::new("ecs-service", "blog");
        let wanted = [
            Wanted {
                name: "x",
                tags: &a,
                key: &(),
                teardown: false,
            },
            Wanted {
                name: "y",
                tags: &b,
                key: &(),
                teardown: false,
            },
        ];
        let filtered =
            |r: &aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsInput| {
                r.filters().iter().any(|f| {
                    f.name() == Some("tag:ecs-modules:owner")
                        && f.values() == ["ecs-service/blog", "vpc/blog"]
                })
            };
        let first = mock!(aws_sdk_ec2::Client::describe_security_groups)
            .match_requests(move |r| filtered(r) && r.next_token().is_none())
            .then_output(|| {
                DescribeSecurityGroupsOutput::builder()
                    .security_groups(group("sg-1", &[("Name", "x"), (OWNER_TAG, "vpc/blog")]))
                    .next_token("p2")
                    .build()
            });
        let second = mock!(aws_sdk_ec2::Client::describe_security_groups)
            .match_requests(move |r| filtered(r) && r.next_token() == Some("p2"))
            .then_output(|| {
                DescribeSecurityGroupsOutput::builder()
                    .security_groups(group(
                        "sg-2",
                        &[("Name", "y"), (OWNER_TAG, "ecs-service/blog")],
                    ))
                    .build()
            });
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&first, &second], |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        let found = read_owned(
            &wanted,
            "DescribeSecurityGroups",
            "aws_security_group",
            |owned| {
                ec2.describe_security_groups()
                    .filters(owned)
                    .into_paginator()
                    .send()
            },
            |p| p.security_groups.unwrap_or_default(),
        )
        .await
        .unwrap();
        let seen: Vec<(&str, Option<&str>, bool)> = found
            .iter()
            .map(|f| (f.name.as_str(), f.owner.as_deref(), f.claimed))
            .collect();
        assert_eq!(
            seen,
            [
                ("x", Some("vpc/blog"), true),
                ("y", Some("ecs-service/blog"), true)
            ]
        );
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }
}
