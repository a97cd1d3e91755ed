//! The rules a task definition must keep, checked before any AWS call.

use std::collections::HashSet;

use converge::Invalid;

use crate::container::AWSLOGS_OPTIONS;
use crate::sizes::{fargate_accepts, fargate_rule};
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
            (Some(cpu), Some(memory)) => invalid.check(
                fargate_accepts(cpu, memory),
                "memory",
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
