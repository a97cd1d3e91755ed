//! Typed, async infrastructure modules for AWS ECS: Rust ports of npalm's Terraform modules on
//! the AWS SDK for Rust, with no HCL and no state file.
//!
//! This crate re-exports the workspace's crates; depend on one of them alone if that is all
//! you need.
//!
//! - [`converge`]: the shared machinery (clients, tags, plans, waits, retries, metrics);
//! - [`vpc`]: the VPC module;
//! - [`task_def`]: typed ECS task and container definitions;
//! - [`ecs_service`]: the ECS service module, with cluster, log group and execution role;
//! - [`ecs_instances`]: EC2 capacity for a cluster (Auto Scaling group of ECS-optimized instances);
//! - [`blog`]: the blog post's two deployments, composed from the modules;
//! - [`cli`]: the [`Deployment`](cli::Deployment) trait the deployments implement, and (feature
//!   `cli`) the command line the examples share (`apply`, `plan`, `destroy`, `output`);
//! - `target` (feature `emulator`): the local AWS emulator or a real account, for the examples
//!   and tests;
//! - `harness` (feature `harness`): delays, injected faults and cut-offs in front of the SDK's
//!   HTTP client, for the reliability tests and the benchmarks.
//!
//! # Features
//!
//! `cli`, `harness` and `emulator` are on by default, for the examples, tests and benchmarks.
//! A library user who needs the modules and the deployments only turns them off and compiles
//! no clap:
//!
//! ```toml
//! ecs-modules = { version = "0.1", default-features = false }
//! ```
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ecs_modules::{converge::Aws, vpc::Vpc};
//!
//! let aws = Aws::from_env().await;
//! let network = Vpc::builder().environment("blog").build()?;
//! let out = network.apply(&aws).await?;
//! println!("{}", serde_json::to_string_pretty(&out.outputs)?);
//! # Ok(())
//! # }
//! ```

// No library function over 120 lines (clippy.toml sets the bound); tests may be longer.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod blog;
pub mod cli;
#[cfg(feature = "harness")]
pub mod harness;
#[cfg(feature = "emulator")]
pub mod target;

pub use converge;
pub use ecs_instances;
pub use ecs_service;
pub use task_def;
pub use vpc;

// Keeps the README's Rust example compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
