//! How a run stays within AWS's API rate limits: AWS throttles every account per region with
//! a token bucket per API family (ECS's service writes, EC2's mutating calls, ...), and a big
//! stack whose every ready resource starts at once meets them.

/// How an [`Aws`](crate::Aws) bundle meets AWS's throttling.
///
/// Two parts. The executor starts at most [`per_kind`](Self::per_kind) creates, changes or
/// deletes of one resource kind at once: a hundred services do not send a hundred
/// `CreateService` calls in the same instant, and the few calls a bucket refuses wait in
/// the SDK's backoff while the rest of the kind waits in the executor, outside any call's
/// timeout. And the SDK's standard retry, which answers `ThrottlingException`,
/// `RequestLimitExceeded` and `Throttling` with exponential backoff and jitter (1 s doubling
/// up to 20 s), makes up to [`max_attempts`](Self::max_attempts) attempts instead of its
/// default three, so a call refused while a bucket refills is tried again once it has (the
/// pauses of ten attempts stay within the operation timeout's 120 s). Each bundle has its own
/// retry quota per service (the SDK shares one per service across a process otherwise), and
/// a retry after throttling costs none of it: the quota (500 tokens, 5 a retry, kept for
/// good once a call is retried twice) is there to stop retrying a failing service, and a
/// hundred services' throttled calls would drain it, failing every later retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttling {
    /// Attempts per call, the first included, for throttling and server errors: 10 (more
    /// asked for by the SDK configuration, `AWS_MAX_ATTEMPTS`, stay). A client handed to
    /// [`AwsBuilder`](crate::AwsBuilder) keeps its own retry settings.
    pub max_attempts: u32,
    /// At most this many resources of one kind created, changed or deleted at once by a
    /// stack: 20 (`None`: no limit). A kind whose delete waits (a service until it is
    /// inactive) waits in waves of this many.
    pub per_kind: Option<usize>,
}

impl Default for Throttling {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            per_kind: Some(20),
        }
    }
}

impl Throttling {
    /// The SDK's settings before this project's: three attempts, every ready resource at once.
    pub fn sdk_default() -> Self {
        Self {
            max_attempts: 3,
            per_kind: None,
        }
    }
}
