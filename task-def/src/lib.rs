//! Typed ECS task and container definitions.
//!
//! Container definitions are Rust types in the shape of the ECS API's JSON, so the JSON that
//! `aws ecs register-task-definition` and Terraform's `container_definitions` take reads
//! straight into them, `${name}` template variables included ([`json::from_template`]).
//! [`TaskDefinition::builder`] checks everything AWS would reject (Fargate's CPU and memory
//! pairs, awsvpc host ports, essential containers, awslogs options, ...) before any AWS call,
//! and reports every problem at once, each naming its field. [`TaskDefinition::register`]
//! makes a new revision only when the definition differs from the latest ACTIVE one.
//!
//! # Example
//!
//! ```no_run
//! use task_def::{json, Compatibility, NetworkMode, TaskDefinition};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let containers = json::from_template(
//!     r#"[{"name": "${name}", "image": "${image}", "essential": true,
//!          "portMappings": [{"containerPort": ${port}}]}]"#,
//!     [("name", "blog"), ("image", "npalm/040code.github.io:latest"), ("port", "80")],
//! )?;
//! let task = TaskDefinition::builder()
//!     .family("blog")
//!     .containers(containers)
//!     .requires_compatibility(Compatibility::Fargate)
//!     .network_mode(NetworkMode::Awsvpc)
//!     .cpu(256)
//!     .memory(512)
//!     .build()?;
//! task.check_load_balancer_target("blog", 80)?;
//!
//! let aws = converge::Aws::from_env().await;
//! let arn = task.register(&aws).await?; // the same ARN when nothing changed
//! # Ok(())
//! # }
//! ```

// No library function over 120 lines (clippy.toml sets the bound); tests may be longer.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

mod changes;
mod container;
pub mod json;
mod kind;
mod register;
mod sdk;
mod sizes;
mod task;
mod validate;

pub use container::{
    ContainerDefinition, ContainerDefinitionBuilder, ContainerDependency, DependencyCondition,
    Device, DevicePermission, EnvironmentVariable, FirelensConfiguration, FirelensType,
    HealthCheck, KernelCapabilities, LinuxParameters, LogConfiguration, MountPoint, PortMapping,
    Protocol, Secret, SystemControl, Tmpfs, Ulimit, AWSLOGS_OPTIONS, KERNEL_CAPABILITIES,
};
pub use converge::{Error, Invalid, Problem};
pub use kind::{
    DeployedIn, TaskDefinitionField, TaskDefinitionKind, TaskDefinitionOutputs, TaskDefinitionSpec,
};
pub use sizes::{fargate_accepts, FARGATE_CPU};
pub use task::{
    Compatibility, EfsAuthorizationConfig, EfsSetting, EfsVolumeConfiguration, EphemeralStorage,
    NetworkMode, RuntimePlatform, TaskDefinition, TaskDefinitionBuilder, Volume,
};
pub use validate::MAX_CONTAINERS;
