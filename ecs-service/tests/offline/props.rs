//! Property tests: arbitrary Unicode strings, lengths and numbers at every builder's inputs
//! (the service, the shared load balancer and its rules, the task definition and containers,
//! the VPC, and converge's blocks). `build()` returns a value or an error, never panics.

use crate::fixtures::network;
use ecs_service::{
    Autoscaling, HealthCheck, Listener, ListenerProtocol, ListenerRule, LoadBalancer,
    LoadBalancerAttributes, ScalingMetric, ScheduledScaling, Service, SharedLoadBalancer,
    TargetGroup, TargetTracking,
};
use ecs_service::{Cluster, LogGroup, TaskExecutionRole, TaskRole};
use proptest::prelude::*;
use task_def::{ContainerDefinition, PortMapping, TaskDefinition};

/// Strings that reach every rule: any Unicode, long runs (past AWS's limits, and of
/// multi-byte characters), and near-valid ASCII names that only a length or a character
/// breaks.
fn text() -> impl Strategy<Value = String> {
    let near = prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('0', '9'),
        Just('-'),
        Just('_'),
        Just('/'),
        Just('.'),
        Just(':'),
        Just('é'),
        Just('日'),
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(near, 0..300).prop_map(|c| c.into_iter().collect()),
        (any::<char>(), 0usize..1100).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
        Just(String::new()),
        Just("blog".to_owned()),
    ]
}

/// Numbers around every bound: any, small, and the edges of i32.
fn number() -> impl Strategy<Value = i32> {
    prop_oneof![any::<i32>(), -2..70_000i32, Just(i32::MIN), Just(i32::MAX),]
}

fn texts() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(text(), 0..8)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

fn container(s: &[String], n: &[i32]) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(&s[0])
        .image(&s[1])
        .cpu(n[0])
        .memory(n[1])
        .memory_reservation(n[2])
        .port_mapping(PortMapping::tcp(n[3]).host_port(n[4]))
        .environment(&s[2], &s[3])
        .secret(&s[4], &s[5])
        .working_directory(&s[6])
        .user(&s[7])
        .stop_timeout(n[5])
        .start_timeout(n[6])
        .docker_label(&s[2], &s[5])
        .add_capability(&s[3])
        .build()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn services_never_panic(
        s in proptest::collection::vec(text(), 24),
        n in proptest::collection::vec(number(), 24),
        list in texts(),
        flags in any::<[bool; 4]>(),
    ) {
        let lb = LoadBalancer {
            internal: flags[0],
            subnets: list.clone(),
            listener: Listener {
                port: n[0],
                protocol: if flags[1] { ListenerProtocol::Https } else { ListenerProtocol::Http },
                certificate_arn: flags[1].then(|| s[8].clone()),
                ssl_policy: flags[2].then(|| s[9].clone()),
                redirect_http: flags[3],
            },
            target_group: TargetGroup {
                container_name: Some(s[0].clone()),
                container_port: n[1],
                host_port: n[2],
                protocol: ListenerProtocol::Http,
                deregistration_delay: n[3],
                target_type: Some(s[10].clone()),
            },
            health_check: HealthCheck {
                path: s[11].clone(),
                matcher: s[12].clone(),
                interval: n[4],
                timeout: n[5],
                healthy_threshold: n[6],
                unhealthy_threshold: n[7],
            },
            whitelist: list.clone(),
            security_group_ids: list.clone(),
            health_check_grace_period_seconds: Some(n[8]),
            attributes: LoadBalancerAttributes {
                deletion_protection: flags[0],
                access_logs: None,
                idle_timeout: n[9],
                drop_invalid_header_fields: flags[1],
            },
        };
        let autoscaling = Autoscaling::new(n[10], n[11])
            .target_tracking(TargetTracking::new(ScalingMetric::Cpu, f64::from(n[12])))
            .scheduled(ScheduledScaling {
                name: s[13].clone(),
                schedule: s[14].clone(),
                timezone: Some(s[15].clone()),
                min_capacity: Some(n[13]),
                max_capacity: Some(n[14]),
            });
        let mut b = Service::builder()
            .environment(&s[16])
            .service_name(&s[0])
            .cluster(&s[17])
            .network(vpc::Network::ids(&s[18], &s[19]))
            .subnets(list.clone())
            .containers([container(&s, &n[15..])])
            .desired_count(n[22])
            .deployment_percent(n[23], n[0])
            .execution_role_arn(&s[20])
            .secrets_kms_key(&s[21])
            .cpu_architecture(&s[22])
            .keep_deployed_image(&s[23])
            .autoscaling(autoscaling)
            .load_balancer(lb);
        if let Ok(cpu) = u32::try_from(n[1]) {
            b = b.task_cpu(cpu).task_memory(cpu.wrapping_mul(2));
        }
        for (k, v) in list.iter().zip(&s) {
            b = b.tag(k, v);
            b = b.security_group_id(k);
        }
        let _ = b.clone().build();
        // The same inputs behind a shared listener's rule instead.
        let shared = SharedLoadBalancer::builder()
            .environment(&s[16])
            .name(&s[1])
            .network(network())
            .whitelist(list.clone())
            .internal(flags[0])
            .tag(&s[2], &s[3])
            .build();
        if let Ok(shared) = shared {
            let outputs: ecs_service::SharedLoadBalancerOutputs =
                serde_json::from_value(serde_json::json!({
                    "url": "http://x", "lb_name": shared.lb_name(), "lb_arn": "arn",
                    "lb_dns_name": "x", "lb_zone_id": "z", "security_group_id": "sg-1",
                    "listener_arn": "arn", "listener_port": 80, "listener_protocol": "HTTP",
                    "redirect_listener_arn": null
                }))
                .unwrap();
            let mut rule = ListenerRule::new(&outputs, n[2]);
            for (i, v) in list.iter().enumerate() {
                rule = if i % 2 == 0 { rule.host(v) } else { rule.path(v) };
            }
            let _ = Service::builder()
                .environment(&s[16])
                .service_name(&s[0])
                .cluster(&s[17])
                .network(network())
                .containers([container(&s, &n[15..])])
                .listener_rule(rule)
                .build();
        }
        // Containers as JSON: any text.
        let _ = Service::builder()
            .environment("blog")
            .service_name("blog")
            .cluster("blog")
            .network(network())
            .container_definitions_json(&s[5])
            .build();
    }

    #[test]
    fn tasks_never_panic(
        s in proptest::collection::vec(text(), 12),
        n in proptest::collection::vec(number(), 12),
        count in 0usize..14,
    ) {
        let containers = (0..count).map(|_| container(&s, &n));
        let mut b = TaskDefinition::builder()
            .family(&s[8])
            .environment(&s[9])
            .containers(containers)
            .execution_role_arn(&s[10])
            .task_role_arn(&s[11])
            .cpu_architecture(&s[2])
            .operating_system_family(&s[3])
            .tag(&s[4], &s[5]);
        for (i, v) in [n[7], n[8], n[9]].into_iter().enumerate() {
            if let Ok(v) = u32::try_from(v) {
                b = match i {
                    0 => b.cpu(v),
                    1 => b.memory(v),
                    _ => b.ephemeral_storage(v),
                };
            }
        }
        let _ = b.build();
        let _ = task_def::json::from_json(&s[0]);
    }

    #[test]
    fn networks_and_blocks_never_panic(
        s in proptest::collection::vec(text(), 8),
        n in any::<u32>(),
        list in texts(),
        flags in any::<[bool; 3]>(),
    ) {
        let _ = vpc::Vpc::builder()
            .environment(&s[0])
            .cidr_block(&s[1])
            .availability_zones(list.clone())
            .fargate(flags[0])
            .create_private_subnets(flags[1])
            .create_private_hosted_zone(flags[2])
            .interface_endpoints(list.clone())
            .tag(&s[2], &s[3])
            .build();
        let _ = Cluster::builder().environment(&s[0]).name(&s[4]).tag(&s[2], &s[3]).build();
        let _ = LogGroup::builder()
            .environment(&s[0])
            .name(&s[5])
            .retention_in_days(n)
            .tag(&s[2], &s[3])
            .build();
        let _ = TaskExecutionRole::builder().environment(&s[0]).name(&s[6]).build();
        let mut role = TaskRole::builder()
            .environment(&s[0])
            .name(&s[7])
            .inline_policy(&s[4], &s[5]);
        for arn in &list {
            role = role.managed_policy_arn(arn);
        }
        let _ = role.build();
    }
}
