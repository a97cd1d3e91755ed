//! Conversion to and from the SDK's types, and the normal form both sides are compared in:
//! ECS fills in defaults (`cpu: 0`, `essential: true`, `protocol: tcp`, the host port in
//! awsvpc mode) that the desired definition leaves out.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;

use converge::Field;

use crate::changes::leaf_changes;
use crate::kind::TaskDefinitionField;

use crate::container::{
    ContainerDefinition, ContainerDependency, DependencyCondition, Device, DevicePermission,
    EnvironmentVariable, FirelensConfiguration, FirelensType, HealthCheck, KernelCapabilities,
    LinuxParameters, LogConfiguration, MountPoint, PortMapping, Protocol, Secret, SystemControl,
    Tmpfs, Ulimit,
};
use crate::task::{
    Compatibility, EfsAuthorizationConfig, EfsSetting, EfsVolumeConfiguration, NetworkMode,
    RuntimePlatform, TaskDefinition, Volume,
};

const REQUIRED: &str = "the model always sets the SDK's required fields";

impl From<&ContainerDefinition> for ecs::ContainerDefinition {
    fn from(c: &ContainerDefinition) -> Self {
        let mut b = ecs::ContainerDefinition::builder()
            .name(&c.name)
            .image(&c.image)
            .set_essential(c.essential)
            .set_memory(c.memory)
            .set_memory_reservation(c.memory_reservation)
            .set_working_directory(c.working_directory.clone());
        if let Some(cpu) = c.cpu {
            b = b.cpu(cpu);
        }
        for p in &c.port_mappings {
            b = b.port_mappings(port_mapping(p));
        }
        for e in &c.environment {
            b = b.environment(
                ecs::KeyValuePair::builder()
                    .name(&e.name)
                    .value(&e.value)
                    .build(),
            );
        }
        for s in &c.secrets {
            b = b.secrets(
                ecs::Secret::builder()
                    .name(&s.name)
                    .value_from(&s.value_from)
                    .build()
                    .expect(REQUIRED),
            );
        }
        b = b
            .set_command((!c.command.is_empty()).then(|| c.command.clone()))
            .set_entry_point((!c.entry_point.is_empty()).then(|| c.entry_point.clone()));
        if let Some(h) = &c.health_check {
            b = b.health_check(health_check(h));
        }
        if let Some(l) = &c.log_configuration {
            b = b.log_configuration(log_configuration(l));
        }
        for m in &c.mount_points {
            b = b.mount_points(
                ecs::MountPoint::builder()
                    .source_volume(&m.source_volume)
                    .container_path(&m.container_path)
                    .set_read_only(m.read_only)
                    .build(),
            );
        }
        for u in &c.ulimits {
            b = b.ulimits(ulimit(u));
        }
        for d in &c.depends_on {
            b = b.depends_on(dependency(d));
        }
        if let Some(l) = &c.linux_parameters {
            b = b.linux_parameters(linux_parameters(l));
        }
        if let Some(f) = &c.firelens_configuration {
            b = b.firelens_configuration(firelens_configuration(f));
        }
        for s in &c.system_controls {
            b = b.system_controls(
                ecs::SystemControl::builder()
                    .namespace(&s.namespace)
                    .value(&s.value)
                    .build(),
            );
        }
        b.set_readonly_root_filesystem(c.readonly_root_filesystem)
            .set_docker_labels(
                (!c.docker_labels.is_empty())
                    .then(|| c.docker_labels.clone().into_iter().collect()),
            )
            .set_stop_timeout(c.stop_timeout)
            .set_start_timeout(c.start_timeout)
            .set_user(c.user.clone())
            .build()
    }
}

/// The SDK's port mapping; the protocol stays absent when the model leaves it out.
fn port_mapping(p: &PortMapping) -> ecs::PortMapping {
    ecs::PortMapping::builder()
        .container_port(p.container_port)
        .set_host_port(p.host_port)
        .set_protocol(p.protocol.map(|p| match p {
            Protocol::Tcp => ecs::TransportProtocol::Tcp,
            Protocol::Udp => ecs::TransportProtocol::Udp,
        }))
        .build()
}

/// The SDK's container health check.
fn health_check(h: &HealthCheck) -> ecs::HealthCheck {
    ecs::HealthCheck::builder()
        .set_command(Some(h.command.clone()))
        .set_interval(h.interval)
        .set_timeout(h.timeout)
        .set_retries(h.retries)
        .set_start_period(h.start_period)
        .build()
        .expect(REQUIRED)
}

/// The SDK's log configuration; no options stay absent.
fn log_configuration(l: &LogConfiguration) -> ecs::LogConfiguration {
    ecs::LogConfiguration::builder()
        .log_driver(ecs::LogDriver::from(l.log_driver.as_str()))
        .set_options((!l.options.is_empty()).then(|| l.options.clone().into_iter().collect()))
        .build()
        .expect(REQUIRED)
}

/// The SDK's ulimit.
fn ulimit(u: &Ulimit) -> ecs::Ulimit {
    ecs::Ulimit::builder()
        .name(ecs::UlimitName::from(u.name.as_str()))
        .soft_limit(u.soft_limit)
        .hard_limit(u.hard_limit)
        .build()
        .expect(REQUIRED)
}

/// The SDK's container dependency.
fn dependency(d: &ContainerDependency) -> ecs::ContainerDependency {
    let condition = match d.condition {
        DependencyCondition::Start => ecs::ContainerCondition::Start,
        DependencyCondition::Complete => ecs::ContainerCondition::Complete,
        DependencyCondition::Success => ecs::ContainerCondition::Success,
        DependencyCondition::Healthy => ecs::ContainerCondition::Healthy,
    };
    ecs::ContainerDependency::builder()
        .container_name(&d.container_name)
        .condition(condition)
        .build()
        .expect(REQUIRED)
}

/// The SDK's FireLens configuration; no options stay absent.
fn firelens_configuration(f: &FirelensConfiguration) -> ecs::FirelensConfiguration {
    ecs::FirelensConfiguration::builder()
        .r#type(match f.kind {
            FirelensType::Fluentbit => ecs::FirelensConfigurationType::Fluentbit,
            FirelensType::Fluentd => ecs::FirelensConfigurationType::Fluentd,
        })
        .set_options((!f.options.is_empty()).then(|| f.options.clone().into_iter().collect()))
        .build()
        .expect(REQUIRED)
}

/// The SDK's Linux parameters; empty lists stay absent, as ECS describes them.
fn linux_parameters(l: &LinuxParameters) -> ecs::LinuxParameters {
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    ecs::LinuxParameters::builder()
        .set_init_process_enabled(l.init_process_enabled)
        .set_capabilities(l.capabilities.as_ref().map(|c| {
            ecs::KernelCapabilities::builder()
                .set_add(list(&c.add))
                .set_drop(list(&c.drop))
                .build()
        }))
        .set_shared_memory_size(l.shared_memory_size)
        .set_tmpfs((!l.tmpfs.is_empty()).then(|| {
            l.tmpfs
                .iter()
                .map(|t| {
                    ecs::Tmpfs::builder()
                        .container_path(&t.container_path)
                        .size(t.size)
                        .set_mount_options(list(&t.mount_options))
                        .build()
                        .expect(REQUIRED)
                })
                .collect()
        }))
        .set_devices((!l.devices.is_empty()).then(|| {
            l.devices
                .iter()
                .map(|d| {
                    ecs::Device::builder()
                        .host_path(&d.host_path)
                        .set_container_path(d.container_path.clone())
                        .set_permissions((!d.permissions.is_empty()).then(|| {
                            d.permissions
                                .iter()
                                .map(|p| match p {
                                    DevicePermission::Read => ecs::DeviceCgroupPermission::Read,
                                    DevicePermission::Write => ecs::DeviceCgroupPermission::Write,
                                    DevicePermission::Mknod => ecs::DeviceCgroupPermission::Mknod,
                                })
                                .collect()
                        }))
                        .build()
                        .expect(REQUIRED)
                })
                .collect()
        }))
        .set_max_swap(l.max_swap)
        .set_swappiness(l.swappiness)
        .build()
}

impl From<&ecs::LinuxParameters> for LinuxParameters {
    fn from(l: &ecs::LinuxParameters) -> Self {
        LinuxParameters {
            init_process_enabled: l.init_process_enabled(),
            capabilities: l.capabilities().map(|c| KernelCapabilities {
                add: c.add().to_vec(),
                drop: c.drop().to_vec(),
            }),
            shared_memory_size: l.shared_memory_size(),
            tmpfs: l
                .tmpfs()
                .iter()
                .map(|t| Tmpfs {
                    container_path: t.container_path().to_owned(),
                    size: t.size(),
                    mount_options: t.mount_options().to_vec(),
                })
                .collect(),
            devices: l
                .devices()
                .iter()
                .map(|d| Device {
                    host_path: d.host_path().to_owned(),
                    container_path: d.container_path().map(str::to_owned),
                    permissions: d
                        .permissions()
                        .iter()
                        .map(|p| match p {
                            ecs::DeviceCgroupPermission::Read => DevicePermission::Read,
                            ecs::DeviceCgroupPermission::Write => DevicePermission::Write,
                            _ => DevicePermission::Mknod,
                        })
                        .collect(),
                })
                .collect(),
            max_swap: l.max_swap(),
            swappiness: l.swappiness(),
        }
    }
}

impl From<&ecs::ContainerDefinition> for ContainerDefinition {
    fn from(c: &ecs::ContainerDefinition) -> Self {
        let condition = |c: &ecs::ContainerCondition| match c {
            ecs::ContainerCondition::Complete => DependencyCondition::Complete,
            ecs::ContainerCondition::Success => DependencyCondition::Success,
            ecs::ContainerCondition::Healthy => DependencyCondition::Healthy,
            _ => DependencyCondition::Start,
        };
        ContainerDefinition {
            name: c.name().unwrap_or_default().to_owned(),
            image: c.image().unwrap_or_default().to_owned(),
            essential: c.essential(),
            cpu: Some(c.cpu()).filter(|cpu| *cpu != 0),
            memory: c.memory(),
            memory_reservation: c.memory_reservation(),
            port_mappings: c
                .port_mappings()
                .iter()
                .map(|p| PortMapping {
                    container_port: p.container_port().unwrap_or_default(),
                    host_port: p.host_port(),
                    protocol: p.protocol().map(|p| match p {
                        ecs::TransportProtocol::Udp => Protocol::Udp,
                        _ => Protocol::Tcp,
                    }),
                })
                .collect(),
            environment: c
                .environment()
                .iter()
                .map(|e| EnvironmentVariable {
                    name: e.name().unwrap_or_default().to_owned(),
                    value: e.value().unwrap_or_default().to_owned(),
                })
                .collect(),
            secrets: c
                .secrets()
                .iter()
                .map(|s| Secret {
                    name: s.name().to_owned(),
                    value_from: s.value_from().to_owned(),
                })
                .collect(),
            command: c.command().to_vec(),
            entry_point: c.entry_point().to_vec(),
            working_directory: c.working_directory().map(str::to_owned),
            health_check: c.health_check().map(|h| HealthCheck {
                command: h.command().to_vec(),
                interval: h.interval(),
                timeout: h.timeout(),
                retries: h.retries(),
                start_period: h.start_period(),
            }),
            log_configuration: c.log_configuration().map(|l| LogConfiguration {
                log_driver: l.log_driver().as_str().to_owned(),
                options: map(l.options()),
            }),
            mount_points: c
                .mount_points()
                .iter()
                .map(|m| MountPoint {
                    source_volume: m.source_volume().unwrap_or_default().to_owned(),
                    container_path: m.container_path().unwrap_or_default().to_owned(),
                    read_only: m.read_only(),
                })
                .collect(),
            ulimits: c
                .ulimits()
                .iter()
                .map(|u| Ulimit {
                    name: u.name().as_str().to_owned(),
                    soft_limit: u.soft_limit(),
                    hard_limit: u.hard_limit(),
                })
                .collect(),
            depends_on: c
                .depends_on()
                .iter()
                .map(|d| ContainerDependency {
                    container_name: d.container_name().to_owned(),
                    condition: condition(d.condition()),
                })
                .collect(),
            readonly_root_filesystem: c.readonly_root_filesystem(),
            linux_parameters: c.linux_parameters().map(LinuxParameters::from),
            docker_labels: map(c.docker_labels()),
            stop_timeout: c.stop_timeout(),
            start_timeout: c.start_timeout(),
            user: c.user().map(str::to_owned),
            firelens_configuration: c.firelens_configuration().map(|f| FirelensConfiguration {
                kind: match f.r#type() {
                    ecs::FirelensConfigurationType::Fluentd => FirelensType::Fluentd,
                    _ => FirelensType::Fluentbit,
                },
                options: map(f.options()),
            }),
            system_controls: c
                .system_controls()
                .iter()
                .map(|s| SystemControl {
                    namespace: s.namespace().unwrap_or_default().to_owned(),
                    value: s.value().unwrap_or_default().to_owned(),
                })
                .collect(),
        }
    }
}

/// An SDK string map, ordered; absent reads as empty.
fn map(m: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The SDK's network mode.
pub(crate) fn network_mode(mode: NetworkMode) -> ecs::NetworkMode {
    ecs::NetworkMode::from(mode.as_str())
}

/// The SDK's compatibility.
pub(crate) fn compatibility(c: Compatibility) -> ecs::Compatibility {
    ecs::Compatibility::from(c.as_str())
}

/// The SDK's volume.
pub(crate) fn volume(v: &Volume) -> ecs::Volume {
    ecs::Volume::builder()
        .name(&v.name)
        .set_host(
            v.host_path
                .as_ref()
                .map(|p| ecs::HostVolumeProperties::builder().source_path(p).build()),
        )
        .set_efs_volume_configuration(v.efs_volume_configuration.as_ref().map(efs))
        .build()
}

fn efs(e: &EfsVolumeConfiguration) -> ecs::EfsVolumeConfiguration {
    ecs::EfsVolumeConfiguration::builder()
        .file_system_id(&e.file_system_id)
        .set_root_directory(e.root_directory.clone())
        .set_transit_encryption(
            e.transit_encryption
                .map(|t| ecs::EfsTransitEncryption::from(t.as_str())),
        )
        .set_transit_encryption_port(e.transit_encryption_port)
        .set_authorization_config(e.authorization_config.as_ref().map(|a| {
            ecs::EfsAuthorizationConfig::builder()
                .set_access_point_id(a.access_point_id.clone())
                .set_iam(
                    a.iam
                        .map(|i| ecs::EfsAuthorizationConfigIam::from(i.as_str())),
                )
                .build()
        }))
        .build()
        .expect(REQUIRED)
}

/// A volume as ECS describes it.
pub(crate) fn volume_from(v: &ecs::Volume) -> Volume {
    let setting = |s: &str| match s {
        "ENABLED" => EfsSetting::Enabled,
        _ => EfsSetting::Disabled,
    };
    Volume {
        name: v.name().unwrap_or_default().to_owned(),
        host_path: v.host().and_then(|h| h.source_path()).map(str::to_owned),
        efs_volume_configuration: v
            .efs_volume_configuration()
            .map(|e| EfsVolumeConfiguration {
                file_system_id: e.file_system_id().to_owned(),
                root_directory: e.root_directory().map(str::to_owned),
                transit_encryption: e.transit_encryption().map(|t| setting(t.as_str())),
                transit_encryption_port: e.transit_encryption_port(),
                authorization_config: e.authorization_config().map(|a| EfsAuthorizationConfig {
                    access_point_id: a.access_point_id().map(str::to_owned),
                    iam: a.iam().map(|i| setting(i.as_str())),
                }),
            }),
    }
}

/// The SDK's runtime platform; `None` when it sets nothing, so none is sent.
pub(crate) fn runtime_platform(p: &RuntimePlatform) -> Option<ecs::RuntimePlatform> {
    if p.cpu_architecture.is_none() && p.operating_system_family.is_none() {
        return None;
    }
    Some(
        ecs::RuntimePlatform::builder()
            .set_cpu_architecture(
                p.cpu_architecture
                    .as_deref()
                    .map(ecs::CpuArchitecture::from),
            )
            .set_operating_system_family(
                p.operating_system_family
                    .as_deref()
                    .map(ecs::OsFamily::from),
            )
            .build(),
    )
}

/// The SDK's ephemeral storage.
pub(crate) fn ephemeral_storage(gib: u32) -> ecs::EphemeralStorage {
    ecs::EphemeralStorage::builder()
        .size_in_gib(i32::try_from(gib).unwrap_or(i32::MAX))
        .build()
}

/// Everything registration compares, in normal form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Normal {
    pub containers: Vec<ContainerDefinition>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub network_mode: String,
    pub requires_compatibilities: Vec<String>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    pub volumes: Vec<Volume>,
    pub runtime_platform: Option<(String, String)>,
    pub ephemeral_storage: Option<i64>,
    pub tags: BTreeMap<String, String>,
}

impl Normal {
    /// The desired definition, with the defaults ECS would fill in filled in.
    pub(crate) fn desired(task: &TaskDefinition, tags: BTreeMap<String, String>) -> Self {
        let mode = task.network_mode.unwrap_or(NetworkMode::Bridge);
        Normal {
            containers: task
                .container_definitions
                .iter()
                .map(|c| normal_container(c.clone(), mode))
                .collect(),
            cpu: task.cpu.map(|c| c.to_string()),
            memory: task.memory.map(|m| m.to_string()),
            network_mode: mode.as_str().to_owned(),
            requires_compatibilities: sorted(
                task.requires_compatibilities
                    .iter()
                    .map(|c| c.as_str().to_owned()),
            ),
            execution_role_arn: task.execution_role_arn.clone(),
            task_role_arn: task.task_role_arn.clone(),
            volumes: normal_volumes(task.volumes.clone()),
            runtime_platform: task.runtime_platform.as_ref().and_then(|p| {
                normal_platform(
                    p.cpu_architecture.as_deref(),
                    p.operating_system_family.as_deref(),
                )
            }),
            ephemeral_storage: normal_storage(task.ephemeral_storage.map(|e| e.size_in_gib.into())),
            tags,
        }
    }

    /// A revision as ECS describes it.
    pub(crate) fn actual(td: &ecs::TaskDefinition, tags: &[ecs::Tag]) -> Self {
        let mode = match td.network_mode() {
            Some(ecs::NetworkMode::Awsvpc) => NetworkMode::Awsvpc,
            Some(ecs::NetworkMode::Host) => NetworkMode::Host,
            Some(ecs::NetworkMode::None) => NetworkMode::None,
            _ => NetworkMode::Bridge,
        };
        Normal {
            containers: td
                .container_definitions()
                .iter()
                .map(|c| normal_container(ContainerDefinition::from(c), mode))
                .collect(),
            cpu: td.cpu().map(str::to_owned),
            memory: td.memory().map(str::to_owned),
            network_mode: mode.as_str().to_owned(),
            requires_compatibilities: sorted(
                td.requires_compatibilities()
                    .iter()
                    .map(|c| c.as_str().to_owned()),
            ),
            execution_role_arn: td.execution_role_arn().map(str::to_owned),
            task_role_arn: td.task_role_arn().map(str::to_owned),
            volumes: normal_volumes(td.volumes().iter().map(volume_from).collect()),
            runtime_platform: td.runtime_platform().and_then(|p| {
                normal_platform(
                    p.cpu_architecture().map(|a| a.as_str()),
                    p.operating_system_family().map(|o| o.as_str()),
                )
            }),
            ephemeral_storage: normal_storage(
                td.ephemeral_storage().map(|e| e.size_in_gib().into()),
            ),
            tags: tags
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        }
    }

    /// Each leaf that differs from `found`, with both values, for a plan: `memory`, or
    /// `container_definitions["blog"].image`, in the order of the API's fields.
    pub(crate) fn changes(&self, found: &Normal) -> Vec<TaskChange> {
        use TaskDefinitionField as F;
        fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
            serde_json::to_value(v).expect("plain data serializes")
        }
        let pairs = [
            (
                F::ContainerDefinitions,
                json(&found.containers),
                json(&self.containers),
            ),
            (F::Cpu, json(&found.cpu), json(&self.cpu)),
            (F::Memory, json(&found.memory), json(&self.memory)),
            (
                F::NetworkMode,
                json(&found.network_mode),
                json(&self.network_mode),
            ),
            (
                F::RequiresCompatibilities,
                json(&found.requires_compatibilities),
                json(&self.requires_compatibilities),
            ),
            (
                F::ExecutionRoleArn,
                json(&found.execution_role_arn),
                json(&self.execution_role_arn),
            ),
            (
                F::TaskRoleArn,
                json(&found.task_role_arn),
                json(&self.task_role_arn),
            ),
            (F::Volumes, json(&found.volumes), json(&self.volumes)),
            (
                F::RuntimePlatform,
                json(&found.runtime_platform),
                json(&self.runtime_platform),
            ),
            (
                F::EphemeralStorage,
                json(&found.ephemeral_storage),
                json(&self.ephemeral_storage),
            ),
            (F::Tags, json(&found.tags), json(&self.tags)),
        ];
        pairs
            .iter()
            .flat_map(|(field, f, w)| {
                let name = field.name();
                leaf_changes(name, f, w)
                    .into_iter()
                    .map(move |(path, before, after)| {
                        // Every path starts with the field's name; the rest is where in it.
                        let at = path.strip_prefix(name).unwrap_or_default().to_owned();
                        (*field, at, before, after)
                    })
            })
            .collect()
    }
}

/// One leaf that differs: its top-level field, where in it (`["blog"].image`; empty for the
/// field itself), the value found (`None`: absent) and the value wanted.
pub(crate) type TaskChange = (TaskDefinitionField, String, Option<String>, Option<String>);

/// Fargate's default 20 GiB, said or not, is none (ECS takes 21 GiB and up).
fn normal_storage(gib: Option<i64>) -> Option<i64> {
    gib.filter(|g| *g > 20)
}

/// A platform that names anything names both, with ECS's defaults (Linux on X86_64); one
/// that names nothing is none.
fn normal_platform(arch: Option<&str>, os: Option<&str>) -> Option<(String, String)> {
    if arch.is_none() && os.is_none() {
        return None;
    }
    Some((
        arch.unwrap_or("X86_64").to_owned(),
        os.unwrap_or("LINUX").to_owned(),
    ))
}

/// Volumes by name, with EFS's defaults left out: root `/`, transit encryption and IAM
/// `DISABLED`, an authorization that sets nothing.
fn normal_volumes(mut volumes: Vec<Volume>) -> Vec<Volume> {
    for v in &mut volumes {
        if let Some(e) = &mut v.efs_volume_configuration {
            e.root_directory = e.root_directory.take().filter(|r| r != "/");
            e.transit_encryption = e.transit_encryption.filter(|t| *t == EfsSetting::Enabled);
            if let Some(a) = &mut e.authorization_config {
                a.iam = a.iam.filter(|i| *i == EfsSetting::Enabled);
            }
            e.authorization_config = e
                .authorization_config
                .take()
                .filter(|a| a.access_point_id.is_some() || a.iam.is_some());
        }
    }
    volumes.sort_by(|a, b| a.name.cmp(&b.name));
    volumes
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<_> = items.collect();
    items.sort();
    items
}

/// Fills in what ECS fills in, and orders what ECS does not keep in order.
fn normal_container(mut c: ContainerDefinition, mode: NetworkMode) -> ContainerDefinition {
    c.essential = Some(c.is_essential());
    c.cpu = c.cpu.filter(|cpu| *cpu != 0);
    for p in &mut c.port_mappings {
        p.protocol = Some(p.protocol.unwrap_or(Protocol::Tcp));
        p.host_port = Some(p.host_port.unwrap_or(match mode {
            NetworkMode::Awsvpc | NetworkMode::Host => p.container_port,
            // Bridge mode: no host port means a dynamic one, which ECS shows as 0.
            NetworkMode::Bridge | NetworkMode::None => 0,
        }));
    }
    // ECS answers with Docker's health check defaults filled in.
    if let Some(h) = &mut c.health_check {
        h.interval.get_or_insert(30);
        h.timeout.get_or_insert(5);
        h.retries.get_or_insert(3);
        h.start_period = h.start_period.filter(|s| *s != 0);
    }
    c.environment.sort_by(|a, b| a.name.cmp(&b.name));
    c.secrets.sort_by(|a, b| a.name.cmp(&b.name));
    c.system_controls
        .sort_by(|a, b| a.namespace.cmp(&b.namespace));
    // `false` is the default, whether said or not.
    c.readonly_root_filesystem = c.readonly_root_filesystem.filter(|r| *r);
    c.linux_parameters = c.linux_parameters.take().and_then(normal_linux);
    // ECS runs a FireLens router as root and describes it with `user: "0"`.
    if c.firelens_configuration.is_some() && c.user.is_none() {
        c.user = Some("0".to_owned());
    }
    c
}

/// Linux parameters without what says nothing: `initProcessEnabled: false`, capabilities
/// with neither list (the lists as sets), all of it empty.
fn normal_linux(mut l: LinuxParameters) -> Option<LinuxParameters> {
    l.init_process_enabled = l.init_process_enabled.filter(|i| *i);
    l.capabilities = l.capabilities.take().and_then(|mut c| {
        for list in [&mut c.add, &mut c.drop] {
            list.sort();
            list.dedup();
        }
        (!c.add.is_empty() || !c.drop.is_empty()).then_some(c)
    });
    (l != LinuxParameters::default()).then_some(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{FirelensConfiguration, LogConfiguration, Tmpfs};
    use crate::task::EphemeralStorage;

    /// An ARM64 Fargate task with 50 GiB of storage, an EFS volume through an access point, a
    /// hardened app and its FireLens router.
    fn task() -> TaskDefinition {
        let app = ContainerDefinition::builder()
            .name("app")
            .image("nginx:1.27")
            .readonly_root_filesystem(true)
            .init_process_enabled(true)
            .drop_capability("ALL")
            .add_capability("SYS_PTRACE")
            .docker_label("team", "web")
            .stop_timeout(60)
            .start_timeout(30)
            .user("1000")
            .system_control("net.core.somaxconn", "1024")
            .log_configuration(LogConfiguration::driver(
                "awsfirelens",
                [("Name", "cloudwatch")],
            ))
            .mount_point(MountPoint {
                source_volume: "shared".into(),
                container_path: "/srv".into(),
                read_only: Some(true),
            })
            .build();
        let router = ContainerDefinition::builder()
            .name("log_router")
            .image("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")
            .firelens(FirelensConfiguration::fluentbit().option("enable-ecs-log-metadata", "true"))
            .build();
        TaskDefinition::builder()
            .family("app")
            .container(app)
            .container(router)
            .requires_compatibility(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(512)
            .memory(1024)
            .cpu_architecture("ARM64")
            .ephemeral_storage(50)
            .volume(Volume::efs(
                "shared",
                EfsVolumeConfiguration::new("fs-0123456789abcdef0")
                    .encrypted()
                    .access_point("fsap-0123456789abcdef0")
                    .iam(),
            ))
            .volume(Volume::task_storage("scratch"))
            .build()
            .unwrap()
    }

    /// The revision ECS describes after registering `task`, converted as registration sends it.
    fn described(task: &TaskDefinition) -> ecs::TaskDefinition {
        ecs::TaskDefinition::builder()
            .set_container_definitions(Some(
                task.container_definitions.iter().map(Into::into).collect(),
            ))
            .set_cpu(task.cpu.map(|c| c.to_string()))
            .set_memory(task.memory.map(|m| m.to_string()))
            .set_network_mode(task.network_mode.map(network_mode))
            .set_requires_compatibilities(Some(
                task.requires_compatibilities
                    .iter()
                    .copied()
                    .map(compatibility)
                    .collect(),
            ))
            .set_volumes(Some(task.volumes.iter().map(volume).collect()))
            .set_runtime_platform(task.runtime_platform.as_ref().and_then(runtime_platform))
            .set_ephemeral_storage(
                task.ephemeral_storage
                    .map(|e| ephemeral_storage(e.size_in_gib)),
            )
            .build()
    }

    /// The top-level fields that differ.
    fn differences(task: &TaskDefinition, td: &ecs::TaskDefinition) -> Vec<String> {
        let mut fields: Vec<String> = Normal::desired(task, BTreeMap::new())
            .changes(&Normal::actual(td, &[]))
            .into_iter()
            .map(|(field, _, _, _)| field.name().to_owned())
            .collect();
        fields.dedup();
        fields
    }

    #[test]
    fn new_fields_survive_the_sdk_and_compare_equal() {
        let task = task();
        let td = described(&task);
        assert_eq!(differences(&task, &td), Vec::<String>::new());

        // Every field came through, not only compared alike.
        let volumes: Vec<_> = td.volumes().iter().map(volume_from).collect();
        assert_eq!(volumes, task.volumes);
        let back: Vec<ContainerDefinition> =
            td.container_definitions().iter().map(Into::into).collect();
        assert_eq!(back, task.container_definitions);
        assert_eq!(td.ephemeral_storage().map(|e| e.size_in_gib()), Some(50));
        assert_eq!(
            td.runtime_platform().and_then(|p| p.cpu_architecture()),
            Some(&ecs::CpuArchitecture::Arm64)
        );
    }

    /// What ECS may fill in or spell otherwise: the router's root user, EFS's and the
    /// platform's defaults, `false`s and empty lists, other orders.
    #[test]
    fn ecs_defaults_are_no_difference() {
        let task = task();
        let mut td = described(&task);
        let mut router = td.container_definitions()[1].clone();
        router.user = Some("0".into());
        router.readonly_root_filesystem = Some(false);
        router.linux_parameters = Some(
            ecs::LinuxParameters::builder()
                .init_process_enabled(false)
                .capabilities(ecs::KernelCapabilities::builder().build())
                .build(),
        );
        let mut app = td.container_definitions()[0].clone();
        let caps = ecs::KernelCapabilities::builder()
            .add("SYS_PTRACE")
            .drop("ALL")
            .build();
        app.linux_parameters = Some(
            ecs::LinuxParameters::builder()
                .init_process_enabled(true)
                .capabilities(caps)
                .set_tmpfs(Some(vec![]))
                .build(),
        );
        td.container_definitions = Some(vec![app, router]);
        td.runtime_platform = Some(
            ecs::RuntimePlatform::builder()
                .cpu_architecture(ecs::CpuArchitecture::Arm64)
                .operating_system_family(ecs::OsFamily::Linux)
                .build(),
        );
        let mut volumes = td.volumes.clone().unwrap();
        volumes.reverse();
        let efs = volumes[1].efs_volume_configuration.as_mut().unwrap();
        efs.root_directory = Some("/".into());
        td.volumes = Some(volumes);
        assert_eq!(differences(&task, &td), Vec::<String>::new());

        // An EFS volume without encryption or authorization, described with them DISABLED.
        let plain = TaskDefinition {
            volumes: vec![Volume::efs(
                "data",
                EfsVolumeConfiguration::new("fs-12345678"),
            )],
            ..task.clone()
        };
        let mut td = described(&plain);
        td.volumes = Some(vec![ecs::Volume::builder()
            .name("data")
            .efs_volume_configuration(
                ecs::EfsVolumeConfiguration::builder()
                    .file_system_id("fs-12345678")
                    .transit_encryption(ecs::EfsTransitEncryption::Disabled)
                    .authorization_config(
                        ecs::EfsAuthorizationConfig::builder()
                            .iam(ecs::EfsAuthorizationConfigIam::Disabled)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()]);
        assert_eq!(differences(&plain, &td), Vec::<String>::new());
    }

    #[test]
    fn a_changed_new_field_is_a_difference() {
        let task = task();
        let td = described(&task);
        let changed = |edit: &dyn Fn(&mut TaskDefinition)| {
            let mut t = task.clone();
            edit(&mut t);
            differences(&t, &td)
        };
        assert_eq!(
            changed(&|t| t.ephemeral_storage = Some(EphemeralStorage { size_in_gib: 60 })),
            ["ephemeral_storage"]
        );
        assert_eq!(
            changed(&|t| t.ephemeral_storage = None),
            ["ephemeral_storage"]
        );
        assert_eq!(
            changed(&|t| t.runtime_platform = Some(RuntimePlatform::linux("X86_64"))),
            ["runtime_platform"]
        );
        assert_eq!(
            changed(&|t| {
                let efs = t.volumes[0].efs_volume_configuration.as_mut().unwrap();
                efs.authorization_config.as_mut().unwrap().iam = None;
            }),
            ["volumes"]
        );
        for edit in [
            &(|t: &mut TaskDefinition| t.container_definitions[0].stop_timeout = Some(90))
                as &dyn Fn(&mut TaskDefinition),
            &|t| t.container_definitions[0].readonly_root_filesystem = None,
            &|t| t.container_definitions[0].user = None,
            &|t| t.container_definitions[0].docker_labels.clear(),
            &|t| {
                let l = t.container_definitions[0]
                    .linux_parameters
                    .as_mut()
                    .unwrap();
                l.tmpfs.push(Tmpfs::new("/tmp", 64));
            },
            &|t| t.container_definitions[0].system_controls.clear(),
            &|t| {
                let f = t.container_definitions[1]
                    .firelens_configuration
                    .as_mut()
                    .unwrap();
                f.options.clear();
            },
            &|t| t.container_definitions[1].user = Some("0:0".into()),
        ] {
            assert_eq!(changed(edit), ["container_definitions"]);
        }
    }
}
