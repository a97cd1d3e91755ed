//! The Auto Scaling group across the subnets, on a pinned launch template version.

use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag};
use converge::{Aws, AwsResultExt, Error, Tags, Wait};

use crate::launch_template::PROFILE_NOT_READY;

/// The plan's name for it.
pub(crate) const KIND: &str = "aws_autoscaling_group";

/// What the group should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Desired {
    pub name: String,
    pub lt_id: String,
    pub version: String,
    pub min: i32,
    pub max: i32,
    pub desired: i32,
    pub subnets: Vec<String>,
}

/// The group as Auto Scaling has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub arn: String,
    pub lt_id: Option<String>,
    pub version: Option<String>,
    pub min: i32,
    pub max: i32,
    pub desired: i32,
    pub subnets: Vec<String>,
}

fn resource(name: &str) -> String {
    format!("{KIND} \"{name}\"")
}

/// Our group `name`; one without our ownership tag is [`Error::NotOwned`] when `strict`, else
/// `None`.
pub(crate) async fn find(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    strict: bool,
) -> Result<Option<Found>, Error> {
    let out = aws
        .autoscaling()
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .context("DescribeAutoScalingGroups", resource(name))?;
    let Some(group) = out
        .auto_scaling_groups()
        .iter()
        .find(|g| g.auto_scaling_group_name() == Some(name))
    else {
        return Ok(None);
    };
    let pairs = group
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
    if !tags.claim(KIND, name, pairs, strict)? {
        return Ok(None);
    }
    let mut subnets: Vec<String> = group
        .vpc_zone_identifier()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    subnets.sort();
    let lt = group.launch_template();
    Ok(Some(Found {
        arn: group
            .auto_scaling_group_arn()
            .unwrap_or_default()
            .to_owned(),
        lt_id: lt.and_then(|l| l.launch_template_id()).map(str::to_owned),
        version: lt.and_then(|l| l.version()).map(str::to_owned),
        min: group.min_size().unwrap_or_default(),
        max: group.max_size().unwrap_or_default(),
        desired: group.desired_capacity().unwrap_or_default(),
        subnets,
    }))
}

impl Desired {
    fn spec(&self) -> LaunchTemplateSpecification {
        LaunchTemplateSpecification::builder()
            .launch_template_id(&self.lt_id)
            .version(&self.version)
            .build()
    }

    fn sorted_subnets(&self) -> Vec<String> {
        let mut s = self.subnets.clone();
        s.sort();
        s
    }

    /// The attributes that differ from what exists, as `(field, before, after)`.
    pub(crate) fn differences(&self, found: &Found) -> Vec<(&'static str, String, String)> {
        let mut diffs = Vec::new();
        let mut check = |field, have: String, want: String| {
            if have != want {
                diffs.push((field, have, want));
            }
        };
        check(
            "launch_template.id",
            found.lt_id.clone().unwrap_or_default(),
            self.lt_id.clone(),
        );
        check(
            "launch_template.version",
            found.version.clone().unwrap_or_default(),
            self.version.clone(),
        );
        check("min_size", found.min.to_string(), self.min.to_string());
        check("max_size", found.max.to_string(), self.max.to_string());
        check(
            "desired_capacity",
            found.desired.to_string(),
            self.desired.to_string(),
        );
        check(
            "vpc_zone_identifier",
            found.subnets.join(","),
            self.sorted_subnets().join(","),
        );
        diffs
    }
}

/// Makes the group with every tag propagated at launch, retrying while the new instance
/// profile is not yet visible to Auto Scaling.
pub(crate) async fn create(aws: &Aws, tags: &Tags, desired: &Desired) -> Result<(), Error> {
    let asg_tags: Vec<Tag> = tags
        .for_resource(&desired.name)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .propagate_at_launch(true)
                .resource_id(&desired.name)
                .resource_type("auto-scaling-group")
                .build()
        })
        .collect();
    aws.retry()
        .run(&desired.name, PROFILE_NOT_READY, || {
            aws.autoscaling()
                .create_auto_scaling_group()
                .auto_scaling_group_name(&desired.name)
                .launch_template(desired.spec())
                .min_size(desired.min)
                .max_size(desired.max)
                .desired_capacity(desired.desired)
                .vpc_zone_identifier(desired.subnets.join(","))
                .set_tags(Some(asg_tags.clone()))
                .send()
        })
        .await
        .context("CreateAutoScalingGroup", resource(&desired.name))?;
    Ok(())
}

/// Moves the group to the desired template version, sizes and subnets in place.
pub(crate) async fn update(aws: &Aws, desired: &Desired) -> Result<(), Error> {
    aws.retry()
        .run(&desired.name, PROFILE_NOT_READY, || {
            aws.autoscaling()
                .update_auto_scaling_group()
                .auto_scaling_group_name(&desired.name)
                .launch_template(desired.spec())
                .min_size(desired.min)
                .max_size(desired.max)
                .desired_capacity(desired.desired)
                .vpc_zone_identifier(desired.subnets.join(","))
                .send()
        })
        .await
        .context("UpdateAutoScalingGroup", resource(&desired.name))?;
    Ok(())
}

/// Starts replacing the instances on the group's launch template version.
pub(crate) async fn refresh(aws: &Aws, name: &str) -> Result<(), Error> {
    aws.autoscaling()
        .start_instance_refresh()
        .auto_scaling_group_name(name)
        .send()
        .await
        .context("StartInstanceRefresh", resource(name))?;
    Ok(())
}

/// Deletes the group and its instances (`ForceDelete`), and waits until it is gone.
pub(crate) async fn delete(aws: &Aws, name: &str, wait: &Wait) -> Result<(), Error> {
    let result = aws
        .autoscaling()
        .delete_auto_scaling_group()
        .auto_scaling_group_name(name)
        .force_delete(true)
        .send()
        .await
        .context("DeleteAutoScalingGroup", resource(name));
    crate::ignore_gone(result)?;
    wait.until(&format!("{} to be deleted", resource(name)), || async {
        let out = aws
            .autoscaling()
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .context("DescribeAutoScalingGroups", resource(name))?;
        Ok(out.auto_scaling_groups().is_empty().then_some(()))
    })
    .await
}
