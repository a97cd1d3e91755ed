//! Bounded retries for AWS's eventual-consistency errors, on top of the SDK's standard retry
//! (which already covers throttling and 5xx).

use std::future::Future;
use std::time::{Duration, Instant};

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Errors that are expected to pass on their own: matched by AWS error code, or by a piece of
/// the message where AWS reuses a generic code (ECS's `InvalidParameterException`).
#[derive(Clone, Copy, Debug)]
pub struct Transient {
    codes: &'static [&'static str],
    messages: &'static [&'static str],
}

impl Transient {
    /// Errors with one of these codes, or whose message contains one of these.
    pub const fn new(codes: &'static [&'static str], messages: &'static [&'static str]) -> Self {
        Self { codes, messages }
    }

    /// Errors with one of these codes.
    pub const fn codes(codes: &'static [&'static str]) -> Self {
        Self {
            codes,
            messages: &[],
        }
    }

    /// Errors whose message contains one of these.
    pub const fn messages(messages: &'static [&'static str]) -> Self {
        Self {
            codes: &[],
            messages,
        }
    }

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
        let code_hit = err.code().is_some_and(|c| self.codes.contains(&c));
        let message_hit = err
            .message()
            .is_some_and(|m| self.messages.iter().any(|part| m.contains(part)));
        code_hit || message_hit
    }
}

/// How long to keep retrying a [`Transient`] error: exponential backoff from `initial_delay`
/// to `max_delay`, for at most `max_elapsed` in all.
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
    pub async fn run<T, E, F, Fut>(
        &self,
        what: &str,
        transient: Transient,
        mut op: F,
    ) -> Result<T, E>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let start = Instant::now();
        let mut delay = self.initial_delay;
        loop {
            match op().await {
                Err(err)
                    if transient.matches(&err) && start.elapsed() + delay <= self.max_elapsed =>
                {
                    tracing::debug!(
                        what,
                        code = err.code().unwrap_or_default(),
                        ?delay,
                        "eventual-consistency error, retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.max_delay);
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
    fn matches_by_code_or_message() {
        let iam = Transient::messages(&["Unable to assume"]);
        assert!(iam.matches(&fake(
            "InvalidParameterException",
            "Unable to assume role x"
        )));
        assert!(!iam.matches(&fake("InvalidParameterException", "bad cpu")));
        assert!(Transient::DEPENDENCY.matches(&fake("DependencyViolation", "")));
        assert!(!Transient::DEPENDENCY.matches(&fake("InvalidVpcID.NotFound", "")));
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
