//! Container definitions, in the shape of the ECS API's JSON (camelCase), so the JSON that
//! `aws ecs register-task-definition` and Terraform's `container_definitions` take reads
//! straight into them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One container of a task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ContainerDefinition {
    /// The container's name, unique in the task: letters, digits, hyphens and underscores.
    pub name: String,
    /// The image, e.g. `npalm/040code.github.io:latest`.
    pub image: String,
    /// Whether the task stops when this container stops (ECS's default: `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    /// CPU units reserved for the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i32>,
    /// Hard memory limit, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    /// Soft memory limit, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    /// Ports the container listens on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<EnvironmentVariable>,
    /// Secrets from Secrets Manager or SSM Parameter Store, as environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    /// The command, overriding the image's `CMD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The entry point, overriding the image's `ENTRYPOINT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_point: Vec<String>,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// The container health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Where the container's logs go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    /// Volumes mounted into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    /// Resource limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    /// Containers that must reach a state before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ContainerDependency>,
    /// Whether the root filesystem is read-only: a common hardening, with writable paths
    /// given as volumes or tmpfs mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    /// Linux settings: an init process, kernel capabilities, `/dev/shm`, tmpfs mounts, swap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    /// Docker labels, e.g. for a metrics agent's discovery.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    /// Seconds between SIGTERM and SIGKILL (Fargate: 2 to 120, default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i32>,
    /// Seconds to wait for `depends_on` before giving up (Fargate: 2 to 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<i32>,
    /// The user the container runs as: `user`, `uid`, `user:group`, `uid:gid`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Makes this container the task's FireLens log router, for containers that log with the
    /// `awsfirelens` driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens_configuration: Option<FirelensConfiguration>,
    /// Namespaced kernel parameters (`net.*`, `kernel.shm*`, ...), as `docker run --sysctl`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_controls: Vec<SystemControl>,
}

impl ContainerDefinition {
    /// A builder, in the SDK's style.
    pub fn builder() -> ContainerDefinitionBuilder {
        ContainerDefinitionBuilder::default()
    }

    /// Whether ECS treats the container as essential (absent means yes).
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }
}

/// A port the container listens on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortMapping {
    /// The port inside the container.
    pub container_port: i32,
    /// The port on the host; in `awsvpc` mode absent or equal to the container port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// `tcp` (ECS's default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

impl PortMapping {
    /// A TCP port with no host port given.
    pub fn tcp(container_port: i32) -> Self {
        Self {
            container_port,
            host_port: None,
            protocol: None,
        }
    }

    /// The same mapping with a host port.
    pub fn host_port(mut self, host_port: i32) -> Self {
        self.host_port = Some(host_port);
        self
    }

    /// The same mapping with a protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }
}

/// A port mapping's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// An environment variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentVariable {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A secret exposed as an environment variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Secret {
    /// The environment variable's name.
    pub name: String,
    /// The ARN (or name) of the Secrets Manager secret or SSM parameter.
    pub value_from: String,
}

/// A container health check, as Docker's `HEALTHCHECK`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    /// The command, e.g. `["CMD-SHELL", "curl -f http://localhost/ || exit 1"]`.
    pub command: Vec<String>,
    /// Seconds between checks (ECS's default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    /// Seconds before a check fails (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    /// Failures before the container is unhealthy (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    /// Seconds of grace after start (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i32>,
}

/// Where a container's logs go: a driver and its options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogConfiguration {
    /// `awslogs`, `awsfirelens`, `splunk`, `fluentd`, ...
    pub log_driver: String,
    /// The driver's options.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// The `awslogs` options a CloudWatch log configuration needs.
pub const AWSLOGS_OPTIONS: [&str; 3] = ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"];

impl LogConfiguration {
    /// CloudWatch Logs: the `awslogs` driver with its group, region and stream prefix.
    pub fn awslogs(
        group: impl Into<String>,
        region: impl Into<String>,
        stream_prefix: impl Into<String>,
    ) -> Self {
        let options = AWSLOGS_OPTIONS
            .iter()
            .map(|k| k.to_string())
            .zip([group.into(), region.into(), stream_prefix.into()])
            .collect();
        Self {
            log_driver: "awslogs".to_owned(),
            options,
        }
    }

    /// Any other driver, by name, with its options.
    pub fn driver<K, V>(name: impl Into<String>, options: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            log_driver: name.into(),
            options: options
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// A volume mounted into the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MountPoint {
    /// The task volume's name.
    pub source_volume: String,
    /// Where it appears in the container.
    pub container_path: String,
    /// Whether the container may only read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A resource limit (`nofile`, `nproc`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ulimit {
    /// The limit's name, e.g. `nofile`.
    pub name: String,
    /// The soft limit.
    pub soft_limit: i32,
    /// The hard limit.
    pub hard_limit: i32,
}

/// A container that must reach `condition` before this one starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerDependency {
    /// The other container's name.
    pub container_name: String,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: DependencyCondition,
}

/// When a dependency is satisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DependencyCondition {
    /// The other container has started.
    Start,
    /// It has run to completion.
    Complete,
    /// It has exited with status 0.
    Success,
    /// Its health check passes.
    Healthy,
}

/// Linux-specific settings of a container. Fargate takes `init_process_enabled`,
/// `capabilities` (adding only `SYS_PTRACE`) and nothing else here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinuxParameters {
    /// Runs an init process (`docker run --init`) that forwards signals and reaps zombies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
    /// Kernel capabilities added to or dropped from Docker's default set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<KernelCapabilities>,
    /// The size of `/dev/shm`, MiB (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_memory_size: Option<i32>,
    /// tmpfs mounts (not on Fargate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<Tmpfs>,
    /// Host devices exposed to the container (not on Fargate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// Swap the container may use, MiB; 0 turns swap off (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_swap: Option<i32>,
    /// How eagerly pages are swapped, 0 to 100 (not on Fargate; needs `max_swap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<i32>,
}

/// The kernel capabilities every valid `add` or `drop` entry is one of, as ECS lists them.
pub const KERNEL_CAPABILITIES: [&str; 38] = [
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// Kernel capabilities added to or dropped from Docker's default set, e.g. `drop: ["ALL"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KernelCapabilities {
    /// Capabilities added (Fargate: only `SYS_PTRACE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Capabilities dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

/// A tmpfs mount (`docker run --tmpfs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tmpfs {
    /// The absolute path it is mounted at.
    pub container_path: String,
    /// Its maximum size, MiB.
    pub size: i32,
    /// Mount options, e.g. `noexec`, `nosuid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
}

impl Tmpfs {
    /// A tmpfs of `size` MiB at `container_path`.
    pub fn new(container_path: impl Into<String>, size: i32) -> Self {
        Self {
            container_path: container_path.into(),
            size,
            mount_options: Vec::new(),
        }
    }

    /// The same mount with one more option.
    pub fn mount_option(mut self, option: impl Into<String>) -> Self {
        self.mount_options.push(option.into());
        self
    }
}

/// A host device exposed to the container (`docker run --device`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Device {
    /// The device's path on the host, e.g. `/dev/fuse`.
    pub host_path: String,
    /// Its path in the container (default: the host path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    /// What the container may do with it (default: all three).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<DevicePermission>,
}

/// A device cgroup permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DevicePermission {
    /// Read.
    Read,
    /// Write.
    Write,
    /// Create device nodes.
    Mknod,
}

/// The log router FireLens runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirelensType {
    /// Fluent Bit (AWS's `aws-for-fluent-bit` image).
    Fluentbit,
    /// Fluentd.
    Fluentd,
}

/// A FireLens log router: the container other containers' `awsfirelens` logs go through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirelensConfiguration {
    /// `fluentbit` or `fluentd` (JSON `type`).
    #[serde(rename = "type")]
    pub kind: FirelensType,
    /// Options, e.g. `enable-ecs-log-metadata`, `config-file-type` (Fargate: only `file`)
    /// and `config-file-value`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl FirelensConfiguration {
    /// A Fluent Bit router with no options.
    pub fn fluentbit() -> Self {
        Self {
            kind: FirelensType::Fluentbit,
            options: BTreeMap::new(),
        }
    }

    /// A Fluentd router with no options.
    pub fn fluentd() -> Self {
        Self {
            kind: FirelensType::Fluentd,
            options: BTreeMap::new(),
        }
    }

    /// The same configuration with one more option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }
}

/// A namespaced kernel parameter (`docker run --sysctl`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemControl {
    /// The parameter, e.g. `net.ipv4.tcp_keepalive_time`.
    pub namespace: String,
    /// Its value.
    pub value: String,
}

/// Builds a [`ContainerDefinition`]. Setters that take one item of a list append it, as the
/// SDK's builders do.
#[derive(Clone, Debug, Default)]
pub struct ContainerDefinitionBuilder {
    inner: ContainerDefinition,
}

impl ContainerDefinitionBuilder {
    /// The container's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = name.into();
        self
    }
    /// The image.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.inner.image = image.into();
        self
    }
    /// Whether the container is essential.
    pub fn essential(mut self, essential: bool) -> Self {
        self.inner.essential = Some(essential);
        self
    }
    /// CPU units.
    pub fn cpu(mut self, cpu: i32) -> Self {
        self.inner.cpu = Some(cpu);
        self
    }
    /// Hard memory limit, MiB.
    pub fn memory(mut self, memory: i32) -> Self {
        self.inner.memory = Some(memory);
        self
    }
    /// Soft memory limit, MiB.
    pub fn memory_reservation(mut self, memory: i32) -> Self {
        self.inner.memory_reservation = Some(memory);
        self
    }
    /// Adds a port mapping.
    pub fn port_mapping(mut self, mapping: PortMapping) -> Self {
        self.inner.port_mappings.push(mapping);
        self
    }
    /// Adds an environment variable.
    pub fn environment(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.environment.push(EnvironmentVariable {
            name: name.into(),
            value: value.into(),
        });
        self
    }
    /// Adds a secret.
    pub fn secret(mut self, name: impl Into<String>, value_from: impl Into<String>) -> Self {
        self.inner.secrets.push(Secret {
            name: name.into(),
            value_from: value_from.into(),
        });
        self
    }
    /// The command.
    pub fn command<I: IntoIterator<Item = S>, S: Into<String>>(mut self, command: I) -> Self {
        self.inner.command = command.into_iter().map(Into::into).collect();
        self
    }
    /// The entry point.
    pub fn entry_point<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        entry_point: I,
    ) -> Self {
        self.inner.entry_point = entry_point.into_iter().map(Into::into).collect();
        self
    }
    /// The working directory.
    pub fn working_directory(mut self, dir: impl Into<String>) -> Self {
        self.inner.working_directory = Some(dir.into());
        self
    }
    /// The health check.
    pub fn health_check(mut self, check: HealthCheck) -> Self {
        self.inner.health_check = Some(check);
        self
    }
    /// The log configuration.
    pub fn log_configuration(mut self, logs: LogConfiguration) -> Self {
        self.inner.log_configuration = Some(logs);
        self
    }
    /// Adds a mount point.
    pub fn mount_point(mut self, mount: MountPoint) -> Self {
        self.inner.mount_points.push(mount);
        self
    }
    /// Adds a ulimit.
    pub fn ulimit(mut self, ulimit: Ulimit) -> Self {
        self.inner.ulimits.push(ulimit);
        self
    }
    /// Adds a dependency on another container.
    pub fn depends_on(
        mut self,
        container: impl Into<String>,
        condition: DependencyCondition,
    ) -> Self {
        self.inner.depends_on.push(ContainerDependency {
            container_name: container.into(),
            condition,
        });
        self
    }
    /// Whether the root filesystem is read-only.
    pub fn readonly_root_filesystem(mut self, readonly: bool) -> Self {
        self.inner.readonly_root_filesystem = Some(readonly);
        self
    }
    /// The Linux parameters, replacing any set before.
    pub fn linux_parameters(mut self, parameters: LinuxParameters) -> Self {
        self.inner.linux_parameters = Some(parameters);
        self
    }
    /// Whether an init process runs as PID 1 (`linuxParameters.initProcessEnabled`).
    pub fn init_process_enabled(mut self, enabled: bool) -> Self {
        self.linux().init_process_enabled = Some(enabled);
        self
    }
    /// Adds a kernel capability (`linuxParameters.capabilities.add`).
    pub fn add_capability(mut self, capability: impl Into<String>) -> Self {
        let caps = self
            .linux()
            .capabilities
            .get_or_insert_with(Default::default);
        caps.add.push(capability.into());
        self
    }
    /// Drops a kernel capability (`linuxParameters.capabilities.drop`), e.g. `ALL`.
    pub fn drop_capability(mut self, capability: impl Into<String>) -> Self {
        let caps = self
            .linux()
            .capabilities
            .get_or_insert_with(Default::default);
        caps.drop.push(capability.into());
        self
    }
    /// Adds a tmpfs mount (`linuxParameters.tmpfs`).
    pub fn tmpfs(mut self, tmpfs: Tmpfs) -> Self {
        self.linux().tmpfs.push(tmpfs);
        self
    }
    /// Adds a Docker label.
    pub fn docker_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.docker_labels.insert(key.into(), value.into());
        self
    }
    /// Seconds between SIGTERM and SIGKILL.
    pub fn stop_timeout(mut self, seconds: i32) -> Self {
        self.inner.stop_timeout = Some(seconds);
        self
    }
    /// Seconds to wait for the containers this one depends on.
    pub fn start_timeout(mut self, seconds: i32) -> Self {
        self.inner.start_timeout = Some(seconds);
        self
    }
    /// The user the container runs as.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.inner.user = Some(user.into());
        self
    }
    /// Makes the container the task's FireLens log router.
    pub fn firelens(mut self, configuration: FirelensConfiguration) -> Self {
        self.inner.firelens_configuration = Some(configuration);
        self
    }
    /// Adds a kernel parameter.
    pub fn system_control(
        mut self,
        namespace: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.inner.system_controls.push(SystemControl {
            namespace: namespace.into(),
            value: value.into(),
        });
        self
    }
    fn linux(&mut self) -> &mut LinuxParameters {
        self.inner
            .linux_parameters
            .get_or_insert_with(Default::default)
    }
    /// The definition; [`TaskDefinition`](crate::TaskDefinition)'s `build` checks it.
    pub fn build(self) -> ContainerDefinition {
        self.inner
    }
}
