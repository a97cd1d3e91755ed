//! End-to-end tests against the local AWS emulator (moto), which they start or reuse.
//! Each test uses its own environment name, so tests can share an emulator; they spread over
//! several (see `util::aws`), so that they do not queue on one Python process.

mod agreement;
mod alarms;
mod blocks;
mod cli;
mod deployment;
mod deploys;
mod duplicates;
mod iam;
mod instances;
mod invalid;
mod load;
mod lock;
mod ownership;
mod permissions;
mod reliability;
mod scaling;
mod service;
mod shared_alb;
mod task_def;
mod tokens;
mod util;
mod vpc;
