//! The ECS service module against the emulator, in the module's four shapes.

use converge::{Action, Aws};
use ecs_modules::ecs_service::{
    listener_name, LaunchType, Listener, LoadBalancer, Service, ServiceBuilder, ServiceOutputs,
    TargetGroup,
};
use ecs_modules::task_def::{ContainerDefinition, LogConfiguration, NetworkMode, PortMapping};
use ecs_modules::vpc::{Vpc, VpcOutputs};

use crate::util::{self, aws, environment};

pub(crate) async fn network(aws: &Aws, env: &str) -> (Vpc, VpcOutputs) {
    let vpc = Vpc::builder()
        .environment(env)
        .wait(util::fast_wait())
        .build()
        .unwrap();
    let out = vpc.apply(aws).await.unwrap();
    (vpc, out.outputs)
}

pub(crate) async fn cluster(aws: &Aws, name: &str) {
    aws.ecs()
        .create_cluster()
        .cluster_name(name)
        .send()
        .await
        .unwrap();
}

fn blog_container(image: &str, host_port: Option<i32>) -> ContainerDefinition {
    let mut port = PortMapping::tcp(80);
    port.host_port = host_port;
    ContainerDefinition::builder()
        .name("blog")
        .image(image)
        .essential(true)
        .memory_reservation(128)
        .port_mapping(port)
        .log_configuration(LogConfiguration::awslogs("blog", "us-east-1", "blog"))
        .build()
}

pub(crate) fn public_lb(vpc: &VpcOutputs) -> LoadBalancer {
    LoadBalancer {
        internal: false,
        subnets: vpc.public_subnets.clone(),
        listener: Listener::default(),
        target_group: TargetGroup {
            container_name: Some("blog".into()),
            container_port: 80,
            ..TargetGroup::default()
        },
        ..LoadBalancer::default()
    }
}

/// The blog's Fargate service on `vpc`, ready for more settings.
pub(crate) fn blog_builder(env: &str, vpc: &VpcOutputs, image: &str) -> ServiceBuilder {
    Service::builder()
        .environment(env)
        .service_name("blog")
        .network(vpc)
        .cluster(env)
        .containers([blog_container(image, None)])
        .task_cpu(256)
        .task_memory(512)
        .execution_role_arn("arn:aws:iam::123456789012:role/blog-execution")
}

fn fargate(env: &str, vpc: &VpcOutputs, image: &str) -> Service {
    blog_builder(env, vpc, image)
        .load_balancer(public_lb(vpc))
        .build()
        .unwrap()
}

async fn lb_count(aws: &Aws, name: &str) -> usize {
    aws.elbv2()
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .map(|o| o.load_balancers().len())
        .unwrap_or(0)
}

#[tokio::test]
async fn fargate_behind_an_internet_facing_load_balancer() {
    let aws = aws().await;
    let env = environment("svc");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;

    let service = fargate(&env, &net, "npalm/040code.github.io:latest");
    aws.calls().reset();
    let out: ServiceOutputs = service.apply(&aws).await.unwrap().outputs;
    println!("service apply: {:#}", aws.calls().report());
    let dns = out.lb_dns_name.clone().unwrap();
    assert_eq!(
        out.service_url.as_deref(),
        Some(format!("http://{dns}").as_str())
    );
    assert_eq!(out.service_name, "blog");

    // The target group takes IPs; the service runs on Fargate in the private subnets with no
    // public address, behind the listener.
    let tg = aws
        .elbv2()
        .describe_target_groups()
        .target_group_arns(out.lb_target_group_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        tg.target_groups()[0].target_type().map(|t| t.as_str()),
        Some("ip")
    );
    let svc = &util::described_service(&aws, &env, "blog").await;
    assert_eq!(svc.launch_type().map(|l| l.as_str()), Some("FARGATE"));
    let awsvpc = svc
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    assert_eq!(
        awsvpc.assign_public_ip().map(|a| a.as_str()),
        Some("DISABLED")
    );
    assert_eq!(awsvpc.subnets(), net.private_subnets.as_slice());
    assert_eq!(
        awsvpc.security_groups(),
        [out.task_security_group_id.clone().unwrap()]
    );

    aws.calls().reset();
    let again = service.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    println!("service no-op apply: {calls:#}");
    assert_eq!(calls.mutating, 0, "{calls:#}");
    assert_eq!(again, out);

    // A new image: a new revision, the same service updated in place.
    let v2 = fargate(&env, &net, "npalm/040code.github.io:v2");
    let plan = v2.plan(&aws).await.unwrap();
    println!("{plan}");
    assert_eq!(
        plan.find("aws_ecs_task_definition", &format!("{env}-blog"))
            .unwrap()
            .action,
        Action::Replace
    );
    assert_eq!(
        plan.find("aws_ecs_service", "blog").unwrap().action,
        Action::Update
    );
    assert_eq!(plan.summary(), (1, 1, 1), "{plan}");
    let updated = v2.apply(&aws).await.unwrap();
    assert_eq!(updated.service_arn, out.service_arn);
    assert!(
        updated.task_definition_arn.ends_with(":2"),
        "{}",
        updated.task_definition_arn
    );
    assert!(v2.plan(&aws).await.unwrap().is_empty());

    // Count, health check and deregistration delay change in place too.
    let mut lb = public_lb(&net);
    lb.health_check.path = "/health".into();
    lb.target_group.deregistration_delay = 30;
    let v3 = blog_builder(&env, &net, "npalm/040code.github.io:v2")
        .desired_count(2)
        .load_balancer(lb)
        .build()
        .unwrap();
    let plan = v3.plan(&aws).await.unwrap();
    let tg = plan
        .find("aws_lb_target_group", &format!("{env}-blog"))
        .unwrap();
    let fields: Vec<_> = tg.diffs.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        (tg.action, fields),
        (Action::Update, vec!["deregistration_delay", "health_check"]),
        "{plan}"
    );
    let svc = plan.find("aws_ecs_service", "blog").unwrap();
    assert_eq!(svc.diffs[0].field, "desired_count", "{plan}");
    assert_eq!(plan.summary(), (0, 2, 0), "{plan}");
    let v3_out = v3.apply(&aws).await.unwrap();
    assert_eq!(v3_out.lb_target_group_arn, updated.lb_target_group_arn);
    assert_eq!(
        util::described_service(&aws, &env, "blog")
            .await
            .desired_count(),
        2
    );
    assert!(v3.plan(&aws).await.unwrap().is_empty());

    aws.calls().reset();
    let deleted = v3.destroy(&aws).await.unwrap();
    let calls = aws.calls().report();
    println!("service destroy: {calls:#}\n{deleted}");
    // The targets are not left to drain (AWS's 300 s), nor is the service waited for before
    // its load balancer goes: one DescribeServices, the read.
    assert_eq!(
        calls.by_operation["ModifyTargetGroupAttributes"], 1,
        "{calls:#}"
    );
    assert_eq!(calls.by_operation["DescribeServices"], 1, "{calls:#}");
    assert_eq!(lb_count(&aws, &format!("{env}-blog")).await, 0);
    let groups = aws
        .ec2()
        .describe_security_groups()
        .filters(util::env_filter(&env))
        .send()
        .await
        .unwrap();
    assert!(
        util::groups_but_default(&groups).is_empty(),
        "security groups left: {:?}",
        groups.security_groups()
    );
    let active = aws
        .ecs()
        .list_task_definitions()
        .family_prefix(format!("{env}-blog"))
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    assert!(active.task_definition_arns().is_empty());
    assert!(
        v2.plan(&aws).await.unwrap().summary().0 > 0,
        "everything is to be made again"
    );
    vpc.destroy(&aws).await.unwrap();
}

#[tokio::test]
async fn the_other_three_shapes_apply_idempotently_and_destroy() {
    let aws = aws().await;
    let env = environment("shapes");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;

    let awsvpc_no_lb = Service::builder()
        .environment(&env)
        .service_name("worker")
        .network(&net)
        .cluster(&env)
        .containers([blog_container("worker:1", None)])
        .task_cpu(256)
        .task_memory(512)
        .build()
        .unwrap();
    let bridge_lb = Service::builder()
        .environment(&env)
        .service_name("web")
        .network(&net)
        .cluster(&env)
        .launch_type(LaunchType::Ec2)
        .task_network_mode(NetworkMode::Bridge)
        .containers([blog_container("web:1", Some(0))])
        // The emulator wants task memory (or container `memory`) for EC2 tasks; AWS takes a
        // reservation alone.
        .task_memory(512)
        .load_balancer(LoadBalancer {
            internal: true,
            ..public_lb(&net)
        })
        .build()
        .unwrap();
    let bridge_no_lb = Service::builder()
        .environment(&env)
        .service_name("batch")
        .cluster(&env)
        .launch_type(LaunchType::Ec2)
        .containers([blog_container("batch:1", Some(0))])
        .task_memory(512)
        .build()
        .unwrap();

    for service in [&awsvpc_no_lb, &bridge_lb, &bridge_no_lb] {
        let out = service.apply(&aws).await.unwrap();
        assert_eq!(out.lb_arn.is_some(), service.full_name().ends_with("-web"));
        assert_eq!(
            out.task_security_group_id.is_some(),
            service.full_name().ends_with("-worker")
        );
        aws.calls().reset();
        service.apply(&aws).await.unwrap();
        assert_eq!(
            aws.calls().report().mutating,
            0,
            "{}: {:#}",
            service.full_name(),
            aws.calls().report()
        );
    }
    let bridge_tg = aws
        .elbv2()
        .describe_target_groups()
        .names(format!("{env}-web"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bridge_tg.target_groups()[0]
            .target_type()
            .map(|t| t.as_str()),
        Some("instance")
    );

    for service in [&awsvpc_no_lb, &bridge_lb, &bridge_no_lb] {
        service.destroy(&aws).await.unwrap();
        assert!(service.plan(&aws).await.unwrap().summary().2 == 0);
    }
    let groups = aws
        .ec2()
        .describe_security_groups()
        .filters(util::env_filter(&env))
        .send()
        .await
        .unwrap();
    assert!(util::groups_but_default(&groups).is_empty());
    vpc.destroy(&aws).await.unwrap();
}

#[tokio::test]
async fn bad_inputs_are_refused_before_any_call() {
    let net = util::two_zone_network();
    let err = Service::builder()
        .environment("blog")
        .service_name("blog")
        .network(&net)
        .cluster("blog")
        .task_network_mode(NetworkMode::Bridge)
        .containers([blog_container("x", None)])
        .load_balancer(LoadBalancer {
            listener: Listener {
                protocol: ecs_modules::ecs_service::ListenerProtocol::Https,
                ..Listener::default()
            },
            target_group: TargetGroup {
                container_name: Some("web".into()),
                container_port: 80,
                ..TargetGroup::default()
            },
            ..public_lb(&net)
        })
        .build()
        .unwrap_err();
    let fields: Vec<_> = err.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "task_network_mode",
            "load_balancer.listener.certificate_arn",
            "task_definition.cpu",
            "task_definition.memory",
            "load_balancer.target_group.container_name",
        ],
        "{err}"
    );
    let err = Service::builder()
        .environment("blog")
        .service_name("blog")
        .network(&net)
        .cluster("blog")
        .containers([blog_container("x", None)])
        .task_cpu(256)
        .task_memory(512)
        .load_balancer(LoadBalancer {
            target_group: TargetGroup {
                container_name: Some("web".into()),
                container_port: 80,
                ..TargetGroup::default()
            },
            ..public_lb(&net)
        })
        .build()
        .unwrap_err();
    assert_eq!(
        err.problems[0].field,
        "load_balancer.target_group.container_name"
    );
    assert!(
        err.to_string().contains("has no container \"web\""),
        "{err}"
    );
}

#[tokio::test]
async fn a_target_group_change_aws_cannot_make_in_place_is_a_replacement() {
    let aws = aws().await;
    let env = environment("tgswap");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let service = fargate(&env, &net, "npalm/040code.github.io:latest");
    let before = service.apply(&aws).await.unwrap();

    // The target group's port cannot change in place.
    let mut lb = public_lb(&net);
    lb.target_group.host_port = 8080;
    let moved = blog_builder(&env, &net, "npalm/040code.github.io:latest")
        .load_balancer(lb)
        .build()
        .unwrap();
    let plan = moved.plan(&aws).await.unwrap();
    let tg = plan
        .find("aws_lb_target_group", &format!("{env}-blog"))
        .unwrap();
    assert_eq!(tg.action, Action::Replace, "{plan}");
    assert_eq!(tg.diffs[0].field, "port");

    let after = moved.apply(&aws).await.unwrap();
    assert_ne!(after.lb_target_group_arn, before.lb_target_group_arn);
    let listeners = aws
        .elbv2()
        .describe_listeners()
        .load_balancer_arn(after.lb_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        listeners.listeners()[0].default_actions()[0].target_group_arn(),
        after.lb_target_group_arn.as_deref()
    );
    let old = aws
        .elbv2()
        .describe_target_groups()
        .target_group_arns(before.lb_target_group_arn.clone().unwrap())
        .send()
        .await;
    assert!(
        old.is_err() || old.unwrap().target_groups().is_empty(),
        "the old target group is gone"
    );
    aws.calls().reset();
    moved.apply(&aws).await.unwrap();
    assert_eq!(
        aws.calls().report().mutating,
        0,
        "{:#}",
        aws.calls().report()
    );

    moved.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

#[tokio::test]
async fn a_steady_state_timeout_names_what_it_waited_for() {
    let aws = aws().await;
    let env = environment("steady");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    // The emulator runs no containers: the service never reaches its desired count.
    let service = blog_builder(&env, &net, "npalm/040code.github.io:latest")
        .wait_for_steady_state(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let err = service.apply(&aws).await.unwrap_err();
    let mut chain = vec![err.to_string()];
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    assert!(
        chain
            .iter()
            .any(|m| m.contains("waiting for ECS service blog to reach a steady state")),
        "{chain:?}"
    );
    service.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

/// An ACM certificate in the emulator, for HTTPS listeners.
pub(crate) async fn certificate(env: &str) -> String {
    let acm = aws_sdk_acm::Client::new(&util::sdk_config().await);
    acm.request_certificate()
        .domain_name(format!("{env}.example.com"))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned()
}

/// The load balancer's listeners, by port: protocol, and where they forward or redirect.
async fn listeners(aws: &Aws, lb_arn: &str) -> Vec<(i32, String, String)> {
    let out = aws
        .elbv2()
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .send()
        .await
        .unwrap();
    let mut found: Vec<(i32, String, String)> = out
        .listeners()
        .iter()
        .map(|l| {
            let action = &l.default_actions()[0];
            let to = match action.redirect_config() {
                Some(r) => format!(
                    "redirect {}:{} {}",
                    r.protocol().unwrap_or_default(),
                    r.port().unwrap_or_default(),
                    r.status_code().map(|c| c.as_str()).unwrap_or_default()
                ),
                None => "forward".to_owned(),
            };
            (
                l.port().unwrap_or_default(),
                l.protocol()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                to,
            )
        })
        .collect();
    found.sort();
    found
}

/// The ports the load balancer's security group opens.
async fn open_ports(aws: &Aws, group: &str) -> Vec<i32> {
    let out = aws
        .ec2()
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .unwrap();
    let mut ports: Vec<i32> = out.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter_map(|p| p.from_port())
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

#[tokio::test]
async fn https_with_http_redirected_to_it() {
    let aws = aws().await;
    let env = environment("https");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let arn = certificate(&env).await;
    let https = |redirect_http: bool| {
        blog_builder(&env, &net, "npalm/040code.github.io:latest")
            .load_balancer(LoadBalancer {
                listener: Listener {
                    redirect_http,
                    ..Listener::https(&arn)
                },
                ..public_lb(&net)
            })
            .build()
            .unwrap()
    };
    let service = https(true);
    let out = service.apply(&aws).await.unwrap();
    let dns = out.lb_dns_name.clone().unwrap();
    assert_eq!(out.service_url, Some(format!("https://{dns}")));
    let lb = out.lb_arn.clone().unwrap();
    assert_eq!(
        listeners(&aws, &lb).await,
        [
            (
                80,
                "HTTP".to_owned(),
                "redirect HTTPS:443 HTTP_301".to_owned()
            ),
            (443, "HTTPS".to_owned(), "forward".to_owned()),
        ]
    );
    let group = out.lb_security_group_id.clone().unwrap();
    assert_eq!(open_ports(&aws, &group).await, [80, 443]);
    aws.calls().reset();
    service.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);

    // The redirect turned off: its listener and its port go.
    let plain = https(false);
    let plan = plain.plan(&aws).await.unwrap();
    assert!(
        plan.to_string()
            .contains(&listener_name(&format!("{env}-blog"), 80)),
        "{plan}"
    );
    plain.apply(&aws).await.unwrap();
    assert_eq!(
        listeners(&aws, &lb).await,
        [(443, "HTTPS".to_owned(), "forward".to_owned())]
    );
    assert_eq!(open_ports(&aws, &group).await, [443]);
    assert!(plain.plan(&aws).await.unwrap().is_empty());

    plain.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

/// The task fields production services use, through the service: an ARM64 task with more
/// storage, an encrypted EFS volume through an access point, and a hardened container. The
/// emulator keeps them all, so a second apply registers no revision.
#[tokio::test]
async fn a_task_with_the_fields_production_uses_converges() {
    use ecs_modules::task_def::{EfsVolumeConfiguration, MountPoint, Volume};

    let aws = aws().await;
    let env = environment("fields");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let mount = MountPoint {
        source_volume: "data".into(),
        container_path: "/data".into(),
        read_only: Some(false),
    };
    let container = ContainerDefinition::builder()
        .name("blog")
        .image("npalm/040code.github.io:latest")
        .port_mapping(PortMapping::tcp(80))
        .readonly_root_filesystem(true)
        .init_process_enabled(true)
        .docker_label("team", "blog")
        .stop_timeout(30)
        .user("1000")
        .mount_point(mount)
        .build();
    let service = Service::builder()
        .environment(&env)
        .service_name("blog")
        .network(&net)
        .cluster(&env)
        .containers([container])
        .task_cpu(256)
        .task_memory(512)
        .cpu_architecture("ARM64")
        .ephemeral_storage(50)
        .task_volume(Volume::efs(
            "data",
            EfsVolumeConfiguration::new("fs-0123456789abcdef0")
                .encrypted()
                .access_point("fsap-0123456789abcdef0"),
        ))
        .load_balancer(public_lb(&net))
        .build()
        .unwrap();
    let out = service.apply(&aws).await.unwrap();
    let described = aws
        .ecs()
        .describe_task_definition()
        .task_definition(&out.task_definition_arn)
        .send()
        .await
        .unwrap();
    let task = described.task_definition().unwrap();
    assert_eq!(
        task.runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str()),
        Some("ARM64")
    );
    assert_eq!(task.ephemeral_storage().map(|e| e.size_in_gib()), Some(50));
    let efs = task.volumes()[0].efs_volume_configuration().unwrap();
    assert_eq!(efs.file_system_id(), "fs-0123456789abcdef0");
    let container = &task.container_definitions()[0];
    assert_eq!(container.readonly_root_filesystem(), Some(true));
    assert_eq!(container.stop_timeout(), Some(30));
    assert_eq!(
        container
            .linux_parameters()
            .and_then(|l| l.init_process_enabled()),
        Some(true)
    );
    aws.calls().reset();
    service.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");
    service.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

/// The load balancer's attributes converge, and deletion protection makes destroy refuse
/// before it deletes anything, until an apply lifts it.
#[tokio::test]
async fn load_balancer_attributes_and_deletion_protection() {
    use ecs_modules::ecs_service::{AccessLogs, LoadBalancerAttributes};

    let aws = aws().await;
    let env = environment("lbattr");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let with = |deletion_protection: bool| {
        blog_builder(&env, &net, "npalm/040code.github.io:latest")
            .load_balancer(LoadBalancer {
                attributes: LoadBalancerAttributes {
                    deletion_protection,
                    access_logs: Some(AccessLogs {
                        bucket: "blog-alb-logs".into(),
                        prefix: Some("blog".into()),
                    }),
                    idle_timeout: 120,
                    ..LoadBalancerAttributes::default()
                },
                ..public_lb(&net)
            })
            .build()
            .unwrap()
    };
    let protected = with(true);
    let out = protected.apply(&aws).await.unwrap();
    let described = aws
        .elbv2()
        .describe_load_balancer_attributes()
        .load_balancer_arn(out.lb_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    let attribute = |key: &str| {
        described
            .attributes()
            .iter()
            .find(|a| a.key() == Some(key))
            .and_then(|a| a.value())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(attribute("deletion_protection.enabled"), "true");
    assert_eq!(attribute("access_logs.s3.bucket"), "blog-alb-logs");
    assert_eq!(attribute("idle_timeout.timeout_seconds"), "120");
    assert_eq!(
        attribute("routing.http.drop_invalid_header_fields.enabled"),
        "true"
    );
    aws.calls().reset();
    protected.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);

    aws.calls().reset();
    let err = protected.destroy(&aws).await.unwrap_err();
    assert!(matches!(err, converge::Error::Protected { .. }), "{err}");
    assert!(
        err.to_string().contains("deletion_protection: false"),
        "{err}"
    );
    assert_eq!(aws.calls().report().mutating, 0);
    assert!(protected.outputs(&aws).await.unwrap().is_some());

    // Lifted by an apply, then destroy goes through.
    let lifted = with(false);
    let plan = lifted.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    lifted.apply(&aws).await.unwrap();
    lifted.destroy(&aws).await.unwrap();
    assert_eq!(lb_count(&aws, &format!("{env}-blog")).await, 0);
    vpc.destroy(&aws).await.unwrap();
}
