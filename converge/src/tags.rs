//! Tags are a resource's identity: `Name`, `Environment` and the ownership tag.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, TagSpecification};

use crate::error::Error;

/// The tag AWS consoles show as a resource's name.
pub const NAME_TAG: &str = "Name";
/// The environment a resource belongs to, as the Terraform modules tag it.
pub const ENVIRONMENT_TAG: &str = "Environment";
/// The ownership tag: its value names the module instance that made the resource. Destroy
/// deletes nothing without it, whatever the resource's name.
pub const OWNER_TAG: &str = "ecs-modules:owner";

/// Joins an ownership value an earlier release wrote to the `Environment` tag beside it, in
/// the canonical form [`owner_in`] and [`ec2_owner`] give (`|` is in no name of ours).
const LEGACY_MARK: char = '|';

/// The tags of one module instance: the same `Environment` and ownership tag on everything it
/// makes, plus a `Name` per resource and any extra tags the user asked for.
///
/// The ownership value is the identity (module, environment, instance) written
/// `<module>/<environment>` or `<module>/<environment>/<instance>`. Module words and
/// environments never contain `/`, so two different identities never give one value: the
/// environment `blog` with the service `api-v2` is `ecs-service/blog/api-v2`, the
/// environment `blog-api` with the service `v2` is `ecs-service/blog-api/v2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tags {
    environment: String,
    owner: String,
    /// The value releases before this one wrote for the same instance
    /// (`<module>/<instance>`, which look-alike identities shared), recognised together with
    /// the resource's `Environment` tag and re-tagged in place.
    legacy: Option<String>,
    extra: BTreeMap<String, String>,
}

/// How a resource's ownership value relates to a declaration's [`Tags`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// It carries this instance's identity.
    Ours,
    /// It carries the value an earlier release wrote for this instance, in this
    /// environment: ours, to be re-tagged in place.
    Legacy,
    /// Another owner's, or nobody's.
    Foreign,
}

impl Claim {
    /// Whether the resource is ours, in either form.
    pub fn is_ours(self) -> bool {
        self != Claim::Foreign
    }
}

impl Tags {
    /// The tags of `module` (e.g. `vpc`) in `environment`: one instance per environment, and
    /// the ownership tag's value is `<module>/<environment>`.
    pub fn new(module: &str, environment: &str) -> Self {
        debug_assert!(!module.contains('/') && !environment.contains('/'));
        Self {
            environment: environment.to_owned(),
            owner: format!("{module}/{environment}"),
            legacy: None,
            extra: BTreeMap::new(),
        }
    }

    /// The tags of one instance of `module` named `instance` (a service, a task definition
    /// family), in `environment`: the ownership tag's value is
    /// `<module>/<environment>/<instance>`. Resources an earlier release tagged
    /// `<module>/<instance>` in the same environment are recognised as this instance's
    /// ([`Claim::Legacy`]); [`with_legacy_instance`](Tags::with_legacy_instance) names
    /// another old instance value.
    pub fn for_instance(module: &str, environment: &str, instance: &str) -> Self {
        debug_assert!(!module.contains('/') && !environment.contains('/'));
        Self {
            environment: environment.to_owned(),
            owner: format!("{module}/{environment}/{instance}"),
            legacy: Some(format!("{module}/{instance}")),
            extra: BTreeMap::new(),
        }
    }

    /// The instance value an earlier release wrote (`<environment>-<service>` for a
    /// service, where the identity now names the service alone).
    pub fn with_legacy_instance(mut self, instance: &str) -> Self {
        let module = self.owner.split('/').next().unwrap_or_default();
        self.legacy = Some(format!("{module}/{instance}"));
        self
    }

    /// How an ownership value read back (canonical, from [`owner_in`] or [`ec2_owner`])
    /// relates to this instance.
    pub fn claim(&self, found: Option<&str>) -> Claim {
        let Some(found) = found else {
            return Claim::Foreign;
        };
        if found == self.owner {
            return Claim::Ours;
        }
        let Some(legacy) = &self.legacy else {
            return Claim::Foreign;
        };
        let same_env = match found.split_once(LEGACY_MARK) {
            Some((value, env)) => value == legacy && env == self.environment,
            // An old instance value that happens to equal the environment is left as it is.
            None => {
                found == legacy && legacy.split_once('/').map(|(_, i)| i) == Some(&self.environment)
            }
        };
        match same_env {
            true => Claim::Legacy,
            false => Claim::Foreign,
        }
    }

    /// The ownership values a tag-filtered read must look for: this instance's, and the one
    /// an earlier release wrote for it.
    pub fn owner_values(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.owner.as_str()).chain(self.legacy.as_deref())
    }

    /// Adds tags the user asked for. They never override `Name`, `Environment` or ownership.
    pub fn with_extra(mut self, extra: BTreeMap<String, String>) -> Self {
        self.extra = extra;
        self
    }

    /// The environment.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The ownership tag's value.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The extra tags.
    pub fn extra(&self) -> &BTreeMap<String, String> {
        &self.extra
    }

    /// Every tag of a resource called `name`, in a stable order.
    pub fn for_resource(&self, name: &str) -> BTreeMap<String, String> {
        let mut tags = self.extra.clone();
        tags.insert(NAME_TAG.to_owned(), name.to_owned());
        tags.insert(ENVIRONMENT_TAG.to_owned(), self.environment.clone());
        tags.insert(OWNER_TAG.to_owned(), self.owner.clone());
        tags
    }

    /// Whether tags read back from AWS carry this instance's identity, in either form.
    pub fn is_owned<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        let found = owner_in(tags.into_iter().map(|(k, v)| (Some(k), Some(v))));
        self.claim(found.as_deref()).is_ours()
    }

    fn not_owned<'a>(
        &self,
        kind: &str,
        id: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Error {
        Error::NotOwned {
            kind: kind.to_owned(),
            id: id.to_owned(),
            owner: self.owner.clone(),
            found: owner_in(tags.into_iter().map(|(k, v)| (Some(k), Some(v)))),
        }
    }

    /// Refuses to touch a resource that lacks this instance's ownership tag.
    pub fn ensure_owned<'a>(
        &self,
        kind: &str,
        id: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), Error> {
        let tags: Vec<(&str, &str)> = tags.into_iter().collect();
        if self.is_owned(tags.iter().copied()) {
            Ok(())
        } else {
            Err(self.not_owned(kind, id, tags))
        }
    }

    /// The EC2 tag specification for creating a resource called `name`: tags travel in the
    /// create call, so a crash cannot leave an untagged orphan.
    pub fn ec2_spec(&self, resource_type: ResourceType, name: &str) -> TagSpecification {
        let tags = self
            .for_resource(name)
            .into_iter()
            .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
        TagSpecification::builder()
            .resource_type(resource_type)
            .set_tags(Some(tags.collect()))
            .build()
    }

    /// The EC2 filter that finds what this instance owns (in either form).
    pub fn ec2_filter(&self) -> Filter {
        Filter::builder()
            .name(format!("tag:{OWNER_TAG}"))
            .set_values(Some(self.owner_values().map(str::to_owned).collect()))
            .build()
    }

    /// Whether EC2 tags carry this instance's ownership tag.
    pub fn ec2_owned(&self, tags: &[aws_sdk_ec2::types::Tag]) -> bool {
        self.is_owned(ec2_pairs(tags))
    }

    /// Route 53 tags for a resource called `name`.
    pub fn route53(&self, name: &str) -> Vec<aws_sdk_route53::types::Tag> {
        self.for_resource(name)
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_route53::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect()
    }
}

impl Tags {
    /// Pairs for a service whose tags are a plain string map (CloudWatch Logs).
    pub fn map(&self, name: &str) -> std::collections::HashMap<String, String> {
        self.for_resource(name).into_iter().collect()
    }

    /// CloudWatch tags for a resource called `name` (a metric alarm).
    pub fn cloudwatch(&self, name: &str) -> Vec<aws_sdk_cloudwatch::types::Tag> {
        self.for_resource(name)
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_cloudwatch::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect()
    }

    /// IAM tags for a resource called `name`.
    pub fn iam(&self, name: &str) -> Vec<aws_sdk_iam::types::Tag> {
        self.for_resource(name)
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("key and value set")
            })
            .collect()
    }

    /// Elastic Load Balancing tags for a resource called `name`.
    pub fn elbv2(&self, name: &str) -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
        self.for_resource(name)
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect()
    }

    /// ECS tags for a resource called `name`.
    pub fn ecs(&self, name: &str) -> Vec<aws_sdk_ecs::types::Tag> {
        self.for_resource(name)
            .into_iter()
            .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
            .collect()
    }
}

/// Writes this release's ownership value on a resource an earlier release tagged: the one
/// tag, in place, so nothing is replaced.
pub(crate) async fn retag(
    aws: &crate::Aws,
    target: &crate::TagTarget,
    owner: &str,
) -> Result<(), Error> {
    use crate::{AwsResultExt, TagTarget};
    let what = format!("{target:?}");
    match target {
        TagTarget::Ec2(id) => aws
            .ec2()
            .create_tags()
            .resources(id)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key(OWNER_TAG)
                    .value(owner)
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .context("CreateTags", what),
        TagTarget::Elbv2(arn) => aws
            .elbv2()
            .add_tags()
            .resource_arns(arn)
            .tags(
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key(OWNER_TAG)
                    .value(owner)
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .context("AddTags", what),
        TagTarget::Ecs(arn) => aws
            .ecs()
            .tag_resource()
            .resource_arn(arn)
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(OWNER_TAG)
                    .value(owner)
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .context("TagResource", what),
        TagTarget::IamRole(name) => aws
            .iam()
            .tag_role()
            .role_name(name)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(OWNER_TAG)
                    .value(owner)
                    .build()
                    .expect("key and value set"),
            )
            .send()
            .await
            .map(drop)
            .context("TagRole", what),
        TagTarget::Logs(arn) => aws
            .logs()
            .tag_resource()
            .resource_arn(arn)
            .tags(OWNER_TAG, owner)
            .send()
            .await
            .map(drop)
            .context("TagResource", what),
        TagTarget::CloudWatch(arn) => aws
            .cloudwatch()
            .tag_resource()
            .resource_arn(arn)
            .tags(
                aws_sdk_cloudwatch::types::Tag::builder()
                    .key(OWNER_TAG)
                    .value(owner)
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .context("TagResource", what),
    }
}

/// The ownership values of a kind's declared resources, each once (one per module instance
/// in the stack, and the value an earlier release wrote for it), for a batched read.
pub fn owners_of<K>(wanted: &[crate::Wanted<'_, K>]) -> Vec<String> {
    let mut owners: Vec<String> = wanted
        .iter()
        .flat_map(|w| w.tags.owner_values().map(str::to_owned))
        .collect();
    owners.sort();
    owners.dedup();
    owners
}

/// The EC2 filter that finds everything the declared resources' owners own, in one call.
pub fn ec2_owner_filter<K>(wanted: &[crate::Wanted<'_, K>]) -> Filter {
    Filter::builder()
        .name(format!("tag:{OWNER_TAG}"))
        .set_values(Some(owners_of(wanted)))
        .build()
}

/// The ownership among EC2 tags, canonical as [`owner_in`] gives it.
pub fn ec2_owner(tags: &[aws_sdk_ec2::types::Tag]) -> Option<String> {
    owner_in(tags.iter().map(|t| (t.key(), t.value())))
}

/// The ownership among key/value pairs, in any SDK's shape:
/// `owner_in(resource.tags().iter().map(|t| (t.key(), t.value())))`, for [`Tags::claim`].
///
/// It is the ownership tag's value, except for a value an earlier release wrote for one
/// instance of a module (`<module>/<instance>`, which look-alike identities shared): that
/// comes joined to the resource's `Environment` tag, so the instance it belongs to is known.
pub fn owner_in<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> Option<String> {
    let mut owner = None;
    let mut environment = None;
    for (key, value) in pairs {
        match key {
            Some(OWNER_TAG) => owner = value,
            Some(ENVIRONMENT_TAG) => environment = value,
            _ => {}
        }
    }
    let owner = owner?;
    match (owner.split_once('/'), environment) {
        // `<module>/<instance>` where the instance is not the environment: an old value.
        (Some((_, rest)), Some(env)) if !rest.contains('/') && rest != env => {
            Some(format!("{owner}{LEGACY_MARK}{env}"))
        }
        _ => Some(owner.to_owned()),
    }
}

/// An ownership value for people: the old form's environment said in words.
pub fn display_owner(owner: &str) -> String {
    match owner.split_once(LEGACY_MARK) {
        Some((value, env)) => format!("{value} (Environment={env}, an earlier release's tag)"),
        None => owner.to_owned(),
    }
}

/// EC2 tags as `(key, value)` pairs.
pub fn ec2_pairs(tags: &[aws_sdk_ec2::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
}

/// The `Name` tag among EC2 tags.
pub fn ec2_name(tags: &[aws_sdk_ec2::types::Tag]) -> Option<&str> {
    ec2_pairs(tags)
        .find(|(k, _)| *k == NAME_TAG)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_tags_win_over_extra_tags() {
        let extra = BTreeMap::from([
            ("Name".to_owned(), "spoof".to_owned()),
            ("Team".to_owned(), "platform".to_owned()),
        ]);
        let tags = Tags::new("vpc", "blog")
            .with_extra(extra)
            .for_resource("blog-vpc");
        assert_eq!(tags["Name"], "blog-vpc");
        assert_eq!(tags["Environment"], "blog");
        assert_eq!(tags[OWNER_TAG], "vpc/blog");
        assert_eq!(tags["Team"], "platform");
    }

    #[test]
    fn ownership_is_checked_by_owner_tag_not_name() {
        let tags = Tags::new("vpc", "blog");
        assert!(tags.is_owned([(OWNER_TAG, "vpc/blog")]));
        assert!(!tags.is_owned([("Name", "blog-vpc"), ("Environment", "blog")]));
        assert!(!tags.is_owned([(OWNER_TAG, "vpc/blog2")]));
        let err = tags
            .ensure_owned("vpc", "vpc-1", [("Name", "blog-vpc")])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "vpc vpc-1 is not tagged ecs-modules:owner=vpc/blog (it has none): left untouched"
        );
    }

    #[test]
    fn look_alike_identities_never_share_an_owner() {
        let a = Tags::for_instance("ecs-service", "E", "api-v2");
        let b = Tags::for_instance("ecs-service", "E-api", "v2");
        assert_eq!(a.owner(), "ecs-service/E/api-v2");
        assert_eq!(b.owner(), "ecs-service/E-api/v2");
        assert_eq!(a.claim(Some(b.owner())), Claim::Foreign);
        assert_eq!(b.claim(Some(a.owner())), Claim::Foreign);
        assert!(!a.is_owned([(OWNER_TAG, b.owner()), (ENVIRONMENT_TAG, "E-api")]));
    }

    #[test]
    fn an_earlier_release_value_is_claimed_only_in_its_environment() {
        let a = Tags::for_instance("ecs-service", "E", "api-v2").with_legacy_instance("E-api-v2");
        let b = Tags::for_instance("ecs-service", "E-api", "v2").with_legacy_instance("E-api-v2");
        // What the old release wrote for a, in environment E.
        let old_a = owner_in([
            (Some(OWNER_TAG), Some("ecs-service/E-api-v2")),
            (Some(ENVIRONMENT_TAG), Some("E")),
        ]);
        assert_eq!(a.claim(old_a.as_deref()), Claim::Legacy);
        assert_eq!(b.claim(old_a.as_deref()), Claim::Foreign);
        let old_b = owner_in([
            (Some(ENVIRONMENT_TAG), Some("E-api")),
            (Some(OWNER_TAG), Some("ecs-service/E-api-v2")),
        ]);
        assert_eq!(b.claim(old_b.as_deref()), Claim::Legacy);
        assert_eq!(a.claim(old_b.as_deref()), Claim::Foreign);
        assert_eq!(
            display_owner(old_a.as_deref().unwrap()),
            "ecs-service/E-api-v2 (Environment=E, an earlier release's tag)"
        );
        // Both values are looked for by a tag-filtered read.
        assert_eq!(
            a.ec2_filter().values(),
            ["ecs-service/E/api-v2", "ecs-service/E-api-v2"]
        );
        // A family named like its environment kept its old value as it was.
        let fam = Tags::for_instance("task-def", "blog", "blog");
        let old = owner_in([
            (Some(OWNER_TAG), Some("task-def/blog")),
            (Some(ENVIRONMENT_TAG), Some("blog")),
        ]);
        assert_eq!(fam.claim(old.as_deref()), Claim::Legacy);
        // One-per-environment values did not change.
        let vpc = Tags::new("vpc", "blog");
        let found = owner_in([
            (Some(OWNER_TAG), Some("vpc/blog")),
            (Some(ENVIRONMENT_TAG), Some("blog")),
        ]);
        assert_eq!(vpc.claim(found.as_deref()), Claim::Ours);
    }

    #[test]
    fn tag_specification_and_filter() {
        let tags = Tags::new("vpc", "blog");
        let spec = tags.ec2_spec(ResourceType::Subnet, "blog-us-east-1a-public");
        assert_eq!(spec.resource_type(), Some(&ResourceType::Subnet));
        assert_eq!(ec2_name(spec.tags()), Some("blog-us-east-1a-public"));
        assert!(tags.ec2_owned(spec.tags()));
        let filter = tags.ec2_filter();
        assert_eq!(filter.name(), Some("tag:ecs-modules:owner"));
        assert_eq!(filter.values(), ["vpc/blog"]);
    }
}
