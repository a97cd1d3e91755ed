//! The rules a task definition must keep, checked before any AWS call.

use std::collections::HashSet;

use converge::Invalid;

use crate::container::AWSLOGS_OPTIONS;
use crate::sizes::{fargate_accepts, fargate_rule, FARGATE_CPU};
use crate::task::{Compatibility, NetworkMode, TaskDefinition};

const MAX_NAME: usize = 255;

fn is_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Records every broken rule of `task` in `invalid`.
pub(crate) fn check(task: &TaskDefinition, invalid: &mut Invalid) {
    invalid.check(
        is_name(&task.family),
        "family",
        format_args!(
            "{:?} must be 1 to {MAX_NAME} letters, digits, hyphens and underscores",
            task.family
        ),
    );

    let fargate = task
        .requires_compatibilities
        .contains(&Compatibility::Fargate);
    if fargate {
        invalid.check(
            task.network_mode == Some(NetworkMode::Awsvpc),
            "network_mode",
            format_args!(
                "Fargate requires awsvpc, not {}",
                task.network_mode
                    .map_or("the default (bridge)", NetworkMode::as_str)
            ),
        );
        match (task.cpu, task.memory) {
            // A CPU Fargate never takes is the CPU's fault; else the memory does not fit it.
            (Some(cpu), Some(memory)) => invalid.check(
                fargate_accepts(cpu, memory),
                if FARGATE_CPU.contains(&cpu) {
                    "memory"
                } else {
                    "cpu"
                },
                format_args!("{cpu} CPU units with {memory} MiB: {}", fargate_rule(cpu)),
            ),
            (cpu, memory) => {
                invalid.check(cpu.is_some(), "cpu", "Fargate requires task-level CPU");
                invalid.check(
                    memory.is_some(),
                    "memory",
                    "Fargate requires task-level memory",
                );
            }
        }
    }

    if task.container_definitions.is_empty() {
        invalid.push("containers", "a task needs at least one container");
        return;
    }
    invalid.check(
        task.container_definitions.iter().any(|c| c.is_essential()),
        "containers",
        "at least one container must be essential",
    );

    let mut names = HashSet::new();
    let mut container_memory = 0i64;
    for (i, c) in task.container_definitions.iter().enumerate() {
        let at = |field: &str| format!("containers[{i}].{field}");
        if !is_name(&c.name) {
            invalid.push(
                at("name"),
                format_args!(
                    "{:?} must be 1 to {MAX_NAME} letters, digits, hyphens and underscores",
                    c.name
                ),
            );
        } else if !names.insert(c.name.as_str()) {
            invalid.push(
                at("name"),
                format_args!("{:?} is used by another container", c.name),
            );
        }
        invalid.check(
            !c.image.trim().is_empty(),
            at("image"),
            "an image is required",
        );

        for (field, value) in [
            ("cpu", c.cpu),
            ("memory", c.memory),
            ("memory_reservation", c.memory_reservation),
        ] {
            invalid.check(
                value.is_none_or(|v| v >= 0),
                at(field),
                "must not be negative",
            );
        }
        if let (Some(hard), Some(soft)) = (c.memory, c.memory_reservation) {
            invalid.check(
                soft <= hard,
                at("memory_reservation"),
                format_args!("{soft} MiB is more than the hard limit memory = {hard} MiB"),
            );
        }
        // What the container may claim of the task's memory: its hard limit, or else its
        // reservation.
        container_memory += i64::from(c.memory.or(c.memory_reservation).unwrap_or(0));
        if task.memory.is_none() && !fargate && c.memory.is_none() && c.memory_reservation.is_none()
        {
            invalid.push(
                at("memory"),
                "without task-level memory, each container needs memory or memory_reservation",
            );
        }

        for (j, port) in c.port_mappings.iter().enumerate() {
            let field = at(&format!("port_mappings[{j}]"));
            invalid.check(
                (1..=65535).contains(&port.container_port),
                format!("{field}.container_port"),
                format_args!("{} is not a port (1 to 65535)", port.container_port),
            );
            if task.network_mode == Some(NetworkMode::Awsvpc) {
                invalid.check(
                    port.host_port.is_none_or(|h| h == port.container_port),
                    format!("{field}.host_port"),
                    format_args!(
                        "in awsvpc mode the host port must be absent or equal to the container port {}",
                        port.container_port
                    ),
                );
            }
        }

        if let Some(logs) = &c.log_configuration {
            if logs.log_driver == "awslogs" {
                for option in AWSLOGS_OPTIONS {
                    invalid.check(
                        logs.options.get(option).is_some_and(|v| !v.is_empty()),
                        at(&format!("log_configuration.options[{option:?}]")),
                        "the awslogs driver needs a log group, a region and a stream prefix",
                    );
                }
            }
        }

        for (j, dependency) in c.depends_on.iter().enumerate() {
            invalid.check(
                dependency.container_name != c.name
                    && task
                        .container_definitions
                        .iter()
                        .any(|o| o.name == dependency.container_name),
                at(&format!("depends_on[{j}].container_name")),
                format_args!(
                    "{:?} is not another container of this task",
                    dependency.container_name
                ),
            );
        }
        for (j, mount) in c.mount_points.iter().enumerate() {
            invalid.check(
                task.volumes.iter().any(|v| v.name == mount.source_volume),
                at(&format!("mount_points[{j}].source_volume")),
                format_args!("{:?} is not a volume of this task", mount.source_volume),
            );
        }
    }

    if let Some(task_memory) = task.memory {
        invalid.check(
            container_memory <= i64::from(task_memory),
            "memory",
            format_args!("the containers claim {container_memory} MiB, more than the task's {task_memory} MiB"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::container::{
        ContainerDefinition, DependencyCondition, LogConfiguration, MountPoint, PortMapping,
    };
    use crate::task::{Compatibility, NetworkMode, TaskDefinition, TaskDefinitionBuilder};

    fn blog() -> ContainerDefinition {
        ContainerDefinition::builder()
            .name("blog")
            .image("npalm/040code.github.io:latest")
            .essential(true)
            .port_mapping(PortMapping::tcp(80))
            .log_configuration(LogConfiguration::awslogs("blog", "us-east-1", "blog"))
            .build()
    }

    fn fargate(container: ContainerDefinition) -> TaskDefinitionBuilder {
        TaskDefinition::builder()
            .family("blog")
            .container(container)
            .requires_compatibility(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(256)
            .memory(512)
    }

    fn fields(builder: TaskDefinitionBuilder) -> Vec<String> {
        builder
            .build()
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| p.field)
            .collect()
    }

    #[test]
    fn the_blog_task_is_valid() {
        let task = fargate(blog()).build().unwrap();
        assert_eq!(task.family(), "blog");
        assert!(task.check_load_balancer_target("blog", 80).is_ok());
    }

    #[test]
    fn fargate_needs_awsvpc_and_task_sizes() {
        let builder = TaskDefinition::builder()
            .family("blog")
            .container(blog())
            .requires_compatibility(Compatibility::Fargate)
            .network_mode(NetworkMode::Bridge);
        assert_eq!(fields(builder), ["network_mode", "cpu", "memory"]);
        let err = fargate(blog()).memory(4096).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: memory: 256 CPU units with 4096 MiB: with 256 CPU units Fargate takes 512, 1024 or 2048 MiB"
        );
        let no_mode = TaskDefinition::builder()
            .family("blog")
            .container(blog())
            .requires_compatibility(Compatibility::Fargate)
            .cpu(256)
            .memory(512)
            .build()
            .unwrap_err();
        assert!(no_mode
            .to_string()
            .contains("Fargate requires awsvpc, not the default (bridge)"));
    }

    #[test]
    fn awsvpc_host_port_must_match() {
        let mut c = blog();
        c.port_mappings = vec![PortMapping::tcp(80).host_port(8080)];
        let err = fargate(c.clone()).build().unwrap_err();
        assert_eq!(
            err.problems[0].field,
            "containers[0].port_mappings[0].host_port"
        );
        assert!(err.problems[0]
            .rule
            .contains("equal to the container port 80"));
        c.port_mappings = vec![PortMapping::tcp(80).host_port(80)];
        assert!(fargate(c.clone()).build().is_ok());
        // Bridge mode maps any host port (0: dynamic).
        c.port_mappings = vec![PortMapping::tcp(80).host_port(0)];
        let ec2 = TaskDefinition::builder()
            .family("blog")
            .container(c)
            .requires_compatibility(Compatibility::Ec2)
            .memory(512)
            .build();
        assert!(ec2.is_ok(), "{ec2:?}");
        let mut bad_port = blog();
        bad_port.port_mappings = vec![PortMapping::tcp(70000)];
        assert_eq!(
            fields(fargate(bad_port)),
            ["containers[0].port_mappings[0].container_port"]
        );
    }

    #[test]
    fn at_least_one_essential_container() {
        let mut c = blog();
        c.essential = Some(false);
        assert_eq!(fields(fargate(c)), ["containers"]);
        let none = TaskDefinition::builder()
            .family("blog")
            .build()
            .unwrap_err();
        assert!(none.has("containers"));
    }

    #[test]
    fn names_unique_and_valid_and_image_present() {
        let mut bad = blog();
        bad.name = "blog web".into();
        bad.image = " ".into();
        let builder = fargate(blog())
            .container(blog())
            .container(bad)
            .family("blog!");
        assert_eq!(
            fields(builder),
            [
                "family",
                "containers[1].name",
                "containers[2].name",
                "containers[2].image"
            ]
        );
    }

    #[test]
    fn container_memory_within_task_memory() {
        let mut a = blog();
        a.memory = Some(300);
        let mut b = blog();
        b.name = "sidecar".into();
        b.memory_reservation = Some(300);
        let err = fargate(a.clone()).container(b).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: memory: the containers claim 600 MiB, more than the task's 512 MiB"
        );
        a.memory_reservation = Some(400);
        assert_eq!(fields(fargate(a)), ["containers[0].memory_reservation"]);
        // On EC2 without task memory, each container needs its own.
        let ec2 = TaskDefinition::builder()
            .family("blog")
            .container(blog())
            .requires_compatibility(Compatibility::Ec2);
        assert_eq!(fields(ec2), ["containers[0].memory"]);
    }

    #[test]
    fn awslogs_needs_group_region_and_prefix() {
        let mut c = blog();
        c.log_configuration = Some(LogConfiguration::driver(
            "awslogs",
            [("awslogs-group", "blog")],
        ));
        assert_eq!(
            fields(fargate(c)),
            [
                "containers[0].log_configuration.options[\"awslogs-region\"]",
                "containers[0].log_configuration.options[\"awslogs-stream-prefix\"]"
            ]
        );
        let mut other = blog();
        other.log_configuration = Some(LogConfiguration::driver("fluentd", [("tag", "blog")]));
        assert!(fargate(other).build().is_ok());
    }

    #[test]
    fn dependencies_and_mounts_refer_to_the_task() {
        let mut c = blog();
        c.depends_on.push(crate::ContainerDependency {
            container_name: "db".into(),
            condition: DependencyCondition::Healthy,
        });
        c.mount_points.push(MountPoint {
            source_volume: "data".into(),
            container_path: "/data".into(),
            read_only: None,
        });
        assert_eq!(
            fields(fargate(c)),
            [
                "containers[0].depends_on[0].container_name",
                "containers[0].mount_points[0].source_volume"
            ]
        );
    }

    #[test]
    fn every_problem_at_once() {
        let mut c = blog();
        c.name = String::new();
        c.port_mappings = vec![PortMapping::tcp(80).host_port(81)];
        let builder = TaskDefinition::builder()
            .family("")
            .container(c)
            .requires_compatibility(Compatibility::Fargate)
            .network_mode(NetworkMode::Host)
            .cpu(300)
            .memory(512);
        let err = builder.build().unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(err.to_string().starts_with("4 invalid inputs:"));
    }

    #[test]
    fn load_balancer_target_names_what_is_missing() {
        let task = fargate(blog()).build().unwrap();
        let err = task.check_load_balancer_target("web", 80).unwrap_err();
        assert_eq!(err.field, "container_name");
        assert_eq!(
            err.rule,
            "task definition blog has no container \"web\" (it has blog)"
        );
        let err = task.check_load_balancer_target("blog", 8080).unwrap_err();
        assert_eq!(err.field, "container_port");
        assert_eq!(
            err.rule,
            "container \"blog\" of task definition blog maps no port 8080 (it maps 80)"
        );
    }
}
