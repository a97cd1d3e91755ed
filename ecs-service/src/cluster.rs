//! The ECS cluster: the module's `aws_ecs_cluster`, optionally with Container Insights.
//!
//! Found by name (cluster names are unique per account and region) and claimed only when it
//! carries our ownership tag `ecs-modules:owner=cluster/<environment>`: the tag is scoped to
//! the environment, not to the name, so two environments that ask for the same cluster name
//! get [`Error::NotOwned`] instead of sharing (and later deleting) one cluster.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName};
use converge::{Action, Aws, AwsResultExt, Change, Error, Invalid, Plan, Tags, Transient};
use serde::{Deserialize, Serialize};

/// The plan's name for an ECS cluster, as Terraform's.
pub(crate) const KIND: &str = "aws_ecs_cluster";
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
/// let cluster = ecs_service::Cluster::builder()
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
    tags: BTreeMap<String, String>,
}

/// What [`Cluster::apply`] returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterOutputs {
    /// The cluster's ARN.
    pub cluster_arn: String,
    /// The cluster's name.
    pub cluster_name: String,
}

/// Builds a [`Cluster`]; only the environment is required.
#[derive(Clone, Debug, Default)]
pub struct ClusterBuilder {
    environment: Option<String>,
    name: Option<String>,
    container_insights: bool,
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
        invalid.into_result(())?;
        Ok(Cluster {
            name: self.name.unwrap_or_else(|| environment.clone()),
            environment,
            container_insights: self.container_insights,
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

/// An ACTIVE cluster of the wanted name, as AWS has it.
#[derive(Clone, Debug)]
struct Found {
    arn: String,
    /// The `containerInsights` setting's value, when AWS reports one.
    insights: Option<String>,
    tags: Vec<(String, String)>,
}

impl Found {
    fn tag_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn insights_value(enabled: bool) -> &'static str {
    if enabled {
        "enabled"
    } else {
        "disabled"
    }
}

fn insights_setting(enabled: bool) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(insights_value(enabled))
        .build()
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

    fn resource(&self) -> String {
        format!("{KIND} \"{}\"", self.name)
    }

    /// What [`apply`](Cluster::apply) would change, without changing anything. A cluster of
    /// this name without our ownership tag is an [`Error::NotOwned`] here too, so the plan
    /// never promises what apply would refuse.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let found = self.find_owned(aws).await?;
        let mut plan = Plan::new();
        plan.push(self.change(found.as_ref()));
        Ok(plan)
    }

    /// Makes the cluster match the inputs and returns its ARN and name. A second apply makes
    /// no mutating call; a same-named cluster we did not make is never adopted.
    pub async fn apply(&self, aws: &Aws) -> Result<ClusterOutputs, Error> {
        let found = self.find_owned(aws).await?;
        let change = self.change(found.as_ref());
        converge::events::planned([&change]);
        let cluster_arn = match (change.action, found) {
            (Action::Update, Some(found)) => {
                self.update(aws).await?;
                found.arn
            }
            (_, Some(found)) => found.arn,
            (_, None) => self.create(aws).await?,
        };
        Ok(ClusterOutputs {
            cluster_arn,
            cluster_name: self.name.clone(),
        })
    }

    /// What [`destroy`](Cluster::destroy) would delete: the cluster, when it is ours.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let found = self.find(aws).await?;
        Ok(self.deletions(found.as_ref()))
    }

    /// Deletes the cluster when it carries our ownership tag, retrying while its services and
    /// tasks drain; a cluster already gone is done, and one we did not make is left alone.
    /// Returns what it deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let found = self.find(aws).await?;
        let plan = self.deletions(found.as_ref());
        if let Some(found) = found.filter(|_| !plan.is_empty()) {
            self.delete(aws, &found.arn).await?;
            tracing::info!(cluster = %self.name, "cluster deleted");
        }
        Ok(plan)
    }

    fn deletions(&self, found: Option<&Found>) -> Plan {
        let mut plan = Plan::new();
        match found {
            Some(found) if self.tags().is_owned(found.tag_pairs()) => {
                plan.push(Change::new(Action::Delete, KIND, &self.name).id(&found.arn));
            }
            Some(found) => {
                tracing::warn!(cluster = %found.arn, "not tagged as ours: destroy leaves it");
            }
            None => {}
        }
        plan
    }

    fn change(&self, found: Option<&Found>) -> Change {
        let want = insights_value(self.container_insights);
        match found {
            None => Change::new(Action::Create, KIND, &self.name).diff(
                "container_insights",
                None::<String>,
                Some(want),
            ),
            Some(found) => {
                // A cluster that reports no setting has Container Insights off.
                let have = found.insights.as_deref().unwrap_or("disabled");
                let change = Change::new(Action::NoOp, KIND, &self.name).id(&found.arn);
                if have == want {
                    change
                } else {
                    Change {
                        action: Action::Update,
                        ..change
                    }
                    .diff("container_insights", Some(have), Some(want))
                }
            }
        }
    }

    /// The ACTIVE cluster of this name; INACTIVE ones are deleted clusters ECS still lists.
    async fn find(&self, aws: &Aws) -> Result<Option<Found>, Error> {
        let out = aws
            .ecs()
            .describe_clusters()
            .clusters(&self.name)
            // Without SETTINGS, AWS may leave the settings out of the answer.
            .include(ClusterField::Tags)
            .include(ClusterField::Settings)
            .send()
            .await
            .context("DescribeClusters", self.resource())?;
        Ok(out
            .clusters()
            .iter()
            .find(|c| c.cluster_name() == Some(self.name.as_str()) && c.status() == Some("ACTIVE"))
            .map(|c| Found {
                arn: c.cluster_arn().unwrap_or_default().to_owned(),
                insights: c
                    .settings()
                    .iter()
                    .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
                    .and_then(|s| s.value())
                    .map(str::to_owned),
                tags: c
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
            }))
    }

    /// [`find`](Self::find), refusing a cluster that lacks our ownership tag.
    async fn find_owned(&self, aws: &Aws) -> Result<Option<Found>, Error> {
        let found = self.find(aws).await?;
        if let Some(found) = &found {
            self.tags()
                .ensure_owned(KIND, &self.name, found.tag_pairs())?;
        }
        Ok(found)
    }

    /// Creates the cluster, tagged and with its Container Insights setting in the same call.
    async fn create(&self, aws: &Aws) -> Result<String, Error> {
        let out = aws
            .ecs()
            .create_cluster()
            .cluster_name(&self.name)
            .set_tags(Some(self.tags().ecs(&self.name)))
            .settings(insights_setting(self.container_insights))
            .send()
            .await
            .context("CreateCluster", self.resource())?;
        let arn = out
            .cluster()
            .and_then(|c| c.cluster_arn())
            .unwrap_or_default()
            .to_owned();
        tracing::info!(cluster = %arn, "cluster created");
        Ok(arn)
    }

    /// Sets Container Insights. `UpdateCluster` rather than `UpdateClusterSettings`: both take
    /// the setting, and the local emulator implements only the former.
    async fn update(&self, aws: &Aws) -> Result<(), Error> {
        aws.ecs()
            .update_cluster()
            .cluster(&self.name)
            .settings(insights_setting(self.container_insights))
            .send()
            .await
            .context("UpdateCluster", self.resource())?;
        Ok(())
    }

    async fn delete(&self, aws: &Aws, arn: &str) -> Result<(), Error> {
        // Services and tasks stopped by a destroy running just before take a while to go;
        // container instances too, while an instance fleet is being terminated.
        const DRAINING: Transient = Transient::codes(&[
            "ClusterContainsServicesException",
            "ClusterContainsTasksException",
            "ClusterContainsContainerInstancesException",
        ]);
        let result = aws
            .retry()
            .run(arn, DRAINING, || {
                aws.ecs().delete_cluster().cluster(arn).send()
            })
            .await
            .context("DeleteCluster", self.resource());
        converge::ignore_not_found(result)
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
        assert_eq!(tags[converge::OWNER_TAG], "cluster/blog");
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
            .tag(converge::OWNER_TAG, "cluster/other")
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

    #[test]
    fn plan_shows_the_insights_difference() {
        let cluster = Cluster::builder()
            .environment("blog")
            .container_insights(true)
            .build()
            .unwrap();
        let create = cluster.change(None);
        assert_eq!(create.action, Action::Create);
        assert_eq!(create.diffs[0].after.as_deref(), Some("enabled"));
        let found = Found {
            arn: "arn:aws:ecs:us-east-1:123456789012:cluster/blog".into(),
            insights: None,
            tags: vec![],
        };
        let update = cluster.change(Some(&found));
        assert_eq!(update.action, Action::Update);
        assert_eq!(
            (
                update.diffs[0].before.as_deref(),
                update.diffs[0].after.as_deref()
            ),
            (Some("disabled"), Some("enabled"))
        );
        let same = Found {
            insights: Some("enabled".into()),
            ..found
        };
        assert_eq!(cluster.change(Some(&same)).action, Action::NoOp);
    }
}
