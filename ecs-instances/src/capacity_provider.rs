//! The optional ECS capacity provider for the Auto Scaling group, with managed scaling, and
//! its place in the cluster's capacity provider list.
//!
//! The cluster is not ours: we only add our provider to its list and take it out again,
//! keeping every other provider and the default strategy as they are.

use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, AutoScalingGroupProviderUpdate, CapacityProviderField,
    CapacityProviderStatus, CapacityProviderStrategyItem, ManagedScaling as SdkManagedScaling,
    ManagedScalingStatus, ManagedTerminationProtection,
};
use converge::{Aws, AwsResultExt, Error, Tags, Wait};
use serde::{Deserialize, Serialize};

/// The plan's name for the provider, as Terraform's.
pub(crate) const KIND: &str = "aws_ecs_capacity_provider";
/// The plan's name for the cluster's provider list, as Terraform's.
pub(crate) const CLUSTER_KIND: &str = "aws_ecs_cluster_capacity_providers";
/// Prefixes ECS keeps for its own capacity providers.
pub(crate) const RESERVED_PREFIXES: [&str; 3] = ["aws", "ecs", "fargate"];

/// Managed scaling for the capacity provider: ECS sizes the Auto Scaling group so that the
/// tasks' reservations are `target_capacity` percent of what the instances offer.
///
/// The defaults are ECS's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedScaling {
    /// Percent of the group's capacity the tasks should use, 1 to 100 (default 100).
    pub target_capacity: u32,
    /// The fewest instances to add or remove at once, 1 to 10000 (default 1).
    pub minimum_scaling_step_size: u32,
    /// The most instances to add or remove at once, 1 to 10000 (default 10000).
    pub maximum_scaling_step_size: u32,
    /// Seconds a new instance takes to count towards the group's metrics, 0 to 10000
    /// (default 300).
    pub instance_warmup_period: u32,
}

impl Default for ManagedScaling {
    fn default() -> Self {
        Self {
            target_capacity: 100,
            minimum_scaling_step_size: 1,
            maximum_scaling_step_size: 10_000,
            instance_warmup_period: 300,
        }
    }
}

impl ManagedScaling {
    /// The attributes as the plan shows them.
    pub(crate) fn fields(&self) -> [(&'static str, String); 4] {
        [
            ("target_capacity", self.target_capacity.to_string()),
            (
                "minimum_scaling_step_size",
                self.minimum_scaling_step_size.to_string(),
            ),
            (
                "maximum_scaling_step_size",
                self.maximum_scaling_step_size.to_string(),
            ),
            (
                "instance_warmup_period",
                self.instance_warmup_period.to_string(),
            ),
        ]
    }

    fn sdk(&self) -> SdkManagedScaling {
        SdkManagedScaling::builder()
            .status(ManagedScalingStatus::Enabled)
            .target_capacity(self.target_capacity as i32)
            .minimum_scaling_step_size(self.minimum_scaling_step_size as i32)
            .maximum_scaling_step_size(self.maximum_scaling_step_size as i32)
            .instance_warmup_period(self.instance_warmup_period as i32)
            .build()
    }

    /// Every rule ECS has for these numbers, reported on `field.<attribute>`.
    pub(crate) fn check(&self, invalid: &mut converge::Invalid, field: &str) {
        invalid.check(
            (1..=100).contains(&self.target_capacity),
            format!("{field}.target_capacity"),
            format_args!("{} must be 1 to 100 (percent)", self.target_capacity),
        );
        for (name, value) in [
            ("minimum_scaling_step_size", self.minimum_scaling_step_size),
            ("maximum_scaling_step_size", self.maximum_scaling_step_size),
        ] {
            invalid.check(
                (1..=10_000).contains(&value),
                format!("{field}.{name}"),
                format_args!("{value} must be 1 to 10000"),
            );
        }
        invalid.check(
            self.minimum_scaling_step_size <= self.maximum_scaling_step_size,
            format!("{field}.minimum_scaling_step_size"),
            format_args!(
                "{} must not exceed maximum_scaling_step_size ({})",
                self.minimum_scaling_step_size, self.maximum_scaling_step_size
            ),
        );
        invalid.check(
            self.instance_warmup_period <= 10_000,
            format!("{field}.instance_warmup_period"),
            format_args!("{} must be 0 to 10000 seconds", self.instance_warmup_period),
        );
    }
}

/// Our capacity provider as ECS has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub arn: String,
    pub asg_arn: String,
    pub scaling: ManagedScaling,
}

/// The cluster's capacity providers and default strategy, which we must send back whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ClusterProviders {
    pub providers: Vec<String>,
    pub strategy: Vec<CapacityProviderStrategyItem>,
}

impl ClusterProviders {
    pub(crate) fn has(&self, name: &str) -> bool {
        self.providers.iter().any(|p| p == name)
    }
}

fn resource(name: &str) -> String {
    format!("{KIND} \"{name}\"")
}

fn cluster_resource(cluster: &str) -> String {
    format!("{CLUSTER_KIND} \"{cluster}\"")
}

/// Our provider `name`, ACTIVE (ECS keeps deleted ones visible as INACTIVE for a while). One
/// without our ownership tag is [`Error::NotOwned`] when `strict`, else `None`.
pub(crate) async fn find(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    strict: bool,
) -> Result<Option<Found>, Error> {
    let out = aws
        .ecs()
        .describe_capacity_providers()
        .capacity_providers(name)
        .include(CapacityProviderField::Tags)
        .send()
        .await
        .context("DescribeCapacityProviders", resource(name))?;
    let Some(provider) = out
        .capacity_providers()
        .iter()
        .find(|p| p.name() == Some(name) && p.status() != Some(&CapacityProviderStatus::Inactive))
    else {
        return Ok(None);
    };
    let pairs = provider
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
    if !tags.claim(KIND, name, pairs, strict)? {
        return Ok(None);
    }
    let asg = provider.auto_scaling_group_provider();
    let scaling = asg.and_then(|a| a.managed_scaling());
    let defaults = ManagedScaling::default();
    let number =
        |v: Option<i32>, default: u32| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(default);
    Ok(Some(Found {
        arn: provider
            .capacity_provider_arn()
            .unwrap_or_default()
            .to_owned(),
        asg_arn: asg
            .map(|a| a.auto_scaling_group_arn().to_owned())
            .unwrap_or_default(),
        scaling: ManagedScaling {
            target_capacity: number(
                scaling.and_then(|s| s.target_capacity()),
                defaults.target_capacity,
            ),
            minimum_scaling_step_size: number(
                scaling.and_then(|s| s.minimum_scaling_step_size()),
                defaults.minimum_scaling_step_size,
            ),
            maximum_scaling_step_size: number(
                scaling.and_then(|s| s.maximum_scaling_step_size()),
                defaults.maximum_scaling_step_size,
            ),
            instance_warmup_period: number(
                scaling.and_then(|s| s.instance_warmup_period()),
                defaults.instance_warmup_period,
            ),
        },
    }))
}

/// The cluster's provider list; a missing cluster has none.
pub(crate) async fn cluster_providers(aws: &Aws, cluster: &str) -> Result<ClusterProviders, Error> {
    let out = aws
        .ecs()
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .context("DescribeClusters", cluster_resource(cluster))?;
    Ok(out
        .clusters()
        .iter()
        .find(|c| c.cluster_name() == Some(cluster) && c.status() == Some("ACTIVE"))
        .map(|c| ClusterProviders {
            providers: c.capacity_providers().to_vec(),
            strategy: c.default_capacity_provider_strategy().to_vec(),
        })
        .unwrap_or_default())
}

/// Makes the provider for the group, tagged in the create call. Returns its ARN.
pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    asg_arn: &str,
    scaling: &ManagedScaling,
) -> Result<String, Error> {
    let provider = AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn(asg_arn)
        .managed_scaling(scaling.sdk())
        // Protection needs scale-in protection on every instance; destroy must be free to go.
        .managed_termination_protection(ManagedTerminationProtection::Disabled)
        .build()
        .map_err(|err| Error::Failed {
            resource: resource(name),
            reason: err.to_string(),
        })?;
    let out = aws
        .ecs()
        .create_capacity_provider()
        .name(name)
        .auto_scaling_group_provider(provider)
        .set_tags(Some(tags.ecs(name)))
        .send()
        .await
        .context("CreateCapacityProvider", resource(name))?;
    Ok(out
        .capacity_provider()
        .and_then(|p| p.capacity_provider_arn())
        .unwrap_or_default()
        .to_owned())
}

/// Sets the provider's managed scaling in place.
pub(crate) async fn update(aws: &Aws, name: &str, scaling: &ManagedScaling) -> Result<(), Error> {
    aws.ecs()
        .update_capacity_provider()
        .name(name)
        .auto_scaling_group_provider(
            AutoScalingGroupProviderUpdate::builder()
                .managed_scaling(scaling.sdk())
                .build(),
        )
        .send()
        .await
        .context("UpdateCapacityProvider", resource(name))?;
    Ok(())
}

/// Adds `name` to the cluster's providers, keeping the others and the default strategy.
pub(crate) async fn attach(
    aws: &Aws,
    cluster: &str,
    current: &ClusterProviders,
    name: &str,
) -> Result<(), Error> {
    let mut providers = current.providers.clone();
    providers.push(name.to_owned());
    put(aws, cluster, providers, current.strategy.clone()).await
}

/// Takes `name` out of the cluster's providers and default strategy, keeping the others.
pub(crate) async fn detach(
    aws: &Aws,
    cluster: &str,
    current: &ClusterProviders,
    name: &str,
) -> Result<(), Error> {
    let providers = current
        .providers
        .iter()
        .filter(|p| *p != name)
        .cloned()
        .collect();
    let strategy = current
        .strategy
        .iter()
        .filter(|s| s.capacity_provider() != name)
        .cloned()
        .collect();
    put(aws, cluster, providers, strategy).await
}

async fn put(
    aws: &Aws,
    cluster: &str,
    providers: Vec<String>,
    strategy: Vec<CapacityProviderStrategyItem>,
) -> Result<(), Error> {
    aws.ecs()
        .put_cluster_capacity_providers()
        .cluster(cluster)
        .set_capacity_providers(Some(providers))
        .set_default_capacity_provider_strategy(Some(strategy))
        .send()
        .await
        .context("PutClusterCapacityProviders", cluster_resource(cluster))?;
    Ok(())
}

/// Deletes the provider and waits until ECS has let it go (INACTIVE or gone), so the group
/// can be deleted after it.
pub(crate) async fn delete(aws: &Aws, tags: &Tags, name: &str, wait: &Wait) -> Result<(), Error> {
    let result = aws
        .ecs()
        .delete_capacity_provider()
        .capacity_provider(name)
        .send()
        .await
        .context("DeleteCapacityProvider", resource(name));
    crate::ignore_gone(result)?;
    wait.until(&format!("{} to be deleted", resource(name)), || async {
        Ok(find(aws, tags, name, false).await?.is_none().then_some(()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_rules_name_the_attribute() {
        let mut invalid = converge::Invalid::new();
        ManagedScaling {
            target_capacity: 0,
            minimum_scaling_step_size: 20,
            maximum_scaling_step_size: 10,
            instance_warmup_period: 10_001,
        }
        .check(&mut invalid, "capacity_provider");
        let fields: Vec<_> = invalid.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "capacity_provider.target_capacity",
                "capacity_provider.minimum_scaling_step_size",
                "capacity_provider.instance_warmup_period"
            ]
        );
        let mut fine = converge::Invalid::new();
        ManagedScaling::default().check(&mut fine, "capacity_provider");
        assert!(fine.problems.is_empty());
    }
}
