//! One generic check that plan and apply agree, run over every module on the resource model:
//! for a first apply, a second, an input change and out-of-band drift, the plan is empty
//! exactly when apply makes no mutating call, and empty again after apply; destroy's plan is
//! empty exactly when destroy deletes nothing. The inputs change one at a time, and at each
//! step the fields the plan shows are the fields apply sends ([`property`]).

use std::future::Future;

use converge::{Aws, Cluster, LogGroup, Module, TaskExecutionRole};
use ecs_modules::ecs_instances::{Instances, ManagedScaling};

use crate::util::{aws, environment};

mod property;

/// Plans, applies, and checks the two agree; returns how many calls mutated.
async fn agree<M: Module>(aws: &Aws, module: &M, step: &str) -> u64 {
    let plan = module.plan(aws).await.unwrap();
    aws.calls().reset();
    module.apply(aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(
        plan.is_empty(),
        calls.mutating == 0,
        "{step}: the plan and the apply disagree\nplan:\n{plan}\ncalls: {calls:#}"
    );
    let after = module.plan(aws).await.unwrap();
    assert!(after.is_empty(), "{step}: not converged:\n{after}");
    calls.mutating
}

/// The whole life of a module: first apply, second apply, the `walk` of inputs, `drift` made
/// out of band on the walk's last inputs, destroy.
async fn life<M, D, F>(aws: &Aws, module: M, walk: Vec<(&str, M)>, drift: D)
where
    M: Module,
    D: FnOnce() -> F,
    F: Future<Output = ()>,
{
    assert!(agree(aws, &module, "first apply").await > 0);
    assert_eq!(agree(aws, &module, "second apply").await, 0);
    let changed = walk_inputs(aws, walk).await;
    drift().await;
    assert!(agree(aws, &changed, "drift").await > 0);
    teardown(aws, &changed).await;
}

/// Applies each step's inputs, each one input away from the step before, holding the plan
/// to what is sent ([`property::one_input`]); returns the last. The walk as a whole changes
/// something.
async fn walk_inputs<M: Module>(aws: &Aws, walk: Vec<(&str, M)>) -> M {
    let mut sent = 0;
    let mut last = None;
    for (step, module) in walk {
        sent += property::one_input(aws, &module, step).await;
        last = Some(module);
    }
    assert!(sent > 0, "the changed inputs changed nothing");
    last.expect("a walk of at least one step")
}

/// Destroy's plan is what destroy deletes, and a second destroy has nothing to do.
async fn teardown<M: Module>(aws: &Aws, changed: &M) {
    let doomed = changed.plan_destroy(aws).await.unwrap();
    assert!(!doomed.is_empty());
    aws.calls().reset();
    let gone = changed.destroy(aws).await.unwrap();
    assert_eq!(gone.summary(), doomed.summary(), "{gone}");
    assert!(aws.calls().report().mutating > 0);
    assert!(changed.plan_destroy(aws).await.unwrap().is_empty());
    aws.calls().reset();
    assert!(changed.destroy(aws).await.unwrap().is_empty());
    assert_eq!(aws.calls().report().mutating, 0);
}

#[tokio::test]
async fn log_group() {
    let aws = aws().await;
    let env = environment("agree-logs");
    let name = format!("/ecs/{env}");
    let group = |days: u32| {
        LogGroup::builder()
            .environment(&env)
            .name(&name)
            .retention_in_days(days)
            .build()
            .unwrap()
    };
    let logs = aws.logs().clone();
    let drifted = name.clone();
    let drift = || async move {
        logs.put_retention_policy()
            .log_group_name(&drifted)
            .retention_in_days(1)
            .send()
            .await
            .unwrap();
    };
    life(&aws, group(30), vec![("retention", group(7))], drift).await;
}

#[tokio::test]
async fn cluster() {
    let aws = aws().await;
    let env = environment("agree-cluster");
    let cluster = |insights: bool| {
        Cluster::builder()
            .environment(&env)
            .container_insights(insights)
            .build()
            .unwrap()
    };
    let ecs = aws.ecs().clone();
    let name = env.clone();
    let drift = || async move {
        let off = aws_sdk_ecs::types::ClusterSetting::builder()
            .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
            .value("disabled")
            .build();
        ecs.update_cluster()
            .cluster(&name)
            .settings(off)
            .send()
            .await
            .unwrap();
    };
    life(
        &aws,
        cluster(false),
        vec![("insights", cluster(true))],
        drift,
    )
    .await;
}

#[tokio::test]
async fn task_execution_role() {
    let aws = aws().await;
    let env = environment("agree-role");
    let role = TaskExecutionRole::builder()
        .environment(&env)
        .build()
        .unwrap();
    let renamed = TaskExecutionRole::builder()
        .environment(&env)
        .name(format!("{env}-exec"))
        .build()
        .unwrap();
    let iam = aws.iam().clone();
    let name = format!("{env}-exec");
    let drift = || async move {
        iam.detach_role_policy()
            .role_name(&name)
            .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
            .send()
            .await
            .unwrap();
    };
    // The renamed role is a second one: the first is destroyed separately.
    life(&aws, role.clone(), vec![("name", renamed)], drift).await;
    role.destroy(&aws).await.unwrap();
    assert!(role.plan_destroy(&aws).await.unwrap().is_empty());
}

/// One security group in a VPC made for the test: the shared kind, on its own.
#[derive(Clone)]
struct OneGroup {
    env: String,
    vpc_id: String,
    cidr: &'static str,
}

#[async_trait::async_trait]
impl Module for OneGroup {
    type Outputs = converge::kinds::SecurityGroupOutputs;
    type Refs = converge::OutputRefs<Self::Outputs>;

    async fn declare(
        &self,
        _aws: &Aws,
        stack: &mut converge::Stack,
    ) -> Result<Self::Refs, converge::Error> {
        use converge::kinds::{IngressRule, Peer, SecurityGroupKind, SecurityGroupSpec};
        let spec = SecurityGroupSpec {
            vpc_id: converge::Value::Known(self.vpc_id.clone()),
            description: "agreement test".into(),
            ingress: vec![IngressRule {
                from: 80,
                to: 80,
                peer: converge::Value::Known(Peer::Cidr(self.cidr.into())),
            }],
        };
        let tags = converge::Tags::new("agreement", &self.env);
        let group = stack.add(
            SecurityGroupKind,
            format!("{}-sg", self.env),
            tags,
            (),
            move |_| spec.clone(),
        );
        let addresses = stack.addresses_from(0);
        Ok(converge::OutputRefs::new(
            group.output(Clone::clone),
            addresses,
        ))
    }
}

#[tokio::test]
async fn security_group() {
    let aws = aws().await;
    let env = environment("agree-sg");
    let vpc = aws
        .ec2()
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let group = |cidr| OneGroup {
        env: env.clone(),
        vpc_id: vpc_id.clone(),
        cidr,
    };
    let ec2 = aws.ec2().clone();
    let drifted = group("10.0.0.0/8");
    let drift = || async move {
        let id = drifted
            .outputs(&ec2_aws(ec2.clone()))
            .await
            .unwrap()
            .unwrap()
            .id;
        ec2.authorize_security_group_ingress()
            .group_id(id)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(
                        aws_sdk_ec2::types::IpRange::builder()
                            .cidr_ip("0.0.0.0/0")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    };
    let walk = vec![("ingress cidr", group("10.0.0.0/8"))];
    life(&aws, group("0.0.0.0/0"), walk, drift).await;
    aws.ec2().delete_vpc().vpc_id(&vpc_id).send().await.unwrap();
}

/// Clients that share `ec2`, for reads inside a drift.
fn ec2_aws(ec2: aws_sdk_ec2::Client) -> Aws {
    Aws::builder().ec2(ec2).build()
}

/// The ECS instances module, every kind of it: converge's role, security group and log
/// group, and its own instance profile, launch template, Auto Scaling group, capacity
/// provider and the provider's place in the cluster. Its instance type, the group's
/// maximum, managed scaling and log retention change one by one; drift is made out of band
/// on each kind.
#[tokio::test]
async fn instances() {
    let aws = aws().await;
    let env = environment("agree-inst");
    let vpc = aws
        .ec2()
        .create_vpc()
        .cidr_block("10.44.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let subnet = aws
        .ec2()
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.44.0.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap();
    let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    // The cluster is not the module's: it only adds its provider next to FARGATE.
    aws.ecs()
        .create_cluster()
        .cluster_name(&env)
        .capacity_providers("FARGATE")
        .send()
        .await
        .unwrap();
    let module = |instance_type: &str, max: u32, target_capacity: u32, days: u32| {
        Instances::builder()
            .environment(&env)
            .cluster(&env)
            .network(ecs_modules::vpc::Network::ids(&vpc_id, "10.44.0.0/16"))
            .subnets([subnet_id.clone()])
            .instance_type(instance_type)
            .asg_max(max)
            .capacity_provider(ManagedScaling {
                target_capacity,
                ..ManagedScaling::default()
            })
            .log_retention_in_days(days)
            .build()
            .unwrap()
    };
    let small = module("t3.small", 2, 100, 30);

    assert!(agree(&aws, &small, "first apply").await > 0);
    assert_eq!(agree(&aws, &small, "second apply").await, 0);
    let walk = vec![
        ("instance type", module("t3.medium", 2, 100, 30)),
        ("group's maximum", module("t3.medium", 3, 100, 30)),
        ("managed scaling", module("t3.medium", 3, 90, 30)),
        ("log retention", module("t3.medium", 3, 90, 7)),
    ];
    let medium = walk_inputs(&aws, walk).await;
    let out = Module::outputs(&medium, &aws).await.unwrap().unwrap();

    // The group's size.
    aws.autoscaling()
        .update_auto_scaling_group()
        .auto_scaling_group_name(&out.asg_name)
        .max_size(5)
        .send()
        .await
        .unwrap();
    assert!(agree(&aws, &medium, "group drift").await > 0);

    // A template version made out of band: the latest no longer matches.
    aws.ec2()
        .create_launch_template_version()
        .launch_template_id(&out.launch_template_id)
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Nano)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(agree(&aws, &medium, "template drift").await > 0);

    // The profile's role taken out.
    aws.iam()
        .remove_role_from_instance_profile()
        .instance_profile_name(format!("{env}-ecs-instance-profile"))
        .role_name(format!("{env}-ecs-instance-role"))
        .send()
        .await
        .unwrap();
    assert!(agree(&aws, &medium, "profile drift").await > 0);

    // The role's managed policy detached.
    aws.iam()
        .detach_role_policy()
        .role_name(format!("{env}-ecs-instance-role"))
        .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
        .send()
        .await
        .unwrap();
    assert!(agree(&aws, &medium, "role drift").await > 0);

    // The security group's ingress revoked.
    aws.ec2()
        .revoke_security_group_ingress()
        .group_id(&out.security_group_id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(0)
                .to_port(65535)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("10.44.0.0/16")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(agree(&aws, &medium, "security group drift").await > 0);

    // The provider's managed scaling changed.
    aws.ecs()
        .update_capacity_provider()
        .name(format!("{env}-ecs-instances"))
        .auto_scaling_group_provider(
            aws_sdk_ecs::types::AutoScalingGroupProviderUpdate::builder()
                .managed_scaling(
                    aws_sdk_ecs::types::ManagedScaling::builder()
                        .status(aws_sdk_ecs::types::ManagedScalingStatus::Enabled)
                        .target_capacity(50)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(agree(&aws, &medium, "capacity provider drift").await > 0);

    // The provider taken out of the cluster (FARGATE kept).
    aws.ecs()
        .put_cluster_capacity_providers()
        .cluster(&env)
        .capacity_providers("FARGATE")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap();
    assert!(agree(&aws, &medium, "cluster association drift").await > 0);
    let cluster = aws
        .ecs()
        .describe_clusters()
        .clusters(&env)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cluster.clusters()[0].capacity_providers(),
        ["FARGATE".to_owned(), format!("{env}-ecs-instances")]
    );

    // The agent's log group's retention.
    aws.logs()
        .delete_retention_policy()
        .log_group_name(format!("/ecs/{env}/ecs-agent"))
        .send()
        .await
        .unwrap();
    assert!(agree(&aws, &medium, "log group drift").await > 0);

    teardown(&aws, &medium).await;
    let cluster = aws
        .ecs()
        .describe_clusters()
        .clusters(&env)
        .send()
        .await
        .unwrap();
    assert_eq!(cluster.clusters()[0].capacity_providers(), ["FARGATE"]);
    aws.ecs()
        .delete_cluster()
        .cluster(&env)
        .send()
        .await
        .unwrap();
    aws.ec2()
        .delete_subnet()
        .subnet_id(&subnet_id)
        .send()
        .await
        .unwrap();
    aws.ec2().delete_vpc().vpc_id(&vpc_id).send().await.unwrap();
}

/// The service module on a network and cluster made for the test: changed count, health
/// check, deregistration delay, `propagate_tags` and deployment bounds; the listener pointed
/// elsewhere out of band.
#[tokio::test]
async fn service() {
    use ecs_modules::ecs_service::{LoadBalancer, Service, TargetGroup};
    use ecs_modules::task_def::{ContainerDefinition, PortMapping};

    let aws = aws().await;
    let env = environment("agree-svc");
    let network = ecs_modules::vpc::Vpc::builder()
        .environment(&env)
        .wait(crate::util::fast_wait())
        .build()
        .unwrap();
    let net = network.apply(&aws).await.unwrap();
    aws.ecs()
        .create_cluster()
        .cluster_name(&env)
        .send()
        .await
        .unwrap();
    use ecs_modules::ecs_service::DeploymentStrategy;
    let shifted = |count: i32,
                   path: &str,
                   delay: i32,
                   propagate: bool,
                   bounds: bool,
                   strategy: DeploymentStrategy| {
        let mut lb = LoadBalancer {
            internal: false,
            subnets: net.public_subnets.clone(),
            target_group: TargetGroup {
                container_name: Some("blog".into()),
                container_port: 80,
                deregistration_delay: delay,
                ..TargetGroup::default()
            },
            ..LoadBalancer::default()
        };
        lb.health_check.path = path.into();
        let mut b = Service::builder()
            .environment(&env)
            .service_name("blog")
            .network(&net)
            .cluster(&env)
            .containers([ContainerDefinition::builder()
                .name("blog")
                .image("npalm/040code.github.io:latest")
                .port_mapping(PortMapping::tcp(80))
                .build()])
            .task_cpu(256)
            .task_memory(512)
            .desired_count(count)
            .load_balancer(lb)
            .propagate_tags(propagate)
            .deployment_strategy(strategy);
        if bounds {
            b = b.deployment_percent(50, 200);
        }
        b.build().unwrap()
    };
    let service = |count: i32, path: &str, delay: i32, propagate: bool, bounds: bool| {
        shifted(
            count,
            path,
            delay,
            propagate,
            bounds,
            DeploymentStrategy::Rolling,
        )
    };
    // A target group of someone else's, for the listener to be pointed at.
    let stray = aws
        .elbv2()
        .create_target_group()
        .name(format!("{env}-stray"))
        .port(80)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        .vpc_id(&net.vpc_id)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned();
    let changed = service(2, "/health", 60, true, true);
    let (elbv2, probe, stray_arn) = (aws.elbv2().clone(), changed.clone(), stray.clone());
    let reader = aws.clone();
    let drift = || async move {
        let out = probe.outputs(&reader).await.unwrap().unwrap();
        elbv2
            .modify_listener()
            .listener_arn(out.lb_listener_arn.unwrap())
            .default_actions(
                aws_sdk_elasticloadbalancingv2::types::Action::builder()
                    .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                    .target_group_arn(&stray_arn)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // `output` is read-only even with drift.
        reader.calls().reset();
        probe.outputs(&reader).await.unwrap();
        assert_eq!(reader.calls().report().mutating, 0);
    };
    let blue_green = shifted(
        2,
        "/health",
        60,
        true,
        true,
        DeploymentStrategy::BlueGreen { bake_time: 5 },
    );
    let walk = vec![
        ("count", service(2, "/", 300, false, false)),
        ("health check", service(2, "/health", 300, false, false)),
        (
            "deregistration delay",
            service(2, "/health", 60, false, false),
        ),
        ("propagate tags", service(2, "/health", 60, true, false)),
        ("deployment bounds", changed.clone()),
        ("blue/green", blue_green),
        ("back to rolling", changed),
    ];
    life(&aws, service(1, "/", 300, false, false), walk, drift).await;
    aws.elbv2()
        .delete_target_group()
        .target_group_arn(&stray)
        .send()
        .await
        .unwrap();
    network.destroy(&aws).await.unwrap();
}

#[tokio::test]
async fn cluster_capacity_providers() {
    use converge::{StrategyItem, FARGATE, FARGATE_SPOT};
    let aws = aws().await;
    let env = environment("agree-cp");
    let cluster = |strategy| crate::util::fargate_cluster(&env, strategy);
    let (ecs, name) = (aws.ecs().clone(), env.clone());
    let drift = || async move {
        ecs.put_cluster_capacity_providers()
            .cluster(&name)
            .set_capacity_providers(Some(vec![]))
            .set_default_capacity_provider_strategy(Some(vec![]))
            .send()
            .await
            .unwrap();
    };
    let changed = cluster(vec![
        StrategyItem::new(FARGATE, 1).base(1),
        StrategyItem::new(FARGATE_SPOT, 2),
    ]);
    let first = cluster(vec![StrategyItem::new(FARGATE, 1)]);
    life(&aws, first, vec![("default strategy", changed)], drift).await;
}

/// An autoscaled service on Fargate Spot, changed to other bounds and policies on the
/// Fargate launch type; the drift is the target's bounds and a policy deleted out of band.
#[tokio::test]
async fn autoscaled_service() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    use converge::{StrategyItem, FARGATE_SPOT};
    use ecs_modules::ecs_service::{
        Autoscaling, LaunchType, ScalingMetric, ScheduledScaling, TargetTracking,
    };

    use crate::service::{blog_builder, cluster, network, public_lb};

    let aws = aws().await;
    let env = environment("agree-scale");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let cpu = |target| vec![TargetTracking::new(ScalingMetric::Cpu, target)];
    let changed_policies = vec![
        TargetTracking::new(ScalingMetric::Memory, 80.0),
        TargetTracking::new(ScalingMetric::RequestsPerTarget, 100.0),
    ];
    let scaled = |spot: bool, (min, max), policies: Vec<TargetTracking>, night: Option<&str>| {
        let mut scaling = Autoscaling::new(min, max);
        for policy in policies {
            scaling = scaling.target_tracking(policy);
        }
        if let Some(schedule) = night {
            scaling = scaling.scheduled(ScheduledScaling {
                name: "night".into(),
                schedule: schedule.into(),
                timezone: None,
                min_capacity: Some(0),
                max_capacity: Some(1),
            });
        }
        let b = blog_builder(&env, &net, "npalm/040code.github.io:latest")
            .load_balancer(public_lb(&net))
            .autoscaling(scaling);
        match spot {
            true => b.capacity_provider_strategy([StrategyItem::new(FARGATE_SPOT, 1)]),
            false => b.launch_type(LaunchType::Fargate),
        }
        .build()
        .unwrap()
    };
    let (at8, at9) = (Some("cron(0 20 * * ? *)"), Some("cron(0 21 * * ? *)"));
    let first = scaled(true, (1, 3), cpu(50.0), at8);
    let walk = vec![
        ("bounds", scaled(true, (2, 5), cpu(50.0), at8)),
        ("schedule", scaled(true, (2, 5), cpu(50.0), at9)),
        ("target value", scaled(true, (2, 5), cpu(60.0), at9)),
        (
            "scheduled action gone",
            scaled(true, (2, 5), cpu(60.0), None),
        ),
        (
            "policies",
            scaled(true, (2, 5), changed_policies.clone(), None),
        ),
        ("launch type", scaled(false, (2, 5), changed_policies, None)),
    ];
    let (scaling, id, policy) = (
        aws.appautoscaling().clone(),
        format!("service/{env}/blog"),
        format!("{env}-blog-memory"),
    );
    let drift = || async move {
        scaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&id)
            .min_capacity(0)
            .max_capacity(10)
            .send()
            .await
            .unwrap();
        scaling
            .delete_scaling_policy()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&id)
            .policy_name(&policy)
            .send()
            .await
            .unwrap();
    };
    life(&aws, first, walk, drift).await;
    vpc.destroy(&aws).await.unwrap();
}

/// An HTTPS service with HTTP redirected to it and the load balancer's attributes, changed to
/// no redirect, another TLS policy, a longer idle timeout and access logs; the drift is the
/// idle timeout set out of band.
#[tokio::test]
async fn https_service_and_load_balancer_attributes() {
    use ecs_modules::ecs_service::{AccessLogs, Listener, LoadBalancer, LoadBalancerAttributes};

    use crate::service::{blog_builder, certificate, cluster, network, public_lb};

    let aws = aws().await;
    let env = environment("agree-https");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let arn = certificate(&env).await;
    let service = |redirect_http: bool, tls12: bool, attributes: LoadBalancerAttributes| {
        blog_builder(&env, &net, "npalm/040code.github.io:latest")
            .load_balancer(LoadBalancer {
                listener: Listener {
                    redirect_http,
                    ssl_policy: tls12.then(|| "ELBSecurityPolicy-TLS-1-2-2017-01".into()),
                    ..Listener::https(&arn)
                },
                attributes,
                ..public_lb(&net)
            })
            .build()
            .unwrap()
    };
    let attributes = |idle_timeout, logs: bool| LoadBalancerAttributes {
        idle_timeout,
        access_logs: logs.then(|| AccessLogs {
            bucket: "agree-alb-logs".into(),
            prefix: None,
        }),
        ..LoadBalancerAttributes::default()
    };
    let first = service(true, false, LoadBalancerAttributes::default());
    let changed = service(false, true, attributes(120, true));
    let (elbv2, probe, reader) = (aws.elbv2().clone(), changed.clone(), aws.clone());
    let drift = || async move {
        let out = probe.outputs(&reader).await.unwrap().unwrap();
        elbv2
            .modify_load_balancer_attributes()
            .load_balancer_arn(out.lb_arn.unwrap())
            .attributes(
                aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute::builder()
                    .key("idle_timeout.timeout_seconds")
                    .value("30")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    };
    let walk = vec![
        (
            "redirect",
            service(false, false, LoadBalancerAttributes::default()),
        ),
        (
            "ssl policy",
            service(false, true, LoadBalancerAttributes::default()),
        ),
        ("idle timeout", service(false, true, attributes(120, false))),
        ("access logs", changed),
    ];
    life(&aws, first, walk, drift).await;
    vpc.destroy(&aws).await.unwrap();
}

/// The VPC module: public addresses on launch turned off and the private zone turned off; the
/// private subnets' route to the NAT gateway deleted out of band.
#[tokio::test]
async fn vpc() {
    use ecs_modules::vpc::Vpc;

    let aws = aws().await;
    let env = environment("agree-vpc");
    let network = |map_ip: bool, zone: bool, endpoints: bool| {
        Vpc::builder()
            .environment(&env)
            .wait(crate::util::fast_wait())
            .public_subnet_map_public_ip_on_launch(map_ip)
            .create_private_hosted_zone(zone)
            .interface_endpoints(if endpoints {
                vec!["ecr.api", "logs"]
            } else {
                vec![]
            })
            .build()
            .unwrap()
    };
    let ec2 = aws.ec2().clone();
    let filter = crate::util::env_filter(&env);
    // A route out of band on the NAT route, and a rule added to the closed default group.
    let drift = || async move {
        let groups = ec2
            .describe_security_groups()
            .filters(filter.clone())
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-name")
                    .values("default")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        ec2.authorize_security_group_egress()
            .group_id(groups.security_groups()[0].group_id().unwrap())
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .ip_ranges(
                        aws_sdk_ec2::types::IpRange::builder()
                            .cidr_ip("0.0.0.0/0")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let tables = ec2
            .describe_route_tables()
            .filters(filter)
            .send()
            .await
            .unwrap();
        let private = tables
            .route_tables()
            .iter()
            .find(|t| t.routes().iter().any(|r| r.nat_gateway_id().is_some()))
            .expect("a private route table with its NAT route");
        ec2.delete_route()
            .route_table_id(private.route_table_id().unwrap())
            .destination_cidr_block("0.0.0.0/0")
            .send()
            .await
            .unwrap();
    };
    let walk = vec![
        ("public addresses", network(false, true, false)),
        ("private zone", network(false, false, false)),
        ("interface endpoints", network(false, false, true)),
    ];
    life(&aws, network(true, true, false), walk, drift).await;
}

/// The policies a service puts on its roles and the task role's own: secrets (with a key)
/// on the execution role, exec and an inline policy on the task role; changed to other
/// secrets without exec; the secrets policy rewritten out of band.
#[tokio::test]
async fn service_permissions() {
    use crate::permissions::{Inputs, WithRoles};
    use crate::service::{cluster, network};

    let aws = aws().await;
    let env = environment("agree-perm");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let first = WithRoles {
        env: env.clone(),
        net,
        inputs: Inputs {
            secrets: vec![("DB_PASSWORD", "/blog/db_password")],
            key: true,
            exec: true,
            inline: true,
        },
    };
    let secrets = vec![("DB_PASSWORD", "/blog/db_password"), ("API", "/blog/api")];
    let with = |inputs: Inputs| WithRoles {
        inputs,
        ..first.clone()
    };
    let walk = vec![
        (
            "secrets",
            with(Inputs {
                secrets: secrets.clone(),
                ..first.inputs.clone()
            }),
        ),
        (
            "key",
            with(Inputs {
                secrets: secrets.clone(),
                key: false,
                ..first.inputs.clone()
            }),
        ),
        (
            "exec",
            with(Inputs {
                secrets: secrets.clone(),
                inline: true,
                ..Inputs::default()
            }),
        ),
        (
            "inline policy",
            with(Inputs {
                secrets,
                ..Inputs::default()
            }),
        ),
    ];
    let iam = aws.iam().clone();
    let (role, name) = (
        format!("{env}-ecs-task-execution"),
        format!("{env}-blog-secrets"),
    );
    let drift = || async move {
        iam.put_role_policy()
            .role_name(&role)
            .policy_name(&name)
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    };
    life(&aws, first, walk, drift).await;
    vpc.destroy(&aws).await.unwrap();
}

/// Out of band: a pipeline deploys an image, and someone scales the blog service to `count`.
async fn deploy_and_scale(aws: &Aws, cluster: &str, count: i32) {
    crate::deploys::pipeline_deploys(aws, cluster, "blog", "npalm/040code.github.io:ci-9").await;
    aws.ecs()
        .update_service()
        .cluster(cluster)
        .service("blog")
        .desired_count(count)
        .send()
        .await
        .unwrap();
}

/// The container and task fields production uses, with the image a pipeline deploys kept:
/// changed fields make a revision with the kept image; a deploy and a count changed out of
/// band give a plan of the count only.
#[tokio::test]
async fn task_fields_and_a_kept_image() {
    use ecs_modules::task_def::{ContainerDefinition, PortMapping};

    use crate::service::{cluster, network, public_lb};

    let aws = aws().await;
    let env = environment("agree-fields");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let service = |user: &str, stop: i32, arch: &str, storage: u32| {
        let container = ContainerDefinition::builder()
            .name("blog")
            .image("npalm/040code.github.io:latest")
            .port_mapping(PortMapping::tcp(80))
            .readonly_root_filesystem(true)
            .init_process_enabled(true)
            .docker_label("team", "blog")
            .stop_timeout(stop)
            .user(user)
            .build();
        ecs_modules::ecs_service::Service::builder()
            .environment(&env)
            .service_name("blog")
            .network(&net)
            .cluster(&env)
            .containers([container])
            .task_cpu(256)
            .task_memory(512)
            .cpu_architecture(arch)
            .ephemeral_storage(storage)
            .keep_deployed_image("blog")
            .load_balancer(public_lb(&net))
            .build()
            .unwrap()
    };
    let first = service("1000", 30, "ARM64", 30);
    let walk = vec![
        ("user", service("1001", 30, "ARM64", 30)),
        ("stop timeout", service("1001", 60, "ARM64", 30)),
        ("architecture", service("1001", 60, "X86_64", 30)),
        ("ephemeral storage", service("1001", 60, "X86_64", 40)),
    ];
    let (reader, cluster_name) = (aws.clone(), env.clone());
    let drift = || async move { deploy_and_scale(&reader, &cluster_name, 3).await };
    life(&aws, first, walk, drift).await;
    vpc.destroy(&aws).await.unwrap();
}

/// A task definition left to a pipeline: changed inputs move the count only; a deploy and
/// a count changed out of band give a plan of the count only.
#[tokio::test]
async fn task_definition_left_to_ci() {
    use crate::service::{blog_builder, cluster, network, public_lb};

    let aws = aws().await;
    let env = environment("agree-leftci");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let service = |memory: u32, count: i32| {
        blog_builder(&env, &net, "npalm/040code.github.io:latest")
            .task_memory(memory)
            .desired_count(count)
            .ignore_task_definition_changes(true)
            .load_balancer(public_lb(&net))
            .build()
            .unwrap()
    };
    let (reader, cluster_name) = (aws.clone(), env.clone());
    let drift = || async move { deploy_and_scale(&reader, &cluster_name, 5).await };
    let walk = vec![("memory", service(1024, 1)), ("count", service(1024, 2))];
    life(&aws, service(512, 1), walk, drift).await;
    vpc.destroy(&aws).await.unwrap();
}

/// A shared load balancer (idle timeout changed; its listener's 404 made a 503 out of band),
/// then a service's rule on it (priority and paths changed; its conditions edited out of
/// band).
#[tokio::test]
async fn shared_load_balancer_and_a_listener_rule() {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action as ElbAction, ActionTypeEnum, FixedResponseActionConfig, PathPatternConditionConfig,
        RuleCondition,
    };
    use ecs_modules::ecs_service::{LoadBalancerAttributes, SharedLoadBalancer};

    let aws = aws().await;
    let env = environment("agree-alb");
    let (vpc, net) = crate::service::network(&aws, &env).await;
    crate::service::cluster(&aws, &env).await;
    let alb = |idle_timeout: i32| {
        SharedLoadBalancer::builder()
            .environment(&env)
            .name("public")
            .network(&net)
            .attributes(LoadBalancerAttributes {
                idle_timeout,
                ..LoadBalancerAttributes::default()
            })
            .build()
            .unwrap()
    };
    let (elbv2, probe, reader) = (aws.elbv2().clone(), alb(120), aws.clone());
    let drift = || async move {
        let out = probe.outputs(&reader).await.unwrap().unwrap();
        let answer = FixedResponseActionConfig::builder()
            .status_code("503")
            .build();
        elbv2
            .modify_listener()
            .listener_arn(out.listener_arn)
            .default_actions(
                ElbAction::builder()
                    .r#type(ActionTypeEnum::FixedResponse)
                    .fixed_response_config(answer)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    };
    // Its whole life first, then again for the services' rule.
    life(&aws, alb(60), vec![("idle timeout", alb(120))], drift).await;
    let shared = alb(60);
    let lb = shared.apply(&aws).await.unwrap();

    let api = |priority: i32, paths: &[&str]| {
        crate::shared_alb::routed(&env, &net, &lb, ("api", priority, paths))
    };
    let (elbv2, probe, reader) = (
        aws.elbv2().clone(),
        api(20, &["/api/*", "/v2/*"]),
        aws.clone(),
    );
    let drift = || async move {
        let out = probe.outputs(&reader).await.unwrap().unwrap();
        elbv2
            .modify_rule()
            .rule_arn(out.lb_listener_rule_arn.unwrap())
            .conditions(
                RuleCondition::builder()
                    .field("path-pattern")
                    .path_pattern_config(
                        PathPatternConditionConfig::builder()
                            .values("/elsewhere/*")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    };
    let walk = vec![
        ("priority", api(20, &["/api/*"])),
        ("paths", api(20, &["/api/*", "/v2/*"])),
    ];
    life(&aws, api(10, &["/api/*"]), walk, drift).await;
    shared.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}
