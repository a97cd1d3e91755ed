//! The machinery every module of this workspace shares.
//!
//! A module (the VPC, an ECS service, a fleet of ECS instances) converges AWS resources towards
//! typed inputs. What it needs around that lives here, once:
//!
//! - [`Aws`]: the bundle of SDK clients, from the default chain or handed in (mocks);
//! - [`Tags`]: the `Name`, `Environment` and ownership tags that are a resource's identity;
//! - [`Plan`] and [`Change`]: what an apply would do, printed like `terraform plan`;
//! - [`Wait`] and [`Retry`]: bounded waits and retries for AWS's eventual consistency;
//! - [`ApiCalls`]: an SDK interceptor that counts the calls a run makes;
//! - [`paging`] and [`ec2`]: listings read to their last page, bounded, and EC2 reads by
//!   ownership tag;
//! - [`client_token`]: the client token of an idempotent create, from the run and the
//!   resource's identity;
//! - [`Error`] and [`Invalid`]: errors that name the resource, the operation, the AWS error
//!   code and, when a run stops part way, what it did and what remains (typed
//!   [`Address`]es).
//!
//! # Example
//!
//! ```no_run
//! # async fn run() {
//! let aws = converge::Aws::from_env().await;
//! let tags = converge::Tags::new("vpc", "blog");
//! let spec = tags.ec2_spec(aws_sdk_ec2::types::ResourceType::Vpc, "blog-vpc");
//! let vpc = aws
//!     .ec2()
//!     .create_vpc()
//!     .cidr_block("10.0.0.0/16")
//!     .tag_specifications(spec)
//!     .send()
//!     .await;
//! println!("{:?} after {}", vpc.is_ok(), aws.calls().report());
//! # }
//! ```

// No library function over 120 lines (clippy.toml sets the bound); tests may be longer.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

mod aws;
mod blocks;
mod delta;
pub mod ec2;
mod error;
pub mod events;
pub mod kinds;
pub mod lease;
mod metrics;
mod module;
pub mod paging;
pub mod permissions;
pub mod phase;
mod plan;
mod resource;
mod retry;
mod shared;
mod stack;
mod strategy;
mod tags;
mod throttling;
pub mod token;
mod validate;
mod value;
mod wait;

pub use aws::{Aws, AwsBuilder, Timeouts};
pub use blocks::{
    account_of, Cluster, ClusterBuilder, ClusterRef, ClusterRefs, LogGroup, LogGroupBuilder,
    LogGroupRefs, RoleRef, RoleRefs, TaskExecutionRole, TaskExecutionRoleBuilder,
    TaskExecutionRoleOutputs, TaskRole, TaskRoleBuilder,
};
pub use delta::{same_set, Delta, Field, FieldChange};
pub use error::{ignore_not_found, AwsResultExt, Error};
pub use kinds::{ClusterOutputs, LogGroupField, LogGroupOutputs};
pub use lease::{Lease, LeaseError, LeaseInfo, LeaseOptions};
pub use metrics::{is_mutating, ApiCalls, CallReport, Sent};
pub use module::{Applied, Module, OutputRefs, Refs};
pub use permissions::{Grant, Policy};
pub use plan::{Action, Change, Diff, Plan};
pub use resource::{
    Address, Cx, DesiredAtApply, Holder, Progress, Replacement, Resource, TagTarget, Wanted,
};
pub use retry::{full_jitter, Retry, Said, Transient};
pub use stack::{Handle, Options, Ref, Resolved, Resolver, Stack};
pub use strategy::{
    check_strategy, is_fargate, strategy_text, StrategyItem, FARGATE, FARGATE_SPOT,
    MAX_STRATEGY_ITEMS,
};
pub use tags::{
    display_owner, ec2_name, ec2_owner, ec2_owner_filter, ec2_pairs, owner_in, owners_of, Claim,
    Tags, ENVIRONMENT_TAG, NAME_TAG, OWNER_TAG,
};
pub use throttling::Throttling;
pub use token::{client_token, ClientToken};
pub use validate::{Invalid, Problem, MAX_ENVIRONMENT_LEN, MAX_EXTRA_TAGS};
pub use value::{Value, AFTER_APPLY};
pub use wait::Wait;

/// A boxed error, as the SDK's own.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The SDK's trait for an error's code and message, for matching on AWS error codes.
pub use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The README's examples, compiled as tests so they stay true to the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
