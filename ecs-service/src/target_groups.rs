//! `aws_lb_target_group`, with two names: a replacement is made before the old group goes
//! (the listener and the service must move first), so it takes the name not in use.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroupAttribute, TargetTypeEnum,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, ProvideErrorMetadata, Replacement, Resource,
    Transient, Value, Wanted,
};

use crate::inputs::HealthCheck;
use crate::load_balancers::elb_owners;

/// The target group kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct TargetGroupKind;

/// What a target group should be.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetGroupSpec<P: Phase = AtPlan> {
    /// The other name a replacement takes when the group in use has the declared one.
    pub alt_name: String,
    /// The port targets receive traffic on.
    pub port: i32,
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// `ip` or `instance`.
    pub target_type: String,
    /// The VPC.
    pub vpc_id: P::Value<String>,
    /// The health check.
    pub health_check: HealthCheck,
    /// Seconds a draining target keeps its connections.
    pub deregistration_delay: i32,
}

impl Resolve for TargetGroupSpec {
    type Output = TargetGroupSpec<AtApply>;

    fn resolve(&self) -> Result<TargetGroupSpec<AtApply>, Unknown> {
        Ok(TargetGroupSpec {
            alt_name: self.alt_name.clone(),
            port: self.port,
            protocol: self.protocol.clone(),
            target_type: self.target_type.clone(),
            vpc_id: self.vpc_id.resolve("vpc_id")?,
            health_check: self.health_check.clone(),
            deregistration_delay: self.deregistration_delay,
        })
    }
}

/// A target group as ELB has it.
#[derive(Clone, Debug)]
pub struct FoundTargetGroup {
    name: String,
    arn: String,
    port: i32,
    protocol: String,
    target_type: String,
    vpc_id: String,
    health_check: HealthCheck,
    deregistration_delay: i32,
    owner: Option<String>,
}

/// A target group's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetGroupOutputs {
    /// Its ARN.
    pub arn: String,
    /// Its name (the declared one or the other).
    pub name: String,
}

const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";
/// ELB's default deregistration delay.
const DEFAULT_DELAY: i32 = 300;

fn check_line(h: &HealthCheck) -> String {
    format!(
        "{} {} every {}s, timeout {}s, healthy {}, unhealthy {}",
        h.path, h.matcher, h.interval, h.timeout, h.healthy_threshold, h.unhealthy_threshold
    )
}

async fn deregistration_delay(aws: &Aws, arn: &str) -> Result<i32, Error> {
    let out = aws
        .elbv2()
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .context("DescribeTargetGroupAttributes", arn)?;
    Ok(out
        .attributes()
        .iter()
        .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
        .and_then(|a| a.value())
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_DELAY))
}

pub(crate) async fn set_deregistration_delay(
    aws: &Aws,
    arn: &str,
    seconds: i32,
) -> Result<(), Error> {
    aws.elbv2()
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key(DEREGISTRATION_DELAY)
                .value(seconds.to_string())
                .build(),
        )
        .send()
        .await
        .context("ModifyTargetGroupAttributes", arn)?;
    Ok(())
}

async fn create_named(
    cx: Cx<'_>,
    name: &str,
    d: &TargetGroupSpec<AtApply>,
) -> Result<
    String,
    aws_sdk_elasticloadbalancingv2::error::SdkError<
        aws_sdk_elasticloadbalancingv2::operation::create_target_group::CreateTargetGroupError,
    >,
> {
    let check = &d.health_check;
    let out = cx
        .aws
        .elbv2()
        .create_target_group()
        .name(name)
        .port(d.port)
        .protocol(ProtocolEnum::from(d.protocol.as_str()))
        .target_type(TargetTypeEnum::from(d.target_type.as_str()))
        .vpc_id(&d.vpc_id)
        .health_check_path(&check.path)
        .matcher(Matcher::builder().http_code(&check.matcher).build())
        .health_check_interval_seconds(check.interval)
        .health_check_timeout_seconds(check.timeout)
        .healthy_threshold_count(check.healthy_threshold)
        .unhealthy_threshold_count(check.unhealthy_threshold)
        .set_tags(Some(cx.tags.elbv2(cx.name)))
        .send()
        .await?;
    Ok(out
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .unwrap_or_default()
        .to_owned())
}

/// A target group's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetGroupField {
    /// The port targets receive traffic on (fixed).
    Port,
    /// `HTTP` or `HTTPS` (fixed).
    Protocol,
    /// `ip` or `instance` (fixed).
    TargetType,
    /// Its VPC (fixed).
    VpcId,
    /// The health check: path, matcher, interval, timeout, thresholds.
    HealthCheck,
    /// Seconds a deregistered target drains.
    DeregistrationDelay,
}

impl Field for TargetGroupField {
    fn name(&self) -> &str {
        match self {
            TargetGroupField::Port => "port",
            TargetGroupField::Protocol => "protocol",
            TargetGroupField::TargetType => "target_type",
            TargetGroupField::VpcId => "vpc_id",
            TargetGroupField::HealthCheck => "health_check",
            TargetGroupField::DeregistrationDelay => "deregistration_delay",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            TargetGroupField::Port => Some("ELB cannot change a target group's port"),
            TargetGroupField::Protocol => Some("ELB cannot change a target group's protocol"),
            TargetGroupField::TargetType => Some("ELB cannot change a target group's target type"),
            TargetGroupField::VpcId => Some("a target group cannot move to another VPC"),
            TargetGroupField::HealthCheck | TargetGroupField::DeregistrationDelay => None,
        }
    }
}

#[async_trait]
impl Resource for TargetGroupKind {
    const KIND: &'static str = "aws_lb_target_group";
    // A listener or a service still using it holds it a while.
    const IN_USE: Transient = Transient::DEPENDENCY;
    const REPLACEMENT: Replacement = Replacement::CreateFirst;
    const PRUNE: bool = true;
    type Field = TargetGroupField;
    /// The other name.
    type Key = String;
    type Desired = TargetGroupSpec;
    type Observed = FoundTargetGroup;
    type Outputs = TargetGroupOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        vec![
            Grant::new([
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
            ]),
            Grant::new(["elasticloadbalancing:AddTags"]).when(
                "StringEquals",
                "elasticloadbalancing:CreateAction",
                ["CreateTargetGroup"],
            ),
            Grant::new(["elasticloadbalancing:AddTags"]).tagged(),
            Grant::new(["elasticloadbalancing:DeleteTargetGroup"]).owned(),
        ]
    }

    /// One listing (a name filter fails as a whole when one name is missing), the tags of the
    /// ones that answer to a declared name, and each one's deregistration delay.
    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, String>],
    ) -> Result<Vec<FoundTargetGroup>, Error> {
        let mut found = Vec::new();
        let all = converge::paging::drain(
            "DescribeTargetGroups",
            "(all)",
            aws.elbv2().describe_target_groups().into_paginator().send(),
            |page| page.target_groups.unwrap_or_default(),
        )
        .await?;
        for tg in &all {
            let name = tg.target_group_name().unwrap_or_default();
            if !wanted.iter().any(|w| w.name == name || w.key == name) {
                continue;
            }
            found.push(FoundTargetGroup {
                name: name.to_owned(),
                arn: tg.target_group_arn().unwrap_or_default().to_owned(),
                port: tg.port().unwrap_or_default(),
                protocol: tg
                    .protocol()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                target_type: tg
                    .target_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                vpc_id: tg.vpc_id().unwrap_or_default().to_owned(),
                health_check: HealthCheck {
                    path: tg.health_check_path().unwrap_or("/").to_owned(),
                    matcher: tg
                        .matcher()
                        .and_then(|m| m.http_code())
                        .unwrap_or("200")
                        .to_owned(),
                    interval: tg.health_check_interval_seconds().unwrap_or(30),
                    timeout: tg.health_check_timeout_seconds().unwrap_or(5),
                    healthy_threshold: tg.healthy_threshold_count().unwrap_or(5),
                    unhealthy_threshold: tg.unhealthy_threshold_count().unwrap_or(2),
                },
                deregistration_delay: DEFAULT_DELAY,
                owner: None,
            });
        }
        if found.is_empty() {
            return Ok(found);
        }
        let arns: Vec<String> = found.iter().map(|t| t.arn.clone()).collect();
        let owners = elb_owners(aws, &arns).await?;
        let delays =
            futures::future::try_join_all(arns.iter().map(|arn| deregistration_delay(aws, arn)))
                .await?;
        for (tg, delay) in found.iter_mut().zip(delays) {
            tg.owner = owners.get(&tg.arn).cloned();
            tg.deregistration_delay = delay;
        }
        Ok(found)
    }

    fn name<'o>(&self, o: &'o FoundTargetGroup) -> &'o str {
        &o.name
    }

    fn matches(&self, o: &FoundTargetGroup, name: &str, alt: &String) -> bool {
        o.name == name || o.name == *alt
    }

    fn owner<'o>(&self, o: &'o FoundTargetGroup) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundTargetGroup) -> String {
        o.arn.clone()
    }

    fn tag_target(&self, o: &FoundTargetGroup) -> Option<converge::TagTarget> {
        Some(converge::TagTarget::Elbv2(o.arn.clone()))
    }

    fn describe(&self, d: &TargetGroupSpec) -> Vec<Diff> {
        // What a create sets: nothing is replaced, whatever the field.
        let set = |field: TargetGroupField, after: String| Diff {
            field: field.name().into(),
            before: None,
            after: Some(after),
            replaces: None,
        };
        vec![
            set(TargetGroupField::Port, d.port.to_string()),
            set(TargetGroupField::Protocol, d.protocol.clone()),
            set(TargetGroupField::TargetType, d.target_type.clone()),
            set(TargetGroupField::VpcId, d.vpc_id.to_string()),
            set(TargetGroupField::HealthCheck, check_line(&d.health_check)),
            set(
                TargetGroupField::DeregistrationDelay,
                d.deregistration_delay.to_string(),
            ),
        ]
    }

    fn diff(&self, d: &TargetGroupSpec, o: &FoundTargetGroup) -> Delta<TargetGroupField> {
        let mut delta = Delta::new();
        delta.compare(TargetGroupField::Port, &o.port, &Value::Known(d.port));
        delta.compare(
            TargetGroupField::Protocol,
            &o.protocol,
            &Value::Known(d.protocol.clone()),
        );
        delta.compare(
            TargetGroupField::TargetType,
            &o.target_type,
            &Value::Known(d.target_type.clone()),
        );
        delta.compare(TargetGroupField::VpcId, &o.vpc_id, &d.vpc_id);
        delta.compare(
            TargetGroupField::DeregistrationDelay,
            &o.deregistration_delay,
            &Value::Known(d.deregistration_delay),
        );
        delta.compare(
            TargetGroupField::HealthCheck,
            &check_line(&o.health_check),
            &Value::Known(check_line(&d.health_check)),
        );
        delta
    }

    fn outputs(&self, o: &FoundTargetGroup) -> TargetGroupOutputs {
        TargetGroupOutputs {
            arn: o.arn.clone(),
            name: o.name.clone(),
        }
    }

    fn output_id(&self, out: &TargetGroupOutputs) -> Option<String> {
        Some(out.arn.clone())
    }

    /// Takes the declared name, or the other one while the group being replaced holds it.
    async fn create(
        &self,
        cx: Cx<'_>,
        d: &TargetGroupSpec<AtApply>,
    ) -> Result<TargetGroupOutputs, Error> {
        let mut name = cx.name.to_owned();
        let arn = match create_named(cx, &name, d).await {
            Err(err) if err.code() == Some("DuplicateTargetGroupName") => {
                name = d.alt_name.clone();
                create_named(cx, &name, d).await
            }
            other => other,
        }
        .context("CreateTargetGroup", TargetGroupKind::label(&name))?;
        if d.deregistration_delay != DEFAULT_DELAY {
            set_deregistration_delay(cx.aws, &arn, d.deregistration_delay).await?;
        }
        Ok(TargetGroupOutputs { arn, name })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &TargetGroupSpec<AtApply>,
        o: &FoundTargetGroup,
        delta: &Delta<TargetGroupField>,
    ) -> Result<TargetGroupOutputs, Error> {
        let (mut health_check, mut delay) = (false, false);
        for field in delta.fields() {
            match field {
                // Fixed: the engine replaces the group instead.
                TargetGroupField::Port
                | TargetGroupField::Protocol
                | TargetGroupField::TargetType
                | TargetGroupField::VpcId => {}
                TargetGroupField::HealthCheck => health_check = true,
                TargetGroupField::DeregistrationDelay => delay = true,
            }
        }
        if health_check {
            let check = &d.health_check;
            cx.aws
                .elbv2()
                .modify_target_group()
                .target_group_arn(&o.arn)
                .health_check_path(&check.path)
                .matcher(Matcher::builder().http_code(&check.matcher).build())
                .health_check_interval_seconds(check.interval)
                .health_check_timeout_seconds(check.timeout)
                .healthy_threshold_count(check.healthy_threshold)
                .unhealthy_threshold_count(check.unhealthy_threshold)
                .send()
                .await
                .context("ModifyTargetGroup", TargetGroupKind::label(&o.name))?;
        }
        if delay {
            set_deregistration_delay(cx.aws, &o.arn, d.deregistration_delay).await?;
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundTargetGroup) -> Result<(), Error> {
        cx.aws
            .elbv2()
            .delete_target_group()
            .target_group_arn(&o.arn)
            .send()
            .await
            .context("DeleteTargetGroup", TargetGroupKind::label(&o.name))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TargetGroupSpec {
        TargetGroupSpec {
            alt_name: "blog-blog-b".into(),
            port: 80,
            protocol: "HTTP".into(),
            target_type: "ip".into(),
            vpc_id: Value::Known("vpc-1".into()),
            health_check: HealthCheck::default(),
            deregistration_delay: 300,
        }
    }

    #[test]
    fn resolve_names_the_input_still_unknown() {
        let planned = TargetGroupSpec {
            vpc_id: Value::AfterApply,
            ..spec()
        };
        assert_eq!(planned.resolve().unwrap_err().input, "vpc_id");
        let applied = spec().resolve().unwrap();
        assert_eq!(applied.vpc_id, "vpc-1");
        assert_eq!(applied.alt_name, "blog-blog-b");
    }

    fn found(name: &str) -> FoundTargetGroup {
        FoundTargetGroup {
            name: name.into(),
            arn: "arn:tg".into(),
            port: 80,
            protocol: "HTTP".into(),
            target_type: "ip".into(),
            vpc_id: "vpc-1".into(),
            health_check: HealthCheck::default(),
            deregistration_delay: 300,
            owner: None,
        }
    }

    #[test]
    fn fixed_attributes_replace_the_rest_update() {
        assert!(TargetGroupKind
            .diff(&spec(), &found("blog-blog"))
            .is_empty());
        let moved = TargetGroupSpec {
            target_type: "instance".into(),
            ..spec()
        };
        let delta = TargetGroupKind.diff(&moved, &found("blog-blog"));
        assert!(delta.replaces());
        assert_eq!(delta.changes[0].field, TargetGroupField::TargetType);
        assert_eq!(
            delta.diffs()[0].replaces.as_deref(),
            Some("ELB cannot change a target group's target type")
        );
        let new_vpc = TargetGroupSpec {
            vpc_id: Value::AfterApply,
            ..spec()
        };
        assert!(TargetGroupKind
            .diff(&new_vpc, &found("blog-blog"))
            .replaces());
        let slower = TargetGroupSpec {
            deregistration_delay: 30,
            ..spec()
        };
        let delta = TargetGroupKind.diff(&slower, &found("blog-blog"));
        assert!(!delta.replaces());
        assert_eq!(delta.fields(), [TargetGroupField::DeregistrationDelay]);
        assert_eq!(delta.diffs()[0].field, "deregistration_delay");
        // A create's plan shows the fixed fields without a replacement.
        let made = TargetGroupKind.describe(&spec());
        assert_eq!(made[0].field, "port");
        assert!(made.iter().all(|d| d.replaces.is_none()));
    }

    #[test]
    fn either_name_is_the_declared_group() {
        let alt = "blog-blog-b".to_owned();
        assert!(TargetGroupKind.matches(&found("blog-blog"), "blog-blog", &alt));
        assert!(TargetGroupKind.matches(&found("blog-blog-b"), "blog-blog", &alt));
        assert!(!TargetGroupKind.matches(&found("blog-other"), "blog-blog", &alt));
    }
}
