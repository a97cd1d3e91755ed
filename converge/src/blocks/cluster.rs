//! The ECS cluster: the module's `aws_ecs_cluster`, optionally with Container Insights.
//!
//! Found by name (cluster names are unique per account and region) and claimed only when it
//! carries our ownership tag `ecs-modules:owner=cluster/<environment>`: the tag is scoped to
//! the environment, not to the name, so two environments that ask for the same cluster name
//! get [`Error::NotOwned`] instead of sharing (and later deleting) one cluster.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::kinds::cluster::{ClusterKind, ClusterSpec};
use crate::strategy::{check_strategy, StrategyItem, FARGATE, FARGATE_SPOT};
use crate::{Address, Applied, Aws, Error, Handle, Invalid, Module, Plan, Ref, Refs, Stack, Tags};

pub use crate::kinds::cluster::ClusterOutputs;
/// The module name in the ownership tag's value.
const OWNER_KIND: &str = "cluster";
const MAX_NAME_LEN: usize = 255;

/// An ECS cluster, tagged `Name`, `Environment` and `ecs-modules:owner=cluster/<environment>`.
///
/// Made by [`Cluster::builder`], which checks every input; then [`plan`](Cluster::plan),
/// [`apply`](Cluster::apply) and [`destroy`](Cluster::destroy) it.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = converge::Aws::from_env().await;
/// let cluster = converge::Cluster::builder()
///     .environment("blog")
///     .container_insights(true)
///     .build()?;
/// let out = cluster.apply(&aws).await?;
/// println!("{}", out.cluster_arn);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    environment: String,
    name: String,
    container_insights: bool,
    fargate_providers: bool,
    default_strategy: Vec<StrategyItem>,
    tags: BTreeMap<String, String>,
}

/// Builds a [`Cluster`]; only the environment is required.
#[derive(Clone, Debug, Default)]
pub struct ClusterBuilder {
    environment: Option<String>,
    name: Option<String>,
    container_insights: bool,
    fargate_providers: bool,
    default_strategy: Vec<StrategyItem>,
    tags: BTreeMap<String, String>,
}

impl ClusterBuilder {
    /// Required. The `Environment` tag, the default name and the scope of the ownership tag:
    /// 1 to 32 letters, digits and hyphens, starting with a letter.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The cluster's name (default: the environment): 1 to 255 letters, digits, hyphens and
    /// underscores.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether CloudWatch Container Insights is enabled (default `false`, as the module).
    pub fn container_insights(mut self, enabled: bool) -> Self {
        self.container_insights = enabled;
        self
    }

    /// Lists Fargate's capacity providers, `FARGATE` and `FARGATE_SPOT`, on the cluster
    /// (Terraform's `aws_ecs_cluster_capacity_providers`), so that services can name them in
    /// their strategies. Providers others add (an instance fleet's) stay; turning this off
    /// later leaves the two listed.
    pub fn fargate_capacity_providers(mut self, on: bool) -> Self {
        self.fargate_providers = on;
        self
    }

    /// The strategy of services that give neither a launch type nor a strategy of their
    /// own, over Fargate's providers (which [`fargate_capacity_providers`] lists).
    ///
    /// [`fargate_capacity_providers`]: ClusterBuilder::fargate_capacity_providers
    pub fn default_capacity_provider_strategy(
        mut self,
        strategy: impl IntoIterator<Item = StrategyItem>,
    ) -> Self {
        self.default_strategy = strategy.into_iter().collect();
        self
    }

    /// An extra tag. `Name`, `Environment` and the ownership tag are the module's and are
    /// refused here.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Checks every input and reports every problem at once.
    pub fn build(self) -> Result<Cluster, Invalid> {
        let mut invalid = Invalid::new();
        let environment = self.environment.unwrap_or_default();
        invalid.check_environment(&environment);
        // The default name is the environment, which its own rules already keep valid.
        if let Some(name) = &self.name {
            invalid.check(
                is_cluster_name(name),
                "name",
                format_args!(
                    "{name:?} must be 1 to {MAX_NAME_LEN} letters, digits, hyphens and underscores (ECS cluster name rules)"
                ),
            );
        }
        invalid.check_tags(&self.tags);
        const STRATEGY: &str = "default_capacity_provider_strategy";
        check_strategy(&mut invalid, STRATEGY, &self.default_strategy);
        for (i, item) in self.default_strategy.iter().enumerate() {
            invalid.check(
                item.is_fargate() && self.fargate_providers,
                format!("{STRATEGY}[{i}].capacity_provider"),
                format_args!(
                    "{:?} is not listed on the cluster: the default strategy takes FARGATE and FARGATE_SPOT with fargate_capacity_providers(true)",
                    item.capacity_provider
                ),
            );
        }
        invalid.into_result(())?;
        Ok(Cluster {
            name: self.name.unwrap_or_else(|| environment.clone()),
            environment,
            container_insights: self.container_insights,
            fargate_providers: self.fargate_providers,
            default_strategy: self.default_strategy,
            tags: self.tags,
        })
    }
}

fn is_cluster_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Cluster {
    /// A builder; only the environment is required.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// The environment.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether Container Insights is wanted.
    pub fn container_insights(&self) -> bool {
        self.container_insights
    }

    fn tags(&self) -> Tags {
        Tags::new(OWNER_KIND, &self.environment).with_extra(self.tags.clone())
    }

    fn add_to(&self, stack: &mut Stack) -> Handle<ClusterKind> {
        let spec = ClusterSpec {
            container_insights: self.container_insights,
            capacity_providers: if self.fargate_providers {
                vec![FARGATE.to_owned(), FARGATE_SPOT.to_owned()]
            } else {
                Vec::new()
            },
            default_strategy: self.default_strategy.clone(),
        };
        stack.add(ClusterKind, &self.name, self.tags(), (), move |_| {
            spec.clone()
        })
    }

    /// What [`apply`](Cluster::apply) would change, without changing anything. A cluster of
    /// this name without our ownership tag is an [`Error::NotOwned`] here too, so the plan
    /// never promises what apply would refuse.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes the cluster match the inputs and returns its ARN and name. A second apply makes
    /// no mutating call; a same-named cluster we did not make is never adopted.
    pub async fn apply(&self, aws: &Aws) -> Result<Applied<ClusterOutputs>, Error> {
        Module::apply(self, aws).await
    }

    /// What [`destroy`](Cluster::destroy) would delete: the cluster, when it is ours.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan_destroy(self, aws).await
    }

    /// Deletes the cluster when it carries our ownership tag, retrying while its services and
    /// tasks drain; a cluster already gone is done, and one we did not make is left alone.
    /// Returns what it deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::destroy(self, aws).await
    }
}

#[async_trait]
impl Module for Cluster {
    type Outputs = ClusterOutputs;
    type Refs = ClusterRefs;

    async fn declare(&self, _aws: &Aws, stack: &mut Stack) -> Result<ClusterRefs, Error> {
        let start = stack.len();
        let outputs = self.add_to(stack).output(Clone::clone);
        Ok(ClusterRefs {
            name: self.name.clone(),
            outputs,
            addresses: stack.addresses_from(start),
        })
    }
}

/// A cluster declared into a stack: its name (known from the inputs) and its outputs, for
/// the services and instances declared beside it ([`ClusterRef`] converts it).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClusterRefs {
    /// The cluster's name.
    pub name: String,
    /// Its outputs, known once it exists.
    pub outputs: Ref<ClusterOutputs>,
    /// The cluster's address.
    pub addresses: Vec<Address>,
}

impl Refs for ClusterRefs {
    type Outputs = ClusterOutputs;

    fn outputs(&self) -> Ref<ClusterOutputs> {
        self.outputs.clone()
    }

    fn addresses(&self) -> &[Address] {
        &self.addresses
    }
}

/// An ECS cluster as a service or a fleet of instances takes it: its name, known when the
/// stack is declared, and when it is ready. From a cluster declared in the same stack
/// ([`ClusterRefs`]: what uses it waits until it exists, and goes before it), from one's
/// outputs, or by name (one that exists already).
#[derive(Clone, Debug)]
pub struct ClusterRef {
    name: String,
    ready: Ref<()>,
}

impl ClusterRef {
    /// The cluster's name (or ARN, where ECS takes either).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Known once the cluster exists.
    pub fn ready(&self) -> &Ref<()> {
        &self.ready
    }

    /// The name, known once the cluster exists: an input that waits for it.
    pub fn name_ref(&self) -> Ref<String> {
        let name = self.name.clone();
        self.ready.clone().map(move |()| name.clone())
    }
}

impl From<&ClusterRefs> for ClusterRef {
    fn from(refs: &ClusterRefs) -> Self {
        Self {
            name: refs.name.clone(),
            ready: refs.outputs.clone().map(|_| ()),
        }
    }
}

impl From<ClusterRefs> for ClusterRef {
    fn from(refs: ClusterRefs) -> Self {
        Self::from(&refs)
    }
}

impl From<&ClusterOutputs> for ClusterRef {
    fn from(outputs: &ClusterOutputs) -> Self {
        Self::from(outputs.cluster_name.as_str())
    }
}

impl From<&Applied<ClusterOutputs>> for ClusterRef {
    fn from(applied: &Applied<ClusterOutputs>) -> Self {
        Self::from(&applied.outputs)
    }
}

impl From<&str> for ClusterRef {
    fn from(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ready: Ref::known(()),
        }
    }
}

impl From<String> for ClusterRef {
    fn from(name: String) -> Self {
        Self::from(name.as_str())
    }
}

impl From<&String> for ClusterRef {
    fn from(name: &String) -> Self {
        Self::from(name.as_str())
    }
}

/// Input rules and error handling the three building blocks share.
#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: &Invalid) -> Vec<&str> {
        err.problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn defaults_are_the_modules() {
        let cluster = Cluster::builder().environment("blog").build().unwrap();
        assert_eq!(cluster.name(), "blog");
        assert_eq!(cluster.environment(), "blog");
        assert!(!cluster.container_insights());
        let tags = cluster.tags().for_resource("blog");
        assert_eq!(tags[crate::OWNER_TAG], "cluster/blog");
    }

    #[test]
    fn environment_is_required_and_bounded() {
        assert_eq!(
            fields(&Cluster::builder().build().unwrap_err()),
            ["environment"]
        );
        for bad in ["9blog", "blog-", "blog_1", &"a".repeat(33)] {
            let err = Cluster::builder().environment(bad).build().unwrap_err();
            assert!(err.has("environment"), "{bad}: {err}");
        }
        assert!(Cluster::builder()
            .environment("a".repeat(32))
            .build()
            .is_ok());
    }

    #[test]
    fn name_follows_ecs_rules() {
        for good in ["blog", "Blog_cluster-2", &"a".repeat(255)] {
            assert!(
                Cluster::builder()
                    .environment("blog")
                    .name(good)
                    .build()
                    .is_ok(),
                "{good}"
            );
        }
        for bad in [
            "",
            "blog cluster",
            "blog.cluster",
            "bl/og",
            &"a".repeat(256),
        ] {
            let err = Cluster::builder()
                .environment("blog")
                .name(bad)
                .build()
                .unwrap_err();
            assert_eq!(fields(&err), ["name"], "{bad}");
        }
    }

    #[test]
    fn tags_follow_aws_rules() {
        let err = Cluster::builder()
            .environment("blog")
            .tag("aws:team", "x")
            .tag("Name", "spoof")
            .tag(crate::OWNER_TAG, "cluster/other")
            .tag("", "empty key")
            .tag("Team", "a".repeat(257))
            .tag("bad{key}", "x")
            .tag("Cost", "bad{value}")
            .build()
            .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "tags[\"\"]",
                "tags[\"Cost\"]",
                "tags[\"Name\"]",
                "tags[\"Team\"]",
                "tags[\"aws:team\"]",
                "tags[\"bad{key}\"]",
                "tags[\"ecs-modules:owner\"]",
            ]
        );
        let many = (0..48).fold(Cluster::builder().environment("blog"), |b, i| {
            b.tag(format!("k{i}"), "v")
        });
        assert_eq!(fields(&many.build().unwrap_err()), ["tags"]);
        assert!(Cluster::builder()
            .environment("blog")
            .tag("Team", "platform")
            .tag("cost-center", "a b:c/d=e+f-g@h.i_j")
            .build()
            .is_ok());
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = Cluster::builder()
            .environment("-blog")
            .name("no spaces")
            .tag("aws:x", "y")
            .build()
            .unwrap_err();
        assert_eq!(fields(&err), ["environment", "name", "tags[\"aws:x\"]"]);
        assert!(err.to_string().starts_with("3 invalid inputs:"), "{err}");
    }
}
