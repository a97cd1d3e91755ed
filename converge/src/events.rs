//! What a run is doing, told as it happens: the changes a module is about to make, each
//! resource made, each long wait. They are `tracing` events with the target [`TARGET`], so a
//! command line can show progress (and count the changes) without the modules knowing about
//! terminals, and a library user who does not listen pays nothing.

use std::time::Duration;

use crate::plan::{Action, Change};

/// The `tracing` target of every progress event.
pub const TARGET: &str = "converge::progress";

/// The `event` field's values.
pub mod kind {
    /// A module's apply found a resource and decided what to do with it (`action`,
    /// `resource`, `id`).
    pub const PLANNED: &str = "planned";
    /// A resource was made (`resource`).
    pub const MADE: &str = "made";
    /// A wait began (`what`).
    pub const WAIT_STARTED: &str = "wait_started";
    /// A wait ended (`what`, `elapsed_ms`).
    pub const WAIT_ENDED: &str = "wait_ended";
}

/// The word for an action in progress events: `create`, `update`, `replace`, `delete`,
/// `unchanged`.
pub fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::NoOp => "unchanged",
    }
}

/// Tells what an apply is about to do: one event per change, unchanged ones included.
pub fn planned<'a>(changes: impl IntoIterator<Item = &'a Change>) {
    for change in changes {
        tracing::info!(
            target: TARGET,
            event = kind::PLANNED,
            action = action_word(change.action),
            resource = %format_args!("{} \"{}\"", change.kind, change.name),
            id = change.id.as_deref().unwrap_or(""),
        );
    }
}

pub(crate) fn made(resource: &str) {
    tracing::info!(target: TARGET, event = kind::MADE, resource);
}

pub(crate) fn wait_started(what: &str) {
    tracing::info!(target: TARGET, event = kind::WAIT_STARTED, what);
}

pub(crate) fn wait_ended(what: &str, elapsed: Duration) {
    tracing::info!(
        target: TARGET,
        event = kind::WAIT_ENDED,
        what,
        elapsed_ms = elapsed.as_millis() as u64,
    );
}
