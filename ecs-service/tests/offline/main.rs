//! ecs-service's tests that need no emulator: the service and listener rules against
//! aws-smithy-mocks, inputs AWS refuses, and property tests of every builder.
//!
//! One binary, not one per file: each test binary links every SDK crate.

mod alarms;
mod compose;
mod fixtures;
mod listener_rules;
mod props;
mod refused;
mod services;
