//! task-def's tests that need no emulator: registration against aws-smithy-mocks and
//! the container definitions' JSON round trip.
//!
//! One binary, not one per file: each test binary links every SDK crate.

mod mocks;
mod round_trip;
