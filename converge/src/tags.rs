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

/// The tags of one module instance: the same `Environment` and ownership tag on everything it
/// makes, plus a `Name` per resource and any extra tags the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tags {
    environment: String,
    owner: String,
    extra: BTreeMap<String, String>,
}

impl Tags {
    /// The tags of `module` (e.g. `vpc`) in `environment`; the ownership tag's value is
    /// `<module>/<environment>`, so two modules in one environment never claim each other's
    /// resources.
    pub fn new(module: &str, environment: &str) -> Self {
        Self {
            environment: environment.to_owned(),
            owner: format!("{module}/{environment}"),
            extra: BTreeMap::new(),
        }
    }

    /// The tags of one instance of `module` named `instance` (e.g. a task definition family),
    /// in `environment`: the ownership tag's value is `<module>/<instance>`.
    pub fn for_instance(module: &str, environment: &str, instance: &str) -> Self {
        Self {
            environment: environment.to_owned(),
            owner: format!("{module}/{instance}"),
            extra: BTreeMap::new(),
        }
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

    /// Whether tags read back from AWS carry this instance's ownership tag.
    pub fn is_owned<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        tags.into_iter()
            .any(|(k, v)| k == OWNER_TAG && v == self.owner)
    }

    /// Whether a resource found by name is ours. One without our ownership tag is
    /// [`Error::NotOwned`] when `strict` (plan and apply must not adopt it), else `false`
    /// (destroy leaves it alone, and says so in the logs).
    pub fn claim<'a>(
        &self,
        kind: &str,
        id: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
        strict: bool,
    ) -> Result<bool, Error> {
        if self.is_owned(tags) {
            return Ok(true);
        }
        if strict {
            return Err(Error::NotOwned {
                kind: kind.to_owned(),
                id: id.to_owned(),
                owner: self.owner.clone(),
            });
        }
        tracing::warn!(kind, id, "not tagged as ours: left alone");
        Ok(false)
    }

    /// Refuses to touch a resource that lacks this instance's ownership tag.
    pub fn ensure_owned<'a>(
        &self,
        kind: &str,
        id: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), Error> {
        if self.is_owned(tags) {
            Ok(())
        } else {
            Err(Error::NotOwned {
                kind: kind.to_owned(),
                id: id.to_owned(),
                owner: self.owner.clone(),
            })
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

    /// The EC2 filter that finds what this instance owns.
    pub fn ec2_filter(&self) -> Filter {
        Filter::builder()
            .name(format!("tag:{OWNER_TAG}"))
            .values(&self.owner)
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

/// The owners of a kind's declared resources, each once (one per module instance in the
/// stack), for a batched read.
pub fn owners_of<K>(wanted: &[crate::Wanted<'_, K>]) -> Vec<String> {
    let mut owners: Vec<String> = wanted.iter().map(|w| w.tags.owner().to_owned()).collect();
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

/// The ownership tag's value among EC2 tags.
pub fn ec2_owner(tags: &[aws_sdk_ec2::types::Tag]) -> Option<String> {
    ec2_pairs(tags)
        .find(|(k, _)| *k == OWNER_TAG)
        .map(|(_, v)| v.to_owned())
}

/// The ownership tag's value among key/value pairs, in any SDK's shape:
/// `owner_in(resource.tags().iter().map(|t| (t.key(), t.value())))`.
pub fn owner_in<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> Option<String> {
    pairs
        .into_iter()
        .find(|(key, _)| *key == Some(OWNER_TAG))
        .and_then(|(_, value)| value.map(str::to_owned))
}

/// Whether EC2 tags name one of `owners` (the emulator ignores some tag filters).
pub fn ec2_owned_by(tags: &[aws_sdk_ec2::types::Tag], owners: &[String]) -> bool {
    ec2_owner(tags).is_some_and(|o| owners.contains(&o))
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
            "vpc vpc-1 is not tagged ecs-modules:owner=vpc/blog: left untouched"
        );
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
