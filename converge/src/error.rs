//! The errors every module shares.

use std::fmt;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::resource::Address;
use crate::tags::OWNER_TAG;
use crate::validate::Invalid;
use crate::BoxError;

/// What went wrong while converging.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The inputs break a rule; nothing was changed.
    #[error(transparent)]
    Invalid(#[from] Invalid),

    /// An AWS call failed.
    #[error(
        "{operation} on {resource} failed{}{}",
        code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    Aws {
        /// The API operation, e.g. `CreateVpc`.
        operation: &'static str,
        /// The resource it was for, e.g. `aws_vpc "blog-vpc"`.
        resource: String,
        /// The AWS error code, when AWS gave one.
        code: Option<String>,
        /// AWS's message, when it gave one (the SDK's own error often says only
        /// "service error").
        message: Option<String>,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },

    /// AWS did not reach a state in time.
    #[error("timed out after {waited:.0?} waiting for {what}")]
    WaitTimedOut {
        /// What was waited for.
        what: String,
        /// How long.
        waited: Duration,
    },

    /// A saved plan no longer says what apply would do (the inputs or AWS changed since it
    /// was made); nothing was changed.
    #[error(
        "the saved plan is out of date, so nothing was changed; plan again:\n  {}",
        differences.join("\n  ")
    )]
    StalePlan {
        /// One line per resource whose change is not the one planned.
        differences: Vec<String>,
    },

    /// While applying a saved plan, a resource came to a different action than planned
    /// (an output it reads turned out otherwise); it was not changed.
    #[error("{resource} was planned as {planned} but would now be {now}: not changed")]
    NotAsPlanned {
        /// The resource.
        resource: String,
        /// The planned action.
        planned: String,
        /// The action it would take now.
        now: String,
    },

    /// A resource found by name lacks our ownership tag; it was not touched.
    #[error(
        "{kind} {id} is not tagged {OWNER_TAG}={owner} ({}): left untouched",
        found_owner(found)
    )]
    NotOwned {
        /// The kind of resource.
        kind: String,
        /// Its id.
        id: String,
        /// The ownership tag value we expected.
        owner: String,
        /// The ownership it carries (canonical, see [`owner_in`](crate::owner_in)), if any.
        found: Option<String>,
    },

    /// Destroy found a resource protected from deletion; it deleted nothing.
    #[error("{resource} is protected from deletion, so nothing was deleted: {how}")]
    Protected {
        /// The resource.
        resource: String,
        /// How to lift the protection.
        how: String,
    },

    /// The inputs collide with something another owner has (a listener rule's priority on a
    /// shared listener): plan and apply refuse before any change.
    #[error("{resource} collides with {with}")]
    Conflict {
        /// What the inputs declare.
        resource: String,
        /// What it collides with, and how.
        with: String,
    },

    /// ECS rolled a service's deployment back (its circuit breaker, an alarm, a lifecycle
    /// hook): the service runs the revision it ran before.
    #[error("{resource}'s deployment was rolled back ({status}): {reason}")]
    RolledBack {
        /// The service.
        resource: String,
        /// ECS's status of the deployment: `ROLLBACK_SUCCESSFUL`, `ROLLBACK_FAILED`, ...
        status: String,
        /// Why, as ECS says (the alarm in ALARM, the tasks that failed to start).
        reason: String,
    },

    /// AWS reported a resource in a failed state.
    #[error("{resource} failed: {reason}")]
    Failed {
        /// The resource.
        resource: String,
        /// AWS's failure code and message.
        reason: String,
    },

    /// A stack's run stopped because a resource failed: the others finished the call they
    /// were in and nothing new started.
    #[error(
        "{failed} failed; {} done before it stopped, {} not done: run again to finish",
        done.len(),
        remaining.len()
    )]
    Stopped {
        /// The resource that failed (the first, when several did).
        failed: Box<Address>,
        /// What the run created, changed or deleted before it stopped.
        done: Vec<Address>,
        /// What it had still to do.
        remaining: Vec<Address>,
        /// Why the resource failed.
        #[source]
        source: Box<Error>,
    },

    /// The environment's lease: another run holds it, this run lost it, or a force-unlock
    /// named a lease that does not hold it.
    #[error(transparent)]
    Lease(#[from] crate::lease::LeaseError),
}

impl Error {
    /// The AWS error code, when the failure came from AWS.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Aws { code, .. } => code.as_deref(),
            Error::Stopped { source, .. } => source.code(),
            _ => None,
        }
    }

    /// Whether AWS answered with this code and message (for errors AWS tells apart only by
    /// their text).
    pub fn is(&self, said: &crate::Said) -> bool {
        match self {
            Error::Aws {
                code: Some(code),
                message: Some(message),
                ..
            } => code == said.code && message.contains(said.text),
            Error::Stopped { source, .. } => source.is(said),
            _ => false,
        }
    }

    /// Whether AWS said the resource does not exist, which destroy counts as done.
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(|c| {
            c.ends_with("NotFound") || c.ends_with("NotFoundException") || c.starts_with("NoSuch")
        })
    }
}

/// Destroy's rule: a resource already gone is done.
pub fn ignore_not_found<T>(result: Result<T, Error>) -> Result<(), Error> {
    match result {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(()),
    }
}

/// An error and its sources, each by its `Display`, joined by `: `.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let more = s.to_string();
        // Some layers repeat their source's text; say it once.
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Turns an SDK result into one whose error names the operation and the resource.
pub trait AwsResultExt<T> {
    /// Names the `operation` and `resource` of a failed call.
    fn context(self, operation: &'static str, resource: impl fmt::Display) -> Result<T, Error>;
}

impl<T, E, R> AwsResultExt<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    fn context(self, operation: &'static str, resource: impl fmt::Display) -> Result<T, Error> {
        self.map_err(|err| Error::Aws {
            operation,
            resource: resource.to_string(),
            code: err.code().map(str::to_owned),
            message: match &err {
                SdkError::ServiceError(_) => err.message().map(str::to_owned),
                // No answer from AWS (no credentials, no connection, a timeout): the SDK's
                // own chain is the only account of why.
                _ => Some(chain(&err)),
            },
            source: Box::new(err),
        })
    }
}

/// What a resource that is not ours carries, for [`Error::NotOwned`].
fn found_owner(found: &Option<String>) -> String {
    match found {
        Some(owner) => format!("it belongs to {}", crate::tags::display_owner(owner)),
        None => "it has none".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_says_what_is_left_without_repeating_the_source() {
        let err = Error::Stopped {
            failed: Box::new(Address::new("aws_nat_gateway", "blog-nat", None)),
            done: vec![Address::new("aws_vpc", "blog-vpc", Some("vpc-1".into()))],
            remaining: Vec::new(),
            source: Box::new(Error::Failed {
                resource: "aws_nat_gateway \"blog-nat\"".into(),
                reason: "InsufficientFreeAddressesInSubnet".into(),
            }),
        };
        assert_eq!(
            err.to_string(),
            "aws_nat_gateway \"blog-nat\" failed; 1 done before it stopped, 0 not done: run again to finish"
        );
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(
            source,
            "aws_nat_gateway \"blog-nat\" failed: InsufficientFreeAddressesInSubnet"
        );
    }
}
