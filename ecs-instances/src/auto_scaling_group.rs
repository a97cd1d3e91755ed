//! `aws_autoscaling_group`: the group across the subnets, on a pinned launch template
//! version. Found by name (group names are unique per account and region), claimed by its
//! ownership tag; every attribute changes in place.

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Progress,
    ProvideErrorMetadata, Resource, Transient, Value, Wait, Wanted,
};

use crate::launch_template::PROFILE_NOT_READY;

/// The plan's name for it.
pub(crate) const KIND: &str = "aws_autoscaling_group";

/// The group kind; `wait` bounds how long a delete waits for the group to be gone.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AutoScalingGroupKind {
    pub wait: Wait,
}

/// What the group should be.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AutoScalingGroupSpec<P: Phase = AtPlan> {
    pub lt_id: P::Value<String>,
    pub version: P::Value<String>,
    pub min: i32,
    pub max: i32,
    pub desired: i32,
    /// Whether the capacity provider's managed scaling owns the desired capacity: `desired`
    /// is then set at create only, and never compared.
    pub desired_managed: bool,
    pub subnets: P::Value<Vec<String>>,
    /// Whether moving to another template version also replaces the running instances.
    pub instance_refresh: bool,
}

impl Resolve for AutoScalingGroupSpec {
    type Output = AutoScalingGroupSpec<AtApply>;

    fn resolve(&self) -> Result<AutoScalingGroupSpec<AtApply>, Unknown> {
        Ok(AutoScalingGroupSpec {
            lt_id: self.lt_id.resolve("lt_id")?,
            version: self.version.resolve("version")?,
            min: self.min,
            max: self.max,
            desired: self.desired,
            desired_managed: self.desired_managed,
            subnets: self.subnets.resolve("subnets")?,
            instance_refresh: self.instance_refresh,
        })
    }
}

/// The group as Auto Scaling has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FoundGroup {
    pub name: String,
    pub arn: String,
    pub owner: Option<String>,
    pub lt_id: String,
    pub version: String,
    pub min: i32,
    pub max: i32,
    pub desired: i32,
    pub subnets: Vec<String>,
}

/// What the capacity provider and the module's outputs use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AutoScalingGroupOut {
    pub name: String,
    pub arn: String,
}

/// The groups called `names`, in one call.
async fn describe(aws: &Aws, names: Vec<String>) -> Result<Vec<FoundGroup>, Error> {
    let groups = converge::paging::drain(
        "DescribeAutoScalingGroups",
        AutoScalingGroupKind::label(&names.join(",")),
        (aws.autoscaling().describe_auto_scaling_groups())
            .set_auto_scaling_group_names(Some(names))
            .into_paginator()
            .send(),
        |page| page.auto_scaling_groups.unwrap_or_default(),
    )
    .await?;
    Ok(groups
        .iter()
        .map(|g| {
            let lt = g.launch_template();
            FoundGroup {
                name: g.auto_scaling_group_name().unwrap_or_default().to_owned(),
                arn: g.auto_scaling_group_arn().unwrap_or_default().to_owned(),
                owner: converge::owner_in(g.tags().iter().map(|t| (t.key(), t.value()))),
                lt_id: lt
                    .and_then(|l| l.launch_template_id())
                    .unwrap_or_default()
                    .to_owned(),
                version: lt.and_then(|l| l.version()).unwrap_or_default().to_owned(),
                min: g.min_size().unwrap_or_default(),
                max: g.max_size().unwrap_or_default(),
                desired: g.desired_capacity().unwrap_or_default(),
                subnets: g
                    .vpc_zone_identifier()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }
        })
        .collect())
}

impl AutoScalingGroupSpec<AtApply> {
    fn template(&self) -> LaunchTemplateSpecification {
        LaunchTemplateSpecification::builder()
            .launch_template_id(&self.lt_id)
            .version(&self.version)
            .build()
    }

    /// The same desired state as a plan has it, every input known: what a create that
    /// adopts a group compares it with.
    fn planned(&self) -> AutoScalingGroupSpec {
        AutoScalingGroupSpec {
            lt_id: Value::Known(self.lt_id.clone()),
            version: Value::Known(self.version.clone()),
            min: self.min,
            max: self.max,
            desired: self.desired,
            desired_managed: self.desired_managed,
            subnets: Value::Known(self.subnets.clone()),
            instance_refresh: self.instance_refresh,
        }
    }
}

/// An Auto Scaling group's fields that a plan can show changed; all change in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoScalingGroupField {
    /// The launch template it launches from.
    LaunchTemplateId,
    /// The template version it is pinned to.
    LaunchTemplateVersion,
    /// Its minimum size.
    MinSize,
    /// Its maximum size.
    MaxSize,
    /// Its desired capacity (not compared while managed scaling owns it).
    DesiredCapacity,
    /// Its subnets, as a set.
    VpcZoneIdentifier,
}

impl Field for AutoScalingGroupField {
    fn name(&self) -> &str {
        match self {
            AutoScalingGroupField::LaunchTemplateId => "launch_template.id",
            AutoScalingGroupField::LaunchTemplateVersion => "launch_template.version",
            AutoScalingGroupField::MinSize => "min_size",
            AutoScalingGroupField::MaxSize => "max_size",
            AutoScalingGroupField::DesiredCapacity => "desired_capacity",
            AutoScalingGroupField::VpcZoneIdentifier => "vpc_zone_identifier",
        }
    }
}

#[async_trait]
impl Resource for AutoScalingGroupKind {
    const KIND: &'static str = KIND;
    // An instance profile just made and not yet usable. The create is repeated whole: a
    // group the first attempt made is AlreadyExists, adopted.
    const TRANSIENT: Transient = PROFILE_NOT_READY;
    type Field = AutoScalingGroupField;
    type Key = ();
    type Desired = AutoScalingGroupSpec;
    type Observed = FoundGroup;
    type Outputs = AutoScalingGroupOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{service_linked_role, Grant};
        // CreateAutoScalingGroup checks that the caller could launch the template itself
        // (ec2:RunInstances, and iam:PassRole of its profile's role: the role kind's).
        vec![
            Grant::new([
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:CreateAutoScalingGroup",
                "autoscaling:UpdateAutoScalingGroup",
                "autoscaling:StartInstanceRefresh",
                "autoscaling:CreateOrUpdateTags",
                "ec2:RunInstances",
            ]),
            Grant::new(["autoscaling:DeleteAutoScalingGroup"]).owned(),
            service_linked_role("autoscaling.amazonaws.com"),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundGroup>, Error> {
        describe(aws, wanted.iter().map(|w| w.name.to_owned()).collect()).await
    }

    fn name<'o>(&self, o: &'o FoundGroup) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundGroup) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundGroup) -> String {
        o.arn.clone()
    }

    fn describe(&self, d: &AutoScalingGroupSpec) -> Vec<Diff> {
        use AutoScalingGroupField as F;
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(F::LaunchTemplateId, None::<String>, Some(&d.lt_id))
            .update(F::LaunchTemplateVersion, None::<String>, Some(&d.version))
            .update(F::MinSize, None::<String>, Some(d.min))
            .update(F::MaxSize, None::<String>, Some(d.max))
            .update(F::DesiredCapacity, None::<String>, Some(d.desired))
            .update(
                F::VpcZoneIdentifier,
                None::<String>,
                Some(d.subnets.as_ref().map(|s| s.join(","))),
            );
        delta.diffs()
    }

    fn diff(&self, d: &AutoScalingGroupSpec, o: &FoundGroup) -> Delta<AutoScalingGroupField> {
        use AutoScalingGroupField as F;
        let mut delta = Delta::new();
        delta
            .compare(F::LaunchTemplateId, &o.lt_id, &d.lt_id)
            .compare(F::LaunchTemplateVersion, &o.version, &d.version)
            .compare(F::MinSize, &o.min, &Value::Known(d.min))
            .compare(F::MaxSize, &o.max, &Value::Known(d.max))
            .compare_set(F::VpcZoneIdentifier, &o.subnets, &d.subnets);
        if !d.desired_managed {
            delta.compare(F::DesiredCapacity, &o.desired, &Value::Known(d.desired));
        }
        delta
    }

    fn outputs(&self, o: &FoundGroup) -> AutoScalingGroupOut {
        AutoScalingGroupOut {
            name: o.name.clone(),
            arn: o.arn.clone(),
        }
    }

    fn output_id(&self, out: &AutoScalingGroupOut) -> Option<String> {
        Some(out.arn.clone())
    }

    /// Makes the group with every tag propagated at launch, retrying while the new instance
    /// profile is not yet visible to Auto Scaling, then reads its ARN back (the create call
    /// does not return it; a read right after can miss the group, so it is retried).
    /// The module's `wait` input.
    fn wait(&self, _: Option<&Self::Desired>) -> Wait {
        self.wait
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &AutoScalingGroupSpec<AtApply>,
    ) -> Result<AutoScalingGroupOut, Error> {
        let aws = cx.aws;
        let template = d.template();
        let subnets = d.subnets.join(",");
        let tags: Vec<Tag> = cx
            .tags
            .for_resource(cx.name)
            .into_iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .propagate_at_launch(true)
                    .resource_id(cx.name)
                    .resource_type("auto-scaling-group")
                    .build()
            })
            .collect();
        let made = aws
            .autoscaling()
            .create_auto_scaling_group()
            .auto_scaling_group_name(cx.name)
            .launch_template(template)
            .min_size(d.min)
            .max_size(d.max)
            .desired_capacity(d.desired)
            .vpc_zone_identifier(&subnets)
            .set_tags(Some(tags))
            .send()
            .await;
        // A read right after a create can miss the group: a run cut off there finds no group
        // and creates it again. One with our ownership tag is that group.
        let existed = match made {
            Err(err) if err.code() == Some("AlreadyExists") => true,
            other => {
                other.context(
                    "CreateAutoScalingGroup",
                    AutoScalingGroupKind::label(cx.name),
                )?;
                false
            }
        };
        // A wait inside the create, not the engine's `ready`: what it reads decides whether
        // the group is adopted and updated, which is part of the create.
        let what = format!("{} to be readable", AutoScalingGroupKind::label(cx.name));
        let found = self
            .wait
            .until(&what, || async {
                Ok(describe(aws, vec![cx.name.to_owned()]).await?.pop())
            })
            .await?;
        if existed {
            if !cx.tags.claim(found.owner.as_deref()).is_ours() {
                return Err(Error::NotOwned {
                    kind: KIND.to_owned(),
                    id: found.arn,
                    owner: cx.tags.owner().to_owned(),
                    found: found.owner,
                });
            }
            tracing::debug!(group = cx.name, "adopting our group a cut-off run made");
            let delta = self.diff(&d.planned(), &found);
            if !delta.is_empty() {
                return self.update(cx, d, &found, &delta).await;
            }
        }
        Ok(self.outputs(&found))
    }

    /// Moves the group to the desired template version, sizes and subnets in one call; with
    /// `instance_refresh`, a new template version also starts replacing the instances.
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &AutoScalingGroupSpec<AtApply>,
        o: &FoundGroup,
        delta: &Delta<AutoScalingGroupField>,
    ) -> Result<AutoScalingGroupOut, Error> {
        use AutoScalingGroupField as F;
        // One UpdateAutoScalingGroup sends every attribute; a template moved may also
        // refresh the instances.
        let (mut group, mut moved) = (false, false);
        for field in delta.fields() {
            match field {
                F::LaunchTemplateId | F::LaunchTemplateVersion => (group, moved) = (true, true),
                F::MinSize | F::MaxSize | F::DesiredCapacity | F::VpcZoneIdentifier => group = true,
            }
        }
        if !group {
            return Ok(self.outputs(o));
        }
        let aws = cx.aws;
        let template = d.template();
        let subnets = d.subnets.join(",");
        aws.autoscaling()
            .update_auto_scaling_group()
            .auto_scaling_group_name(cx.name)
            .launch_template(template)
            .min_size(d.min)
            .max_size(d.max)
            .set_desired_capacity((!d.desired_managed).then_some(d.desired))
            .vpc_zone_identifier(&subnets)
            .send()
            .await
            .context(
                "UpdateAutoScalingGroup",
                AutoScalingGroupKind::label(cx.name),
            )?;
        if d.instance_refresh && moved {
            aws.autoscaling()
                .start_instance_refresh()
                .auto_scaling_group_name(cx.name)
                .send()
                .await
                .context("StartInstanceRefresh", AutoScalingGroupKind::label(cx.name))?;
        }
        Ok(self.outputs(o))
    }

    /// Deletes the group and its instances (`ForceDelete`).
    async fn delete(&self, cx: Cx<'_>, o: &FoundGroup) -> Result<(), Error> {
        let aws = cx.aws;
        let result = aws
            .autoscaling()
            .delete_auto_scaling_group()
            .auto_scaling_group_name(&o.name)
            .force_delete(true)
            .send()
            .await
            .context(
                "DeleteAutoScalingGroup",
                AutoScalingGroupKind::label(&o.name),
            );
        ignore_not_found(result)
    }

    /// Gone, so that the template, the profile and the security group can go after it.
    async fn gone(&self, cx: Cx<'_>, o: &FoundGroup) -> Result<Progress<()>, Error> {
        let left = describe(cx.aws, vec![o.name.clone()]).await?;
        Ok(if left.is_empty() {
            Progress::Done(())
        } else {
            Progress::pending(format!(
                "{} to be deleted",
                AutoScalingGroupKind::label(&o.name)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EC2's and Auto Scaling's messages, in full, for a profile not yet usable.
    #[test]
    fn a_profile_not_yet_usable_is_told_by_its_exact_message() {
        let err = |code: &str, message: &str| {
            aws_sdk_autoscaling::operation::create_auto_scaling_group::CreateAutoScalingGroupError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code(code)
                    .message(message)
                    .build(),
            )
        };
        for (code, message) in [
            ("ValidationError", "You must use a valid fully-formed launch template. Value (blog-instance-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"),
            ("InvalidParameterValue", "Value (blog-instance-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"),
            ("ValidationError", "Invalid IamInstanceProfile: blog-instance-profile"),
        ] {
            assert!(PROFILE_NOT_READY.matches(&err(code, message)), "{message}");
        }
        assert!(!PROFILE_NOT_READY.matches(&err(
            "ValidationError",
            "Max bound, 0, must be greater than or equal to min bound, 1"
        )));
        assert!(
            !PROFILE_NOT_READY.matches(&err("AccessDenied", "Invalid IAM Instance Profile name"))
        );
    }

    fn found() -> FoundGroup {
        FoundGroup {
            name: "blog-ecs-asg".into(),
            arn: "arn:asg".into(),
            owner: Some("ecs-instances/blog".into()),
            lt_id: "lt-1".into(),
            version: "1".into(),
            min: 1,
            max: 2,
            desired: 1,
            subnets: vec!["subnet-b".into(), "subnet-a".into()],
        }
    }

    fn spec() -> AutoScalingGroupSpec {
        AutoScalingGroupSpec {
            lt_id: Value::Known("lt-1".into()),
            version: Value::Known("1".into()),
            min: 1,
            max: 2,
            desired: 1,
            desired_managed: false,
            subnets: Value::Known(vec!["subnet-a".into(), "subnet-b".into()]),
            instance_refresh: false,
        }
    }

    /// Every input from another resource is known at apply, or the one that is not is named;
    /// a create that adopts a group compares it as the plan would.
    #[test]
    fn resolve_names_an_input_still_unknown() {
        let unknown = [
            (
                "lt_id",
                AutoScalingGroupSpec {
                    lt_id: Value::AfterApply,
                    ..spec()
                },
            ),
            (
                "version",
                AutoScalingGroupSpec {
                    version: Value::AfterApply,
                    ..spec()
                },
            ),
            (
                "subnets",
                AutoScalingGroupSpec {
                    subnets: Value::AfterApply,
                    ..spec()
                },
            ),
        ];
        for (input, d) in unknown {
            assert_eq!(d.resolve().unwrap_err().input, input);
        }
        let applied = spec().resolve().unwrap();
        assert_eq!(
            (applied.lt_id.as_str(), applied.version.as_str()),
            ("lt-1", "1")
        );
        assert_eq!(applied.subnets, ["subnet-a", "subnet-b"]);
        assert_eq!(applied.planned(), spec());
    }

    #[test]
    fn everything_changes_in_place_subnets_as_a_set() {
        let kind = AutoScalingGroupKind {
            wait: Wait::default(),
        };
        assert!(kind.diff(&spec(), &found()).is_empty());
        let moved = AutoScalingGroupSpec {
            version: Value::Known("2".into()),
            max: 4,
            ..spec()
        };
        let delta = kind.diff(&moved, &found());
        assert!(!delta.replaces());
        assert_eq!(
            delta.fields(),
            [
                AutoScalingGroupField::LaunchTemplateVersion,
                AutoScalingGroupField::MaxSize
            ]
        );
        let labels: Vec<String> = delta.diffs().into_iter().map(|d| d.field).collect();
        assert_eq!(labels, ["launch_template.version", "max_size"]);
        let later = AutoScalingGroupSpec {
            subnets: Value::AfterApply,
            ..spec()
        };
        let delta = kind.diff(&later, &found());
        assert_eq!(
            delta.diffs()[0].after.as_deref(),
            Some(converge::AFTER_APPLY)
        );
        // Managed scaling moved the group: not drift.
        let scaled = FoundGroup {
            desired: 2,
            ..found()
        };
        assert!(!kind.diff(&spec(), &scaled).is_empty());
        let managed = AutoScalingGroupSpec {
            desired_managed: true,
            ..spec()
        };
        assert!(kind.diff(&managed, &scaled).is_empty());
        let described = kind.describe(&spec());
        assert_eq!(described.len(), 6);
        assert_eq!(described[5].after.as_deref(), Some("subnet-a,subnet-b"));
    }
}
