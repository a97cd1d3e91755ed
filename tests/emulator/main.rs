//! End-to-end tests against the local AWS emulator (moto), which they start or reuse.
//! Each test uses its own environment name, so they share one emulator safely.

mod agreement;
mod blocks;
mod cli;
mod instances;
mod invalid;
mod reliability;
mod service;
mod task_def;
mod util;
mod vpc;
