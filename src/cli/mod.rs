//! The command line the example deployments share: `apply` (the default), `plan`, `destroy`,
//! `output`, `force-unlock` and `policy`, for any [`Deployment`].
//!
//! ```no_run
//! use ecs_modules::{blog::Fargate, cli};
//!
//! fn main() -> std::process::ExitCode {
//!     cli::main::<Fargate>("Deploy the blog on Fargate")
//! }
//! ```
//!
//! [`Deployment`] and [`Settings`] are always here ([`blog`](crate::blog) implements them);
//! the command line itself ([`main`], [`run`], [`Args`]) needs the feature `cli` (on by
//! default), which brings clap.
//!
//! Standard output carries the result (the outputs, the plan, or with `--json` one JSON
//! object); progress, logs (`RUST_LOG`) and errors go to standard error. Exit codes: 0
//! success, 1 an AWS or runtime failure (another run holding the environment's lease
//! included), 2 invalid input or usage.
//!
//! apply and destroy hold the environment's [lease](converge::lease) from before their first
//! call to their end, also on error and Ctrl-C; `--lock-timeout` says how long they wait for
//! another run's. plan and output take no lease, and say on standard error who holds it.

#[cfg(feature = "cli")]
mod command;
#[cfg(feature = "cli")]
mod policy;
#[cfg(feature = "cli")]
mod progress;
#[cfg(feature = "cli")]
mod render;
#[cfg(feature = "cli")]
mod saved;

use converge::{Invalid, Module};
use serde::Serialize;

#[cfg(feature = "cli")]
pub use command::{main, run, run_against, Args, Command, Confirm, Io};
#[cfg(feature = "cli")]
pub use policy::{deployment_policy, examples_policy, kinds_without_permissions};
#[cfg(feature = "cli")]
pub use progress::Tally;

/// What a deployment is made from: the command line's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Every name and tag derives from it.
    pub environment: String,
    /// Wait for the services to reach a steady state.
    pub wait_steady: bool,
    /// `fargate_ec2`: run the EC2 service through the instances' capacity provider, which
    /// scales the instances from zero, instead of the EC2 launch type.
    pub capacity_provider: bool,
    /// Deploy the blog's services with ECS's blue/green strategy (`--blue-green`): an
    /// alternate target group, a production listener rule and the infrastructure role
    /// ECS shifts traffic with.
    pub blue_green: bool,
}

/// A composition of modules the command line can plan, apply, destroy and show: a
/// [`Module`] (one stack) that the command line's settings build.
pub trait Deployment: Module<Outputs: Serialize> + Sized {
    /// Builds the modules from the settings, checking every input before any AWS call.
    fn new(settings: &Settings) -> Result<Self, Invalid>;

    /// The URLs to point people at, by output name (`blog_url`, ...).
    fn urls(outputs: &Self::Outputs) -> Vec<(&'static str, String)>;
}
