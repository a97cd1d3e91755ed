//! Inputs AWS refuses, refused first by `build()`: each case names the field and the rule.
//! `build()` takes no AWS client, so a refused input makes no AWS call by construction (the
//! emulator's `invalid` tests also plan and count the calls).

use crate::fixtures::network;
use ecs_service::{
    Autoscaling, HealthCheck, Listener, ListenerProtocol, LoadBalancer, LogGroup, ScalingMetric,
    Service, ServiceBuilder, SharedLoadBalancer, TargetGroup, TargetTracking, TaskIngress,
};
use task_def::{ContainerDefinition, PortMapping};

fn container() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("blog")
        .image("npalm/040code.github.io:latest")
        .port_mapping(PortMapping::tcp(80))
        .build()
}

fn service() -> ServiceBuilder {
    Service::builder()
        .environment("blog")
        .service_name("blog")
        .cluster("blog")
        .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-1", "subnet-2"])
        .task_cpu(256)
        .task_memory(512)
        .containers([container()])
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

fn with_check(check: HealthCheck) -> LoadBalancer {
    LoadBalancer {
        health_check: check,
        ..lb()
    }
}

fn groups(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("sg-{i:08x}")).collect()
}

/// `builder` is refused with a problem on `field` whose rule contains `rule`.
#[track_caller]
fn refused(builder: ServiceBuilder, field: &str, rule: &str) {
    let err = builder.build().expect_err("accepted");
    assert!(
        err.problems
            .iter()
            .any(|p| p.field == field && p.rule.contains(rule)),
        "no problem on {field} saying {rule:?}: {err}"
    );
}

#[test]
fn the_valid_service_builds() {
    service().load_balancer(lb()).build().unwrap();
    let https = LoadBalancer {
        listener: Listener {
            ssl_policy: Some("ELBSecurityPolicy-TLS13-1-2-2021-06".into()),
            ..Listener::https("arn:aws:acm:us-east-1:123456789012:certificate/1234-abcd")
        },
        whitelist: vec!["10.0.0.0/8".into(), "192.168.0.0/16".into()],
        security_group_ids: groups(4),
        health_check_grace_period_seconds: Some(0),
        health_check: HealthCheck {
            matcher: "200-299,302".into(),
            ..HealthCheck::default()
        },
        ..lb()
    };
    service()
        .load_balancer(https)
        .deployment_percent(0, 100)
        .tag("team", "web")
        .build()
        .unwrap();
    let iam_cert = Listener::https("arn:aws:iam::123456789012:server-certificate/web/blog");
    service()
        .load_balancer(LoadBalancer {
            listener: iam_cert,
            ..lb()
        })
        .build()
        .unwrap();
}

#[test]
fn non_ascii_service_names_are_refused_not_panicked_on() {
    refused(service().service_name("blög"), "service_name", "letters");
    // Long enough to be shortened for the load balancer's name: cut on a character.
    refused(
        service().service_name("é".repeat(40)).load_balancer(lb()),
        "service_name",
        "letters",
    );
    refused(
        service()
            .service_name("日本語のサービス")
            .load_balancer(lb()),
        "service_name",
        "letters",
    );
}

#[test]
fn health_checks_elb_refuses() {
    for matcher in [
        "600", "199", "abc", "", "200-", "300-200", "200,,201", "0200",
    ] {
        let check = HealthCheck {
            matcher: matcher.into(),
            ..HealthCheck::default()
        };
        refused(
            service().load_balancer(with_check(check)),
            "load_balancer.health_check.matcher",
            "200 to 499",
        );
    }
    let long = HealthCheck {
        path: format!("/{}", "a".repeat(1024)),
        ..HealthCheck::default()
    };
    refused(
        service().load_balancer(with_check(long)),
        "load_balancer.health_check.path",
        "at most 1024",
    );
    let spaced = HealthCheck {
        path: "/health check".into(),
        ..HealthCheck::default()
    };
    refused(
        service().load_balancer(with_check(spaced)),
        "load_balancer.health_check.path",
        "printable ASCII",
    );
    let grace = LoadBalancer {
        health_check_grace_period_seconds: Some(-1),
        ..lb()
    };
    refused(
        service().load_balancer(grace),
        "load_balancer.health_check_grace_period_seconds",
        "must not be negative",
    );
    let port = LoadBalancer {
        target_group: TargetGroup {
            host_port: 0,
            ..lb().target_group
        },
        ..lb()
    };
    refused(
        service().load_balancer(port),
        "load_balancer.target_group.host_port",
        "1 to 65535",
    );
}

#[test]
fn whitelists_ec2_refuses() {
    let whitelist = |cidrs: &[&str]| LoadBalancer {
        whitelist: cidrs.iter().map(|c| c.to_string()).collect(),
        ..lb()
    };
    refused(
        service().load_balancer(whitelist(&["10.0.0.0/33"])),
        "load_balancer.whitelist[0]",
        "not an IPv4 CIDR block",
    );
    refused(
        service().load_balancer(whitelist(&["10.0.0.1/8"])),
        "load_balancer.whitelist[0]",
        "not an IPv4 CIDR block",
    );
    refused(
        service().load_balancer(whitelist(&["10.0.0.0/8", "1.2.3.4/32", "10.0.0.0/8"])),
        "load_balancer.whitelist[2]",
        "InvalidPermission.Duplicate",
    );
    let many: Vec<String> = (0..61).map(|i| format!("10.0.{i}.0/24")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    refused(
        service().load_balancer(whitelist(&many)),
        "load_balancer.whitelist",
        "at most 60",
    );
    // 31 CIDRs on two ports (HTTPS and the HTTP redirect): 62 rules.
    let https = LoadBalancer {
        listener: Listener::https("arn:aws:acm:us-east-1:123456789012:certificate/1"),
        ..whitelist(&many[..31])
    };
    refused(
        service().load_balancer(https),
        "load_balancer.whitelist",
        "62 inbound rules",
    );
}

#[test]
fn load_balancer_groups_and_certificates_elb_refuses() {
    let six = LoadBalancer {
        security_group_ids: groups(5),
        ..lb()
    };
    refused(
        service().load_balancer(six),
        "load_balancer.security_group_ids",
        "at most 5 security groups",
    );
    let bad = LoadBalancer {
        security_group_ids: vec!["default".into()],
        ..lb()
    };
    refused(
        service().load_balancer(bad),
        "load_balancer.security_group_ids[0]",
        "not a security group id",
    );
    for arn in [
        "x",
        "arn:aws:acm:us-east-1:123456789012:key/1",
        "arn:aws:iam::123456789012:role/x",
        "arn:aws:acm::123456789012:certificate/1",
        "arn:aws:acm:us-east-1:1234:certificate/1",
    ] {
        let https = LoadBalancer {
            listener: Listener::https(arn),
            ..lb()
        };
        refused(
            service().load_balancer(https),
            "load_balancer.listener.certificate_arn",
            "not a certificate's ARN",
        );
    }
    let policy = LoadBalancer {
        listener: Listener {
            ssl_policy: Some("TLS-1-2".into()),
            ..Listener::https("arn:aws:acm:us-east-1:123456789012:certificate/1")
        },
        ..lb()
    };
    refused(
        service().load_balancer(policy),
        "load_balancer.listener.ssl_policy",
        "ELBSecurityPolicy-",
    );
}

#[test]
fn tasks_ecs_refuses() {
    let sidecars = (0..10).map(|i| {
        ContainerDefinition::builder()
            .name(format!("side{i}"))
            .image("busybox")
            .essential(false)
            .build()
    });
    refused(
        service().containers(sidecars),
        "task_definition.containers",
        "at most 10",
    );
    let mut tasks = service();
    for id in groups(5) {
        tasks = tasks.security_group_id(id);
    }
    refused(tasks, "security_group_ids", "at most 5 security groups");
    // Without a load balancer each container port is a rule of the tasks' group.
    let mut ports = ContainerDefinition::builder().name("blog").image("x");
    for p in 1000..1061 {
        ports = ports.port_mapping(PortMapping::tcp(p));
    }
    let ports = Service::builder()
        .environment("blog")
        .service_name("blog")
        .cluster("blog")
        .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-1"])
        .task_cpu(256)
        .task_memory(512)
        .task_ingress(TaskIngress::LoadBalancerOnly)
        .containers([ports.build()]);
    refused(ports, "task_definition.containers", "at most 60");
    let instance = LoadBalancer {
        target_group: TargetGroup {
            target_type: Some("instance".into()),
            ..lb().target_group
        },
        ..lb()
    };
    refused(
        service().load_balancer(instance),
        "load_balancer.target_group.target_type",
        "awsvpc tasks are registered as \"ip\"",
    );
    let ip = LoadBalancer {
        target_group: TargetGroup {
            target_type: Some("ip".into()),
            ..lb().target_group
        },
        ..lb()
    };
    service().load_balancer(ip).build().unwrap();
}

#[test]
fn deployments_ecs_refuses() {
    let d = |min, max| service().deployment_percent(min, max);
    refused(d(-1, 50), "minimum_healthy_percent", "0 to 100");
    refused(d(-1, 50), "maximum_percent", "at least 100");
    refused(d(150, 200), "minimum_healthy_percent", "0 to 100");
    refused(
        d(100, 100),
        "maximum_percent",
        "above minimum_healthy_percent",
    );
    d(50, 200).build().unwrap();
}

#[test]
fn tags_and_environments_iam_confuses() {
    refused(
        service().tag("environment", "prod"),
        "tags[\"environment\"]",
        "Environment is set by the module",
    );
    refused(
        service().tag("Team", "a").tag("team", "b"),
        "tags[\"team\"]",
        "only in case",
    );
    refused(service().environment("Blog"), "environment", "lowercase");
    let err = LogGroup::builder()
        .environment("blog")
        .name("aws/blog")
        .build()
        .unwrap_err();
    assert!(err.has("name") && err.to_string().contains("aws/"), "{err}");
}

#[test]
fn derived_names_are_checked_against_their_limits() {
    // ECS takes a 250-character service name, but its tasks' group is
    // `blog-<name>-task-sg`: 263 characters.
    let long = "s".repeat(250);
    refused(
        service().service_name(&long),
        "service_name",
        "security group name",
    );
    // `blog-` and 251 characters: a family of 256.
    refused(
        service().service_name("s".repeat(251)),
        "service_name",
        "task definition family",
    );
    // IAM's inline policy names take 128.
    let secret = ContainerDefinition::builder()
        .name("blog")
        .image("x")
        .port_mapping(PortMapping::tcp(80))
        .secret(
            "TOKEN",
            "arn:aws:ssm:us-east-1:123456789012:parameter/blog/token",
        )
        .build();
    let name = "s".repeat(130);
    let secrets = Service::builder()
        .environment("blog")
        .service_name(&name)
        .cluster("blog")
        .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-1"])
        .task_cpu(256)
        .task_memory(512)
        .execution_role_arn("arn:aws:iam::123456789012:role/exec")
        .containers([secret]);
    refused(secrets, "service_name", "IAM inline policy name");
    let scaled = service().service_name("s".repeat(250)).autoscaling(
        Autoscaling::new(1, 2).target_tracking(TargetTracking::new(ScalingMetric::Cpu, 50.0)),
    );
    refused(scaled, "service_name", "scaling policy name");
    // 200 characters make every name fit.
    service().service_name("s".repeat(200)).build().unwrap();
}

#[test]
fn shared_load_balancers_are_checked_alike() {
    let shared = || {
        SharedLoadBalancer::builder()
            .environment("blog")
            .name("public")
            .network(network())
    };
    shared().build().unwrap();
    let err = shared()
        .whitelist(["10.0.0.0/8", "10.0.0.0/8"])
        .build()
        .unwrap_err();
    assert!(err.has("whitelist[1]"), "{err}");
    let mut six = shared();
    for id in groups(5) {
        six = six.security_group_id(id);
    }
    assert!(six.build().unwrap_err().has("security_group_ids"));
    let err = shared()
        .listener(Listener {
            protocol: ListenerProtocol::Https,
            port: 443,
            certificate_arn: Some("x".into()),
            ..Listener::default()
        })
        .build()
        .unwrap_err();
    assert!(err.has("listener.certificate_arn"), "{err}");
    let err = shared().name("n".repeat(250)).build().unwrap_err();
    assert!(err.to_string().contains("security group name"), "{err}");
}
