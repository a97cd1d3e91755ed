//! `aws_ecs_cluster_capacity_providers`, narrowed to one provider: our capacity provider's
//! place in the cluster's capacity provider list.
//!
//! The cluster is not ours (it belongs to the cluster block or to whoever made it), so this
//! kind never sets the list as a whole: it adds our provider next to the ones already there
//! and, on delete, takes only ours out (of the list and of the default strategy), each time
//! from a fresh read of the cluster, keeping every other provider and the default strategy.
//!
//! It carries no tags of its own. It exists when a cluster lists our provider, whose name is
//! unique to one module instance and which the provider kind claims by its ownership tag, so
//! what it finds is ours.

use async_trait::async_trait;
use converge::kinds::change_capacity_providers;
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Value, Wanted};

pub(crate) const KIND: &str = "aws_ecs_cluster_capacity_providers";

/// The association kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ClusterProvidersKind;

/// Where to look: the cluster's name when the inputs know it, `None` when it comes from
/// another resource of the stack (every cluster is read then).
pub(crate) type ClusterKey = Option<String>;

/// Our provider in the cluster.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ClusterProvidersSpec<P: Phase = AtPlan> {
    pub cluster: P::Value<String>,
    /// The provider's name (known from the inputs).
    pub provider: String,
    /// The provider's ARN: unknown while this apply makes it (anew), and then ECS must let
    /// go of the old one first.
    pub provider_arn: P::Value<String>,
}

impl Resolve for ClusterProvidersSpec {
    type Output = ClusterProvidersSpec<AtApply>;

    fn resolve(&self) -> Result<ClusterProvidersSpec<AtApply>, Unknown> {
        Ok(ClusterProvidersSpec {
            cluster: self.cluster.resolve("cluster")?,
            provider: self.provider.clone(),
            provider_arn: self.provider_arn.resolve("provider_arn")?,
        })
    }
}

/// A cluster that lists our provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FoundAssociation {
    pub cluster: String,
    pub provider: String,
    /// The owner of the provider the cluster lists (see the module docs).
    pub owner: String,
}

/// What the module's outputs use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClusterProvidersOut {
    pub cluster: String,
    pub provider: String,
}

/// An ACTIVE cluster's providers.
struct ClusterState {
    name: String,
    providers: Vec<String>,
}

/// The ACTIVE clusters among `clusters` (names or ARNs), in calls of 100 (the API's limit).
async fn describe(aws: &Aws, clusters: &[String]) -> Result<Vec<ClusterState>, Error> {
    let mut out = Vec::new();
    for chunk in clusters.chunks(100) {
        let found = aws
            .ecs()
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .send()
            .await
            .context(
                "DescribeClusters",
                ClusterProvidersKind::label(&chunk.join(",")),
            )?;
        out.extend(
            found
                .clusters()
                .iter()
                .filter(|c| c.status() == Some("ACTIVE"))
                .map(|c| ClusterState {
                    name: c.cluster_name().unwrap_or_default().to_owned(),
                    providers: c.capacity_providers().to_vec(),
                }),
        );
    }
    Ok(out)
}

/// Every cluster's ARN, for a read whose cluster is known only after apply.
async fn every_cluster(aws: &Aws) -> Result<Vec<String>, Error> {
    converge::paging::drain(
        "ListClusters",
        KIND,
        aws.ecs().list_clusters().into_paginator().send(),
        |page| page.cluster_arns.unwrap_or_default(),
    )
    .await
}

/// The association's fields that a plan can show changed; every one forces a new
/// association.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterProvidersField {
    /// The cluster whose list holds our provider.
    Cluster,
    /// Our provider's name in that list.
    CapacityProviders,
    /// Our provider's ARN, when the provider is made anew.
    CapacityProviderArn,
}

impl Field for ClusterProvidersField {
    fn name(&self) -> &str {
        match self {
            ClusterProvidersField::Cluster => "cluster",
            ClusterProvidersField::CapacityProviders => "capacity_providers",
            ClusterProvidersField::CapacityProviderArn => "capacity_provider_arn",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        Some(match self {
            ClusterProvidersField::Cluster => {
                "our provider's place in another cluster is another association"
            }
            ClusterProvidersField::CapacityProviders => {
                "another capacity provider's place is another association"
            }
            ClusterProvidersField::CapacityProviderArn => {
                "ECS deletes no capacity provider a cluster still lists: the old one leaves first"
            }
        })
    }
}

#[async_trait]
impl Resource for ClusterProvidersKind {
    const KIND: &'static str = KIND;
    // Turned off (tracked, not declared): our provider still leaves the cluster.
    const PRUNE: bool = true;
    type Field = ClusterProvidersField;
    type Key = ClusterKey;
    type Desired = ClusterProvidersSpec;
    type Observed = FoundAssociation;
    type Outputs = ClusterProvidersOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        vec![Grant::new([
            "ecs:DescribeClusters",
            "ecs:ListClusters",
            "ecs:PutClusterCapacityProviders",
        ])]
    }

    /// One `DescribeClusters` of the clusters the inputs name; when one comes from another
    /// resource, every cluster (`ListClusters` first).
    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ClusterKey>],
    ) -> Result<Vec<FoundAssociation>, Error> {
        let mut names: Vec<String> = Vec::new();
        for w in wanted {
            match w.key {
                Some(name) => names.push(name.clone()),
                None => {
                    names = every_cluster(aws).await?;
                    break;
                }
            }
        }
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let clusters = describe(aws, &names).await?;
        Ok(wanted
            .iter()
            .flat_map(|w| {
                clusters
                    .iter()
                    .filter(|c| c.providers.iter().any(|p| p == w.name))
                    .map(|c| FoundAssociation {
                        cluster: c.name.clone(),
                        provider: w.name.to_owned(),
                        owner: w.tags.owner().to_owned(),
                    })
            })
            .collect())
    }

    fn name<'o>(&self, o: &'o FoundAssociation) -> &'o str {
        &o.provider
    }

    fn matches(&self, o: &FoundAssociation, name: &str, key: &ClusterKey) -> bool {
        o.provider == name && key.as_ref().is_none_or(|k| *k == o.cluster)
    }

    fn owner<'o>(&self, o: &'o FoundAssociation) -> Option<&'o str> {
        Some(&o.owner)
    }

    fn id(&self, o: &FoundAssociation) -> String {
        o.cluster.clone()
    }

    fn describe(&self, d: &ClusterProvidersSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(
                ClusterProvidersField::Cluster,
                None::<String>,
                Some(&d.cluster),
            )
            .update(
                ClusterProvidersField::CapacityProviders,
                None::<String>,
                Some(format!("+ {}", d.provider)),
            );
        delta.described()
    }

    /// Another cluster, or a provider made anew, is a new association: ours leaves the old
    /// list first (ECS deletes no provider a cluster still lists).
    fn diff(&self, d: &ClusterProvidersSpec, o: &FoundAssociation) -> Delta<ClusterProvidersField> {
        let mut delta = Delta::new();
        delta
            .compare(ClusterProvidersField::Cluster, &o.cluster, &d.cluster)
            .compare(
                ClusterProvidersField::CapacityProviders,
                &o.provider,
                &Value::Known(d.provider.clone()),
            );
        if !d.provider_arn.is_known() {
            delta.update(
                ClusterProvidersField::CapacityProviderArn,
                None::<String>,
                Some(&d.provider_arn),
            );
        }
        delta
    }

    fn outputs(&self, o: &FoundAssociation) -> ClusterProvidersOut {
        ClusterProvidersOut {
            cluster: o.cluster.clone(),
            provider: o.provider.clone(),
        }
    }

    fn output_id(&self, out: &ClusterProvidersOut) -> Option<String> {
        Some(out.cluster.clone())
    }

    /// Adds ours to the cluster's list as it is now, keeping the others and the default
    /// strategy.
    async fn create(
        &self,
        cx: Cx<'_>,
        d: &ClusterProvidersSpec<AtApply>,
    ) -> Result<ClusterProvidersOut, Error> {
        let cluster = d.cluster.clone();
        let provider = d.provider.clone();
        let exists = change_capacity_providers(cx.aws, &cluster, |providers, _| {
            if !providers.contains(&provider) {
                providers.push(provider.clone());
            }
        })
        .await?;
        if !exists {
            return Err(Error::Failed {
                resource: ClusterProvidersKind::label(&cluster),
                reason: format!("cluster {cluster:?} does not exist (or is not ACTIVE)"),
            });
        }
        Ok(ClusterProvidersOut { cluster, provider })
    }

    /// Nothing changes in place (every attribute is fixed); adding again is harmless.
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ClusterProvidersSpec<AtApply>,
        _o: &FoundAssociation,
        delta: &Delta<ClusterProvidersField>,
    ) -> Result<ClusterProvidersOut, Error> {
        for field in delta.fields() {
            match field {
                // Forces a replacement: never reaches an update.
                ClusterProvidersField::Cluster
                | ClusterProvidersField::CapacityProviders
                | ClusterProvidersField::CapacityProviderArn => {}
            }
        }
        self.create(cx, d).await
    }

    /// Takes ours out of the list and the default strategy, keeping the others. A cluster
    /// already gone has nothing to take out.
    async fn delete(&self, cx: Cx<'_>, o: &FoundAssociation) -> Result<(), Error> {
        change_capacity_providers(cx.aws, &o.cluster, |providers, strategy| {
            providers.retain(|p| *p != o.provider);
            strategy.retain(|s| s.capacity_provider() != o.provider);
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> FoundAssociation {
        FoundAssociation {
            cluster: "blog".into(),
            provider: "blog-ecs-instances".into(),
            owner: "ecs-instances/blog".into(),
        }
    }

    fn spec(cluster: Value<String>, arn: Value<String>) -> ClusterProvidersSpec {
        ClusterProvidersSpec {
            cluster,
            provider: "blog-ecs-instances".into(),
            provider_arn: arn,
        }
    }

    #[test]
    fn another_cluster_or_a_new_provider_replaces_the_association() {
        let known = |s: &str| Value::Known(s.to_owned());
        let kind = ClusterProvidersKind;
        assert!(kind
            .diff(&spec(known("blog"), known("arn:cp")), &found())
            .is_empty());
        let moved = kind.diff(&spec(known("other"), known("arn:cp")), &found());
        assert!(moved.replaces());
        assert_eq!(moved.fields(), [ClusterProvidersField::Cluster]);
        assert_eq!(moved.diffs()[0].field, "cluster");
        assert_eq!(
            moved.changes[0].replaces,
            Some("our provider's place in another cluster is another association")
        );
        // The provider is being replaced: its name is known only after apply.
        let anew = kind.diff(&spec(known("blog"), Value::AfterApply), &found());
        assert!(anew.replaces());
        assert_eq!(anew.fields(), [ClusterProvidersField::CapacityProviderArn]);
        assert_eq!(anew.diffs()[0].field, "capacity_provider_arn");
        assert_eq!(
            anew.diffs()[0].after.as_deref(),
            Some(converge::AFTER_APPLY)
        );
        // A cluster made by this apply is shown as unknown, not as a placeholder.
        let described = kind.describe(&spec(Value::AfterApply, Value::AfterApply));
        assert_eq!(described[0].after.as_deref(), Some(converge::AFTER_APPLY));
        assert_eq!(described[1].after.as_deref(), Some("+ blog-ecs-instances"));
        // A create's attributes replace nothing.
        assert!(described.iter().all(|d| d.replaces.is_none()));
    }

    /// The cluster and the provider's ARN are known at apply, or the one that is not is named.
    #[test]
    fn resolve_names_an_input_still_unknown() {
        let known = |s: &str| Value::Known(s.to_owned());
        let no_cluster = spec(Value::AfterApply, known("arn:cp"));
        assert_eq!(no_cluster.resolve().unwrap_err().input, "cluster");
        let no_arn = spec(known("blog"), Value::AfterApply);
        assert_eq!(no_arn.resolve().unwrap_err().input, "provider_arn");
        let applied = spec(known("blog"), known("arn:cp")).resolve().unwrap();
        assert_eq!(
            (
                applied.cluster.as_str(),
                applied.provider.as_str(),
                applied.provider_arn.as_str()
            ),
            ("blog", "blog-ecs-instances", "arn:cp")
        );
    }

    #[test]
    fn a_known_cluster_narrows_the_match() {
        let kind = ClusterProvidersKind;
        assert!(kind.matches(&found(), "blog-ecs-instances", &None));
        assert!(kind.matches(&found(), "blog-ecs-instances", &Some("blog".into())));
        assert!(!kind.matches(&found(), "blog-ecs-instances", &Some("other".into())));
        assert!(!kind.matches(&found(), "prod-ecs-instances", &None));
    }
}
