//! Bounded retries for AWS's eventual-consistency errors, on top of the SDK's standard retry
//! (which already covers throttling and 5xx), and the one backoff every retry and wait uses.
//! The engine runs [`Retry`] around every create, update and delete, on the kind's
//! [`TRANSIENT`](crate::Resource::TRANSIENT) and [`IN_USE`](crate::Resource::IN_USE) errors.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The pause before retry or poll number `attempt` (from 0): full jitter, a random duration in
/// `[0, min(cap, base * 2^attempt)]`, so resources retrying at once spread out instead of
/// calling again in lockstep (AWS's "Exponential Backoff And Jitter").
pub fn full_jitter(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(cap)
        .min(cap);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// An error AWS tells apart only by its message: the code it comes with, and a piece of the
/// exact text AWS (or the emulator, where it says so) answers. Each such text is a named
/// constant with a unit test that holds AWS's full message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Said {
    /// The AWS error code the message comes with.
    pub code: &'static str,
    /// A piece of the message.
    pub text: &'static str,
}

impl Said {
    /// An error with `code` whose message contains `text`.
    pub const fn new(code: &'static str, text: &'static str) -> Self {
        Self { code, text }
    }

    /// Whether an error is this one.
    pub fn matches(&self, err: &impl ProvideErrorMetadata) -> bool {
        err.code() == Some(self.code) && err.message().is_some_and(|m| m.contains(self.text))
    }
}

/// Errors that are expected to pass on their own: matched by AWS error code, or by code and a
/// piece of the message where AWS reuses a generic code (ECS's `InvalidParameterException`).
#[derive(Clone, Copy, Debug)]
pub struct Transient {
    codes: &'static [&'static str],
    messages: &'static [Said],
}

impl Transient {
    /// Errors with one of these codes, or one of these messages.
    pub const fn new(codes: &'static [&'static str], messages: &'static [Said]) -> Self {
        Self { codes, messages }
    }

    /// Errors with one of these codes.
    pub const fn codes(codes: &'static [&'static str]) -> Self {
        Self {
            codes,
            messages: &[],
        }
    }

    /// Errors with one of these messages.
    pub const fn messages(messages: &'static [Said]) -> Self {
        Self {
            codes: &[],
            messages,
        }
    }

    /// Nothing: every error is final (a kind's default [`TRANSIENT`](crate::Resource::TRANSIENT)).
    pub const NONE: Transient = Transient::codes(&[]);

    /// A resource that is still in use by another that is going away: security groups, subnets,
    /// internet gateways during a destroy.
    pub const DEPENDENCY: Transient =
        Transient::codes(&["DependencyViolation", "InvalidGroup.InUse", "ResourceInUse"]);

    /// An EC2 resource just created and not yet visible to the next call.
    pub const EC2_JUST_CREATED: Transient = Transient::codes(&[
        "InvalidVpcID.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidRouteTableID.NotFound",
        "InvalidInternetGatewayID.NotFound",
        "InvalidGatewayID.NotFound",
        "InvalidNatGatewayID.NotFound",
        "InvalidAllocationID.NotFound",
    ]);

    /// Whether an error is one of these.
    pub fn matches(&self, err: &impl ProvideErrorMetadata) -> bool {
        err.code().is_some_and(|c| self.codes.contains(&c))
            || self.messages.iter().any(|said| said.matches(err))
    }

    /// Whether a failed call's [`Error`](crate::Error) is one of these (what the engine
    /// retries a kind's create, update and delete on).
    pub fn matches_error(&self, err: &crate::Error) -> bool {
        err.code().is_some_and(|c| self.codes.contains(&c))
            || self.messages.iter().any(|said| err.is(said))
    }
}

/// How long to keep retrying a [`Transient`] error: exponential backoff from `initial_delay`
/// to `max_delay` with [full jitter](full_jitter), for at most `max_elapsed` in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Give up after this long.
    pub max_elapsed: Duration,
    /// The first pause.
    pub initial_delay: Duration,
    /// The longest pause.
    pub max_delay: Duration,
}

impl Default for Retry {
    /// About two minutes: how long IAM takes, at worst, to make a new role usable elsewhere.
    fn default() -> Self {
        Self {
            max_elapsed: Duration::from_secs(120),
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl Retry {
    /// Millisecond pauses, for tests against mocks.
    pub fn fast() -> Self {
        Self {
            max_elapsed: Duration::from_secs(2),
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        }
    }

    /// Runs `op` until it succeeds, fails with an error that is not `transient`, or the time is
    /// up; the last error is returned.
    pub async fn run<T, E, F, Fut>(&self, what: &str, transient: Transient, op: F) -> Result<T, E>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let transient = |err: &E| {
            let hit = transient.matches(err);
            if hit {
                tracing::debug!(
                    what,
                    code = err.code().unwrap_or_default(),
                    "eventual-consistency error"
                );
            }
            hit
        };
        self.run_while(what, transient, op).await
    }

    /// [`run`](Self::run) for errors told apart by `transient` (a module's own errors, by
    /// their code).
    pub async fn run_while<T, E, F, Fut>(
        &self,
        what: &str,
        transient: impl Fn(&E) -> bool,
        mut op: F,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            let delay = full_jitter(self.initial_delay, self.max_delay, attempt);
            match op().await {
                Err(err) if transient(&err) && start.elapsed() + delay <= self.max_elapsed => {
                    tracing::debug!(what, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::error::ErrorMetadata;

    #[derive(Debug)]
    struct Fake(ErrorMetadata);
    impl ProvideErrorMetadata for Fake {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }
    fn fake(code: &str, message: &str) -> Fake {
        Fake(ErrorMetadata::builder().code(code).message(message).build())
    }

    #[test]
    fn matches_by_code_or_by_code_and_message() {
        const IAM: Transient =
            Transient::messages(&[Said::new("InvalidParameterException", "Unable to assume")]);
        let iam = IAM;
        assert!(iam.matches(&fake(
            "InvalidParameterException",
            "Unable to assume role x"
        )));
        assert!(!iam.matches(&fake("InvalidParameterException", "bad cpu")));
        // The same words under another code are another error.
        assert!(!iam.matches(&fake("AccessDeniedException", "Unable to assume role x")));
        assert!(Transient::DEPENDENCY.matches(&fake("DependencyViolation", "")));
        assert!(!Transient::DEPENDENCY.matches(&fake("InvalidVpcID.NotFound", "")));
    }

    #[test]
    fn full_jitter_is_bounded_and_spread() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for attempt in 0..40 {
            let ceiling = (base * 2u32.pow(attempt.min(20))).min(cap);
            let delays: Vec<Duration> = (0..200).map(|_| full_jitter(base, cap, attempt)).collect();
            assert!(delays.iter().all(|d| *d <= ceiling), "attempt {attempt}");
            assert!(
                delays.iter().any(|d| *d != delays[0]),
                "attempt {attempt}: all {:?}",
                delays[0]
            );
            // Spread over the whole range, not bunched at the top: about half below the middle.
            let low = delays.iter().filter(|d| **d < ceiling / 2).count();
            assert!(
                (50..150).contains(&low),
                "attempt {attempt}: {low} of 200 low"
            );
        }
        assert_eq!(full_jitter(Duration::ZERO, cap, 3), Duration::ZERO);
        assert!(full_jitter(Duration::MAX, cap, u32::MAX) <= cap);
    }

    #[tokio::test]
    async fn retries_transient_errors_and_stops_on_others() {
        let mut calls = 0;
        let result: Result<u32, Fake> = Retry::fast()
            .run("test", Transient::DEPENDENCY, || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(fake("DependencyViolation", "in use"))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 3);

        let mut calls = 0;
        let result: Result<(), Fake> = Retry::fast()
            .run("test", Transient::DEPENDENCY, || {
                calls += 1;
                async { Err(fake("InvalidParameterValue", "no")) }
            })
            .await;
        assert_eq!(result.unwrap_err().code(), Some("InvalidParameterValue"));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn gives_up_when_time_is_up() {
        let retry = Retry {
            max_elapsed: Duration::from_millis(20),
            ..Retry::fast()
        };
        let mut calls = 0;
        let result: Result<(), Fake> = retry
            .run("test", Transient::DEPENDENCY, || {
                calls += 1;
                async { Err(fake("DependencyViolation", "in use")) }
            })
            .await;
        assert!(result.is_err());
        assert!(calls > 1);
    }
}
