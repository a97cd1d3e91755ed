//! One way to compose: every module and block is declared with `declare`, hands back refs
//! with the addresses of what it declared, and a service takes those refs (or outputs, or
//! ids) through one setter each, its edges following from them. No AWS call is made.

use converge::{Address, Aws, Module, Refs, Stack};
use ecs_service::{Cluster, LoadBalancer, LogGroup, Service, TargetGroup, TaskExecutionRole};
use task_def::{ContainerDefinition, PortMapping};

fn blog() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("blog")
        .image("npalm/040code.github.io:latest")
        .port_mapping(PortMapping::tcp(80))
        .build()
}

/// The kinds and names of the resources `kind`/`name` reads, with those their own reads
/// reach, in the stack.
fn reaches(stack: &Stack, kind: &'static str, name: &str) -> Vec<(&'static str, String)> {
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    let mut todo = vec![(kind, name.to_owned())];
    while let Some((k, n)) = todo.pop() {
        for (dk, dn) in stack.dependencies(k, &n) {
            let dep = (dk, dn.to_owned());
            if !seen.contains(&dep) {
                seen.push(dep.clone());
                todo.push(dep);
            }
        }
    }
    seen
}

#[tokio::test]
async fn every_module_declares_the_same_way_and_its_refs_are_inputs() {
    let aws = Aws::builder().build();
    let mut stack = Stack::new();
    let cluster = Cluster::builder().environment("blog").build().unwrap();
    let cluster = cluster.declare(&aws, &mut stack).await.unwrap();
    let logs = LogGroup::builder()
        .environment("blog")
        .name("/ecs/blog")
        .build()
        .unwrap();
    let logs = logs.declare(&aws, &mut stack).await.unwrap();
    let role = TaskExecutionRole::builder()
        .environment("blog")
        .build()
        .unwrap();
    let role = role.declare(&aws, &mut stack).await.unwrap();
    let network = vpc::Network::ids("vpc-1", "10.0.0.0/16")
        .private_subnets(["subnet-priv-a", "subnet-priv-b"])
        .public_subnets(["subnet-pub-a", "subnet-pub-b"]);
    let service = Service::builder()
        .environment("blog")
        .service_name("blog")
        .network(network)
        .cluster(&cluster)
        .depends_on(&logs.outputs)
        .execution_role(&role)
        .containers([blog()])
        .task_cpu(256)
        .task_memory(512)
        .load_balancer(LoadBalancer {
            internal: false,
            target_group: TargetGroup {
                container_name: Some("blog".into()),
                container_port: 80,
                ..TargetGroup::default()
            },
            ..LoadBalancer::default()
        })
        .build()
        .unwrap()
        .declare(&aws, &mut stack)
        .await
        .unwrap();

    // Each module's addresses are what it declared, in order; together, the whole stack.
    assert_eq!(
        cluster.addresses(),
        [Address::new("aws_ecs_cluster", "blog", None)]
    );
    assert_eq!(
        logs.addresses(),
        [Address::new("aws_cloudwatch_log_group", "/ecs/blog", None)]
    );
    assert_eq!(role.addresses()[0].kind, "aws_iam_role");
    let listed: Vec<Address> = [
        cluster.addresses(),
        logs.addresses(),
        role.addresses(),
        service.addresses(),
    ]
    .concat();
    let declared: Vec<Address> = stack
        .resources()
        .map(|(kind, name)| Address::new(kind, name, None))
        .collect();
    assert_eq!(listed, declared);
    for kind in [
        "aws_security_group",
        "aws_lb",
        "aws_lb_target_group",
        "aws_lb_listener",
        "aws_ecs_task_definition",
        "aws_ecs_service",
    ] {
        assert!(
            service.addresses().iter().any(|a| a.kind == kind),
            "{kind} in {:?}",
            service.addresses()
        );
    }

    // The ECS service waits for the cluster, the log group and the role it was given.
    let reached = reaches(&stack, "aws_ecs_service", "blog");
    for (kind, name) in [
        ("aws_ecs_cluster", "blog"),
        ("aws_cloudwatch_log_group", "/ecs/blog"),
        ("aws_iam_role", role.role.name()),
    ] {
        assert!(
            reached.contains(&(kind, name.to_owned())),
            "{kind} {name} not in {reached:?}"
        );
    }
    // The load balancer went in the network's public subnets: given as ids, they are
    // counted by `build()`, which refuses one subnet.
    let one = Service::builder()
        .environment("blog")
        .service_name("blog")
        .network(vpc::Network::ids("vpc-1", "10.0.0.0/16").public_subnets(["subnet-pub-a"]))
        .cluster("blog")
        .containers([blog()])
        .task_cpu(256)
        .task_memory(512)
        .subnets(["subnet-priv-a"])
        .load_balancer(LoadBalancer {
            internal: false,
            ..LoadBalancer::default()
        })
        .build()
        .unwrap_err();
    assert!(
        one.problems
            .iter()
            .any(|p| p.field == "load_balancer.subnets"),
        "{one}"
    );
}
