//! What AWS takes a while to make usable elsewhere after a create, which the emulator makes
//! usable at once. Within the window after:
//! - the account's first `CreateCluster`, ECS's service-linked role does not exist yet: every
//!   `CreateCluster` is refused ("Unable to assume the service linked role");
//! - an instance profile's creation, or a role added to it, Auto Scaling refuses launch
//!   templates that name a profile ("Invalid IAM Instance Profile name");
//! - a listener's creation or change, ECS refuses services on the target groups it forwards to
//!   ("does not have an associated load balancer");
//! - a capacity provider's creation, ECS refuses to put it in a cluster ("not in an ACTIVE
//!   state");
//! - capacity providers are taken out of a cluster, ECS refuses to delete the cluster
//!   (`ClusterContainsCapacityProviderException`);
//! - an Auto Scaling group's creation, `DescribeAutoScalingGroups` leaves it out;
//! - an ECS service's creation, Application Auto Scaling refuses a scalable target for it
//!   ("ECS service doesn't exist");
//! - an IAM role's creation, IAM itself refuses to attach or put policies on it
//!   (`NoSuchEntity`: IAM is eventually consistent).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use super::wire::{
    ecs_error, ecs_operation, form_body, json_body, param, query_error, scaling_operation,
};
use super::{Refusal, World};

/// What the model remembers: when each thing was made, by name or ARN.
#[derive(Debug, Default)]
pub(super) struct Propagating {
    /// When the account's first cluster was asked for (and ECS began making its role).
    service_linked_role: Option<Instant>,
    /// When an instance profile last changed.
    profile: Option<Instant>,
    /// Target groups, by ARN: when a listener last began forwarding to them.
    associated: BTreeMap<String, Instant>,
    /// Capacity providers, by name: when they were made.
    providers: BTreeMap<String, Instant>,
    /// Clusters, by name: when capacity providers last left them.
    detached: BTreeMap<String, Instant>,
    /// Auto Scaling groups, by name: when they were made.
    groups: BTreeMap<String, Instant>,
    /// ECS services, by scalable target resource id (`service/<cluster>/<name>`): when they
    /// were made.
    services: BTreeMap<String, Instant>,
    /// IAM roles, by name: when they were made.
    roles: BTreeMap<String, Instant>,
}

impl Propagating {
    /// The model's memory at first: in an account that has used ECS, the service-linked role
    /// has long existed.
    pub(super) fn new(ecs_used: bool) -> Self {
        Self {
            service_linked_role: ecs_used.then(|| Instant::now() - Duration::from_secs(86_400)),
            ..Self::default()
        }
    }
}

/// Whether `since` lies within the window before `now`.
fn young(since: Option<&Instant>, world: &World, now: Instant) -> bool {
    since.is_some_and(|t| now < *t + world.propagation)
}

/// Learns from a request, and refuses what is not usable yet.
pub(super) fn before(request: &HttpRequest, world: &World) -> Option<Refusal> {
    if world.propagation.is_zero() {
        return None;
    }
    let now = Instant::now();
    let mut model = world.propagating.lock().unwrap_or_else(|p| p.into_inner());
    let model = &mut *model;
    let form = form_body(request);
    if form.contains("Action=CreateInstanceProfile&")
        || form.contains("Action=AddRoleToInstanceProfile&")
    {
        model.profile = Some(now);
        return None;
    }
    if form.contains("Action=CreateRole&") {
        model.roles.insert(param(form, "RoleName")?, now);
        return None;
    }
    if form.contains("Action=AttachRolePolicy&") || form.contains("Action=PutRolePolicy&") {
        return role_policy(form, model, world, now);
    }
    if form.contains("Action=CreateAutoScalingGroup&")
        || form.contains("Action=UpdateAutoScalingGroup&")
    {
        return auto_scaling_group(form, model, world, now);
    }
    // A listener's default action or a rule on a shared listener associates the group.
    let associates = [
        "CreateListener",
        "ModifyListener",
        "CreateRule",
        "ModifyRule",
    ];
    if associates
        .iter()
        .any(|op| form.contains(&format!("Action={op}&")))
    {
        for arn in target_groups(form) {
            model.associated.insert(arn, now);
        }
        return None;
    }
    if scaling_operation(request) == Some("RegisterScalableTarget") {
        return scalable_target(request, model, world, now);
    }
    match ecs_operation(request)? {
        "CreateCluster" => create_cluster(model, world, now),
        "CreateService" | "UpdateService" => service(request, model, world, now),
        "CreateCapacityProvider" => {
            let body = json_body(request)?;
            model
                .providers
                .insert(body["name"].as_str()?.to_owned(), now);
            None
        }
        "PutClusterCapacityProviders" => cluster_providers(request, model, world, now),
        "DeleteCluster" => delete_cluster(request, model, world, now),
        _ => None,
    }
}

/// `AttachRolePolicy` or `PutRolePolicy`: refused while the role propagates.
fn role_policy(form: &str, model: &Propagating, world: &World, now: Instant) -> Option<Refusal> {
    let role = param(form, "RoleName")?;
    young(model.roles.get(&role), world, now).then(|| {
        (
            "role propagating",
            query_error(
                "NoSuchEntity",
                &format!("The role with name {role} cannot be found. (modelled: the role is propagating)"),
            ),
        )
    })
}

/// `CreateAutoScalingGroup` or `UpdateAutoScalingGroup`: refused with a launch template while
/// the instance profile propagates; a created group is remembered.
fn auto_scaling_group(
    form: &str,
    model: &mut Propagating,
    world: &World,
    now: Instant,
) -> Option<Refusal> {
    if form.contains("LaunchTemplate") && young(model.profile.as_ref(), world, now) {
        return Some((
            "instance profile propagating",
            query_error(
                "ValidationError",
                "You must use a valid fully-formed launch template. Value for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name (modelled: the profile is propagating)",
            ),
        ));
    }
    if form.contains("Action=CreateAutoScalingGroup&") {
        let name = param(form, "AutoScalingGroupName")?;
        model.groups.insert(name, now);
    }
    None
}

/// `RegisterScalableTarget`: refused while the ECS service propagates.
fn scalable_target(
    request: &HttpRequest,
    model: &Propagating,
    world: &World,
    now: Instant,
) -> Option<Refusal> {
    let body = json_body(request)?;
    let id = body["ResourceId"].as_str()?;
    young(model.services.get(id), world, now).then(|| {
        (
            "service unknown to autoscaling",
            ecs_error(
                "ValidationException",
                &format!("ECS service doesn't exist: {id} (modelled: the service is propagating)"),
            ),
        )
    })
}

/// `CreateCluster`: refused while ECS makes its service-linked role after the first one.
fn create_cluster(model: &mut Propagating, world: &World, now: Instant) -> Option<Refusal> {
    let since = *model.service_linked_role.get_or_insert(now);
    young(Some(&since), world, now).then(|| {
        (
            "service-linked role being made",
            ecs_error(
                "InvalidParameterException",
                "Unable to assume the service linked role. Please verify that the ECS service linked role exists. (modelled: a new account)",
            ),
        )
    })
}

/// `CreateService` or `UpdateService`: remembered for autoscaling, and refused on a target
/// group no listener has associated yet.
fn service(
    request: &HttpRequest,
    model: &mut Propagating,
    world: &World,
    now: Instant,
) -> Option<Refusal> {
    let body = json_body(request)?;
    if let (Some(cluster), Some(name)) = (body["cluster"].as_str(), body["serviceName"].as_str()) {
        let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
        model
            .services
            .insert(format!("service/{cluster}/{name}"), now);
    }
    let arn = body["loadBalancers"]
        .as_array()?
        .iter()
        .filter_map(|lb| lb["targetGroupArn"].as_str())
        .find(|arn| young(model.associated.get(*arn), world, now))?;
    Some((
        "target group not yet associated",
        ecs_error(
            "InvalidParameterException",
            &format!("The target group with targetGroupArn {arn} does not have an associated load balancer. (modelled: the listener is propagating)"),
        ),
    ))
}

/// `PutClusterCapacityProviders`: refused with a provider still being made; a put of none
/// is remembered as the providers leaving the cluster.
fn cluster_providers(
    request: &HttpRequest,
    model: &mut Propagating,
    world: &World,
    now: Instant,
) -> Option<Refusal> {
    let body = json_body(request)?;
    let cluster = body["cluster"].as_str()?.to_owned();
    let names: Vec<&str> = body["capacityProviders"]
        .as_array()?
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    if let Some(name) = names
        .iter()
        .find(|n| young(model.providers.get(**n as &str), world, now))
    {
        return Some((
            "capacity provider not yet active",
            ecs_error(
                "InvalidParameterException",
                &format!("The specified capacity provider {name} is not in an ACTIVE state. Specify a valid capacity provider and try again. (modelled: the provider is being made)"),
            ),
        ));
    }
    // Which providers leave is unknown here; any put that drops one to none counts.
    if names.is_empty() {
        model.detached.insert(cluster, now);
    }
    None
}

/// `DeleteCluster`: refused while capacity providers leave it.
fn delete_cluster(
    request: &HttpRequest,
    model: &Propagating,
    world: &World,
    now: Instant,
) -> Option<Refusal> {
    let body = json_body(request)?;
    let cluster = body["cluster"].as_str()?;
    let name = cluster.rsplit('/').next().unwrap_or(cluster);
    young(model.detached.get(name), world, now).then(|| {
        (
            "capacity providers leaving",
            ecs_error(
                "ClusterContainsCapacityProviderException",
                "The Cluster cannot be deleted while Cluster Scoped Capacity Providers are attached. (modelled: the providers are leaving)",
            ),
        )
    })
}

/// The target group ARNs a listener request forwards to.
fn target_groups(form: &str) -> Vec<String> {
    form.match_indices("TargetGroupArn=")
        .filter_map(|(at, _)| {
            let rest = &form[at..];
            param(rest, "TargetGroupArn")
        })
        .collect()
}

/// Whether an answer is one the model rewrites (Auto Scaling's DescribeAutoScalingGroups).
pub(super) fn rewrites(request: &HttpRequest, world: &World) -> bool {
    !world.propagation.is_zero() && form_body(request).contains("Action=DescribeAutoScalingGroups&")
}

/// Leaves the groups made within the window out of a description.
pub(super) fn rewrite(text: &mut String, world: &World) {
    let now = Instant::now();
    let model = world.propagating.lock().unwrap_or_else(|p| p.into_inner());
    let hidden: Vec<&String> = model
        .groups
        .iter()
        .filter(|(_, at)| now < **at + world.propagation)
        .map(|(name, _)| name)
        .collect();
    if hidden.is_empty() {
        return;
    }
    let mut kept = String::with_capacity(text.len());
    let mut rest = text.as_str();
    // The groups are the outermost members of <AutoScalingGroups>; each holds nested lists.
    let Some(list) = rest.find("<AutoScalingGroups>") else {
        return;
    };
    let list = list + "<AutoScalingGroups>".len();
    kept.push_str(&rest[..list]);
    rest = &rest[list..];
    while let Some(start) = rest
        .find("<member>")
        .filter(|s| rest.find("</AutoScalingGroups>").is_none_or(|end| *s < end))
    {
        let end = start + member_len(&rest[start..]);
        let member = &rest[start..end];
        kept.push_str(&rest[..start]);
        let name =
            super::wire::between(member, "<AutoScalingGroupName>", "</AutoScalingGroupName>");
        if !name.is_some_and(|n| hidden.iter().any(|h| h.as_str() == n)) {
            kept.push_str(member);
        }
        rest = &rest[end..];
    }
    kept.push_str(rest);
    *text = kept;
}

/// The length of the `<member>` element `text` starts with, nested members included.
fn member_len(text: &str) -> usize {
    const OPEN: &str = "<member>";
    const CLOSE: &str = "</member>";
    let mut depth = 0usize;
    let mut at = 0;
    loop {
        let open = text[at..].find(OPEN).map(|i| at + i);
        let close = text[at..].find(CLOSE).map(|i| at + i);
        match (open, close) {
            (Some(o), Some(c)) if o < c => {
                depth += 1;
                at = o + OPEN.len();
            }
            (_, Some(c)) => {
                depth = depth.saturating_sub(1);
                at = c + CLOSE.len();
                if depth == 0 {
                    return at;
                }
            }
            _ => return text.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::wire::tests::{ecs, form, scaling};
    use crate::harness::Harness;

    /// A harness whose things propagate for 200 ms.
    fn harness() -> Harness {
        Harness::builder()
            .propagation(Duration::from_millis(200))
            .build()
    }

    fn refused(request: HttpRequest, world: &World) -> bool {
        before(&request, world).is_some()
    }

    #[test]
    fn fresh_things_are_refused_until_the_window_has_passed() {
        let harness = harness();
        let world = &harness.state.world;
        let cluster = r#"{"clusterName":"c"}"#;
        assert!(refused(ecs("CreateCluster", cluster), world));
        assert!(!refused(
            form("Action=CreateListener&DefaultActions.member.1.TargetGroupArn=arn%3Atg&Version=2015-12-01"),
            world
        ));
        let service = r#"{"serviceName":"s","loadBalancers":[{"targetGroupArn":"arn:tg"}]}"#;
        assert!(refused(ecs("CreateService", service), world));
        let other = r#"{"serviceName":"s","loadBalancers":[{"targetGroupArn":"arn:other"}]}"#;
        assert!(!refused(ecs("CreateService", other), world));
        // A rule on a shared listener associates its group the same way.
        assert!(!refused(
            form("Action=CreateRule&Actions.member.1.TargetGroupArn=arn%3Aruled&Priority=10&Version=2015-12-01"),
            world
        ));
        let ruled = r#"{"serviceName":"r","loadBalancers":[{"targetGroupArn":"arn:ruled"}]}"#;
        assert!(refused(ecs("CreateService", ruled), world));
        assert!(!refused(
            ecs("CreateCapacityProvider", r#"{"name":"cp"}"#),
            world
        ));
        let put =
            r#"{"cluster":"c","capacityProviders":["cp"],"defaultCapacityProviderStrategy":[]}"#;
        assert!(refused(ecs("PutClusterCapacityProviders", put), world));
        assert!(!refused(
            form("Action=AddRoleToInstanceProfile&InstanceProfileName=p&RoleName=r&Version=2010-05-08"),
            world
        ));
        let group = "Action=CreateAutoScalingGroup&AutoScalingGroupName=g&LaunchTemplate.LaunchTemplateId=lt-1&Version=2011-01-01";
        assert!(refused(form(group), world));
        let web = r#"{"cluster":"arn:aws:ecs:r:1:cluster/c","serviceName":"web"}"#;
        assert!(!refused(ecs("CreateService", web), world));
        let target = r#"{"ServiceNamespace":"ecs","ResourceId":"service/c/web"}"#;
        assert!(refused(scaling("RegisterScalableTarget", target), world));
        let elsewhere = r#"{"ServiceNamespace":"ecs","ResourceId":"service/c/api"}"#;
        assert!(!refused(
            scaling("RegisterScalableTarget", elsewhere),
            world
        ));

        std::thread::sleep(Duration::from_millis(250));
        assert!(!refused(ecs("CreateCluster", cluster), world));
        assert!(!refused(ecs("CreateService", service), world));
        assert!(!refused(ecs("PutClusterCapacityProviders", put), world));
        assert!(!refused(form(group), world));
        assert!(!refused(scaling("RegisterScalableTarget", target), world));
        let detach =
            r#"{"cluster":"c","capacityProviders":[],"defaultCapacityProviderStrategy":[]}"#;
        assert!(!refused(ecs("PutClusterCapacityProviders", detach), world));
        assert!(refused(
            ecs(
                "DeleteCluster",
                r#"{"cluster":"arn:aws:ecs:r:1:cluster/c"}"#
            ),
            world
        ));
    }

    #[test]
    fn a_young_group_is_left_out_of_descriptions() {
        let harness = harness();
        let world = &harness.state.world;
        world
            .propagating
            .lock()
            .unwrap()
            .groups
            .insert("young".to_owned(), Instant::now());
        let group = |name: &str| {
            format!("<member><AutoScalingGroupName>{name}</AutoScalingGroupName><Instances><member><InstanceId>i-1</InstanceId></member></Instances><Tags><member><Key>k</Key></member></Tags></member>")
        };
        let mut text = format!(
            "<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups>{}{}</AutoScalingGroups></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>",
            group("old"),
            group("young")
        );
        rewrite(&mut text, world);
        assert!(text.contains(&group("old")), "{text}");
        assert!(!text.contains("young"), "{text}");
        assert!(text.ends_with("</AutoScalingGroups></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>"));
    }
}
