//! `aws_appautoscaling_policy`: a target tracking policy on the service's scalable target,
//! one per metric, called `<environment>-<service_name>-<metric>`.
//!
//! Policies carry no tags. The read lists every policy on the service's target, and those
//! whose names start with the service's prefix are ours: the service is, and the prefix is
//! unique to it. A policy no longer wanted (its metric taken out of the inputs) is found that
//! way and deleted.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Transient, Value, Wanted,
};

use crate::autoscaling::TargetTracking;
use crate::scalable_targets::{dimension, ignore_gone, TARGET_NOT_YET};

/// The scaling policy kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScalingPolicyKind;

/// Where a service's policies (and scheduled actions) are, and which of them are ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedKey {
    /// The scalable target's resource id, `service/<cluster>/<service>`.
    pub resource_id: String,
    /// What our names start with, `<environment>-<service_name>-`.
    pub prefix: String,
}

/// What a policy should be.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingPolicySpec<P: Phase = AtPlan> {
    /// The scalable target's resource id (the key's).
    pub resource_id: String,
    /// The metric, target and cooldowns.
    pub policy: TargetTracking,
    /// `app/<lb>/<id>/targetgroup/<tg>/<id>` for requests per target.
    pub resource_label: Option<P::Value<String>>,
}

impl Resolve for ScalingPolicySpec {
    type Output = ScalingPolicySpec<AtApply>;

    fn resolve(&self) -> Result<ScalingPolicySpec<AtApply>, Unknown> {
        Ok(ScalingPolicySpec {
            resource_id: self.resource_id.clone(),
            policy: self.policy.clone(),
            resource_label: match &self.resource_label {
                Some(label) => Some(label.resolve("resource_label")?),
                None => None,
            },
        })
    }
}

/// A policy as Application Auto Scaling has it.
#[derive(Clone, Debug)]
pub struct FoundPolicy {
    name: String,
    resource_id: String,
    arn: String,
    metric_type: String,
    target: f64,
    scale_in_cooldown: Option<i32>,
    scale_out_cooldown: Option<i32>,
    disable_scale_in: bool,
    resource_label: Option<String>,
    owner: Option<String>,
}

/// A policy's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScalingPolicyOutputs {
    /// Its ARN.
    pub arn: String,
}

/// The load balancer's part of the resource label: its ARN after `loadbalancer/`, and the
/// target group's after its account (`targetgroup/<name>/<id>`).
pub fn resource_label(lb_arn: &str, tg_arn: &str) -> String {
    format!(
        "{}/{}",
        load_balancer_dimension(lb_arn),
        target_group_dimension(tg_arn)
    )
}

/// A load balancer's name in CloudWatch's `LoadBalancer` dimension and in resource labels:
/// its ARN after `loadbalancer/` (`app/<name>/<id>`).
pub fn load_balancer_dimension(lb_arn: &str) -> &str {
    lb_arn
        .split_once("loadbalancer/")
        .map_or(lb_arn, |(_, l)| l)
}

/// A target group's name in CloudWatch's `TargetGroup` dimension and in resource labels: its
/// ARN after its account (`targetgroup/<name>/<id>`).
pub fn target_group_dimension(tg_arn: &str) -> &str {
    tg_arn
        .find("targetgroup/")
        .map_or(tg_arn, |at| &tg_arn[at..])
}

/// The policies on each resource id the stack declares some for, one paginated read each.
pub(crate) async fn every_attached<T, F>(
    wanted: &[Wanted<'_, AttachedKey>],
    read_one: impl Fn(String) -> F,
) -> Result<Vec<T>, Error>
where
    F: std::future::Future<Output = Result<Vec<T>, Error>>,
{
    let mut ids: Vec<&str> = wanted.iter().map(|w| w.key.resource_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let reads = futures::future::try_join_all(ids.into_iter().map(|id| read_one(id.to_owned())));
    Ok(reads.await?.into_iter().flatten().collect())
}

/// The owner of `name` on `resource_id`: the declaration whose prefix it carries.
pub(crate) fn owner_of(
    wanted: &[Wanted<'_, AttachedKey>],
    resource_id: &str,
    name: &str,
) -> Option<String> {
    wanted
        .iter()
        .find(|w| w.key.resource_id == resource_id && name.starts_with(&w.key.prefix))
        .map(|w| w.tags.owner().to_owned())
}

async fn read_policies(
    aws: &Aws,
    resource_id: String,
) -> Result<Vec<aws_sdk_applicationautoscaling::types::ScalingPolicy>, Error> {
    let policies = converge::paging::drain(
        "DescribeScalingPolicies",
        ScalingPolicyKind::label(&resource_id),
        (aws.appautoscaling().describe_scaling_policies())
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(dimension())
            .resource_id(&resource_id)
            .into_paginator()
            .send(),
        |page| page.scaling_policies.unwrap_or_default(),
    )
    .await?;
    // Only this id's: the emulator matches ids by substring.
    Ok(policies
        .into_iter()
        .filter(|p| p.resource_id() == resource_id)
        .collect())
}

fn cooldown(v: Option<i32>) -> String {
    v.map_or_else(|| "(default)".to_owned(), |v| v.to_string())
}

/// A scaling policy's fields that a plan can show changed; all change in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingPolicyField {
    /// The metric followed (`ECSServiceAverageCPUUtilization`, ...).
    PredefinedMetricType,
    /// The value to keep it at.
    TargetValue,
    /// Seconds after a scale-in before another.
    ScaleInCooldown,
    /// Seconds after a scale-out before another.
    ScaleOutCooldown,
    /// Whether the policy only ever adds tasks.
    DisableScaleIn,
    /// The load balancer and target group, for requests per target.
    ResourceLabel,
}

impl Field for ScalingPolicyField {
    fn name(&self) -> &str {
        match self {
            ScalingPolicyField::PredefinedMetricType => "predefined_metric_type",
            ScalingPolicyField::TargetValue => "target_value",
            ScalingPolicyField::ScaleInCooldown => "scale_in_cooldown",
            ScalingPolicyField::ScaleOutCooldown => "scale_out_cooldown",
            ScalingPolicyField::DisableScaleIn => "disable_scale_in",
            ScalingPolicyField::ResourceLabel => "resource_label",
        }
    }
}

#[async_trait]
impl Resource for ScalingPolicyKind {
    const KIND: &'static str = "aws_appautoscaling_policy";
    // The scalable target just registered and not yet seen; a put is repeated whole.
    const TRANSIENT: Transient = TARGET_NOT_YET;
    // A metric taken out of the inputs: its policy goes.
    const PRUNE: bool = true;
    type Field = ScalingPolicyField;
    type Key = AttachedKey;
    type Desired = ScalingPolicySpec;
    type Observed = FoundPolicy;
    type Outputs = ScalingPolicyOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        // A target tracking policy's alarms are made and removed as the caller.
        vec![Grant::new([
            "application-autoscaling:DescribeScalingPolicies",
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:DeleteScalingPolicy",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
        ])]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, AttachedKey>],
    ) -> Result<Vec<FoundPolicy>, Error> {
        let reads = every_attached(wanted, |id| read_policies(aws, id)).await?;
        let mut found = Vec::new();
        for p in reads {
            let config = p.target_tracking_scaling_policy_configuration();
            let metric = config.and_then(|c| c.predefined_metric_specification());
            found.push(FoundPolicy {
                owner: owner_of(wanted, p.resource_id(), p.policy_name()),
                name: p.policy_name().to_owned(),
                resource_id: p.resource_id().to_owned(),
                arn: p.policy_arn().to_owned(),
                metric_type: metric
                    .map(|m| m.predefined_metric_type().as_str().to_owned())
                    .unwrap_or_default(),
                target: config.map(|c| c.target_value()).unwrap_or_default(),
                scale_in_cooldown: config.and_then(|c| c.scale_in_cooldown()),
                scale_out_cooldown: config.and_then(|c| c.scale_out_cooldown()),
                disable_scale_in: config.and_then(|c| c.disable_scale_in()) == Some(true),
                resource_label: metric.and_then(|m| m.resource_label()).map(str::to_owned),
            });
        }
        Ok(found)
    }

    fn name<'o>(&self, o: &'o FoundPolicy) -> &'o str {
        &o.name
    }

    fn matches(&self, o: &FoundPolicy, name: &str, key: &AttachedKey) -> bool {
        o.name == name && o.resource_id == key.resource_id
    }

    fn owner<'o>(&self, o: &'o FoundPolicy) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundPolicy) -> String {
        o.arn.clone()
    }

    fn describe(&self, d: &ScalingPolicySpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(
                ScalingPolicyField::PredefinedMetricType,
                None::<String>,
                Some(d.policy.metric.metric_type()),
            )
            .update(
                ScalingPolicyField::TargetValue,
                None::<String>,
                Some(d.policy.target),
            )
            .update(
                ScalingPolicyField::ScaleInCooldown,
                None::<String>,
                Some(d.policy.scale_in_cooldown),
            )
            .update(
                ScalingPolicyField::ScaleOutCooldown,
                None::<String>,
                Some(d.policy.scale_out_cooldown),
            )
            .update(
                ScalingPolicyField::DisableScaleIn,
                None::<String>,
                Some(d.policy.disable_scale_in),
            );
        if let Some(label) = &d.resource_label {
            delta.update(
                ScalingPolicyField::ResourceLabel,
                None::<String>,
                Some(label),
            );
        }
        delta.diffs()
    }

    /// Every attribute changes in place: `PutScalingPolicy` overwrites the policy.
    fn diff(&self, d: &ScalingPolicySpec, o: &FoundPolicy) -> Delta<ScalingPolicyField> {
        let mut delta = Delta::new();
        let p = &d.policy;
        delta.compare(
            ScalingPolicyField::PredefinedMetricType,
            &o.metric_type,
            &Value::Known(p.metric.metric_type().to_owned()),
        );
        if o.target != p.target {
            delta.update(
                ScalingPolicyField::TargetValue,
                Some(o.target),
                Some(p.target),
            );
        }
        for (field, have, want) in [
            (
                ScalingPolicyField::ScaleInCooldown,
                o.scale_in_cooldown,
                p.scale_in_cooldown,
            ),
            (
                ScalingPolicyField::ScaleOutCooldown,
                o.scale_out_cooldown,
                p.scale_out_cooldown,
            ),
        ] {
            if have != Some(want) {
                delta.update(field, Some(cooldown(have)), Some(want));
            }
        }
        delta.compare(
            ScalingPolicyField::DisableScaleIn,
            &o.disable_scale_in,
            &Value::Known(p.disable_scale_in),
        );
        if let Some(label) = &d.resource_label {
            delta.compare(
                ScalingPolicyField::ResourceLabel,
                &o.resource_label.clone().unwrap_or_default(),
                label,
            );
        }
        delta
    }

    fn outputs(&self, o: &FoundPolicy) -> ScalingPolicyOutputs {
        ScalingPolicyOutputs { arn: o.arn.clone() }
    }

    fn output_id(&self, out: &ScalingPolicyOutputs) -> Option<String> {
        Some(out.arn.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &ScalingPolicySpec<AtApply>,
    ) -> Result<ScalingPolicyOutputs, Error> {
        put(cx, d).await
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ScalingPolicySpec<AtApply>,
        _o: &FoundPolicy,
        delta: &Delta<ScalingPolicyField>,
    ) -> Result<ScalingPolicyOutputs, Error> {
        for field in delta.fields() {
            match field {
                // The one `PutScalingPolicy` below overwrites them all.
                ScalingPolicyField::PredefinedMetricType
                | ScalingPolicyField::TargetValue
                | ScalingPolicyField::ScaleInCooldown
                | ScalingPolicyField::ScaleOutCooldown
                | ScalingPolicyField::DisableScaleIn
                | ScalingPolicyField::ResourceLabel => {}
            }
        }
        put(cx, d).await
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundPolicy) -> Result<(), Error> {
        let result = cx
            .aws
            .appautoscaling()
            .delete_scaling_policy()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(dimension())
            .resource_id(&o.resource_id)
            .policy_name(&o.name)
            .send()
            .await
            .context("DeleteScalingPolicy", ScalingPolicyKind::label(&o.name));
        ignore_gone(result)
    }
}

/// Creates or overwrites the policy.
async fn put(cx: Cx<'_>, d: &ScalingPolicySpec<AtApply>) -> Result<ScalingPolicyOutputs, Error> {
    let p = &d.policy;
    let metric = PredefinedMetricSpecification::builder()
        .predefined_metric_type(MetricType::from(p.metric.metric_type()))
        .set_resource_label(d.resource_label.clone());
    let metric = metric.build().map_err(|e| Error::Failed {
        resource: ScalingPolicyKind::label(cx.name),
        reason: e.to_string(),
    })?;
    let config = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(p.target)
        .predefined_metric_specification(metric)
        .scale_in_cooldown(p.scale_in_cooldown)
        .scale_out_cooldown(p.scale_out_cooldown)
        .disable_scale_in(p.disable_scale_in)
        .build()
        .map_err(|e| Error::Failed {
            resource: ScalingPolicyKind::label(cx.name),
            reason: e.to_string(),
        })?;
    let aws = cx.aws;
    let resource_id = d.resource_id.clone();
    let out = aws
        .appautoscaling()
        .put_scaling_policy()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(dimension())
        .resource_id(&resource_id)
        .policy_name(cx.name)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(config)
        .send()
        .await
        .context("PutScalingPolicy", ScalingPolicyKind::label(cx.name))?;
    Ok(ScalingPolicyOutputs {
        arn: out.policy_arn().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscaling::ScalingMetric;

    fn spec() -> ScalingPolicySpec {
        ScalingPolicySpec {
            resource_id: "service/blog/web".into(),
            policy: TargetTracking::new(ScalingMetric::Cpu, 60.0),
            resource_label: None,
        }
    }

    #[test]
    fn arns_split_into_cloudwatch_dimensions_and_the_resource_label() {
        let lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blog/50dc6c495c0c9188";
        let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blog-web/73e2d6bc24d8a067";
        assert_eq!(load_balancer_dimension(lb), "app/blog/50dc6c495c0c9188");
        assert_eq!(
            target_group_dimension(tg),
            "targetgroup/blog-web/73e2d6bc24d8a067"
        );
        assert_eq!(
            resource_label(lb, tg),
            "app/blog/50dc6c495c0c9188/targetgroup/blog-web/73e2d6bc24d8a067"
        );
    }

    #[test]
    fn resolve_names_the_input_still_unknown() {
        let planned = ScalingPolicySpec {
            resource_label: Some(Value::AfterApply),
            ..spec()
        };
        assert_eq!(planned.resolve().unwrap_err().input, "resource_label");
        assert_eq!(spec().resolve().unwrap().resource_label, None);
        let labelled = ScalingPolicySpec {
            resource_label: Some(Value::Known("app/lb/1/targetgroup/tg/2".into())),
            ..spec()
        };
        assert_eq!(
            labelled.resolve().unwrap().resource_label.as_deref(),
            Some("app/lb/1/targetgroup/tg/2")
        );
    }

    fn found() -> FoundPolicy {
        FoundPolicy {
            name: "blog-web-cpu".into(),
            resource_id: "service/blog/web".into(),
            arn: "arn:policy".into(),
            metric_type: "ECSServiceAverageCPUUtilization".into(),
            target: 60.0,
            scale_in_cooldown: Some(300),
            scale_out_cooldown: Some(300),
            disable_scale_in: false,
            resource_label: None,
            owner: None,
        }
    }

    #[test]
    fn every_field_changes_in_place() {
        assert!(ScalingPolicyKind.diff(&spec(), &found()).is_empty());
        let mut policy = TargetTracking::new(ScalingMetric::Memory, 70.0);
        policy.scale_in_cooldown = 60;
        let moved = ScalingPolicySpec { policy, ..spec() };
        let undescribed = FoundPolicy {
            scale_in_cooldown: None,
            ..found()
        };
        let delta = ScalingPolicyKind.diff(&moved, &undescribed);
        assert!(!delta.replaces());
        assert_eq!(
            delta.fields(),
            [
                ScalingPolicyField::PredefinedMetricType,
                ScalingPolicyField::TargetValue,
                ScalingPolicyField::ScaleInCooldown
            ]
        );
        assert_eq!(delta.diffs()[2].field, "scale_in_cooldown");
        assert_eq!(delta.diffs()[2].before.as_deref(), Some("(default)"));
    }
}
