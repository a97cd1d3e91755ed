//! Every field of a container definition survives the SDK's type and the JSON document.

use std::collections::BTreeSet;

use serde_json::Value;
use task_def::json::{from_json, to_json};
use task_def::{
    ContainerDefinition, DependencyCondition, Device, DevicePermission, FirelensConfiguration,
    HealthCheck, KernelCapabilities, LinuxParameters, LogConfiguration, MountPoint, PortMapping,
    Protocol, Tmpfs, Ulimit,
};

/// A web server: ports with and without host port and protocol, environment, secrets, a full
/// health check, CloudWatch logs, every memory and CPU setting.
fn web() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("web")
        .image("nginx:1.27")
        .essential(true)
        .cpu(256)
        .memory(512)
        .memory_reservation(256)
        .port_mapping(PortMapping::tcp(80).host_port(80).protocol(Protocol::Tcp))
        .port_mapping(PortMapping::tcp(443))
        .environment("PORT", "80")
        .environment("GREETING", "héllo \"world\"")
        .environment("EMPTY", "")
        .secret(
            "DB_PASSWORD",
            "arn:aws:ssm:us-east-1:123456789012:parameter/db",
        )
        .secret(
            "API_KEY",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:api",
        )
        .health_check(HealthCheck {
            command: vec![
                "CMD-SHELL".into(),
                "curl -f http://localhost/ || exit 1".into(),
            ],
            interval: Some(15),
            timeout: Some(4),
            retries: Some(2),
            start_period: Some(60),
        })
        .log_configuration(LogConfiguration::awslogs("web", "eu-west-1", "web"))
        .build()
}

/// A DNS server: UDP with a host port, command, entry point, working directory, not
/// essential, another log driver with options.
fn dns() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("dns")
        .image("coredns/coredns:1.11.1")
        .essential(false)
        .port_mapping(PortMapping::tcp(53).host_port(5353).protocol(Protocol::Udp))
        .port_mapping(PortMapping::tcp(53).protocol(Protocol::Tcp))
        .command(["-conf", "/etc/coredns/Corefile"])
        .entry_point(["/coredns"])
        .working_directory("/etc/coredns")
        .log_configuration(LogConfiguration::driver(
            "json-file",
            [("max-size", "10m"), ("max-file", "3")],
        ))
        .build()
}

/// A worker: mount points, ulimits, a dependency of every condition, fluentd logs, a soft
/// memory limit alone.
fn worker() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("worker")
        .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/worker@sha256:abc")
        .memory_reservation(128)
        .mount_point(MountPoint {
            source_volume: "data".into(),
            container_path: "/var/lib/worker".into(),
            read_only: Some(false),
        })
        .mount_point(MountPoint {
            source_volume: "config".into(),
            container_path: "/etc/worker".into(),
            read_only: Some(true),
        })
        .mount_point(MountPoint {
            source_volume: "cache".into(),
            container_path: "/cache".into(),
            read_only: None,
        })
        .ulimit(Ulimit {
            name: "nofile".into(),
            soft_limit: 65536,
            hard_limit: 65536,
        })
        .ulimit(Ulimit {
            name: "nproc".into(),
            soft_limit: 1024,
            hard_limit: 2048,
        })
        .depends_on("dns", DependencyCondition::Start)
        .depends_on("init", DependencyCondition::Complete)
        .depends_on("migrate", DependencyCondition::Success)
        .depends_on("web", DependencyCondition::Healthy)
        .log_configuration(LogConfiguration::driver(
            "fluentd",
            [("fluentd-address", "localhost:24224"), ("tag", "worker")],
        ))
        .build()
}

/// Only what is required: everything else absent.
fn minimal() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("minimal")
        .image("busybox")
        .build()
}

/// A health check with only its command, a log driver without options, a port with a host
/// port but no protocol, a hard memory limit alone.
fn probe() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("probe")
        .image("alpine:3.20")
        .cpu(10)
        .memory(64)
        .port_mapping(PortMapping::tcp(8080).host_port(0))
        .entry_point(["sh", "-c"])
        .command(["while true; do sleep 30; done"])
        .health_check(HealthCheck {
            command: vec!["CMD".into(), "true".into()],
            interval: None,
            timeout: None,
            retries: None,
            start_period: None,
        })
        .log_configuration(LogConfiguration::driver(
            "syslog",
            Vec::<(String, String)>::new(),
        ))
        .build()
}

/// A hardened EC2 container: read-only root, every Linux parameter, labels, timeouts, a
/// user, kernel parameters, logs through FireLens.
fn hardened() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("hardened")
        .image("nginx:1.27-alpine")
        .memory(256)
        .readonly_root_filesystem(true)
        .linux_parameters(LinuxParameters {
            init_process_enabled: Some(true),
            capabilities: Some(KernelCapabilities {
                add: vec!["NET_BIND_SERVICE".into(), "SYS_PTRACE".into()],
                drop: vec!["ALL".into()],
            }),
            shared_memory_size: Some(128),
            tmpfs: vec![
                Tmpfs::new("/tmp", 64)
                    .mount_option("noexec")
                    .mount_option("nosuid"),
                Tmpfs::new("/var/cache/nginx", 32),
            ],
            devices: vec![
                Device {
                    host_path: "/dev/fuse".into(),
                    container_path: Some("/dev/fuse".into()),
                    permissions: vec![DevicePermission::Read, DevicePermission::Write],
                },
                Device {
                    host_path: "/dev/kvm".into(),
                    container_path: None,
                    permissions: vec![DevicePermission::Mknod],
                },
            ],
            max_swap: Some(0),
            swappiness: Some(60),
        })
        .docker_label("com.example.team", "web")
        .docker_label("prometheus.io/port", "9113")
        .stop_timeout(90)
        .start_timeout(15)
        .user("101:101")
        .system_control("net.core.somaxconn", "1024")
        .system_control("kernel.shmmax", "68719476736")
        .log_configuration(LogConfiguration::driver(
            "awsfirelens",
            [("Name", "cloudwatch_logs"), ("region", "eu-west-1")],
        ))
        .build()
}

/// A FireLens router (Fluentd, with options) that is not essential; and a Fluent Bit one
/// without options, with only an init process and `readonlyRootFilesystem: false`.
fn routers() -> [ContainerDefinition; 2] {
    [
        ContainerDefinition::builder()
            .name("fluentd")
            .image("fluent/fluentd:v1.17")
            .essential(false)
            .firelens(
                FirelensConfiguration::fluentd()
                    .option("config-file-type", "s3")
                    .option("config-file-value", "arn:aws:s3:::bucket/fluent.conf"),
            )
            .build(),
        ContainerDefinition::builder()
            .name("fluentbit")
            .image("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")
            .user("0")
            .readonly_root_filesystem(false)
            .init_process_enabled(false)
            .firelens(FirelensConfiguration::fluentbit())
            .build(),
    ]
}

// `cpu: Some(0)` is absent from the table on purpose: the SDK's `cpu` is a plain i32, 0 when
// unset, so 0 reads back as None (see the report).
fn table() -> Vec<(&'static str, ContainerDefinition)> {
    vec![
        ("web", web()),
        ("dns", dns()),
        ("worker", worker()),
        ("minimal", minimal()),
        ("probe", probe()),
        ("hardened", hardened()),
        ("fluentd", routers()[0].clone()),
        ("fluentbit", routers()[1].clone()),
    ]
}

#[test]
fn every_container_survives_the_sdk_type() {
    for (label, c) in table() {
        let sdk = aws_sdk_ecs::types::ContainerDefinition::from(&c);
        assert_eq!(
            ContainerDefinition::from(&sdk),
            c,
            "{label}, through {sdk:#?}"
        );
    }
}

#[test]
fn every_container_survives_json() {
    for (label, c) in table() {
        let json = to_json(std::slice::from_ref(&c));
        let back = from_json(&json).unwrap_or_else(|err| panic!("{label}: {err}\n{json}"));
        assert_eq!(back, [c], "{label}, through {json}");
    }
}

/// The JSON keys set somewhere in `value`, with their parents' (`healthCheck.startPeriod`);
/// array items share their array's path and the free-form maps (options, labels) are left out.
fn keys(value: &Value, path: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if !path.ends_with("options") && path != "dockerLabels" => {
            for (key, item) in map {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                keys(item, &path, out);
                out.insert(path);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, path, out)),
        _ => {}
    }
}

// The table is only as good as its coverage: every field of the model is set in some case.
#[test]
fn the_table_sets_every_field() {
    let containers: Vec<_> = table().into_iter().map(|(_, c)| c).collect();
    let json: Value = serde_json::from_str(&to_json(&containers)).expect("JSON");
    let mut found = BTreeSet::new();
    keys(&json, "", &mut found);
    let every_field = [
        "name",
        "image",
        "essential",
        "cpu",
        "memory",
        "memoryReservation",
        "portMappings",
        "portMappings.containerPort",
        "portMappings.hostPort",
        "portMappings.protocol",
        "environment",
        "environment.name",
        "environment.value",
        "secrets",
        "secrets.name",
        "secrets.valueFrom",
        "command",
        "entryPoint",
        "workingDirectory",
        "healthCheck",
        "healthCheck.command",
        "healthCheck.interval",
        "healthCheck.timeout",
        "healthCheck.retries",
        "healthCheck.startPeriod",
        "logConfiguration",
        "logConfiguration.logDriver",
        "logConfiguration.options",
        "mountPoints",
        "mountPoints.sourceVolume",
        "mountPoints.containerPath",
        "mountPoints.readOnly",
        "ulimits",
        "ulimits.name",
        "ulimits.softLimit",
        "ulimits.hardLimit",
        "dependsOn",
        "dependsOn.containerName",
        "dependsOn.condition",
        "readonlyRootFilesystem",
        "linuxParameters",
        "linuxParameters.initProcessEnabled",
        "linuxParameters.capabilities",
        "linuxParameters.capabilities.add",
        "linuxParameters.capabilities.drop",
        "linuxParameters.sharedMemorySize",
        "linuxParameters.tmpfs",
        "linuxParameters.tmpfs.containerPath",
        "linuxParameters.tmpfs.size",
        "linuxParameters.tmpfs.mountOptions",
        "linuxParameters.devices",
        "linuxParameters.devices.hostPath",
        "linuxParameters.devices.containerPath",
        "linuxParameters.devices.permissions",
        "linuxParameters.maxSwap",
        "linuxParameters.swappiness",
        "dockerLabels",
        "stopTimeout",
        "startTimeout",
        "user",
        "firelensConfiguration",
        "firelensConfiguration.type",
        "firelensConfiguration.options",
        "systemControls",
        "systemControls.namespace",
        "systemControls.value",
    ];
    let every_field: BTreeSet<String> = every_field.map(str::to_owned).into();
    assert_eq!(
        found, every_field,
        "the fields the cases set differ from the model's"
    );
}
