//! The rules a task definition must keep, checked before any AWS call.

use std::collections::HashSet;

use aws_sdk_ecs::types as ecs;
use converge::Invalid;

use crate::container::{
    ContainerDefinition, LinuxParameters, AWSLOGS_OPTIONS, KERNEL_CAPABILITIES,
};
use crate::sizes::{fargate_accepts, fargate_rule, FARGATE_CPU};
use crate::task::{Compatibility, EfsSetting, EfsVolumeConfiguration, NetworkMode, TaskDefinition};

const MAX_NAME: usize = 255;

fn is_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// ECS's limit of containers in one task definition.
pub const MAX_CONTAINERS: usize = 10;

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
        check_fargate_task(task, invalid);
    }

    check_task_storage(task, fargate, invalid);

    if task.container_definitions.is_empty() {
        invalid.push("containers", "a task needs at least one container");
        return;
    }
    invalid.check(
        task.container_definitions.iter().any(|c| c.is_essential()),
        "containers",
        "at least one container must be essential",
    );
    invalid.check(
        task.container_definitions.len() <= MAX_CONTAINERS,
        "containers",
        format_args!(
            "{} containers: ECS takes at most {MAX_CONTAINERS} in a task definition",
            task.container_definitions.len()
        ),
    );

    let mut names = HashSet::new();
    for (i, c) in task.container_definitions.iter().enumerate() {
        let at = |field: &str| format!("containers[{i}].{field}");
        check_container_name(c, &mut names, &at, invalid);
        check_container_memory(task, c, fargate, &at, invalid);
        check_port_mappings(task, c, &at, invalid);
        check_container_references(task, c, &at, invalid);
        check_container_settings(task, c, fargate, &at, invalid);
    }

    if let Some(task_memory) = task.memory {
        // What each container may claim of the task's memory: its hard limit, or else its
        // reservation.
        let container_memory: i64 = (task.container_definitions.iter())
            .map(|c| i64::from(c.memory.or(c.memory_reservation).unwrap_or(0)))
            .sum();
        invalid.check(
            container_memory <= i64::from(task_memory),
            "memory",
            format_args!("the containers claim {container_memory} MiB, more than the task's {task_memory} MiB"),
        );
    }
}

/// What Fargate requires of the task: awsvpc, and a CPU and memory pair it offers.
fn check_fargate_task(task: &TaskDefinition, invalid: &mut Invalid) {
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

/// A container's name, unique in the task (`names` holds those seen), and its image.
fn check_container_name<'a>(
    c: &'a ContainerDefinition,
    names: &mut HashSet<&'a str>,
    at: &dyn Fn(&str) -> String,
    invalid: &mut Invalid,
) {
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
}

/// A container's CPU and memory: not negative, the reservation within the hard limit, and
/// some memory when the task gives none.
fn check_container_memory(
    task: &TaskDefinition,
    c: &ContainerDefinition,
    fargate: bool,
    at: &dyn Fn(&str) -> String,
    invalid: &mut Invalid,
) {
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
    if task.memory.is_none() && !fargate && c.memory.is_none() && c.memory_reservation.is_none() {
        invalid.push(
            at("memory"),
            "without task-level memory, each container needs memory or memory_reservation",
        );
    }
}

/// A container's port mappings: real ports, and in awsvpc mode no other host port.
fn check_port_mappings(
    task: &TaskDefinition,
    c: &ContainerDefinition,
    at: &dyn Fn(&str) -> String,
    invalid: &mut Invalid,
) {
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
}

/// What a container names: the awslogs driver's options, the containers it depends on and
/// the volumes it mounts.
fn check_container_references(
    task: &TaskDefinition,
    c: &ContainerDefinition,
    at: &dyn Fn(&str) -> String,
    invalid: &mut Invalid,
) {
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

/// Fargate's range for a container's start and stop timeouts, seconds.
const FARGATE_TIMEOUT: std::ops::RangeInclusive<i32> = 2..=120;

/// The IPC namespace kernel parameters ECS takes (and `fs.mqueue.*`); the rest is `net.*`.
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The rules of the container settings beyond ports, logs, dependencies and mounts.
fn check_container_settings(
    task: &TaskDefinition,
    c: &ContainerDefinition,
    fargate: bool,
    at: &dyn Fn(&str) -> String,
    invalid: &mut Invalid,
) {
    for (field, value) in [
        ("stop_timeout", c.stop_timeout),
        ("start_timeout", c.start_timeout),
    ] {
        match value {
            Some(s) if fargate && !FARGATE_TIMEOUT.contains(&s) => invalid.push(
                at(field),
                format_args!("{s} seconds: Fargate takes 2 to 120"),
            ),
            Some(s) if s < 1 => {
                invalid.push(at(field), format_args!("{s} seconds: must be positive"))
            }
            _ => {}
        }
    }

    if let Some(user) = &c.user {
        invalid.check(
            !user.trim().is_empty() && !user.contains(char::is_whitespace),
            at("user"),
            format_args!("{user:?} is not a user: `user`, `uid`, `user:group` or `uid:gid`"),
        );
        // ECS runs the FireLens router as root and refuses any other user for it.
        if c.firelens_configuration.is_some() {
            invalid.check(
                user == "0" || user.starts_with("0:"),
                at("user"),
                format_args!(
                    "{user:?}: a FireLens container runs as UID 0 (leave user out or give \"0\")"
                ),
            );
        }
    }

    invalid.check(
        c.docker_labels.keys().all(|k| !k.trim().is_empty()),
        at("docker_labels"),
        "a label needs a key",
    );

    if let Some(linux) = &c.linux_parameters {
        check_linux(
            linux,
            fargate,
            &|f: &str| at(&format!("linux_parameters.{f}")),
            invalid,
        );
    }

    let firelens_router = task
        .container_definitions
        .iter()
        .any(|o| o.firelens_configuration.is_some());
    let firelens_logs = task.container_definitions.iter().any(|o| {
        o.log_configuration
            .as_ref()
            .is_some_and(|l| l.log_driver == "awsfirelens")
    });
    if let Some(logs) = &c.log_configuration {
        invalid.check(
            logs.log_driver != "awsfirelens" || firelens_router,
            at("log_configuration.log_driver"),
            "awsfirelens needs a container of the task with a firelens_configuration (the log router)",
        );
    }
    if let Some(firelens) = &c.firelens_configuration {
        invalid.check(
            firelens_logs,
            at("firelens_configuration"),
            "a log router needs a container of the task that logs with the awsfirelens driver",
        );
        if fargate {
            if let Some(kind) = firelens.options.get("config-file-type") {
                invalid.check(
                    kind == "file",
                    at("firelens_configuration.options[\"config-file-type\"]"),
                    format_args!(
                        "{kind:?}: Fargate takes only a configuration file in the image (\"file\")"
                    ),
                );
            }
        }
    }

    for (j, sysctl) in c.system_controls.iter().enumerate() {
        let field = at(&format!("system_controls[{j}].namespace"));
        let ns = sysctl.namespace.as_str();
        let network = ns.starts_with("net.");
        let known = network || ns.starts_with("fs.mqueue.") || IPC_SYSCTLS.contains(&ns);
        if !known {
            invalid.push(
                field,
                format_args!("{ns:?} is not a namespaced kernel parameter ECS sets (net.*, fs.mqueue.*, kernel.shm*, kernel.msg*, kernel.sem)"),
            );
        } else if network && task.network_mode == Some(NetworkMode::Host) {
            invalid.push(
                field,
                format_args!("{ns:?}: host network mode takes no network kernel parameters"),
            );
        }
    }
}

/// The rules of `linuxParameters`: known capabilities, sizes, and what Fargate refuses.
fn check_linux(
    l: &LinuxParameters,
    fargate: bool,
    at: &dyn Fn(&str) -> String,
    invalid: &mut Invalid,
) {
    if let Some(caps) = &l.capabilities {
        for (list, names) in [("add", &caps.add), ("drop", &caps.drop)] {
            for (j, name) in names.iter().enumerate() {
                let field = at(&format!("capabilities.{list}[{j}]"));
                if !KERNEL_CAPABILITIES.contains(&name.as_str()) {
                    invalid.push(
                        field,
                        format_args!(
                            "{name:?} is not a kernel capability (e.g. NET_ADMIN, SYS_PTRACE, ALL)"
                        ),
                    );
                } else if fargate && list == "add" && name != "SYS_PTRACE" {
                    invalid.push(field, format_args!("{name}: Fargate adds only SYS_PTRACE"));
                }
            }
        }
    }
    // Fargate refuses these outright.
    let fargate_refuses = [
        ("shared_memory_size", l.shared_memory_size.is_some()),
        ("tmpfs", !l.tmpfs.is_empty()),
        ("devices", !l.devices.is_empty()),
        ("max_swap", l.max_swap.is_some()),
        ("swappiness", l.swappiness.is_some()),
    ];
    if fargate {
        for (field, set) in fargate_refuses {
            invalid.check(!set, at(field), "Fargate does not support it");
        }
    }
    if let Some(size) = l.shared_memory_size {
        invalid.check(
            size > 0,
            at("shared_memory_size"),
            format_args!("{size} MiB: must be positive"),
        );
    }
    for (j, t) in l.tmpfs.iter().enumerate() {
        invalid.check(
            t.container_path.starts_with('/'),
            at(&format!("tmpfs[{j}].container_path")),
            format_args!("{:?} is not an absolute path", t.container_path),
        );
        invalid.check(
            t.size > 0,
            at(&format!("tmpfs[{j}].size")),
            format_args!("{} MiB: must be positive", t.size),
        );
    }
    for (j, d) in l.devices.iter().enumerate() {
        invalid.check(
            d.host_path.starts_with('/'),
            at(&format!("devices[{j}].host_path")),
            format_args!("{:?} is not an absolute path", d.host_path),
        );
    }
    if let Some(swap) = l.max_swap {
        invalid.check(
            swap >= 0,
            at("max_swap"),
            format_args!("{swap} MiB: 0 (no swap) or more"),
        );
    }
    if let Some(swappiness) = l.swappiness {
        invalid.check(
            (0..=100).contains(&swappiness),
            at("swappiness"),
            format_args!("{swappiness} is not 0 to 100"),
        );
    }
}

/// The task-level storage and platform: ephemeral storage, the runtime platform, volumes.
fn check_task_storage(task: &TaskDefinition, fargate: bool, invalid: &mut Invalid) {
    if let Some(storage) = task.ephemeral_storage {
        let gib = storage.size_in_gib;
        invalid.check(
            (21..=200).contains(&gib),
            "ephemeral_storage",
            format_args!("{gib} GiB: Fargate takes 21 to 200 GiB (20 is the default)"),
        );
        invalid.check(
            fargate,
            "ephemeral_storage",
            "only Fargate tasks take ephemeral storage; add the Fargate compatibility",
        );
    }

    if let Some(platform) = &task.runtime_platform {
        if let Some(arch) = &platform.cpu_architecture {
            let known = ecs::CpuArchitecture::values();
            invalid.check(
                known.contains(&arch.as_str()),
                "runtime_platform.cpu_architecture",
                format_args!(
                    "{arch:?} is not a CPU architecture ECS knows ({})",
                    known.join(" or ")
                ),
            );
        }
        if let Some(os) = &platform.operating_system_family {
            let known = ecs::OsFamily::values();
            invalid.check(
                known.contains(&os.as_str()),
                "runtime_platform.operating_system_family",
                format_args!(
                    "{os:?} is not an operating system family ECS knows ({})",
                    known.join(", ")
                ),
            );
        }
    }

    let mut names = HashSet::new();
    for (i, v) in task.volumes.iter().enumerate() {
        let at = |field: &str| format!("volumes[{i}].{field}");
        if !is_name(&v.name) {
            invalid.push(
                at("name"),
                format_args!(
                    "{:?} must be 1 to {MAX_NAME} letters, digits, hyphens and underscores",
                    v.name
                ),
            );
        } else if !names.insert(v.name.as_str()) {
            invalid.push(
                at("name"),
                format_args!("{:?} is used by another volume", v.name),
            );
        }
        if let Some(efs) = &v.efs_volume_configuration {
            invalid.check(
                v.host_path.is_none(),
                at("host_path"),
                "a volume is a host path or an EFS file system, not both",
            );
            check_efs(
                efs,
                &|f: &str| at(&format!("efs_volume_configuration.{f}")),
                invalid,
            );
        }
    }
}

/// Whether `id` is `prefix` and 8 to 40 lowercase hex digits, as EFS makes its IDs.
fn is_efs_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        (8..=40).contains(&hex.len())
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// ECS's rules for an EFS volume: IDs in EFS's form, and transit encryption for an access
/// point or IAM authorization.
fn check_efs(efs: &EfsVolumeConfiguration, at: &dyn Fn(&str) -> String, invalid: &mut Invalid) {
    invalid.check(
        is_efs_id(&efs.file_system_id, "fs-"),
        at("file_system_id"),
        format_args!(
            "{:?} is not an EFS file system ID (fs- and hex digits)",
            efs.file_system_id
        ),
    );
    if let Some(port) = efs.transit_encryption_port {
        invalid.check(
            (1..=65535).contains(&port),
            at("transit_encryption_port"),
            format_args!("{port} is not a port (1 to 65535)"),
        );
    }
    let encrypted = efs.transit_encryption == Some(EfsSetting::Enabled);
    let Some(auth) = &efs.authorization_config else {
        return;
    };
    if let Some(ap) = &auth.access_point_id {
        invalid.check(
            is_efs_id(ap, "fsap-"),
            at("authorization_config.access_point_id"),
            format_args!("{ap:?} is not an EFS access point ID (fsap- and hex digits)"),
        );
        if let Some(root) = &efs.root_directory {
            invalid.check(
                root == "/",
                at("root_directory"),
                format_args!("{root:?}: with an access point the root directory is absent or \"/\" (the access point sets it)"),
            );
        }
    }
    let needing: Vec<_> = [
        (auth.access_point_id.is_some(), "an access point"),
        (auth.iam == Some(EfsSetting::Enabled), "IAM authorization"),
    ]
    .into_iter()
    .filter_map(|(used, what)| used.then_some(what))
    .collect();
    if !needing.is_empty() {
        invalid.check(
            encrypted,
            at("transit_encryption"),
            format_args!("{} needs transit encryption ENABLED", needing.join(" and ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::container::{
        ContainerDefinition, DependencyCondition, Device, FirelensConfiguration,
        KernelCapabilities, LinuxParameters, LogConfiguration, MountPoint, PortMapping, Tmpfs,
    };
    use crate::task::{
        Compatibility, EfsVolumeConfiguration, NetworkMode, RuntimePlatform, TaskDefinition,
        TaskDefinitionBuilder, Volume,
    };

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
    fn at_most_ten_containers() {
        let sidecar = |i: usize| {
            ContainerDefinition::builder()
                .name(format!("side{i}"))
                .image("busybox")
                .essential(false)
                .build()
        };
        let mut ten = fargate(blog());
        for i in 0..9 {
            ten = ten.container(sidecar(i));
        }
        assert!(ten.clone().build().is_ok());
        let err = ten.container(sidecar(9)).build().unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].field, "containers");
        assert!(err.problems[0].rule.contains("at most 10"), "{err}");
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

    /// An EC2 task in bridge mode with task memory, where the Fargate-only rules do not apply.
    fn ec2(container: ContainerDefinition) -> TaskDefinitionBuilder {
        TaskDefinition::builder()
            .family("blog")
            .container(container)
            .requires_compatibility(Compatibility::Ec2)
            .memory(512)
    }

    fn rules(builder: TaskDefinitionBuilder) -> Vec<(String, String)> {
        builder
            .build()
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| (p.field, p.rule))
            .collect()
    }

    #[test]
    fn timeouts_are_2_to_120_on_fargate_and_positive_elsewhere() {
        let c = |stop, start| {
            ContainerDefinition::builder()
                .name("blog")
                .image("nginx")
                .stop_timeout(stop)
                .start_timeout(start)
                .build()
        };
        assert!(fargate(c(2, 120)).build().is_ok());
        assert_eq!(
            rules(fargate(c(1, 121))),
            [
                (
                    "containers[0].stop_timeout".to_owned(),
                    "1 seconds: Fargate takes 2 to 120".to_owned()
                ),
                (
                    "containers[0].start_timeout".to_owned(),
                    "121 seconds: Fargate takes 2 to 120".to_owned()
                ),
            ]
        );
        assert!(ec2(c(300, 1)).build().is_ok());
        assert_eq!(
            fields(ec2(c(0, -5))),
            ["containers[0].stop_timeout", "containers[0].start_timeout"]
        );
    }

    #[test]
    fn users_and_labels_are_well_formed() {
        let mut c = blog();
        c.user = Some("app user".into());
        c.docker_labels.insert(" ".into(), "x".into());
        assert_eq!(
            fields(fargate(c)),
            ["containers[0].user", "containers[0].docker_labels"]
        );
        for user in ["1000", "1000:1000", "app", "app:staff"] {
            let mut c = blog();
            c.user = Some(user.into());
            assert!(fargate(c).build().is_ok(), "{user}");
        }
    }

    /// A FireLens router and an app that logs through it.
    fn firelens_pair(router: FirelensConfiguration) -> (ContainerDefinition, ContainerDefinition) {
        let router = ContainerDefinition::builder()
            .name("log_router")
            .image("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")
            .firelens(router)
            .build();
        let mut app = blog();
        app.log_configuration = Some(LogConfiguration::driver(
            "awsfirelens",
            [("Name", "cloudwatch")],
        ));
        (router, app)
    }

    #[test]
    fn firelens_routers_and_awsfirelens_logs_come_together() {
        let (router, app) = firelens_pair(
            FirelensConfiguration::fluentbit().option("enable-ecs-log-metadata", "true"),
        );
        assert!(fargate(app.clone())
            .container(router.clone())
            .build()
            .is_ok());

        assert_eq!(
            fields(fargate(app)),
            ["containers[0].log_configuration.log_driver"]
        );
        assert_eq!(
            fields(fargate(blog()).container(router.clone())),
            ["containers[1].firelens_configuration"]
        );

        // ECS refuses a router that is not root.
        let (mut root, app) = firelens_pair(FirelensConfiguration::fluentd());
        for user in ["0", "0:0"] {
            root.user = Some(user.into());
            assert!(fargate(app.clone()).container(root.clone()).build().is_ok());
        }
        root.user = Some("1000".into());
        let found = rules(fargate(app.clone()).container(root));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "containers[1].user");
        assert!(found[0].1.contains("runs as UID 0"), "{found:?}");

        // Fargate reads the configuration from the image only.
        let (router, app) = firelens_pair(
            FirelensConfiguration::fluentbit()
                .option("config-file-type", "s3")
                .option("config-file-value", "arn:aws:s3:::bucket/fluent.conf"),
        );
        assert_eq!(
            fields(fargate(app.clone()).container(router.clone())),
            ["containers[1].firelens_configuration.options[\"config-file-type\"]"]
        );
        assert!(ec2(app).container(router).build().is_ok());
    }

    #[test]
    fn linux_parameters_name_their_field() {
        let c = |l: LinuxParameters| {
            let mut c = blog();
            c.linux_parameters = Some(l);
            c
        };
        // What Fargate takes.
        let fine = ContainerDefinition::builder()
            .name("blog")
            .image("nginx")
            .init_process_enabled(true)
            .add_capability("SYS_PTRACE")
            .drop_capability("ALL")
            .build();
        assert!(fargate(fine).build().is_ok());

        let caps = LinuxParameters {
            capabilities: Some(KernelCapabilities {
                add: vec!["NET_ADMIN".into(), "NET_ADMN".into()],
                drop: vec!["all".into()],
            }),
            ..LinuxParameters::default()
        };
        assert_eq!(
            rules(fargate(c(caps.clone())))
                .iter()
                .map(|(f, r)| format!("{f}: {r}"))
                .collect::<Vec<_>>(),
            [
                "containers[0].linux_parameters.capabilities.add[0]: NET_ADMIN: Fargate adds only SYS_PTRACE",
                "containers[0].linux_parameters.capabilities.add[1]: \"NET_ADMN\" is not a kernel capability (e.g. NET_ADMIN, SYS_PTRACE, ALL)",
                "containers[0].linux_parameters.capabilities.drop[0]: \"all\" is not a kernel capability (e.g. NET_ADMIN, SYS_PTRACE, ALL)",
            ]
        );
        assert_eq!(
            fields(ec2(c(caps))),
            [
                "containers[0].linux_parameters.capabilities.add[1]",
                "containers[0].linux_parameters.capabilities.drop[0]"
            ]
        );

        // What only EC2 takes.
        let ec2_only = LinuxParameters {
            shared_memory_size: Some(256),
            tmpfs: vec![Tmpfs::new("/tmp", 64).mount_option("noexec")],
            devices: vec![Device {
                host_path: "/dev/fuse".into(),
                container_path: None,
                permissions: vec![],
            }],
            max_swap: Some(1024),
            swappiness: Some(10),
            ..LinuxParameters::default()
        };
        assert!(ec2(c(ec2_only.clone())).build().is_ok());
        assert_eq!(
            rules(fargate(c(ec2_only)))
                .into_iter()
                .map(|(f, r)| {
                    assert_eq!(r, "Fargate does not support it");
                    f
                })
                .collect::<Vec<_>>(),
            [
                "containers[0].linux_parameters.shared_memory_size",
                "containers[0].linux_parameters.tmpfs",
                "containers[0].linux_parameters.devices",
                "containers[0].linux_parameters.max_swap",
                "containers[0].linux_parameters.swappiness",
            ]
        );

        let bad_sizes = LinuxParameters {
            shared_memory_size: Some(0),
            tmpfs: vec![Tmpfs::new("tmp", 0)],
            devices: vec![Device {
                host_path: "dev/fuse".into(),
                container_path: None,
                permissions: vec![],
            }],
            max_swap: Some(-1),
            swappiness: Some(101),
            ..LinuxParameters::default()
        };
        assert_eq!(
            fields(ec2(c(bad_sizes))),
            [
                "containers[0].linux_parameters.shared_memory_size",
                "containers[0].linux_parameters.tmpfs[0].container_path",
                "containers[0].linux_parameters.tmpfs[0].size",
                "containers[0].linux_parameters.devices[0].host_path",
                "containers[0].linux_parameters.max_swap",
                "containers[0].linux_parameters.swappiness",
            ]
        );
    }

    #[test]
    fn system_controls_are_namespaced_and_not_net_in_host_mode() {
        let c = ContainerDefinition::builder()
            .name("blog")
            .image("nginx")
            .system_control("net.ipv4.tcp_keepalive_time", "120")
            .system_control("kernel.shmmax", "68719476736")
            .system_control("fs.mqueue.msg_max", "20")
            .build();
        assert!(fargate(c.clone()).build().is_ok());
        let host = ec2(c).network_mode(NetworkMode::Host);
        assert_eq!(fields(host), ["containers[0].system_controls[0].namespace"]);

        let bad = ContainerDefinition::builder()
            .name("blog")
            .image("nginx")
            .system_control("vm.swappiness", "10")
            .build();
        let found = rules(fargate(bad));
        assert_eq!(found[0].0, "containers[0].system_controls[0].namespace");
        assert!(found[0]
            .1
            .starts_with("\"vm.swappiness\" is not a namespaced"));
    }

    #[test]
    fn ephemeral_storage_is_21_to_200_gib_on_fargate_only() {
        for gib in [21, 200] {
            assert!(fargate(blog()).ephemeral_storage(gib).build().is_ok());
        }
        for gib in [0, 20, 201] {
            assert_eq!(
                rules(fargate(blog()).ephemeral_storage(gib)),
                [(
                    "ephemeral_storage".to_owned(),
                    format!("{gib} GiB: Fargate takes 21 to 200 GiB (20 is the default)")
                )]
            );
        }
        assert_eq!(
            fields(ec2(blog()).ephemeral_storage(50)),
            ["ephemeral_storage"]
        );
    }

    #[test]
    fn runtime_platform_values_are_ecs_names() {
        for arch in ["ARM64", "X86_64"] {
            assert!(fargate(blog()).cpu_architecture(arch).build().is_ok());
        }
        assert!(fargate(blog())
            .runtime_platform(RuntimePlatform::linux("ARM64"))
            .build()
            .is_ok());
        let found = rules(
            fargate(blog())
                .cpu_architecture("arm64")
                .operating_system_family("Linux"),
        );
        assert_eq!(
            found[0],
            (
                "runtime_platform.cpu_architecture".to_owned(),
                "\"arm64\" is not a CPU architecture ECS knows (ARM64 or X86_64)".to_owned()
            )
        );
        assert_eq!(found[1].0, "runtime_platform.operating_system_family");
        assert!(found[1].1.contains("LINUX"), "{found:?}");
    }

    fn with_volume(volume: Volume) -> TaskDefinitionBuilder {
        let mut c = blog();
        c.mount_points.push(MountPoint {
            source_volume: volume.name.clone(),
            container_path: "/data".into(),
            read_only: None,
        });
        fargate(c).volume(volume)
    }

    #[test]
    fn efs_volumes_keep_ecs_rules() {
        let efs = EfsVolumeConfiguration::new("fs-0123456789abcdef0");
        // Unencrypted, the root: the simplest mount.
        assert!(with_volume(Volume::efs("data", efs.clone()))
            .build()
            .is_ok());
        let full = efs
            .clone()
            .encrypted()
            .transit_encryption_port(2999)
            .access_point("fsap-0123456789abcdef0")
            .iam()
            .root_directory("/");
        assert!(with_volume(Volume::efs("data", full)).build().is_ok());
        assert!(with_volume(Volume::efs(
            "data",
            EfsVolumeConfiguration::new("fs-12345678").root_directory("/srv")
        ))
        .build()
        .is_ok());

        let at = |f: &str| format!("volumes[0].efs_volume_configuration.{f}");
        // An access point needs encryption and leaves the root to itself.
        let found = rules(with_volume(Volume::efs(
            "data",
            efs.clone()
                .access_point("fsap-0123456789abcdef0")
                .iam()
                .root_directory("/data"),
        )));
        assert_eq!(
            found,
            [
                (
                    at("root_directory"),
                    "\"/data\": with an access point the root directory is absent or \"/\" (the access point sets it)".to_owned()
                ),
                (
                    at("transit_encryption"),
                    "an access point and IAM authorization needs transit encryption ENABLED"
                        .to_owned()
                ),
            ]
        );
        assert_eq!(
            rules(with_volume(Volume::efs("data", efs.clone().iam()))),
            [(
                at("transit_encryption"),
                "IAM authorization needs transit encryption ENABLED".to_owned()
            )]
        );

        // IDs in EFS's form, a port, one kind of volume.
        let mut bad = EfsVolumeConfiguration::new("fs-XYZ")
            .encrypted()
            .transit_encryption_port(0)
            .access_point("ap-123");
        bad.root_directory = None;
        let mut volume = Volume::efs("data", bad);
        volume.host_path = Some("/mnt/data".into());
        assert_eq!(
            fields(with_volume(volume)),
            [
                "volumes[0].host_path".to_owned(),
                at("file_system_id"),
                at("transit_encryption_port"),
                at("authorization_config.access_point_id"),
            ]
        );
    }

    #[test]
    fn volume_names_are_valid_and_unique() {
        let builder = fargate(blog())
            .volume(Volume::task_storage("scratch"))
            .volume(Volume::efs(
                "scratch",
                EfsVolumeConfiguration::new("fs-12345678"),
            ))
            .volume(Volume::host("bad name", "/var/data"));
        assert_eq!(fields(builder), ["volumes[1].name", "volumes[2].name"]);
    }
}
