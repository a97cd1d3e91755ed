//! The application load balancer, its target group and its listener.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum, Matcher, ProtocolEnum, TargetGroupAttribute, TargetTypeEnum,
};
use converge::{Aws, AwsResultExt, Error, ProvideErrorMetadata, Tags, Transient, Wait};

use crate::inputs::{HealthCheck, ListenerProtocol};

pub(crate) const LB_KIND: &str = "aws_lb";
pub(crate) const TG_KIND: &str = "aws_lb_target_group";
pub(crate) const LISTENER_KIND: &str = "aws_lb_listener";

/// A load balancer of ours.
#[derive(Clone, Debug)]
pub(crate) struct FoundLb {
    pub arn: String,
    pub dns_name: String,
    pub zone_id: String,
    pub internal: bool,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

/// A target group of ours.
#[derive(Clone, Debug)]
pub(crate) struct FoundTg {
    pub arn: String,
    pub name: String,
    pub port: i32,
    pub protocol: String,
    pub target_type: String,
    pub vpc_id: String,
    pub health_check: HealthCheck,
    pub deregistration_delay: i32,
}

/// A listener on our load balancer.
#[derive(Clone, Debug)]
pub(crate) struct FoundListener {
    pub arn: String,
    pub port: i32,
    pub protocol: String,
    pub target_group_arn: Option<String>,
    pub certificate_arn: Option<String>,
}

fn protocol(p: ListenerProtocol) -> ProtocolEnum {
    match p {
        ListenerProtocol::Http => ProtocolEnum::Http,
        ListenerProtocol::Https => ProtocolEnum::Https,
    }
}

/// Refuses a load balancer or target group whose ELBv2 tags lack our ownership tag.
async fn ensure_owned(aws: &Aws, tags: &Tags, kind: &str, arn: &str) -> Result<(), Error> {
    let out = aws
        .elbv2()
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .context("DescribeTags", arn)?;
    let pairs = out
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
    tags.ensure_owned(kind, arn, pairs)
}

/// The load balancer named `name`, when it exists; an error when it is not ours.
pub(crate) async fn find_lb(aws: &Aws, tags: &Tags, name: &str) -> Result<Option<FoundLb>, Error> {
    let out = aws
        .elbv2()
        .describe_load_balancers()
        .names(name)
        .send()
        .await;
    let out = match out {
        Err(err) if err.code() == Some("LoadBalancerNotFound") => return Ok(None),
        other => other.context("DescribeLoadBalancers", name)?,
    };
    let Some(lb) = out.load_balancers().first() else {
        return Ok(None);
    };
    let arn = lb.load_balancer_arn().unwrap_or_default().to_owned();
    ensure_owned(aws, tags, LB_KIND, &arn).await?;
    Ok(Some(FoundLb {
        dns_name: lb.dns_name().unwrap_or_default().to_owned(),
        zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_owned(),
        internal: lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal),
        subnets: lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_owned))
            .collect(),
        security_groups: lb.security_groups().to_vec(),
        arn,
    }))
}

pub(crate) async fn create_lb(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    internal: bool,
    subnets: &[String],
    security_groups: &[String],
) -> Result<FoundLb, Error> {
    let out = aws
        .elbv2()
        .create_load_balancer()
        .name(name)
        .r#type(LoadBalancerTypeEnum::Application)
        .scheme(if internal {
            LoadBalancerSchemeEnum::Internal
        } else {
            LoadBalancerSchemeEnum::InternetFacing
        })
        .set_subnets(Some(subnets.to_vec()))
        .set_security_groups(Some(security_groups.to_vec()))
        .set_tags(Some(tags.elbv2(name)))
        .send()
        .await
        .context("CreateLoadBalancer", format_args!("{LB_KIND} \"{name}\""))?;
    let lb = out.load_balancers().first();
    Ok(FoundLb {
        arn: lb
            .and_then(|l| l.load_balancer_arn())
            .unwrap_or_default()
            .to_owned(),
        dns_name: lb.and_then(|l| l.dns_name()).unwrap_or_default().to_owned(),
        zone_id: lb
            .and_then(|l| l.canonical_hosted_zone_id())
            .unwrap_or_default()
            .to_owned(),
        internal,
        subnets: subnets.to_vec(),
        security_groups: security_groups.to_vec(),
    })
}

/// Moves the load balancer to these subnets and security groups (both change in place).
pub(crate) async fn update_lb(
    aws: &Aws,
    lb: &FoundLb,
    subnets: Option<&[String]>,
    security_groups: Option<&[String]>,
) -> Result<(), Error> {
    if let Some(subnets) = subnets {
        aws.elbv2()
            .set_subnets()
            .load_balancer_arn(&lb.arn)
            .set_subnets(Some(subnets.to_vec()))
            .send()
            .await
            .context("SetSubnets", &lb.arn)?;
    }
    if let Some(groups) = security_groups {
        aws.elbv2()
            .set_security_groups()
            .load_balancer_arn(&lb.arn)
            .set_security_groups(Some(groups.to_vec()))
            .send()
            .await
            .context("SetSecurityGroups", &lb.arn)?;
    }
    Ok(())
}

pub(crate) async fn wait_active(aws: &Aws, wait: &Wait, arn: &str) -> Result<(), Error> {
    wait.until(&format!("load balancer {arn} to be active"), || async {
        let out = aws
            .elbv2()
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .context("DescribeLoadBalancers", arn)?;
        let state = out
            .load_balancers()
            .first()
            .and_then(|l| l.state())
            .and_then(|s| s.code().cloned());
        match state {
            Some(LoadBalancerStateEnum::Active) => Ok(Some(())),
            Some(LoadBalancerStateEnum::Failed) => Err(Error::Failed {
                resource: format!("{LB_KIND} {arn}"),
                reason: "state failed".to_owned(),
            }),
            _ => Ok(None),
        }
    })
    .await
}

/// Deletes the load balancer and waits until it is gone, so its network interfaces release
/// the security groups and subnets.
pub(crate) async fn delete_lb(aws: &Aws, wait: &Wait, arn: &str) -> Result<(), Error> {
    aws.elbv2()
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .context("DeleteLoadBalancer", arn)?;
    wait.until(&format!("load balancer {arn} to be deleted"), || async {
        let out = aws
            .elbv2()
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await;
        match out {
            Err(err) if err.code() == Some("LoadBalancerNotFound") => Ok(Some(())),
            Err(err) => Err(err).context("DescribeLoadBalancers", arn),
            Ok(out) => Ok(out.load_balancers().is_empty().then_some(())),
        }
    })
    .await
}

pub(crate) async fn find_tg(aws: &Aws, tags: &Tags, name: &str) -> Result<Option<FoundTg>, Error> {
    let out = aws
        .elbv2()
        .describe_target_groups()
        .names(name)
        .send()
        .await;
    let out = match out {
        Err(err) if err.code() == Some("TargetGroupNotFound") => return Ok(None),
        other => other.context("DescribeTargetGroups", name)?,
    };
    let Some(tg) = out.target_groups().first() else {
        return Ok(None);
    };
    let arn = tg.target_group_arn().unwrap_or_default().to_owned();
    ensure_owned(aws, tags, TG_KIND, &arn).await?;
    let deregistration_delay = deregistration_delay(aws, &arn).await?;
    Ok(Some(FoundTg {
        deregistration_delay,
        name: name.to_owned(),
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
        arn,
    }))
}

/// The deregistration delay of a target group, in seconds.
pub(crate) async fn deregistration_delay(aws: &Aws, arn: &str) -> Result<i32, Error> {
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
        .unwrap_or(300))
}

const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

#[allow(clippy::too_many_arguments)]
pub(crate) async fn create_tg(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    port: i32,
    tg_protocol: ListenerProtocol,
    target_type: &str,
    vpc_id: &str,
    check: &HealthCheck,
) -> Result<String, Error> {
    let out = aws
        .elbv2()
        .create_target_group()
        .name(name)
        .port(port)
        .protocol(protocol(tg_protocol))
        .target_type(TargetTypeEnum::from(target_type))
        .vpc_id(vpc_id)
        .health_check_path(&check.path)
        .matcher(Matcher::builder().http_code(&check.matcher).build())
        .health_check_interval_seconds(check.interval)
        .health_check_timeout_seconds(check.timeout)
        .healthy_threshold_count(check.healthy_threshold)
        .unhealthy_threshold_count(check.unhealthy_threshold)
        .set_tags(Some(tags.elbv2(name)))
        .send()
        .await
        .context("CreateTargetGroup", format_args!("{TG_KIND} \"{name}\""))?;
    Ok(out
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .unwrap_or_default()
        .to_owned())
}

/// Changes the health check in place.
pub(crate) async fn update_health_check(
    aws: &Aws,
    arn: &str,
    check: &HealthCheck,
) -> Result<(), Error> {
    aws.elbv2()
        .modify_target_group()
        .target_group_arn(arn)
        .health_check_path(&check.path)
        .matcher(Matcher::builder().http_code(&check.matcher).build())
        .health_check_interval_seconds(check.interval)
        .health_check_timeout_seconds(check.timeout)
        .healthy_threshold_count(check.healthy_threshold)
        .unhealthy_threshold_count(check.unhealthy_threshold)
        .send()
        .await
        .context("ModifyTargetGroup", arn)?;
    Ok(())
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

/// Deletes a target group, retrying while a listener or service still uses it.
pub(crate) async fn delete_tg(aws: &Aws, arn: &str) -> Result<(), Error> {
    let result = aws
        .retry()
        .run(arn, Transient::DEPENDENCY, || {
            aws.elbv2()
                .delete_target_group()
                .target_group_arn(arn)
                .send()
        })
        .await
        .context("DeleteTargetGroup", arn);
    match result {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(()),
    }
}

fn forward(tg_arn: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg_arn)
        .build()
}

/// The listener settings apply compares and sets.
pub(crate) struct ListenerSpec<'a> {
    pub port: i32,
    pub protocol: ListenerProtocol,
    pub certificate_arn: Option<&'a str>,
    pub ssl_policy: Option<&'a str>,
}

pub(crate) async fn create_listener(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    lb_arn: &str,
    spec: &ListenerSpec<'_>,
    tg_arn: &str,
) -> Result<String, Error> {
    let out = aws
        .elbv2()
        .create_listener()
        .load_balancer_arn(lb_arn)
        .port(spec.port)
        .protocol(protocol(spec.protocol))
        .set_certificates(
            spec.certificate_arn
                .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
        )
        .set_ssl_policy(spec.ssl_policy.map(str::to_owned))
        .default_actions(forward(tg_arn))
        .set_tags(Some(tags.elbv2(name)))
        .send()
        .await
        .context("CreateListener", format_args!("{LISTENER_KIND} \"{name}\""))?;
    Ok(out
        .listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .unwrap_or_default()
        .to_owned())
}

pub(crate) async fn modify_listener(
    aws: &Aws,
    arn: &str,
    spec: &ListenerSpec<'_>,
    tg_arn: &str,
) -> Result<(), Error> {
    aws.elbv2()
        .modify_listener()
        .listener_arn(arn)
        .protocol(protocol(spec.protocol))
        .set_certificates(
            spec.certificate_arn
                .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
        )
        .set_ssl_policy(spec.ssl_policy.map(str::to_owned))
        .default_actions(forward(tg_arn))
        .send()
        .await
        .context("ModifyListener", arn)?;
    Ok(())
}

pub(crate) async fn delete_listener(aws: &Aws, arn: &str) -> Result<(), Error> {
    let result = aws
        .elbv2()
        .delete_listener()
        .listener_arn(arn)
        .send()
        .await
        .context("DeleteListener", arn);
    match result {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(()),
    }
}

/// Every listener of the load balancer.
pub(crate) async fn find_all_listeners(
    aws: &Aws,
    lb_arn: &str,
) -> Result<Vec<FoundListener>, Error> {
    let out = aws
        .elbv2()
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .send()
        .await
        .context("DescribeListeners", lb_arn)?;
    Ok(out
        .listeners()
        .iter()
        .map(|l| FoundListener {
            arn: l.listener_arn().unwrap_or_default().to_owned(),
            port: l.port().unwrap_or_default(),
            protocol: l
                .protocol()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            target_group_arn: l
                .default_actions()
                .iter()
                .find_map(|a| a.target_group_arn().map(str::to_owned)),
            certificate_arn: l
                .certificates()
                .first()
                .and_then(|c| c.certificate_arn())
                .map(str::to_owned),
        })
        .collect())
}
