//! ecs-instances' tests that need no emulator: the fleet against aws-smithy-mocks and
//! property tests of its builder.
//!
//! One binary, not one per file: each test binary links every SDK crate.

mod mocks;
mod props;
