//! Conversion to and from the SDK's types, and the normal form both sides are compared in:
//! ECS fills in defaults (`cpu: 0`, `essential: true`, `protocol: tcp`, the host port in
//! awsvpc mode) that the desired definition leaves out.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;

use crate::container::{
    ContainerDefinition, ContainerDependency, DependencyCondition, EnvironmentVariable,
    HealthCheck, LogConfiguration, MountPoint, PortMapping, Protocol, Secret, Ulimit,
};
use crate::task::{Compatibility, NetworkMode, RuntimePlatform, TaskDefinition, Volume};

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
            b = b.port_mappings(
                ecs::PortMapping::builder()
                    .container_port(p.container_port)
                    .set_host_port(p.host_port)
                    .set_protocol(p.protocol.map(|p| match p {
                        Protocol::Tcp => ecs::TransportProtocol::Tcp,
                        Protocol::Udp => ecs::TransportProtocol::Udp,
                    }))
                    .build(),
            );
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
            b = b.health_check(
                ecs::HealthCheck::builder()
                    .set_command(Some(h.command.clone()))
                    .set_interval(h.interval)
                    .set_timeout(h.timeout)
                    .set_retries(h.retries)
                    .set_start_period(h.start_period)
                    .build()
                    .expect(REQUIRED),
            );
        }
        if let Some(l) = &c.log_configuration {
            b = b.log_configuration(
                ecs::LogConfiguration::builder()
                    .log_driver(ecs::LogDriver::from(l.log_driver.as_str()))
                    .set_options(
                        (!l.options.is_empty()).then(|| l.options.clone().into_iter().collect()),
                    )
                    .build()
                    .expect(REQUIRED),
            );
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
            b = b.ulimits(
                ecs::Ulimit::builder()
                    .name(ecs::UlimitName::from(u.name.as_str()))
                    .soft_limit(u.soft_limit)
                    .hard_limit(u.hard_limit)
                    .build()
                    .expect(REQUIRED),
            );
        }
        for d in &c.depends_on {
            let condition = match d.condition {
                DependencyCondition::Start => ecs::ContainerCondition::Start,
                DependencyCondition::Complete => ecs::ContainerCondition::Complete,
                DependencyCondition::Success => ecs::ContainerCondition::Success,
                DependencyCondition::Healthy => ecs::ContainerCondition::Healthy,
            };
            b = b.depends_on(
                ecs::ContainerDependency::builder()
                    .container_name(&d.container_name)
                    .condition(condition)
                    .build()
                    .expect(REQUIRED),
            );
        }
        b.build()
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
                options: l
                    .options()
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
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
        }
    }
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
        .build()
}

/// The SDK's runtime platform.
pub(crate) fn runtime_platform(p: &RuntimePlatform) -> ecs::RuntimePlatform {
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
    pub runtime_platform: Option<(Option<String>, Option<String>)>,
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
            volumes: task.volumes.clone(),
            runtime_platform: task.runtime_platform.as_ref().map(|p| {
                (
                    p.cpu_architecture.clone(),
                    p.operating_system_family.clone(),
                )
            }),
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
            volumes: td
                .volumes()
                .iter()
                .map(|v| Volume {
                    name: v.name().unwrap_or_default().to_owned(),
                    host_path: v.host().and_then(|h| h.source_path()).map(str::to_owned),
                })
                .collect(),
            runtime_platform: td.runtime_platform().map(|p| {
                (
                    p.cpu_architecture().map(|a| a.as_str().to_owned()),
                    p.operating_system_family().map(|o| o.as_str().to_owned()),
                )
            }),
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

    /// The names of the fields that differ, for a plan.
    pub(crate) fn differences(&self, other: &Normal) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut check = |name, same: bool| {
            if !same {
                out.push(name);
            }
        };
        check("container_definitions", self.containers == other.containers);
        check("cpu", self.cpu == other.cpu);
        check("memory", self.memory == other.memory);
        check("network_mode", self.network_mode == other.network_mode);
        check(
            "requires_compatibilities",
            self.requires_compatibilities == other.requires_compatibilities,
        );
        check(
            "execution_role_arn",
            self.execution_role_arn == other.execution_role_arn,
        );
        check("task_role_arn", self.task_role_arn == other.task_role_arn);
        check("volumes", self.volumes == other.volumes);
        check(
            "runtime_platform",
            self.runtime_platform == other.runtime_platform,
        );
        check("tags", self.tags == other.tags);
        out
    }
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
    c
}
