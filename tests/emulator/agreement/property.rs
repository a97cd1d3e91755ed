//! The plan is what apply sends: with one input changed, every field the plan shows as an
//! in-place change reaches AWS in a call that sets it, every mutating call sent is explained
//! by a field the plan showed (or by a create, delete or replacement the plan showed), and
//! a second plan is empty with a second apply sending nothing.
//!
//! The calls are recorded at the SDK ([`converge::ApiCalls::sent`]): operation and the
//! top-level request parameters set. [`UPDATES`] says, per kind and plan field, which
//! `(operation, parameter)` shows the field was sent; [`LIFECYCLE`] what a create, delete
//! or replacement of a kind may call. A field missing from the table, or whose update sent
//! none of its pairs, fails naming the kind, the field and what was sent.
//!
//! The walks (in `agreement.rs`) change, one at a time: log retention, container insights,
//! a cluster's default strategy, security group rules, a role's name, an instance type (a
//! launch template version and the group's template), a group's maximum, managed scaling,
//! a service's count, launch type and task definition (a new revision per container or
//! task field), a target group's health check and deregistration delay, `propagate_tags`,
//! ECS Exec, an HTTP redirect listener, a TLS policy, load balancer attributes, a rule's
//! priority and paths, autoscaling bounds, a policy's target, policies and scheduled
//! actions, role policies, subnets' public addresses, a private zone and interface
//! endpoints.
//!
//! Not held to the property, and why:
//! - A service's deployment bounds: the emulator describes no deployment configuration, so
//!   the diff cannot compare them; the step that changes them shows and sends nothing.
//! - A NAT gateway's `state`: the emulator makes gateways `available` at once, and the
//!   update is a wait that sends nothing (the table has no entry for it: it would fail).
//! - Fields no module input changes, only drift: a VPC's DNS attributes, the private route
//!   tables' routes, the default security group's rules, an instance profile's role, a
//!   role's trust and managed policies, endpoints' and load balancers' subnets and groups
//!   (taken from the network). The table still maps them, and the drift steps check that
//!   plan and apply agree.

use converge::{Action, Aws, Change, Module, Plan, Sent};

/// `(operation, parameter)` pairs, any one of which shows a field reached AWS.
type Sends = &'static [(&'static str, &'static str)];

/// What an in-place change of `(kind, field)` sends: any one of these `(operation,
/// parameter)` pairs. A field name matches a plan label that starts with it (`route` for
/// `route 0.0.0.0/0`); the load balancer's attributes are labelled by their key alone (`""`).
pub const UPDATES: &[(&str, &str, Sends)] = &[
    (
        "aws_cloudwatch_log_group",
        "retention_in_days",
        &[
            ("PutRetentionPolicy", "retentionInDays"),
            ("DeleteRetentionPolicy", "logGroupName"),
        ],
    ),
    (
        "aws_ecs_cluster",
        "container_insights",
        &[("UpdateCluster", "settings")],
    ),
    (
        "aws_ecs_cluster",
        "capacity_providers",
        &[("PutClusterCapacityProviders", "capacityProviders")],
    ),
    (
        "aws_ecs_cluster",
        "default_capacity_provider_strategy",
        &[(
            "PutClusterCapacityProviders",
            "defaultCapacityProviderStrategy",
        )],
    ),
    (
        "aws_iam_role",
        "assume_role_policy",
        &[("UpdateAssumeRolePolicy", "PolicyDocument")],
    ),
    (
        "aws_iam_role",
        "managed_policy_arns",
        &[
            ("AttachRolePolicy", "PolicyArn"),
            ("DetachRolePolicy", "PolicyArn"),
        ],
    ),
    (
        "aws_iam_role_policy",
        "policy",
        &[("PutRolePolicy", "PolicyDocument")],
    ),
    (
        "aws_security_group",
        "ingress",
        &[
            ("AuthorizeSecurityGroupIngress", "IpPermissions"),
            ("RevokeSecurityGroupIngress", "IpPermissions"),
        ],
    ),
    (
        "aws_default_security_group",
        "rules",
        &[
            ("RevokeSecurityGroupIngress", "IpPermissions"),
            ("RevokeSecurityGroupEgress", "IpPermissions"),
        ],
    ),
    (
        "aws_default_security_group",
        "ingress",
        &[("RevokeSecurityGroupIngress", "IpPermissions")],
    ),
    (
        "aws_default_security_group",
        "egress",
        &[("RevokeSecurityGroupEgress", "IpPermissions")],
    ),
    (
        "aws_subnet",
        "map_public_ip_on_launch",
        &[("ModifySubnetAttribute", "MapPublicIpOnLaunch")],
    ),
    (
        "aws_vpc",
        "enable_dns_support",
        &[("ModifyVpcAttribute", "EnableDnsSupport")],
    ),
    (
        "aws_vpc",
        "enable_dns_hostnames",
        &[("ModifyVpcAttribute", "EnableDnsHostnames")],
    ),
    (
        "aws_route_table",
        "route",
        &[
            ("CreateRoute", "DestinationCidrBlock"),
            ("ReplaceRoute", "DestinationCidrBlock"),
            ("DeleteRoute", "DestinationCidrBlock"),
        ],
    ),
    (
        "aws_route_table",
        "association",
        &[
            ("AssociateRouteTable", "SubnetId"),
            ("DisassociateRouteTable", "AssociationId"),
        ],
    ),
    (
        "aws_vpc_endpoint",
        "route_table_ids",
        &[
            ("ModifyVpcEndpoint", "AddRouteTableId"),
            ("ModifyVpcEndpoint", "RemoveRouteTableId"),
        ],
    ),
    (
        "aws_vpc_endpoint",
        "subnet_ids",
        &[
            ("ModifyVpcEndpoint", "AddSubnetId"),
            ("ModifyVpcEndpoint", "RemoveSubnetId"),
        ],
    ),
    (
        "aws_vpc_endpoint",
        "security_group_ids",
        &[
            ("ModifyVpcEndpoint", "AddSecurityGroupId"),
            ("ModifyVpcEndpoint", "RemoveSecurityGroupId"),
        ],
    ),
    (
        "aws_vpc_endpoint",
        "private_dns_enabled",
        &[("ModifyVpcEndpoint", "PrivateDnsEnabled")],
    ),
    (
        "aws_internet_gateway",
        "vpc_id",
        &[
            ("AttachInternetGateway", "VpcId"),
            ("DetachInternetGateway", "VpcId"),
        ],
    ),
    (
        "aws_iam_instance_profile",
        "role",
        &[
            ("AddRoleToInstanceProfile", "RoleName"),
            ("RemoveRoleFromInstanceProfile", "RoleName"),
        ],
    ),
    (
        "aws_autoscaling_group",
        "launch_template.id",
        &[("UpdateAutoScalingGroup", "LaunchTemplate")],
    ),
    (
        "aws_autoscaling_group",
        "launch_template.version",
        &[("UpdateAutoScalingGroup", "LaunchTemplate")],
    ),
    (
        "aws_autoscaling_group",
        "min_size",
        &[("UpdateAutoScalingGroup", "MinSize")],
    ),
    (
        "aws_autoscaling_group",
        "max_size",
        &[("UpdateAutoScalingGroup", "MaxSize")],
    ),
    (
        "aws_autoscaling_group",
        "desired_capacity",
        &[("UpdateAutoScalingGroup", "DesiredCapacity")],
    ),
    (
        "aws_autoscaling_group",
        "vpc_zone_identifier",
        &[("UpdateAutoScalingGroup", "VPCZoneIdentifier")],
    ),
    (
        "aws_ecs_capacity_provider",
        "target_capacity",
        &[("UpdateCapacityProvider", "autoScalingGroupProvider")],
    ),
    (
        "aws_ecs_capacity_provider",
        "minimum_scaling_step_size",
        &[("UpdateCapacityProvider", "autoScalingGroupProvider")],
    ),
    (
        "aws_ecs_capacity_provider",
        "maximum_scaling_step_size",
        &[("UpdateCapacityProvider", "autoScalingGroupProvider")],
    ),
    (
        "aws_ecs_capacity_provider",
        "instance_warmup_period",
        &[("UpdateCapacityProvider", "autoScalingGroupProvider")],
    ),
    (
        "aws_ecs_service",
        "task_definition",
        &[("UpdateService", "taskDefinition")],
    ),
    (
        "aws_ecs_service",
        "desired_count",
        &[("UpdateService", "desiredCount")],
    ),
    (
        "aws_ecs_service",
        "launch_type",
        &[("UpdateService", "capacityProviderStrategy")],
    ),
    (
        "aws_ecs_service",
        "capacity_provider_strategy",
        &[("UpdateService", "capacityProviderStrategy")],
    ),
    (
        "aws_ecs_service",
        "subnets",
        &[("UpdateService", "networkConfiguration")],
    ),
    (
        "aws_ecs_service",
        "security_groups",
        &[("UpdateService", "networkConfiguration")],
    ),
    (
        "aws_ecs_service",
        "load_balancer",
        &[("UpdateService", "loadBalancers")],
    ),
    (
        "aws_ecs_service",
        "target_group",
        &[("UpdateService", "loadBalancers")],
    ),
    (
        "aws_ecs_service",
        "health_check_grace_period_seconds",
        &[("UpdateService", "healthCheckGracePeriodSeconds")],
    ),
    (
        "aws_ecs_service",
        "circuit_breaker",
        &[("UpdateService", "deploymentConfiguration")],
    ),
    (
        "aws_ecs_service",
        "deployment_strategy",
        &[("UpdateService", "deploymentConfiguration")],
    ),
    (
        "aws_ecs_service",
        "traffic_shift",
        &[("UpdateService", "loadBalancers")],
    ),
    (
        "aws_ecs_service",
        "deployment_alarms",
        &[("UpdateService", "deploymentConfiguration")],
    ),
    (
        "aws_ecs_service",
        "minimum_healthy_percent",
        &[("UpdateService", "deploymentConfiguration")],
    ),
    (
        "aws_ecs_service",
        "maximum_percent",
        &[("UpdateService", "deploymentConfiguration")],
    ),
    (
        "aws_ecs_service",
        "propagate_tags",
        &[("UpdateService", "propagateTags")],
    ),
    (
        "aws_ecs_service",
        "enable_execute_command",
        &[("UpdateService", "enableExecuteCommand")],
    ),
    ("aws_lb", "subnets", &[("SetSubnets", "Subnets")]),
    (
        "aws_lb",
        "security_groups",
        &[("SetSecurityGroups", "SecurityGroups")],
    ),
    (
        "aws_lb",
        "",
        &[("ModifyLoadBalancerAttributes", "Attributes")],
    ),
    (
        "aws_lb_target_group",
        "health_check",
        &[
            ("ModifyTargetGroup", "HealthCheckPath"),
            ("ModifyTargetGroup", "Matcher"),
            ("ModifyTargetGroup", "HealthCheckIntervalSeconds"),
            ("ModifyTargetGroup", "HealthCheckTimeoutSeconds"),
            ("ModifyTargetGroup", "HealthyThresholdCount"),
            ("ModifyTargetGroup", "UnhealthyThresholdCount"),
        ],
    ),
    (
        "aws_lb_target_group",
        "deregistration_delay",
        &[("ModifyTargetGroupAttributes", "Attributes")],
    ),
    (
        "aws_lb_listener",
        "protocol",
        &[("ModifyListener", "Protocol")],
    ),
    (
        "aws_lb_listener",
        "certificate_arn",
        &[("ModifyListener", "Certificates")],
    ),
    (
        "aws_lb_listener",
        "ssl_policy",
        &[("ModifyListener", "SslPolicy")],
    ),
    (
        "aws_lb_listener",
        "forward",
        &[("ModifyListener", "DefaultActions")],
    ),
    (
        "aws_lb_listener",
        "redirect",
        &[("ModifyListener", "DefaultActions")],
    ),
    (
        "aws_lb_listener",
        "fixed_response",
        &[("ModifyListener", "DefaultActions")],
    ),
    (
        "aws_lb_listener_rule",
        "priority",
        &[("SetRulePriorities", "RulePriorities")],
    ),
    (
        "aws_lb_listener_rule",
        "host_header",
        &[("ModifyRule", "Conditions")],
    ),
    (
        "aws_lb_listener_rule",
        "path_pattern",
        &[("ModifyRule", "Conditions")],
    ),
    (
        "aws_lb_listener_rule",
        "forward",
        &[("ModifyRule", "Actions")],
    ),
    (
        "aws_appautoscaling_target",
        "min_capacity",
        &[("RegisterScalableTarget", "MinCapacity")],
    ),
    (
        "aws_appautoscaling_target",
        "max_capacity",
        &[("RegisterScalableTarget", "MaxCapacity")],
    ),
    (
        "aws_appautoscaling_policy",
        "predefined_metric_type",
        &[(
            "PutScalingPolicy",
            "TargetTrackingScalingPolicyConfiguration",
        )],
    ),
    (
        "aws_appautoscaling_policy",
        "target_value",
        &[(
            "PutScalingPolicy",
            "TargetTrackingScalingPolicyConfiguration",
        )],
    ),
    (
        "aws_appautoscaling_policy",
        "scale_in_cooldown",
        &[(
            "PutScalingPolicy",
            "TargetTrackingScalingPolicyConfiguration",
        )],
    ),
    (
        "aws_appautoscaling_policy",
        "scale_out_cooldown",
        &[(
            "PutScalingPolicy",
            "TargetTrackingScalingPolicyConfiguration",
        )],
    ),
    (
        "aws_appautoscaling_policy",
        "disable_scale_in",
        &[(
            "PutScalingPolicy",
            "TargetTrackingScalingPolicyConfiguration",
        )],
    ),
    (
        "aws_appautoscaling_policy",
        "resource_label",
        &[(
            "PutScalingPolicy",
            "TargetTrackingScalingPolicyConfiguration",
        )],
    ),
    (
        "aws_appautoscaling_scheduled_action",
        "schedule",
        &[("PutScheduledAction", "Schedule")],
    ),
    (
        "aws_appautoscaling_scheduled_action",
        "timezone",
        &[("PutScheduledAction", "Timezone")],
    ),
    (
        "aws_appautoscaling_scheduled_action",
        "min_capacity",
        &[("PutScheduledAction", "ScalableTargetAction")],
    ),
    (
        "aws_appautoscaling_scheduled_action",
        "max_capacity",
        &[("PutScheduledAction", "ScalableTargetAction")],
    ),
    (
        "aws_launch_template",
        "",
        &[("CreateLaunchTemplateVersion", "LaunchTemplateData")],
    ),
];

/// What a create, a delete or a replacement (delete and create, or a new revision) of a
/// kind may call: the kinds the walks create, delete or replace; another fails naming the
/// call.
pub const LIFECYCLE: &[(&str, &[&str])] = &[
    (
        "aws_ecs_task_definition",
        &["RegisterTaskDefinition", "DeregisterTaskDefinition"],
    ),
    (
        "aws_iam_role",
        &[
            "CreateRole",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "DeleteRole",
        ],
    ),
    (
        "aws_iam_role_policy",
        &["PutRolePolicy", "DeleteRolePolicy"],
    ),
    (
        "aws_appautoscaling_policy",
        &["PutScalingPolicy", "DeleteScalingPolicy"],
    ),
    (
        "aws_appautoscaling_scheduled_action",
        &["PutScheduledAction", "DeleteScheduledAction"],
    ),
    (
        "aws_ecs_service",
        &["CreateService", "UpdateService", "DeleteService"],
    ),
    (
        "aws_ecs_cluster_capacity_providers",
        &["PutClusterCapacityProviders"],
    ),
    ("aws_lb_listener", &["CreateListener", "DeleteListener"]),
    ("aws_lb_listener_rule", &["CreateRule", "DeleteRule"]),
    (
        "aws_lb_target_group",
        &[
            "CreateTargetGroup",
            "ModifyTargetGroupAttributes",
            "DeleteTargetGroup",
        ],
    ),
    (
        "aws_route53_zone",
        &["CreateHostedZone", "DeleteHostedZone"],
    ),
    (
        "aws_vpc_endpoint",
        &[
            "CreateVpcEndpoints",
            "CreateVpcEndpoint",
            "DeleteVpcEndpoints",
        ],
    ),
    (
        "aws_security_group",
        &[
            "CreateSecurityGroup",
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "DeleteSecurityGroup",
        ],
    ),
];

/// The pairs that show `(kind, label)` was sent: the longest table field the label starts
/// with, at a word's end.
fn pairs(kind: &str, label: &str) -> Option<Sends> {
    UPDATES
        .iter()
        .filter(|(k, field, _)| {
            *k == kind
                && label.starts_with(field)
                && (field.is_empty()
                    || label[field.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphanumeric() && c != '_'))
        })
        .max_by_key(|(_, field, _)| field.len())
        .map(|(_, _, pairs)| *pairs)
}

fn lifecycle(kind: &str) -> &'static [&'static str] {
    LIFECYCLE
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, ops)| *ops)
}

/// Where the plan and what was sent disagree, one line each; empty when they agree.
pub fn disagreements(plan: &Plan, sent: &[Sent]) -> Vec<String> {
    let mut wrong = Vec::new();
    let updates: Vec<&Change> = plan
        .actions()
        .filter(|c| c.action == Action::Update)
        .collect();
    // (a) Every in-place field reaches AWS.
    for change in &updates {
        for diff in change.diffs.iter().filter(|d| d.replaces.is_none()) {
            let what = format!("{} \"{}\" {}", change.kind, change.name, diff.field);
            match pairs(&change.kind, &diff.field) {
                None => wrong.push(format!("{what}: no entry in the table of updates")),
                Some(pairs) if !sent.iter().any(|s| pairs.iter().any(|(o, p)| s.sets(o, p))) => {
                    let want: Vec<String> = pairs.iter().map(|(o, p)| format!("{o}.{p}")).collect();
                    wrong.push(format!(
                        "{what}: shown but not sent (wanted one of {})",
                        want.join(", ")
                    ));
                }
                Some(_) => {}
            }
        }
    }
    // (b) Every mutating call is explained by a shown field or a shown create, delete or
    // replacement.
    for s in sent {
        let by_field = updates.iter().any(|c| {
            c.diffs.iter().filter(|d| d.replaces.is_none()).any(|d| {
                pairs(&c.kind, &d.field)
                    .is_some_and(|pairs| pairs.iter().any(|(o, _)| *o == s.operation))
            })
        });
        let by_lifecycle = plan.actions().any(|c| {
            let whole = c.action != Action::Update || c.diffs.iter().any(|d| d.replaces.is_some());
            whole && lifecycle(&c.kind).contains(&s.operation.as_str())
        });
        if !by_field && !by_lifecycle {
            wrong.push(format!(
                "{s}: sent, but no field the plan shows explains it"
            ));
        }
    }
    wrong
}

/// One input changed: plans, applies while recording what is sent, and holds the two to
/// each other; then a second plan is empty and a second apply sends nothing. Returns how
/// many mutating calls the apply sent.
pub async fn one_input<M: Module>(aws: &Aws, module: &M, step: &str) -> usize {
    let plan = module.plan(aws).await.unwrap();
    aws.calls().reset();
    module.apply(aws).await.unwrap();
    let sent = aws.calls().sent();
    let listed: Vec<String> = sent.iter().map(ToString::to_string).collect();
    let wrong = disagreements(&plan, &sent);
    assert!(
        wrong.is_empty(),
        "{step}: the plan and what apply sent disagree:\n  {}\nplan:\n{plan}\nsent:\n  {}",
        wrong.join("\n  "),
        listed.join("\n  ")
    );
    assert_eq!(
        plan.is_empty(),
        sent.is_empty(),
        "{step}: the plan and the apply disagree\nplan:\n{plan}\nsent:\n  {}",
        listed.join("\n  ")
    );
    let after = module.plan(aws).await.unwrap();
    assert!(after.is_empty(), "{step}: not converged:\n{after}");
    aws.calls().reset();
    module.apply(aws).await.unwrap();
    let again = aws.calls().sent();
    assert!(again.is_empty(), "{step}: a second apply sent {again:?}");
    sent.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use converge::Diff;

    fn update(kind: &str, field: &str) -> Plan {
        let mut plan = Plan::new();
        plan.push(Change::new(Action::Update, kind, "x").diff(field, Some("1"), Some("2")));
        plan
    }

    fn json(operation: &str, body: &str) -> Sent {
        Sent::from_body(operation, "application/x-amz-json-1.1", body.as_bytes())
    }

    #[test]
    fn a_field_shown_and_not_sent_is_named() {
        let plan = update("aws_ecs_service", "desired_count");
        let sent = [json("UpdateService", r#"{"service":"blog"}"#)];
        assert_eq!(
            disagreements(&plan, &sent),
            [
                "aws_ecs_service \"x\" desired_count: shown but not sent (wanted one of \
              UpdateService.desiredCount)"
            ]
        );
        let sent = [json("UpdateService", r#"{"desiredCount":2}"#)];
        assert!(disagreements(&plan, &sent).is_empty());
    }

    #[test]
    fn a_call_no_field_explains_is_named() {
        let plan = update("aws_cloudwatch_log_group", "retention_in_days");
        let sent = [
            json("PutRetentionPolicy", r#"{"retentionInDays":7}"#),
            json("DeleteLogGroup", r#"{"logGroupName":"x"}"#),
        ];
        assert_eq!(
            disagreements(&plan, &sent),
            ["DeleteLogGroup {logGroupName}: sent, but no field the plan shows explains it"]
        );
    }

    #[test]
    fn a_replacement_explains_its_kinds_lifecycle() {
        let mut plan = Plan::new();
        let mut change = Change::new(Action::Replace, "aws_ecs_task_definition", "x");
        change.diffs.push(Diff {
            field: "cpu".into(),
            before: Some("256".into()),
            after: Some("512".into()),
            replaces: Some("immutable".into()),
        });
        plan.push(change);
        let sent = [
            json("RegisterTaskDefinition", r#"{"cpu":"512"}"#),
            json("DeregisterTaskDefinition", r#"{"taskDefinition":"x:1"}"#),
        ];
        assert!(disagreements(&plan, &sent).is_empty());
        assert_eq!(
            disagreements(&update("aws_vpc", "tenancy"), &[]),
            ["aws_vpc \"x\" tenancy: no entry in the table of updates"]
        );
    }

    #[test]
    fn labels_find_their_field() {
        assert_eq!(
            pairs("aws_route_table", "route 0.0.0.0/0"),
            pairs("aws_route_table", "route")
        );
        assert!(pairs("aws_route_table", "routes").is_none());
        assert_eq!(
            pairs("aws_lb", "idle_timeout.timeout_seconds"),
            Some(&[("ModifyLoadBalancerAttributes", "Attributes")][..])
        );
        assert_eq!(
            pairs("aws_lb", "subnets"),
            Some(&[("SetSubnets", "Subnets")][..])
        );
    }
}
