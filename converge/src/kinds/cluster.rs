//! `aws_ecs_cluster`: found by name (cluster names are unique per account and region) with
//! its tags and settings in one `DescribeClusters` for every cluster of a stack.

use async_trait::async_trait;
use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName};
use serde::{Deserialize, Serialize};

use crate::plan::Diff;
use crate::resource::{Cx, Delta, Resource, Wanted};
use crate::{Aws, AwsResultExt, Error, Transient, Value};

/// The ECS cluster kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterKind;

/// What a cluster should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Container Insights on or off.
    pub container_insights: bool,
}

/// An ACTIVE cluster as AWS has it (INACTIVE ones are deleted clusters ECS still lists).
#[derive(Clone, Debug)]
pub struct FoundCluster {
    name: String,
    arn: String,
    /// The `containerInsights` setting's value, when AWS reports one.
    insights: Option<String>,
    owner: Option<String>,
}

/// A cluster's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClusterOutputs {
    /// The cluster's ARN.
    pub cluster_arn: String,
    /// The cluster's name.
    pub cluster_name: String,
}

fn resource(name: &str) -> String {
    format!("{} \"{name}\"", ClusterKind::KIND)
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

/// A first cluster in an account waits for ECS's service-linked role to exist.
const NEW_ACCOUNT: Transient = Transient::messages(&["Unable to assume the service linked role"]);

/// Services and tasks stopped by a destroy just before take a while to go; container
/// instances too, while an instance fleet is being terminated; and a capacity provider
/// detached a moment ago still counts as attached.
const DRAINING: Transient = Transient::new(
    &[
        "ClusterContainsServicesException",
        "ClusterContainsTasksException",
        "ClusterContainsContainerInstancesException",
        "ClusterContainsCapacityProviderException",
    ],
    &["Capacity Providers are attached"],
);

#[async_trait]
impl Resource for ClusterKind {
    const KIND: &'static str = "aws_ecs_cluster";
    type Key = ();
    type Desired = ClusterSpec;
    type Observed = FoundCluster;
    type Outputs = ClusterOutputs;

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundCluster>, Error> {
        let names: Vec<String> = wanted.iter().map(|w| w.name.to_owned()).collect();
        let out = aws
            .ecs()
            .describe_clusters()
            .set_clusters(Some(names.clone()))
            // Without SETTINGS, AWS may leave the settings out of the answer.
            .include(ClusterField::Tags)
            .include(ClusterField::Settings)
            .send()
            .await
            .context("DescribeClusters", resource(&names.join(",")))?;
        Ok(out
            .clusters()
            .iter()
            .filter(|c| c.status() == Some("ACTIVE"))
            .map(|c| FoundCluster {
                name: c.cluster_name().unwrap_or_default().to_owned(),
                arn: c.cluster_arn().unwrap_or_default().to_owned(),
                insights: c
                    .settings()
                    .iter()
                    .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
                    .and_then(|s| s.value())
                    .map(str::to_owned),
                owner: crate::owner_in(c.tags().iter().map(|t| (t.key(), t.value()))),
            })
            .collect())
    }

    fn name<'o>(&self, o: &'o FoundCluster) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundCluster) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundCluster) -> String {
        o.arn.clone()
    }

    fn describe(&self, d: &ClusterSpec) -> Vec<Diff> {
        vec![Diff {
            field: "container_insights".into(),
            before: None,
            after: Some(insights_value(d.container_insights).into()),
        }]
    }

    fn diff(&self, d: &ClusterSpec, o: &FoundCluster) -> Delta {
        let mut delta = Delta::new();
        // A cluster that reports no setting has Container Insights off.
        let have = o.insights.clone().unwrap_or_else(|| "disabled".into());
        let want = insights_value(d.container_insights).to_owned();
        delta.compare("container_insights", &have, &Value::Known(want));
        delta
    }

    fn outputs(&self, o: &FoundCluster) -> ClusterOutputs {
        ClusterOutputs {
            cluster_arn: o.arn.clone(),
            cluster_name: o.name.clone(),
        }
    }

    fn output_id(&self, out: &ClusterOutputs) -> Option<String> {
        Some(out.cluster_arn.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &ClusterSpec) -> Result<ClusterOutputs, Error> {
        let aws = cx.aws;
        let out = aws
            .retry()
            .run(cx.name, NEW_ACCOUNT, || {
                aws.ecs()
                    .create_cluster()
                    .cluster_name(cx.name)
                    .set_tags(Some(cx.tags.ecs(cx.name)))
                    .settings(insights_setting(d.container_insights))
                    .send()
            })
            .await
            .context("CreateCluster", resource(cx.name))?;
        Ok(ClusterOutputs {
            cluster_arn: out
                .cluster()
                .and_then(|c| c.cluster_arn())
                .unwrap_or_default()
                .to_owned(),
            cluster_name: cx.name.to_owned(),
        })
    }

    /// `UpdateCluster` rather than `UpdateClusterSettings`: both take the setting, and the
    /// local emulator implements only the former.
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ClusterSpec,
        o: &FoundCluster,
        _delta: &Delta,
    ) -> Result<ClusterOutputs, Error> {
        cx.aws
            .ecs()
            .update_cluster()
            .cluster(cx.name)
            .settings(insights_setting(d.container_insights))
            .send()
            .await
            .context("UpdateCluster", resource(cx.name))?;
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundCluster) -> Result<(), Error> {
        let aws = cx.aws;
        aws.retry()
            .run(&o.arn, DRAINING, || {
                aws.ecs().delete_cluster().cluster(&o.arn).send()
            })
            .await
            .context("DeleteCluster", resource(cx.name))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_is_container_insights() {
        let want = ClusterSpec {
            container_insights: true,
        };
        assert_eq!(
            ClusterKind.describe(&want)[0].after.as_deref(),
            Some("enabled")
        );
        let found = FoundCluster {
            name: "blog".into(),
            arn: "arn:aws:ecs:us-east-1:123456789012:cluster/blog".into(),
            insights: None,
            owner: None,
        };
        let delta = ClusterKind.diff(&want, &found);
        assert_eq!(
            (
                delta.diffs[0].before.as_deref(),
                delta.diffs[0].after.as_deref()
            ),
            (Some("disabled"), Some("enabled"))
        );
        let same = FoundCluster {
            insights: Some("enabled".into()),
            ..found
        };
        assert!(ClusterKind.diff(&want, &same).is_empty());
    }
}
