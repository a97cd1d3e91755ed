//! `aws_ecs_cluster`: found by name (cluster names are unique per account and region) with
//! its tags and settings in one `DescribeClusters` for every cluster of a stack.

use async_trait::async_trait;
use aws_sdk_ecs::types::{ClusterField as Include, ClusterSetting, ClusterSettingName};
use serde::{Deserialize, Serialize};

use crate::delta::{Delta, Field};
use crate::plan::Diff;
use crate::resource::{Cx, Resource, Wanted};
use crate::strategy::{strategy_text, StrategyItem};
use crate::{same_set, Aws, AwsResultExt, Error, Said, Transient, Value};

/// The ECS cluster kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterKind;

/// What a cluster should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Container Insights on or off.
    pub container_insights: bool,
    /// Capacity providers the cluster must list (`FARGATE`, `FARGATE_SPOT`); others that
    /// it lists (an instance fleet's) stay.
    pub capacity_providers: Vec<String>,
    /// The default capacity provider strategy; empty leaves the cluster's as it is.
    pub default_strategy: Vec<StrategyItem>,
}

impl crate::phase::KnownAtPlan for ClusterSpec {}

/// An ACTIVE cluster as AWS has it (INACTIVE ones are deleted clusters ECS still lists).
#[derive(Clone, Debug)]
pub struct FoundCluster {
    name: String,
    arn: String,
    /// The `containerInsights` setting's value, when AWS reports one.
    insights: Option<String>,
    providers: Vec<String>,
    strategy: Vec<StrategyItem>,
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

/// CreateCluster's answer while ECS's service-linked role is being made (AWS has no code of
/// its own for it): "Unable to assume the service linked role. Please verify that the ECS
/// service linked role exists."
const NO_SERVICE_LINKED_ROLE: Said = Said::new(
    "InvalidParameterException",
    "Unable to assume the service linked role",
);

/// A first cluster in an account waits for ECS's service-linked role to exist.
const NEW_ACCOUNT: Transient = Transient::messages(&[NO_SERVICE_LINKED_ROLE]);

/// PutClusterCapacityProviders' answer for a provider made a moment ago (no code of its own):
/// "The specified capacity provider <name> is not in an ACTIVE state. Specify a valid capacity
/// provider and try again."
const PROVIDER_NOT_ACTIVE: Said =
    Said::new("InvalidParameterException", "is not in an ACTIVE state");

/// Services and tasks stopped by a destroy just before take a while to go; container
/// instances too, while an instance fleet is being terminated; and a capacity provider
/// detached a moment ago still counts as attached.
const DRAINING: Transient = Transient::codes(&[
    "ClusterContainsServicesException",
    "ClusterContainsTasksException",
    "ClusterContainsContainerInstancesException",
    "ClusterContainsCapacityProviderException",
]);

/// ECS refuses a change while the cluster is still applying the previous one, a provider
/// made a moment ago until it is ACTIVE, and taking one out while a service being deleted
/// still uses it.
const BUSY: Transient = Transient::new(
    &["UpdateInProgressException", "ResourceInUseException"],
    &[PROVIDER_NOT_ACTIVE],
);

/// Sets a cluster's capacity providers and default strategy to what `change` makes of them
/// as they are now, read afresh (others join and leave the list: it is never set from an
/// older read), and only when that differs. `false` when the cluster does not exist (or is
/// not ACTIVE). The one place the list is written, for the cluster kind and for an instance
/// fleet's provider joining it.
pub async fn change_capacity_providers(
    aws: &Aws,
    cluster: &str,
    change: impl Fn(&mut Vec<String>, &mut Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem>),
) -> Result<bool, Error> {
    let out = aws
        .ecs()
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .context("DescribeClusters", ClusterKind::label(cluster))?;
    let Some(now) = out.clusters().iter().find(|c| c.status() == Some("ACTIVE")) else {
        return Ok(false);
    };
    let (mut providers, mut strategy) = (
        now.capacity_providers().to_vec(),
        now.default_capacity_provider_strategy().to_vec(),
    );
    change(&mut providers, &mut strategy);
    if providers == now.capacity_providers() && strategy == now.default_capacity_provider_strategy()
    {
        return Ok(true);
    }
    aws.retry()
        .run(cluster, BUSY, || {
            aws.ecs()
                .put_cluster_capacity_providers()
                .cluster(cluster)
                .set_capacity_providers(Some(providers.clone()))
                .set_default_capacity_provider_strategy(Some(strategy.clone()))
                .send()
        })
        .await
        .context("PutClusterCapacityProviders", ClusterKind::label(cluster))?;
    Ok(true)
}

/// A cluster's fields that a plan can show changed; all change in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterField {
    /// `containerInsights`, `enabled` or `disabled`.
    ContainerInsights,
    /// The capacity providers associated with it.
    CapacityProviders,
    /// Its default capacity provider strategy.
    DefaultStrategy,
}

impl Field for ClusterField {
    fn name(&self) -> &str {
        match self {
            ClusterField::ContainerInsights => "container_insights",
            ClusterField::CapacityProviders => "capacity_providers",
            ClusterField::DefaultStrategy => "default_capacity_provider_strategy",
        }
    }
}

#[async_trait]
impl Resource for ClusterKind {
    const KIND: &'static str = "aws_ecs_cluster";
    // CreateCluster of a name that exists answers with that cluster: repeated whole.
    const TRANSIENT: Transient = NEW_ACCOUNT;
    const IN_USE: Transient = DRAINING;
    type Field = ClusterField;
    type Key = ();
    type Desired = ClusterSpec;
    type Observed = FoundCluster;
    type Outputs = ClusterOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<crate::permissions::Grant> {
        use crate::permissions::{service_linked_role, Grant};
        vec![
            Grant::new([
                "ecs:DescribeClusters",
                "ecs:CreateCluster",
                "ecs:UpdateCluster",
                "ecs:PutClusterCapacityProviders",
            ]),
            Grant::new(["ecs:TagResource"]).when(
                "StringEquals",
                "ecs:CreateAction",
                ["CreateCluster"],
            ),
            Grant::new(["ecs:DeleteCluster"]).owned(),
            service_linked_role("ecs.amazonaws.com"),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundCluster>, Error> {
        let names: Vec<String> = wanted.iter().map(|w| w.name.to_owned()).collect();
        let out = aws
            .ecs()
            .describe_clusters()
            .set_clusters(Some(names.clone()))
            // Without SETTINGS, AWS may leave the settings out of the answer.
            .include(Include::Tags)
            .include(Include::Settings)
            .send()
            .await
            .context("DescribeClusters", ClusterKind::label(&names.join(",")))?;
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
                providers: c.capacity_providers().to_vec(),
                strategy: c
                    .default_capacity_provider_strategy()
                    .iter()
                    .map(StrategyItem::from_sdk)
                    .collect(),
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
        let mut delta = Delta::<Self::Field>::new();
        delta.update(
            ClusterField::ContainerInsights,
            None::<String>,
            Some(insights_value(d.container_insights)),
        );
        if !d.capacity_providers.is_empty() {
            delta.update(
                ClusterField::CapacityProviders,
                None::<String>,
                Some(d.capacity_providers.join(",")),
            );
        }
        if !d.default_strategy.is_empty() {
            delta.update(
                ClusterField::DefaultStrategy,
                None::<String>,
                Some(strategy_text(&d.default_strategy)),
            );
        }
        delta.diffs()
    }

    fn diff(&self, d: &ClusterSpec, o: &FoundCluster) -> Delta<ClusterField> {
        let mut delta = Delta::new();
        // A cluster that reports no setting has Container Insights off.
        let have = o.insights.clone().unwrap_or_else(|| "disabled".into());
        let want = insights_value(d.container_insights).to_owned();
        delta.compare(ClusterField::ContainerInsights, &have, &Value::Known(want));
        let missing: Vec<&String> = d
            .capacity_providers
            .iter()
            .filter(|p| !o.providers.contains(p))
            .collect();
        if !missing.is_empty() {
            let after: Vec<String> = o.providers.iter().chain(missing).cloned().collect();
            delta.update(
                ClusterField::CapacityProviders,
                Some(o.providers.join(",")),
                Some(after.join(",")),
            );
        }
        let text = |items: &[StrategyItem]| -> Vec<String> {
            items.iter().map(ToString::to_string).collect()
        };
        if !d.default_strategy.is_empty()
            && !same_set(&text(&o.strategy), &text(&d.default_strategy))
        {
            delta.update(
                ClusterField::DefaultStrategy,
                Some(strategy_text(&o.strategy)),
                Some(strategy_text(&d.default_strategy)),
            );
        }
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
            .ecs()
            .create_cluster()
            .cluster_name(cx.name)
            .set_tags(Some(cx.tags.ecs(cx.name)))
            .settings(insights_setting(d.container_insights))
            .set_capacity_providers(
                (!d.capacity_providers.is_empty()).then(|| d.capacity_providers.clone()),
            )
            .set_default_capacity_provider_strategy(
                (!d.default_strategy.is_empty())
                    .then(|| d.default_strategy.iter().map(StrategyItem::sdk).collect()),
            )
            .send()
            .await
            .context("CreateCluster", ClusterKind::label(cx.name))?;
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
    /// local emulator implements only the former. The providers are added to the list as
    /// it is at the time (others may have joined since the read), keeping every other one.
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ClusterSpec,
        o: &FoundCluster,
        delta: &Delta<ClusterField>,
    ) -> Result<ClusterOutputs, Error> {
        let aws = cx.aws;
        let (mut settings, mut providers) = (false, false);
        for field in delta.fields() {
            match field {
                ClusterField::ContainerInsights => settings = true,
                ClusterField::CapacityProviders | ClusterField::DefaultStrategy => providers = true,
            }
        }
        if settings {
            aws.ecs()
                .update_cluster()
                .cluster(cx.name)
                .settings(insights_setting(d.container_insights))
                .send()
                .await
                .context("UpdateCluster", ClusterKind::label(cx.name))?;
        }
        if providers {
            change_capacity_providers(aws, &o.arn, |providers, strategy| {
                for p in &d.capacity_providers {
                    if !providers.contains(p) {
                        providers.push(p.clone());
                    }
                }
                if !d.default_strategy.is_empty() {
                    *strategy = d.default_strategy.iter().map(StrategyItem::sdk).collect();
                }
            })
            .await?;
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundCluster) -> Result<(), Error> {
        cx.aws
            .ecs()
            .delete_cluster()
            .cluster(&o.arn)
            .send()
            .await
            .context("DeleteCluster", ClusterKind::label(cx.name))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's messages, in full, that the retries above tell apart by their text.
    #[test]
    fn aws_messages_without_a_code_of_their_own() {
        let err = |code: &str, message: &str| {
            aws_sdk_ecs::Error::from(
                aws_sdk_ecs::operation::create_cluster::CreateClusterError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code(code)
                        .message(message)
                        .build(),
                ),
            )
        };
        let slr = err(
            "InvalidParameterException",
            "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
        );
        assert!(NEW_ACCOUNT.matches(&slr));
        let not_active = err(
            "InvalidParameterException",
            "The specified capacity provider blog-cp is not in an ACTIVE state. Specify a valid capacity provider and try again.",
        );
        assert!(BUSY.matches(&not_active));
        assert!(!NEW_ACCOUNT.matches(&not_active));
        assert!(BUSY.matches(&err(
            "ResourceInUseException",
            "The specified capacity provider is in use and cannot be removed."
        )));
        assert!(DRAINING.matches(&err(
            "ClusterContainsCapacityProviderException",
            "The Cluster cannot be deleted while Cluster Scoped Capacity Providers are attached."
        )));
        assert!(!BUSY.matches(&err(
            "InvalidParameterException",
            "Invalid capacity provider strategy"
        )));
    }

    #[test]
    fn the_diff_is_container_insights() {
        let want = ClusterSpec {
            container_insights: true,
            capacity_providers: Vec::new(),
            default_strategy: Vec::new(),
        };
        assert_eq!(
            ClusterKind.describe(&want)[0].after.as_deref(),
            Some("enabled")
        );
        let found = FoundCluster {
            name: "blog".into(),
            arn: "arn:aws:ecs:us-east-1:123456789012:cluster/blog".into(),
            insights: None,
            providers: vec!["blog-ecs-instances".into()],
            strategy: Vec::new(),
            owner: None,
        };
        let delta = ClusterKind.diff(&want, &found);
        assert_eq!(
            (
                delta.diffs()[0].before.as_deref(),
                delta.diffs()[0].after.as_deref()
            ),
            (Some("disabled"), Some("enabled"))
        );
        let same = FoundCluster {
            insights: Some("enabled".into()),
            ..found
        };
        assert!(ClusterKind.diff(&want, &same).is_empty());
        // Fargate's providers join the instances' provider, which stays.
        let fargate = ClusterSpec {
            capacity_providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
            default_strategy: vec![StrategyItem::new("FARGATE", 1)],
            ..want
        };
        let delta = ClusterKind.diff(&fargate, &same);
        assert_eq!(
            delta.diffs()[0].after.as_deref(),
            Some("blog-ecs-instances,FARGATE,FARGATE_SPOT")
        );
        assert_eq!(delta.diffs()[1].after.as_deref(), Some("FARGATE:1"));
        assert!(!delta.replaces());
        let joined = FoundCluster {
            providers: vec!["FARGATE_SPOT".into(), "x".into(), "FARGATE".into()],
            strategy: vec![StrategyItem::new("FARGATE", 1)],
            ..same
        };
        assert!(ClusterKind.diff(&fargate, &joined).is_empty());
    }
}
