//! Bad input across the modules: each case is refused with a message naming the field, and
//! no AWS call is made. Every case goes as far as `plan`, so an input that slipped through
//! validation would show up as counted calls.

use converge::{Aws, Error, TaskRole};
use ecs_modules::ecs_instances::{Instances, ManagedScaling};
use ecs_modules::ecs_service::{
    Autoscaling, Cluster, HealthCheck, LaunchType, Listener, ListenerProtocol, ListenerRule,
    LoadBalancer, LoadBalancerAttributes, LogGroup, ScalingMetric, ScheduledScaling, Service,
    SharedListener, SharedLoadBalancer, SharedLoadBalancerBuilder, StrategyItem, TargetGroup,
    TargetTracking, TaskExecutionRole, FARGATE, FARGATE_SPOT,
};
use ecs_modules::task_def::{json, ContainerDefinition, TaskDefinition};
use ecs_modules::vpc::Vpc;
use futures::FutureExt;

use crate::util::aws;

/// A valid service builder to break one input of.
fn service() -> ecs_modules::ecs_service::ServiceBuilder {
    Service::builder()
        .environment("blog")
        .service_name("blog")
        .cluster("blog")
        .network(ecs_modules::vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-1", "subnet-2"])
        .task_cpu(256)
        .task_memory(512)
        .containers([blog_container()])
}

fn blog_container() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("blog")
        .image("npalm/040code.github.io:latest")
        .port_mapping(ecs_modules::task_def::PortMapping::tcp(80))
        .build()
}

fn lb() -> LoadBalancer {
    LoadBalancer {
        internal: false,
        subnets: vec!["subnet-1".into(), "subnet-2".into()],
        target_group: TargetGroup {
            container_name: Some("blog".into()),
            container_port: 80,
            ..TargetGroup::default()
        },
        ..LoadBalancer::default()
    }
}

/// A valid shared load balancer builder to break one input of.
fn shared() -> SharedLoadBalancerBuilder {
    SharedLoadBalancer::builder()
        .environment("blog")
        .name("public")
        .network(crate::util::two_zone_network())
}

/// A shared load balancer's listener whose outputs never resolve: enough to check a rule on
/// it, with no AWS call.
fn shared_listener() -> SharedListener {
    let shared = shared().build().expect("a valid shared load balancer");
    let outputs: ecs_modules::ecs_service::SharedLoadBalancerOutputs =
        serde_json::from_value(serde_json::json!({
            "url": "http://x", "lb_name": shared.lb_name(), "lb_arn": "arn",
            "lb_dns_name": "x", "lb_zone_id": "z", "security_group_id": "sg-1",
            "listener_arn": "arn", "listener_port": 80, "listener_protocol": "HTTP",
            "redirect_listener_arn": null
        }))
        .expect("outputs");
    SharedListener::from_outputs(&outputs)
}

/// A valid rule to break one input of: `/api/*` to the blog container's port 80.
fn rule(priority: i32) -> ListenerRule {
    ListenerRule::new(shared_listener(), priority)
        .path("/api/*")
        .target_group(lb().target_group)
}

fn instances() -> ecs_modules::ecs_instances::InstancesBuilder {
    Instances::builder()
        .environment("blog")
        .cluster("blog")
        .network(ecs_modules::vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-1"])
}

fn task() -> ecs_modules::task_def::TaskDefinitionBuilder {
    TaskDefinition::builder()
        .family("blog")
        .environment("blog")
        .requires_compatibility(ecs_modules::task_def::Compatibility::Fargate)
        .network_mode(ecs_modules::task_def::NetworkMode::Awsvpc)
        .cpu(256)
        .memory(512)
        .container(blog_container())
}

/// Case `n`: build with one bad input, then plan.
async fn attempt(n: usize, aws: &Aws) -> Result<(), Error> {
    match n {
        0 => drop(Vpc::builder().build()?.plan(aws).boxed().await?),
        1 => drop(
            Vpc::builder()
                .environment("Blog Prod")
                .build()?
                .plan(aws)
                .await?,
        ),
        2 => drop(
            Vpc::builder()
                .environment("x".repeat(40))
                .build()?
                .plan(aws)
                .await?,
        ),
        3 => drop(
            Vpc::builder()
                .environment("blog-")
                .build()?
                .plan(aws)
                .await?,
        ),
        4 => drop(
            Vpc::builder()
                .environment("blog")
                .cidr_block("10.0.0.0/33")
                .build()?
                .plan(aws)
                .await?,
        ),
        5 => drop(
            Vpc::builder()
                .environment("blog")
                .cidr_block("10.0.0.1")
                .build()?
                .plan(aws)
                .await?,
        ),
        6 => drop(
            Vpc::builder()
                .environment("blog")
                .tag("Name", "mine")
                .build()?
                .plan(aws)
                .await?,
        ),
        7 => drop(
            Vpc::builder()
                .environment("blog")
                .tag("aws:owner", "x")
                .build()?
                .plan(aws)
                .await?,
        ),
        8 => drop(Cluster::builder().build()?.plan(aws).boxed().await?),
        9 => drop(
            Cluster::builder()
                .environment("blog")
                .name("no spaces allowed")
                .build()?
                .plan(aws)
                .await?,
        ),
        10 => drop(
            LogGroup::builder()
                .environment("blog")
                .build()?
                .plan(aws)
                .await?,
        ),
        11 => drop(
            LogGroup::builder()
                .environment("blog")
                .name("/ecs/blog")
                .retention_in_days(31)
                .build()?
                .plan(aws)
                .await?,
        ),
        12 => drop(
            LogGroup::builder()
                .environment("blog")
                .name("bad name!")
                .build()?
                .plan(aws)
                .await?,
        ),
        13 => drop(
            TaskExecutionRole::builder()
                .environment("9lives")
                .build()?
                .plan(aws)
                .await?,
        ),
        14 => drop(task().memory(100).build()?.plan(aws).boxed().await?),
        15 => drop(task().cpu(300).build()?.plan(aws).boxed().await?),
        16 => drop(task().family("").build()?.plan(aws).boxed().await?),
        17 => drop(
            TaskDefinition::builder()
                .family("blog")
                .environment("blog")
                .cpu(256)
                .memory(512)
                .build()?
                .plan(aws)
                .await?,
        ),
        18 => drop(json::from_template(
            "[{\"name\": \"${container_name}\"}]",
            [("container_port", "80")],
        )?),
        19 => drop(json::from_json(
            "[{\"name\": \"blog\", \"portMappings\": [{\"containerPort\": \"eighty\"}]}]",
        )?),
        20 => drop(service().environment("").build()?.plan(aws).boxed().await?),
        21 => drop(
            service()
                .service_name("blog web")
                .build()?
                .plan(aws)
                .await?,
        ),
        22 => drop(
            Service::builder()
                .environment("blog")
                .service_name("blog")
                .containers([blog_container()])
                .build()?
                .plan(aws)
                .await?,
        ),
        23 => drop(
            service()
                .subnets(Vec::<String>::new())
                .build()?
                .plan(aws)
                .await?,
        ),
        24 => drop(
            service()
                .load_balancer(LoadBalancer {
                    subnets: vec!["subnet-1".into()],
                    ..lb()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        25 => drop(
            service()
                .load_balancer(LoadBalancer {
                    target_group: TargetGroup {
                        container_port: 8080,
                        ..lb().target_group
                    },
                    ..lb()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        26 => drop(
            service()
                .load_balancer(LoadBalancer {
                    health_check: HealthCheck {
                        interval: 1,
                        ..HealthCheck::default()
                    },
                    ..lb()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        27 => drop(
            service()
                .task_cpu(256)
                .task_memory(4096)
                .build()?
                .plan(aws)
                .await?,
        ),
        28 => drop(
            service()
                .tag("Name", "x")
                .build()?
                .plan(aws)
                .boxed()
                .await?,
        ),
        29 => drop(
            instances()
                .asg_min(3)
                .asg_desired(2)
                .asg_max(4)
                .build()?
                .plan(aws)
                .await?,
        ),
        30 => drop(
            instances()
                .asg_max(0)
                .asg_min(0)
                .asg_desired(0)
                .build()?
                .plan(aws)
                .await?,
        ),
        31 => drop(
            instances()
                .subnets(Vec::<String>::new())
                .build()?
                .plan(aws)
                .await?,
        ),
        32 => drop(
            instances()
                .ami_id("ami-XYZ")
                .build()?
                .plan(aws)
                .boxed()
                .await?,
        ),
        33 => drop(
            instances()
                .instance_type("t3small")
                .build()?
                .plan(aws)
                .await?,
        ),
        34 => drop(
            instances()
                .user_data("x".repeat(16 * 1024 + 1))
                .build()?
                .plan(aws)
                .await?,
        ),
        35 => drop(
            instances()
                .network(ecs_modules::vpc::Network::ids("vpc-1", "10.0.0.0"))
                .build()?
                .plan(aws)
                .boxed()
                .await?,
        ),
        36 => drop(
            instances()
                .capacity_provider(ManagedScaling {
                    target_capacity: 0,
                    ..ManagedScaling::default()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        37 => drop(
            instances()
                .root_volume_size(8)
                .build()?
                .plan(aws)
                .boxed()
                .await?,
        ),
        38 => drop(
            Vpc::builder()
                .environment("sg-blog")
                .build()?
                .plan(aws)
                .boxed()
                .await?,
        ),
        39 => drop(
            service()
                .load_balancer(LoadBalancer {
                    health_check: HealthCheck {
                        interval: 10,
                        timeout: 10,
                        ..HealthCheck::default()
                    },
                    ..lb()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        40 => drop(
            Vpc::builder()
                .environment("blog")
                .cidr_block("10.0.0.0/20")
                .build()?
                .plan(aws)
                .boxed()
                .await?,
        ),
        41 => {
            // Two subnets of the same zone, told by the network's outputs.
            let net = crate::util::two_zone_network();
            drop(
                service()
                    .network(&net)
                    .load_balancer(LoadBalancer {
                        subnets: vec!["subnet-a".into(), "subnet-c".into()],
                        ..lb()
                    })
                    .build()?
                    .plan(aws)
                    .await?,
            )
        }
        42 => drop(
            Vpc::builder()
                .environment("blog")
                .fargate(true)
                .availability_zones(["usw1-az1", "usw1-az2"])
                .build()?
                .plan(aws)
                .boxed()
                .await?,
        ),
        43 => {
            // Fargate tasks in a zone where Fargate does not run, told by the network's zone ids.
            let mut net = crate::util::two_zone_network();
            net.availability_zones = vec!["us-west-1a".into(), "us-west-1b".into()];
            net.availability_zone_ids = vec!["usw1-az2".into(), "usw1-az1".into()];
            let tasks = net.private_subnets.clone();
            drop(
                service()
                    .network(&net)
                    .subnets(tasks)
                    .build()?
                    .plan(aws)
                    .await?,
            )
        }
        44 => drop(
            service()
                .autoscaling(Autoscaling::new(4, 2))
                .build()?
                .plan(aws)
                .await?,
        ),
        45 => drop(
            service()
                .autoscaling(
                    Autoscaling::new(1, 4)
                        .target_tracking(TargetTracking::new(ScalingMetric::Cpu, 0.0)),
                )
                .build()?
                .plan(aws)
                .await?,
        ),
        46 => drop(
            service()
                .autoscaling(
                    Autoscaling::new(1, 4)
                        .target_tracking(TargetTracking::new(ScalingMetric::Memory, 120.0)),
                )
                .build()?
                .plan(aws)
                .await?,
        ),
        47 => drop(
            service()
                .launch_type(LaunchType::Fargate)
                .capacity_provider_strategy([StrategyItem::new(FARGATE, 1)])
                .build()?
                .plan(aws)
                .await?,
        ),
        48 => drop(
            service()
                .launch_type(LaunchType::Ec2)
                .capacity_provider_strategy([StrategyItem::new(FARGATE_SPOT, 1)])
                .build()?
                .plan(aws)
                .await?,
        ),
        49 => drop(
            service()
                .capacity_provider_strategy([
                    StrategyItem::new(FARGATE_SPOT, 1),
                    StrategyItem::new("blog-ecs-instances", 1),
                ])
                .build()?
                .plan(aws)
                .await?,
        ),
        50 => drop(
            Cluster::builder()
                .environment("blog")
                .default_capacity_provider_strategy([StrategyItem::new(FARGATE_SPOT, 1)])
                .build()?
                .plan(aws)
                .await?,
        ),
        51 => drop(
            service()
                .autoscaling(Autoscaling::new(1, 4).scheduled(ScheduledScaling {
                    name: "night".into(),
                    schedule: "at 8pm".into(),
                    timezone: None,
                    min_capacity: Some(0),
                    max_capacity: None,
                }))
                .build()?
                .plan(aws)
                .await?,
        ),
        52 => drop(
            service()
                .load_balancer(LoadBalancer {
                    listener: ecs_modules::ecs_service::Listener {
                        redirect_http: true,
                        ..Default::default()
                    },
                    ..lb()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        53 => drop(
            service()
                .load_balancer(LoadBalancer {
                    attributes: ecs_modules::ecs_service::LoadBalancerAttributes {
                        idle_timeout: 0,
                        ..Default::default()
                    },
                    ..lb()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        // Secrets without an execution role to read them as.
        54 => drop(
            service()
                .containers([ContainerDefinition::builder()
                    .name("worker")
                    .image("worker")
                    .secret("DB_PASSWORD", "/blog/db_password")
                    .build()])
                .build()?
                .plan(aws)
                .await?,
        ),
        55 => drop(
            service()
                .execution_role_arn("arn:aws:iam::123456789012:role/blog-execution")
                .containers([ContainerDefinition::builder()
                    .name("worker")
                    .image("worker")
                    .secret("DB_PASSWORD", "arn:aws:s3:::bucket/password")
                    .build()])
                .build()?
                .plan(aws)
                .await?,
        ),
        56 => drop(
            service()
                .execution_role_arn("arn:aws:iam::123456789012:role/blog-execution")
                .containers([ContainerDefinition::builder()
                    .name("worker")
                    .image("worker")
                    .secret("DB_PASSWORD", "/blog/db_password")
                    .build()])
                .secrets_kms_key("alias/blog")
                .build()?
                .plan(aws)
                .await?,
        ),
        57 => drop(
            service()
                .enable_execute_command(true)
                .build()?
                .plan(aws)
                .await?,
        ),
        58 => drop(
            service()
                .execution_role_arn("blog-execution")
                .build()?
                .plan(aws)
                .await?,
        ),
        59 => drop(
            TaskRole::builder()
                .environment("blog")
                .inline_policy("queue", "{}")
                .build()?
                .plan(aws)
                .await?,
        ),
        60 => drop(
            Vpc::builder()
                .environment("blog")
                .interface_endpoints(["ecr.api", "dynamodb"])
                .build()?
                .plan(aws)
                .await?,
        ),
        61 => drop(
            Vpc::builder()
                .environment("blog")
                .create_private_subnets(false)
                .interface_endpoints(["logs"])
                .build()?
                .plan(aws)
                .await?,
        ),
        62 => drop(
            Vpc::builder()
                .environment("blog")
                .flow_logs(ecs_modules::vpc::FlowLogs {
                    retention_in_days: 31,
                    ..Default::default()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        // A load balancer of its own and a rule on a shared one.
        63 => drop(
            service()
                .load_balancer(lb())
                .listener_rule(rule(10))
                .build()?
                .plan(aws)
                .await?,
        ),
        64 => drop(service().listener_rule(rule(0)).build()?.plan(aws).await?),
        65 => drop(
            service()
                .listener_rule(rule(50_001))
                .build()?
                .plan(aws)
                .await?,
        ),
        // A rule matching nothing.
        66 => drop(
            service()
                .listener_rule(
                    ListenerRule::new(shared_listener(), 10).target_group(lb().target_group),
                )
                .build()?
                .plan(aws)
                .await?,
        ),
        // Six hosts and paths: ELB takes five.
        67 => drop(
            service()
                .listener_rule(
                    rule(10)
                        .path("/v1/*")
                        .path("/v2/*")
                        .host("blog.example.com")
                        .host("www.example.com")
                        .host("*.blog.example.com"),
                )
                .build()?
                .plan(aws)
                .await?,
        ),
        68 => drop(
            service()
                .listener_rule(
                    ListenerRule::new(shared_listener(), 10)
                        .path("api/*")
                        .target_group(lb().target_group),
                )
                .build()?
                .plan(aws)
                .await?,
        ),
        69 => drop(
            service()
                .listener_rule(rule(10).host("blog example.com"))
                .build()?
                .plan(aws)
                .await?,
        ),
        // The container maps 80, the rule's target group sends to 8080.
        70 => drop(
            service()
                .listener_rule(rule(10).target_group(TargetGroup {
                    container_port: 8080,
                    ..lb().target_group
                }))
                .build()?
                .plan(aws)
                .await?,
        ),
        71 => drop(
            SharedLoadBalancer::builder()
                .environment("blog")
                .network(crate::util::two_zone_network())
                .build()?
                .plan(aws)
                .await?,
        ),
        72 => drop(
            SharedLoadBalancer::builder()
                .environment("blog")
                .name("public")
                .build()?
                .plan(aws)
                .await?,
        ),
        73 => drop(
            shared()
                .listener(Listener {
                    port: 443,
                    protocol: ListenerProtocol::Https,
                    ..Listener::default()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        74 => drop(
            shared()
                .attributes(LoadBalancerAttributes {
                    idle_timeout: 0,
                    ..LoadBalancerAttributes::default()
                })
                .build()?
                .plan(aws)
                .await?,
        ),
        // Four hosts: ELB takes three in one condition.
        75 => drop(
            service()
                .listener_rule(
                    ListenerRule::new(shared_listener(), 10)
                        .host("a.example.com")
                        .host("b.example.com")
                        .host("c.example.com")
                        .host("d.example.com")
                        .target_group(lb().target_group),
                )
                .build()?
                .plan(aws)
                .await?,
        ),
        // A host with no dot.
        76 => drop(
            service()
                .listener_rule(rule(10).host("localhost"))
                .build()?
                .plan(aws)
                .await?,
        ),
        // Six wildcards: ELB takes five in one rule.
        77 => drop(
            service()
                .listener_rule(rule(10).path("/*/*/*").host("*.*.example.*"))
                .build()?
                .plan(aws)
                .await?,
        ),
        _ => unreachable!("no case {n}"),
    }
    Ok(())
}

/// Each case and the field its message must name.
const CASES: [&str; 78] = [
    "environment",
    "environment",
    "environment",
    "environment",
    "cidr_block",
    "cidr_block",
    "tags[\"Name\"]",
    "tags[\"aws:owner\"]",
    "environment",
    "name",
    "name",
    "retention_in_days",
    "name",
    "environment",
    "memory",
    "cpu",
    "family",
    "containers",
    "[0].name",
    "[0].portMappings[0].containerPort",
    "environment",
    "service_name",
    "cluster",
    "subnets",
    "load_balancer.subnets",
    "container_port",
    "health_check",
    "memory",
    "tags[\"Name\"]",
    "asg_desired",
    "asg_max",
    "subnets",
    "ami_id",
    "instance_type",
    "user_data",
    "vpc_cidr",
    "capacity_provider.target_capacity",
    "root_volume_size",
    "environment",
    "health_check.timeout",
    "cidr_block",
    "load_balancer.subnets",
    "availability_zones[1]",
    "subnets",
    "autoscaling.min_capacity",
    "autoscaling.target_tracking[0].target",
    "autoscaling.target_tracking[0].target",
    "launch_type",
    "capacity_provider_strategy",
    "capacity_provider_strategy",
    "default_capacity_provider_strategy[0].capacity_provider",
    "autoscaling.scheduled[0].schedule",
    "load_balancer.listener.redirect_http",
    "load_balancer.attributes.idle_timeout",
    "execution_role",
    "task_definition.containers[1].secrets[0].value_from",
    "secrets_kms_key",
    "enable_execute_command",
    "execution_role_arn",
    "inline_policies[\"queue\"]",
    "interface_endpoints[1]",
    "interface_endpoints",
    "flow_logs.retention_in_days",
    "listener_rule",
    "listener_rule.priority",
    "listener_rule.priority",
    "listener_rule",
    "listener_rule",
    "listener_rule.path_patterns[0]",
    "listener_rule.host_headers[0]",
    "listener_rule.target_group.container_port",
    "name",
    "network",
    "listener.certificate_arn",
    "attributes.idle_timeout",
    "listener_rule.host_headers",
    "listener_rule.host_headers[0]",
    "listener_rule",
];

#[tokio::test]
async fn bad_inputs_are_refused_naming_the_field_before_any_call() {
    let aws = aws().await;
    aws.calls().reset();
    for (n, field) in CASES.iter().enumerate() {
        let err = match attempt(n, &aws).await {
            Err(Error::Invalid(invalid)) => invalid,
            Err(other) => panic!("case {n} ({field}): not an input error: {other}"),
            Ok(()) => panic!("case {n} ({field}): accepted"),
        };
        assert!(
            err.problems.iter().any(|p| p.field.contains(field)),
            "case {n}: no problem on {field}: {err}"
        );
        let text = err.to_string();
        assert!(text.contains(field), "case {n}: {text}");
    }
    // Spot on the EC2 launch type gets its own reason, not just "not both".
    let spot = attempt(48, &aws).await.unwrap_err().to_string();
    assert!(spot.contains("FARGATE_SPOT runs Fargate tasks"), "{spot}");
    // The three rule cases named `listener_rule` alone each get their own reason.
    for (n, reason) in [
        (63, "give one of load_balancer and listener_rule"),
        (66, "matches nothing"),
        (67, "has 6 hosts and paths"),
        (75, "at most 3 in one condition"),
        (77, "has 7 wildcards"),
    ] {
        let text = attempt(n, &aws).await.unwrap_err().to_string();
        assert!(text.contains(reason), "case {n}: {text}");
    }
    assert_eq!(aws.calls().report().total, 0, "{:#}", aws.calls().report());
}

/// Issue 26: inputs AWS refuses only later (at create, or by clashing with another name) are
/// refused by `build()` naming the field and the rule, so `plan` is never reached and no call
/// is made. `ecs-service/tests/refused.rs` holds more cases of each rule.
#[tokio::test]
async fn inputs_aws_refuses_later_are_refused_before_any_call() {
    let aws = aws().await;
    aws.calls().reset();
    let with_lb = |f: fn(&mut LoadBalancer)| {
        let mut lb = lb();
        f(&mut lb);
        service().load_balancer(lb)
    };
    let sidecars = (0..10).map(|i| {
        ContainerDefinition::builder()
            .name(format!("side{i}"))
            .image("busybox")
            .essential(false)
            .build()
    });
    let cases = [
        (
            service().service_name("blög-ééééééééééééééééééééééé"),
            "service_name",
            "letters",
        ),
        (
            with_lb(|lb| lb.health_check.matcher = "600".into()),
            "load_balancer.health_check.matcher",
            "200 to 499",
        ),
        (
            with_lb(|lb| lb.health_check.path = format!("/{}", "a".repeat(1024))),
            "load_balancer.health_check.path",
            "at most 1024",
        ),
        (
            with_lb(|lb| lb.whitelist = vec!["10.0.0.0/33".into()]),
            "load_balancer.whitelist[0]",
            "not an IPv4 CIDR block",
        ),
        (
            with_lb(|lb| lb.whitelist = vec!["10.0.0.0/8".into(), "10.0.0.0/8".into()]),
            "load_balancer.whitelist[1]",
            "InvalidPermission.Duplicate",
        ),
        (
            with_lb(|lb| {
                lb.security_group_ids = (0..5).map(|i| format!("sg-{i:08x}")).collect();
            }),
            "load_balancer.security_group_ids",
            "at most 5 security groups",
        ),
        (
            with_lb(|lb| lb.listener = Listener::https("x")),
            "load_balancer.listener.certificate_arn",
            "not a certificate's ARN",
        ),
        (
            service().containers(sidecars),
            "task_definition.containers",
            "at most 10",
        ),
        (
            service().deployment_percent(-1, 50),
            "minimum_healthy_percent",
            "0 to 100",
        ),
        (
            with_lb(|lb| lb.health_check_grace_period_seconds = Some(-1)),
            "load_balancer.health_check_grace_period_seconds",
            "must not be negative",
        ),
        (
            service().tag("environment", "prod"),
            "tags[\"environment\"]",
            "set by the module",
        ),
        (
            service().tag("Team", "a").tag("team", "b"),
            "tags[\"team\"]",
            "only in case",
        ),
        (
            service().service_name("s".repeat(250)),
            "service_name",
            "security group name",
        ),
        (service().environment("Blog"), "environment", "lowercase"),
        (
            with_lb(|lb| lb.target_group.target_type = Some("instance".into())),
            "load_balancer.target_group.target_type",
            "registered as \"ip\"",
        ),
    ];
    for (n, (builder, field, rule)) in cases.into_iter().enumerate() {
        let err = match builder.build() {
            Err(invalid) => invalid,
            Ok(service) => {
                let planned = service.plan(&aws).await;
                panic!("case {n} ({field}): accepted; plan: {planned:?}")
            }
        };
        assert!(
            err.problems
                .iter()
                .any(|p| p.field == field && p.rule.contains(rule)),
            "case {n}: no problem on {field} saying {rule:?}: {err}"
        );
    }
    let log_group = LogGroup::builder()
        .environment("blog")
        .name("aws/blog")
        .build()
        .unwrap_err();
    assert!(log_group.has("name"), "{log_group}");
    assert_eq!(aws.calls().report().total, 0, "{:#}", aws.calls().report());
}
