//! The task definition: its containers and the task-level settings around them.

use std::collections::BTreeMap;

use converge::{Invalid, Problem};
use serde::{Deserialize, Serialize};

use crate::container::ContainerDefinition;

/// How the task's containers are networked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// An ENI of its own in the VPC: what Fargate requires.
    Awsvpc,
    /// Docker's bridge network on the instance (ECS's default on EC2).
    Bridge,
    /// The instance's network.
    Host,
    /// No network.
    None,
}

impl NetworkMode {
    /// The name ECS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Awsvpc => "awsvpc",
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
            NetworkMode::None => "none",
        }
    }
}

/// Where the task may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Compatibility {
    /// AWS Fargate.
    Fargate,
    /// EC2 container instances.
    Ec2,
    /// ECS Anywhere.
    External,
}

impl Compatibility {
    /// The name ECS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Compatibility::Fargate => "FARGATE",
            Compatibility::Ec2 => "EC2",
            Compatibility::External => "EXTERNAL",
        }
    }
}

/// A task volume: an EFS file system when `efs_volume_configuration` is given, else a bind
/// mount, from the host path when given (EC2), else task storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// The name containers mount it by.
    pub name: String,
    /// The path on the container instance (EC2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    /// An EFS file system: storage that outlives the task and is shared between tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
}

impl Volume {
    /// Task storage, gone with the task (a bind mount without host path).
    pub fn task_storage(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            host_path: None,
            efs_volume_configuration: None,
        }
    }

    /// A path of the container instance (EC2 only).
    pub fn host(name: impl Into<String>, host_path: impl Into<String>) -> Self {
        Self {
            host_path: Some(host_path.into()),
            ..Self::task_storage(name)
        }
    }

    /// An EFS file system.
    pub fn efs(name: impl Into<String>, configuration: EfsVolumeConfiguration) -> Self {
        Self {
            efs_volume_configuration: Some(configuration),
            ..Self::task_storage(name)
        }
    }
}

/// An EFS file system mounted as a task volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EfsVolumeConfiguration {
    /// The file system's ID, `fs-` and hex digits.
    pub file_system_id: String,
    /// The directory of the file system mounted (default `/`); with an access point, absent
    /// or `/`, as the access point sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// TLS between the host and EFS (default `DISABLED`); an access point and IAM
    /// authorization need it `ENABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<EfsSetting>,
    /// The port TLS uses (default: the EFS mount helper's choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption_port: Option<i32>,
    /// An access point and IAM authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

impl EfsVolumeConfiguration {
    /// The root of `file_system_id`, unencrypted in transit.
    pub fn new(file_system_id: impl Into<String>) -> Self {
        Self {
            file_system_id: file_system_id.into(),
            root_directory: None,
            transit_encryption: None,
            transit_encryption_port: None,
            authorization_config: None,
        }
    }

    /// The directory mounted.
    pub fn root_directory(mut self, dir: impl Into<String>) -> Self {
        self.root_directory = Some(dir.into());
        self
    }

    /// Transit encryption `ENABLED`.
    pub fn encrypted(mut self) -> Self {
        self.transit_encryption = Some(EfsSetting::Enabled);
        self
    }

    /// The port transit encryption uses.
    pub fn transit_encryption_port(mut self, port: i32) -> Self {
        self.transit_encryption_port = Some(port);
        self
    }

    /// Mounts through an access point (`fsap-...`); needs transit encryption.
    pub fn access_point(mut self, access_point_id: impl Into<String>) -> Self {
        self.authorization().access_point_id = Some(access_point_id.into());
        self
    }

    /// Mounts with the task role's IAM identity; needs transit encryption.
    pub fn iam(mut self) -> Self {
        self.authorization().iam = Some(EfsSetting::Enabled);
        self
    }

    fn authorization(&mut self) -> &mut EfsAuthorizationConfig {
        self.authorization_config
            .get_or_insert_with(Default::default)
    }
}

/// How an EFS volume is authorized.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EfsAuthorizationConfig {
    /// The access point's ID, `fsap-` and hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// Whether the task role's IAM identity is used when mounting (default `DISABLED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<EfsSetting>,
}

/// An EFS switch: transit encryption or IAM authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EfsSetting {
    /// On.
    Enabled,
    /// Off (ECS's default).
    Disabled,
}

impl EfsSetting {
    /// The name ECS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            EfsSetting::Enabled => "ENABLED",
            EfsSetting::Disabled => "DISABLED",
        }
    }
}

/// The CPU architecture and operating system the task needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimePlatform {
    /// `X86_64` (ECS's default) or `ARM64` (Graviton).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<String>,
    /// `LINUX` (ECS's default), `WINDOWS_SERVER_2022_CORE`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<String>,
}

impl RuntimePlatform {
    /// Linux on `cpu_architecture` (`X86_64` or `ARM64`).
    pub fn linux(cpu_architecture: impl Into<String>) -> Self {
        Self {
            cpu_architecture: Some(cpu_architecture.into()),
            operating_system_family: Some("LINUX".to_owned()),
        }
    }
}

/// Fargate task storage beyond the default 20 GiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EphemeralStorage {
    /// The size, 21 to 200 GiB.
    #[serde(rename = "sizeInGiB")]
    pub size_in_gib: u32,
}

/// A task definition, checked: made by [`TaskDefinition::builder`], registered by
/// [`register`](TaskDefinition::register).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub(crate) family: String,
    #[serde(skip)]
    pub(crate) environment: Option<String>,
    pub(crate) container_definitions: Vec<ContainerDefinition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) memory: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) network_mode: Option<NetworkMode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) requires_compatibilities: Vec<Compatibility>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) execution_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) task_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) runtime_platform: Option<RuntimePlatform>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ephemeral_storage: Option<EphemeralStorage>,
    #[serde(skip)]
    pub(crate) tags: BTreeMap<String, String>,
}

impl TaskDefinition {
    /// A builder; `build` checks everything.
    pub fn builder() -> TaskDefinitionBuilder {
        TaskDefinitionBuilder::default()
    }

    /// The family: every revision shares it.
    pub fn family(&self) -> &str {
        &self.family
    }

    /// The containers.
    pub fn containers(&self) -> &[ContainerDefinition] {
        &self.container_definitions
    }

    /// The network mode, `None` for ECS's default (`bridge` on Linux).
    pub fn network_mode(&self) -> Option<NetworkMode> {
        self.network_mode
    }

    /// Where the task may run.
    pub fn requires_compatibilities(&self) -> &[Compatibility] {
        &self.requires_compatibilities
    }

    /// The role ECS pulls images and reads secrets as.
    pub fn execution_role_arn(&self) -> Option<&str> {
        self.execution_role_arn.as_deref()
    }

    /// The role the containers call AWS as.
    pub fn task_role_arn(&self) -> Option<&str> {
        self.task_role_arn.as_deref()
    }

    /// The volumes.
    pub fn volumes(&self) -> &[Volume] {
        &self.volumes
    }

    /// The runtime platform, `None` for ECS's default (Linux on X86_64).
    pub fn runtime_platform(&self) -> Option<&RuntimePlatform> {
        self.runtime_platform.as_ref()
    }

    /// The Fargate task storage, GiB, `None` for the default 20 GiB.
    pub fn ephemeral_storage(&self) -> Option<u32> {
        self.ephemeral_storage.map(|e| e.size_in_gib)
    }

    /// Checks that a load balancer can send traffic to `container_name` on `container_port`:
    /// the container exists and maps that port. For the ECS service module, which names both.
    pub fn check_load_balancer_target(
        &self,
        container_name: &str,
        container_port: i32,
    ) -> Result<(), Problem> {
        let Some(container) = self
            .container_definitions
            .iter()
            .find(|c| c.name == container_name)
        else {
            let names: Vec<_> = self
                .container_definitions
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(Problem {
                field: "container_name".to_owned(),
                rule: format!(
                    "task definition {} has no container {container_name:?} (it has {})",
                    self.family,
                    names.join(", ")
                ),
            });
        };
        if container
            .port_mappings
            .iter()
            .any(|p| p.container_port == container_port)
        {
            return Ok(());
        }
        let ports: Vec<_> = container
            .port_mappings
            .iter()
            .map(|p| p.container_port.to_string())
            .collect();
        Err(Problem {
            field: "container_port".to_owned(),
            rule: format!(
                "container {container_name:?} of task definition {} maps no port {container_port} (it maps {})",
                self.family,
                if ports.is_empty() { "none".to_owned() } else { ports.join(", ") }
            ),
        })
    }
}

/// Builds a [`TaskDefinition`].
#[derive(Clone, Debug, Default)]
pub struct TaskDefinitionBuilder {
    inner: TaskDefinition,
}

impl TaskDefinitionBuilder {
    /// Required. The family name: 1 to 255 letters, digits, hyphens and underscores.
    pub fn family(mut self, family: impl Into<String>) -> Self {
        self.inner.family = family.into();
        self
    }
    /// The `Environment` tag (default: the family).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.inner.environment = Some(environment.into());
        self
    }
    /// Adds a container.
    pub fn container(mut self, container: ContainerDefinition) -> Self {
        self.inner.container_definitions.push(container);
        self
    }
    /// Adds containers, e.g. read from a JSON template.
    pub fn containers(mut self, containers: impl IntoIterator<Item = ContainerDefinition>) -> Self {
        self.inner.container_definitions.extend(containers);
        self
    }
    /// Task CPU units (required on Fargate).
    pub fn cpu(mut self, cpu: u32) -> Self {
        self.inner.cpu = Some(cpu);
        self
    }
    /// Task memory, MiB (required on Fargate).
    pub fn memory(mut self, memory: u32) -> Self {
        self.inner.memory = Some(memory);
        self
    }
    /// The network mode (Fargate requires `awsvpc`).
    pub fn network_mode(mut self, mode: NetworkMode) -> Self {
        self.inner.network_mode = Some(mode);
        self
    }
    /// Adds a launch type the task must be compatible with.
    pub fn requires_compatibility(mut self, compatibility: Compatibility) -> Self {
        if !self.inner.requires_compatibilities.contains(&compatibility) {
            self.inner.requires_compatibilities.push(compatibility);
        }
        self
    }
    /// The role ECS uses to pull the image and write logs.
    pub fn execution_role_arn(mut self, arn: impl Into<String>) -> Self {
        self.inner.execution_role_arn = Some(arn.into());
        self
    }
    /// The role the containers' code runs as.
    pub fn task_role_arn(mut self, arn: impl Into<String>) -> Self {
        self.inner.task_role_arn = Some(arn.into());
        self
    }
    /// Adds a volume.
    pub fn volume(mut self, volume: Volume) -> Self {
        self.inner.volumes.push(volume);
        self
    }
    /// The runtime platform, replacing any set before.
    pub fn runtime_platform(mut self, platform: RuntimePlatform) -> Self {
        self.inner.runtime_platform = Some(platform);
        self
    }
    /// The CPU architecture: `X86_64` or `ARM64` (Graviton, cheaper on Fargate).
    pub fn cpu_architecture(mut self, architecture: impl Into<String>) -> Self {
        self.platform().cpu_architecture = Some(architecture.into());
        self
    }
    /// The operating system family: `LINUX`, `WINDOWS_SERVER_2022_CORE`, ...
    pub fn operating_system_family(mut self, family: impl Into<String>) -> Self {
        self.platform().operating_system_family = Some(family.into());
        self
    }
    /// Fargate task storage, 21 to 200 GiB (default 20).
    pub fn ephemeral_storage(mut self, gib: u32) -> Self {
        self.inner.ephemeral_storage = Some(EphemeralStorage { size_in_gib: gib });
        self
    }
    /// Adds a tag. `Name`, `Environment` and the ownership tag are set by the module.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.tags.insert(key.into(), value.into());
        self
    }

    fn platform(&mut self) -> &mut RuntimePlatform {
        self.inner
            .runtime_platform
            .get_or_insert_with(Default::default)
    }

    /// Checks everything and reports every problem at once.
    pub fn build(self) -> Result<TaskDefinition, Invalid> {
        let mut invalid = Invalid::new();
        crate::validate::check(&self.inner, &mut invalid);
        invalid.into_result(self.inner)
    }
}
