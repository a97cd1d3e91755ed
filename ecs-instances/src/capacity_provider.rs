//! `aws_ecs_capacity_provider`: the optional ECS capacity provider for the Auto Scaling
//! group, with managed scaling. Found by name (capacity provider names are unique per account
//! and region) and claimed by its ownership tag.
//!
//! Joining the cluster is a resource of its own
//! ([`cluster_capacity_providers`](crate::cluster_capacity_providers)), so that the cluster,
//! which is not ours, is only ever changed by that one kind.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, AutoScalingGroupProviderUpdate, CapacityProviderField as Include,
    CapacityProviderStatus, ManagedScaling as SdkManagedScaling, ManagedScalingStatus,
    ManagedTerminationProtection,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Value, Wait, Wanted};
use serde::{Deserialize, Serialize};

/// The plan's name for the provider, as Terraform's.
pub(crate) const KIND: &str = "aws_ecs_capacity_provider";
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
    pub(crate) fn fields(&self) -> [(CapacityProviderField, String); 4] {
        use CapacityProviderField as F;
        [
            (F::TargetCapacity, self.target_capacity.to_string()),
            (
                F::MinimumScalingStepSize,
                self.minimum_scaling_step_size.to_string(),
            ),
            (
                F::MaximumScalingStepSize,
                self.maximum_scaling_step_size.to_string(),
            ),
            (
                F::InstanceWarmupPeriod,
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

/// The capacity provider kind; `wait` bounds how long a delete waits for ECS to let it go.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CapacityProviderKind {
    pub wait: Wait,
}

/// What the provider should be.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CapacityProviderSpec<P: Phase = AtPlan> {
    /// The group it scales: fixed (ECS cannot move a provider to another group).
    pub asg_arn: P::Value<String>,
    pub scaling: ManagedScaling,
}

impl Resolve for CapacityProviderSpec {
    type Output = CapacityProviderSpec<AtApply>;

    fn resolve(&self) -> Result<CapacityProviderSpec<AtApply>, Unknown> {
        Ok(CapacityProviderSpec {
            asg_arn: self.asg_arn.resolve("asg_arn")?,
            scaling: self.scaling,
        })
    }
}

/// A provider as ECS has it (ACTIVE or updating; INACTIVE ones are deleted ones ECS still
/// lists for a while).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FoundProvider {
    pub name: String,
    pub arn: String,
    pub owner: Option<String>,
    pub asg_arn: String,
    pub scaling: ManagedScaling,
}

/// What other resources and the module's outputs use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CapacityProviderOut {
    pub name: String,
    pub arn: String,
}

fn found(p: &aws_sdk_ecs::types::CapacityProvider) -> FoundProvider {
    let asg = p.auto_scaling_group_provider();
    let scaling = asg.and_then(|a| a.managed_scaling());
    let defaults = ManagedScaling::default();
    let number =
        |v: Option<i32>, default: u32| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(default);
    FoundProvider {
        name: p.name().unwrap_or_default().to_owned(),
        arn: p.capacity_provider_arn().unwrap_or_default().to_owned(),
        owner: converge::owner_in(p.tags().iter().map(|t| (t.key(), t.value()))),
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
    }
}

/// The providers called `names` that are not deleted, with their tags, in one call.
async fn describe(aws: &Aws, names: Vec<String>) -> Result<Vec<FoundProvider>, Error> {
    // The SDK has no paginator for it; AWS answers ten a page unless asked for more.
    let providers = converge::paging::drain_by_marker(
        "DescribeCapacityProviders",
        CapacityProviderKind::label(&names.join(",")),
        |token| {
            (aws.ecs().describe_capacity_providers())
                .set_capacity_providers(Some(names.clone()))
                .include(Include::Tags)
                .set_next_token(token)
                .send()
        },
        |page| (page.capacity_providers.unwrap_or_default(), page.next_token),
    )
    .await?;
    Ok(providers
        .iter()
        .filter(|p| p.status() != Some(&CapacityProviderStatus::Inactive))
        .map(found)
        .collect())
}

/// A capacity provider's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityProviderField {
    /// The Auto Scaling group it scales; fixed.
    AutoScalingGroupArn,
    /// Managed scaling's target, in percent.
    TargetCapacity,
    /// Managed scaling's fewest instances at once.
    MinimumScalingStepSize,
    /// Managed scaling's most instances at once.
    MaximumScalingStepSize,
    /// Managed scaling's warm-up, in seconds.
    InstanceWarmupPeriod,
}

impl Field for CapacityProviderField {
    fn name(&self) -> &str {
        match self {
            CapacityProviderField::AutoScalingGroupArn => "auto_scaling_group_arn",
            CapacityProviderField::TargetCapacity => "target_capacity",
            CapacityProviderField::MinimumScalingStepSize => "minimum_scaling_step_size",
            CapacityProviderField::MaximumScalingStepSize => "maximum_scaling_step_size",
            CapacityProviderField::InstanceWarmupPeriod => "instance_warmup_period",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            CapacityProviderField::AutoScalingGroupArn => {
                Some("ECS cannot move a capacity provider to another Auto Scaling group")
            }
            CapacityProviderField::TargetCapacity
            | CapacityProviderField::MinimumScalingStepSize
            | CapacityProviderField::MaximumScalingStepSize
            | CapacityProviderField::InstanceWarmupPeriod => None,
        }
    }
}

#[async_trait]
impl Resource for CapacityProviderKind {
    const KIND: &'static str = KIND;
    // A provider turned off (tracked, not declared) still goes.
    const PRUNE: bool = true;
    type Field = CapacityProviderField;
    type Key = ();
    type Desired = CapacityProviderSpec;
    type Observed = FoundProvider;
    type Outputs = CapacityProviderOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        vec![
            Grant::new([
                "ecs:DescribeCapacityProviders",
                "ecs:CreateCapacityProvider",
                "ecs:UpdateCapacityProvider",
            ]),
            Grant::new(["ecs:TagResource"]).when(
                "StringEquals",
                "ecs:CreateAction",
                ["CreateCapacityProvider"],
            ),
            Grant::new(["ecs:DeleteCapacityProvider"]).owned(),
        ]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ()>],
    ) -> Result<Vec<FoundProvider>, Error> {
        describe(aws, wanted.iter().map(|w| w.name.to_owned()).collect()).await
    }

    fn name<'o>(&self, o: &'o FoundProvider) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundProvider) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundProvider) -> String {
        o.arn.clone()
    }

    fn describe(&self, d: &CapacityProviderSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta.update(
            CapacityProviderField::AutoScalingGroupArn,
            None::<String>,
            Some(&d.asg_arn),
        );
        for (field, value) in d.scaling.fields() {
            delta.update(field, None::<String>, Some(value));
        }
        delta.described()
    }

    fn diff(&self, d: &CapacityProviderSpec, o: &FoundProvider) -> Delta<CapacityProviderField> {
        let mut delta = Delta::new();
        delta.compare(
            CapacityProviderField::AutoScalingGroupArn,
            &o.asg_arn,
            &d.asg_arn,
        );
        for ((field, have), (_, want)) in o.scaling.fields().into_iter().zip(d.scaling.fields()) {
            delta.compare(field, &have, &Value::Known(want));
        }
        delta
    }

    fn outputs(&self, o: &FoundProvider) -> CapacityProviderOut {
        CapacityProviderOut {
            name: o.name.clone(),
            arn: o.arn.clone(),
        }
    }

    fn output_id(&self, out: &CapacityProviderOut) -> Option<String> {
        Some(out.arn.clone())
    }

    /// The module's `wait` input.
    fn wait(&self, _: Option<&Self::Desired>) -> Wait {
        self.wait
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &CapacityProviderSpec<AtApply>,
    ) -> Result<CapacityProviderOut, Error> {
        let provider = AutoScalingGroupProvider::builder()
            .auto_scaling_group_arn(&d.asg_arn)
            .managed_scaling(d.scaling.sdk())
            // Protection needs scale-in protection on every instance; destroy must be free
            // to go.
            .managed_termination_protection(ManagedTerminationProtection::Disabled)
            .build()
            .map_err(|err| Error::Failed {
                resource: CapacityProviderKind::label(cx.name),
                reason: err.to_string(),
            })?;
        let out = cx
            .aws
            .ecs()
            .create_capacity_provider()
            .name(cx.name)
            .auto_scaling_group_provider(provider)
            .set_tags(Some(cx.tags.ecs(cx.name)))
            .send()
            .await
            .context(
                "CreateCapacityProvider",
                CapacityProviderKind::label(cx.name),
            )?;
        Ok(CapacityProviderOut {
            name: cx.name.to_owned(),
            arn: out
                .capacity_provider()
                .and_then(|p| p.capacity_provider_arn())
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// Managed scaling is the only attribute that changes in place.
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &CapacityProviderSpec<AtApply>,
        o: &FoundProvider,
        delta: &Delta<CapacityProviderField>,
    ) -> Result<CapacityProviderOut, Error> {
        let mut scaling = false;
        for field in delta.fields() {
            match field {
                // Forces a replacement: never reaches an update.
                CapacityProviderField::AutoScalingGroupArn => {}
                // All four go in one UpdateCapacityProvider.
                CapacityProviderField::TargetCapacity
                | CapacityProviderField::MinimumScalingStepSize
                | CapacityProviderField::MaximumScalingStepSize
                | CapacityProviderField::InstanceWarmupPeriod => scaling = true,
            }
        }
        if !scaling {
            return Ok(self.outputs(o));
        }
        cx.aws
            .ecs()
            .update_capacity_provider()
            .name(cx.name)
            .auto_scaling_group_provider(
                AutoScalingGroupProviderUpdate::builder()
                    .managed_scaling(d.scaling.sdk())
                    .build(),
            )
            .send()
            .await
            .context(
                "UpdateCapacityProvider",
                CapacityProviderKind::label(cx.name),
            )?;
        Ok(self.outputs(o))
    }

    /// Deletes the provider. The executor takes it out of the cluster first: that resource
    /// reads this one.
    async fn delete(&self, cx: Cx<'_>, o: &FoundProvider) -> Result<(), Error> {
        let aws = cx.aws;
        let result = aws
            .ecs()
            .delete_capacity_provider()
            .capacity_provider(&o.name)
            .send()
            .await
            .context(
                "DeleteCapacityProvider",
                CapacityProviderKind::label(&o.name),
            );
        converge::ignore_not_found(result)
    }

    /// ECS has let it go (INACTIVE or gone), so the group can be deleted after it.
    async fn gone(&self, cx: Cx<'_>, o: &FoundProvider) -> Result<converge::Progress<()>, Error> {
        let left = describe(cx.aws, vec![o.name.clone()]).await?;
        Ok(if left.is_empty() {
            converge::Progress::Done(())
        } else {
            converge::Progress::pending(format!(
                "{} to be deleted",
                CapacityProviderKind::label(&o.name)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(target_capacity: u32) -> FoundProvider {
        FoundProvider {
            name: "blog-ecs-instances".into(),
            arn: "arn:aws:ecs:us-east-1:1:capacity-provider/blog-ecs-instances".into(),
            owner: Some("ecs-instances/blog".into()),
            asg_arn: "arn:asg-1".into(),
            scaling: ManagedScaling {
                target_capacity,
                ..ManagedScaling::default()
            },
        }
    }

    #[test]
    fn scaling_changes_in_place_a_new_group_replaces() {
        let want = |asg: Value<String>| CapacityProviderSpec {
            asg_arn: asg,
            scaling: ManagedScaling::default(),
        };
        let kind = CapacityProviderKind {
            wait: Wait::default(),
        };
        assert!(kind
            .diff(&want(Value::Known("arn:asg-1".into())), &found(100))
            .is_empty());
        let scaled = kind.diff(&want(Value::Known("arn:asg-1".into())), &found(80));
        assert!(!scaled.replaces());
        assert_eq!(scaled.fields(), [CapacityProviderField::TargetCapacity]);
        assert_eq!(scaled.diffs()[0].field, "target_capacity");
        assert_eq!(
            (
                scaled.diffs()[0].before.as_deref(),
                scaled.diffs()[0].after.as_deref()
            ),
            (Some("80"), Some("100"))
        );
        // A group made anew (deleted out of band) has a new ARN: ECS cannot move a provider.
        assert!(kind.diff(&want(Value::AfterApply), &found(100)).replaces());
        let moved = kind.diff(&want(Value::Known("arn:asg-2".into())), &found(100));
        assert!(moved.replaces());
        assert_eq!(
            moved.changes[0].field,
            CapacityProviderField::AutoScalingGroupArn
        );
        assert_eq!(
            moved.changes[0].replaces,
            Some("ECS cannot move a capacity provider to another Auto Scaling group")
        );
        let described = kind.describe(&want(Value::AfterApply));
        assert_eq!(described[0].after.as_deref(), Some(converge::AFTER_APPLY));
        // A create's attributes replace nothing.
        assert!(described.iter().all(|d| d.replaces.is_none()));
        assert_eq!(described.len(), 5);
    }

    /// The group's ARN is known at apply, or named as the input still unknown.
    #[test]
    fn resolve_names_an_input_still_unknown() {
        let later = CapacityProviderSpec {
            asg_arn: Value::AfterApply,
            scaling: ManagedScaling::default(),
        };
        assert_eq!(later.resolve().unwrap_err().input, "asg_arn");
        let applied = CapacityProviderSpec {
            asg_arn: Value::Known("arn:asg-1".into()),
            ..later
        }
        .resolve()
        .unwrap();
        assert_eq!(applied.asg_arn, "arn:asg-1");
        assert_eq!(applied.scaling, ManagedScaling::default());
    }

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
