//! converge's tests that need no emulator: the building blocks and the lease against
//! aws-smithy-mocks.
//!
//! One binary, not one per file: each test binary links every SDK crate.

mod blocks;
mod lease;
