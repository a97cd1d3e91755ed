//! One run at a time per environment: a lease on AWS that apply and destroy hold while they
//! write.
//!
//! Two pipelines applying one environment at once would each create what the other has not
//! made yet (two VPCs, two Elastic IPs), and a destroy during an apply leaves what the apply
//! makes meanwhile. Terraform's answer is state locking; with no state file, this is ours: a
//! lease on the environment, taken before the first write and released at the end.
//!
//! The lease records who holds it ([`Holder`]: user, host, process id, command), its id, when
//! it started, its last heartbeat and when it lapses. While it is held, a task renews it every
//! [`heartbeat`](LeaseOptions::heartbeat); a run that is killed stops renewing, and its lease
//! lapses after its [`ttl`](LeaseOptions::ttl), when the next run takes it over. A second run
//! waits up to [`wait`](LeaseOptions::wait), polling with full jitter, or fails at once with
//! [`LeaseError::Held`], which names the holder, its command, its start and last heartbeat,
//! and how to [`force_unlock`] it. When a heartbeat finds the lease is no longer ours (taken
//! over after a stall, force-unlocked), [`Lease::guard`] drops the work at its next await
//! point, so it makes no further call, and returns [`LeaseError::Lost`].
//!
//! # Where the lease lives
//!
//! An SSM parameter, `/ecs-modules/lock/<environment>`, whose value is a small JSON document
//! ([`LeaseInfo`]), tagged `Environment` and `ecs-modules:owner`. SSM because every account
//! has it and nothing needs making first: an S3 object written with `If-None-Match` needs a
//! bucket (a name that is global, a region, a policy) that someone must create and that
//! destroy must never delete, and a DynamoDB conditional write needs a table, with the same
//! chicken-and-egg. The modules already call SSM (the ECS-optimized AMI), and the lease costs
//! nothing (standard parameters are free).
//!
//! SSM has one atomic operation: `PutParameter` with `Overwrite=false` either creates the
//! parameter or fails with `ParameterAlreadyExists`. It has no compare-and-swap, so:
//!
//! - **acquire** creates the parameter; `ParameterAlreadyExists` means it is held;
//! - **taking over a lapsed lease** is never delete-then-create (two waiters could both
//!   delete, and the second delete would remove the first one's new lease): a waiter first
//!   creates a claim, `/ecs-modules/lock/<environment>/takeover/<lapsed lease id>`, with
//!   `Overwrite=false`, so exactly one waiter wins each takeover; the winner checks the lease
//!   is still the lapsed one, overwrites it with its own, and removes the claim. A claim whose
//!   taker died is itself taken over after a ttl, under a new name (`<id>.1`, `<id>.2`, ...);
//! - every write is read back, and every heartbeat first checks the lease is still ours.
//!
//! Decisions go on AWS's error codes (`ParameterAlreadyExists`, `ParameterNotFound`), never
//! on message text.
//!
//! # What it does not guard against
//!
//! - **Clock skew.** A lease lapses at the time its holder wrote; a waiter compares it with
//!   its own clock. A waiter's clock ahead by more than `ttl - heartbeat` (45 s by default)
//!   could take over a live lease. A waiter also counts a lease as lapsed when it has watched
//!   it go unrenewed for a ttl by its own monotonic clock, which needs no agreement on time;
//!   the holder judges its own lapse by its monotonic clock too.
//! - **A holder that stalls past its ttl** (a suspended laptop, a frozen VM, a partition):
//!   its lease is taken over meanwhile, and when it wakes, a call already in flight, or one it
//!   makes before its next heartbeat notices, can land beside the new holder's. It stops at
//!   that heartbeat; the new holder, if its lease was overwritten by a late renewal, stops at
//!   its own. Both runs then fail rather than write on.
//! - **`force_unlock` of a live run** lets two runs write one environment: it is for a run
//!   that is dead, before its ttl would have freed the lease.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use converge::lease::{Holder, Lease, LeaseOptions};
//!
//! # async fn run<S: converge::Module>(stack: S) -> Result<(), converge::Error> {
//! let aws = converge::Aws::from_env().await;
//! let options = LeaseOptions {
//!     wait: Duration::from_secs(300), // like terraform's -lock-timeout=5m
//!     holder: Holder::current("deploy blog"),
//!     ..LeaseOptions::default()
//! };
//! // Taken, raced against its loss, released whatever the work's outcome.
//! let outputs = Lease::hold(&aws, "blog", options, |_lease| stack.apply(&aws)).await?;
//!
//! // Or by hand: the guard stops the work if the lease is lost.
//! let lease = Lease::acquire(&aws, "blog", LeaseOptions::default()).await?;
//! let result = lease.guard(stack.destroy(&aws)).await;
//! lease.release().await?;
//! result?;
//!
//! // Who holds it (a plan's note), and breaking the lease of a dead run by its id.
//! if let Some(info) = converge::lease::holder(&aws, "blog").await? {
//!     println!("{info}");
//!     converge::lease::force_unlock(&aws, "blog", &info.id).await?;
//! }
//! # let _ = outputs;
//! # Ok(())
//! # }
//! ```

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_ssm::types::{ParameterType, Tag};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::AwsResultExt;
use crate::{Aws, Error, Invalid, Tags};

/// Where the leases live: `/ecs-modules/lock/<environment>`.
pub const PARAMETER_PREFIX: &str = "/ecs-modules/lock";

/// The module name in the lease parameter's ownership tag.
const MODULE: &str = "lease";
/// How many times a claim whose taker died is itself taken over before giving up.
const MAX_CLAIMS: u32 = 8;
/// The waiters' backoff: full jitter between zero and this, doubling per attempt...
const POLL_BASE: Duration = Duration::from_millis(250);
/// ... up to this.
const POLL_CAP: Duration = Duration::from_secs(5);
/// The longest `command` recorded (SSM's standard parameters hold 4 KB).
const MAX_COMMAND: usize = 256;

/// The IAM permissions a lease on `environment` needs: acquire, heartbeat, takeover (its
/// claims live under the lease's name), force-unlock and release, on that parameter only
/// (`ssm:AddTagsToResource` for the tags in `PutParameter`).
pub fn permissions(environment: &str) -> Vec<crate::permissions::Grant> {
    let name = parameter_name(environment);
    let actions = [
        "ssm:AddTagsToResource",
        "ssm:DeleteParameter",
        "ssm:GetParameter",
        "ssm:PutParameter",
    ];
    [
        format!("arn:aws:ssm:*:*:parameter{name}"),
        format!("arn:aws:ssm:*:*:parameter{name}/*"),
    ]
    .into_iter()
    .map(|arn| crate::permissions::Grant::new(actions).on(arn))
    .collect()
}

/// The SSM parameter that holds the lease of `environment`.
pub fn parameter_name(environment: &str) -> String {
    format!("{PARAMETER_PREFIX}/{environment}")
}

/// The claim on taking over lease `lease_id`; `generation` counts claims whose taker died.
fn claim_name(environment: &str, lease_id: &str, generation: u32) -> String {
    match generation {
        0 => format!("{PARAMETER_PREFIX}/{environment}/takeover/{lease_id}"),
        n => format!("{PARAMETER_PREFIX}/{environment}/takeover/{lease_id}.{n}"),
    }
}

/// Who holds a lease: enough for a person to find the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The user (`USER`, `USERNAME`).
    pub user: String,
    /// The host (`HOSTNAME`, `/etc/hostname`).
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// What the run does, e.g. `fargate apply`.
    pub command: String,
}

impl Holder {
    /// This process, running `command`.
    pub fn current(command: impl Into<String>) -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        let host = var(&["HOSTNAME", "COMPUTERNAME"])
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "unknown-host".to_owned());
        let mut command: String = command.into();
        if command.len() > MAX_COMMAND {
            let mut end = MAX_COMMAND;
            while !command.is_char_boundary(end) {
                end -= 1;
            }
            command.truncate(end);
        }
        Self {
            user: var(&["USER", "USERNAME"]).unwrap_or_else(|| "unknown-user".to_owned()),
            host,
            pid: std::process::id(),
            command,
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} (pid {}, `{}`)",
            self.user, self.host, self.pid, self.command
        )
    }
}

/// A lease as stored: the value of the SSM parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// The lease id, what [`force_unlock`] takes.
    pub id: String,
    /// The environment it locks.
    pub environment: String,
    /// Who holds it.
    pub holder: Holder,
    /// When it was taken.
    #[serde(with = "rfc3339")]
    pub started_at: SystemTime,
    /// When it was last renewed.
    #[serde(with = "rfc3339")]
    pub heartbeat_at: SystemTime,
    /// When it lapses unless renewed, by its holder's clock.
    #[serde(with = "rfc3339")]
    pub expires_at: SystemTime,
    /// How long it lasts after each heartbeat.
    #[serde(rename = "ttl_ms", with = "millis")]
    pub ttl: Duration,
}

impl LeaseInfo {
    /// Whether it has lapsed at `now`.
    pub fn lapsed_at(&self, now: SystemTime) -> bool {
        now > self.expires_at
    }
}

impl fmt::Display for LeaseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now = SystemTime::now();
        write!(
            f,
            "lease {} held by {}, started {}, last heartbeat {} ({} ago), ",
            self.id,
            self.holder,
            seconds(self.started_at),
            seconds(self.heartbeat_at),
            ago(now, self.heartbeat_at),
        )?;
        if self.lapsed_at(now) {
            write!(f, "lapsed at {}", seconds(self.expires_at))
        } else {
            write!(f, "lapses at {} unless renewed", seconds(self.expires_at))
        }
    }
}

/// A claim on taking over a lapsed lease.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Claim {
    /// The lease that the taker will write.
    lease: String,
    by: Holder,
    #[serde(with = "rfc3339")]
    at: SystemTime,
}

/// How to take a lease.
#[derive(Clone, Debug)]
pub struct LeaseOptions {
    /// How long to wait for another run's lease; zero fails at once (Terraform's
    /// `-lock-timeout`, whose default is 0s too).
    pub wait: Duration,
    /// How long the lease lasts after each heartbeat: a killed run's lease lapses this long
    /// after its last one. Default 60 s.
    pub ttl: Duration,
    /// How often the lease is renewed; below `ttl`. Default 15 s.
    pub heartbeat: Duration,
    /// Who takes it. Default: this process and its command line.
    pub holder: Holder,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        // The program by its file name (a path says where, not what), then its arguments.
        let mut args = std::env::args();
        let program = args.next().map(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map_or_else(|| p.clone(), |f| f.to_string_lossy().into_owned())
        });
        let command = program
            .into_iter()
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            wait: Duration::ZERO,
            ttl: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            holder: Holder::current(command),
        }
    }
}

impl LeaseOptions {
    fn check(&self, environment: &str) -> Result<(), Invalid> {
        let mut invalid = Invalid::new();
        invalid.check_environment(environment);
        invalid.check(
            self.ttl >= Duration::from_millis(100),
            "ttl",
            format_args!("{:?} is too short to renew: at least 100ms", self.ttl),
        );
        invalid.check(
            !self.heartbeat.is_zero() && self.heartbeat < self.ttl,
            "heartbeat",
            format_args!(
                "{:?} must be above zero and below the ttl ({:?}), or the lease lapses between heartbeats",
                self.heartbeat, self.ttl
            ),
        );
        invalid.into_result(())
    }
}

/// Why a lease could not be taken, was lost, or was not broken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Another run holds the environment.
    #[error(
        "environment {:?} is locked: {holder}; gave up after waiting {}. If that run is dead, break its lease with force-unlock {} (converge::lease::force_unlock); if it is alive, that would let two runs write one environment",
        holder.environment, human(*waited), holder.id
    )]
    Held {
        /// The lease that holds it.
        holder: Box<LeaseInfo>,
        /// How long this run waited.
        waited: Duration,
    },

    /// The run's lease was lost while it ran; the work stopped at its next call.
    #[error(
        "lost the lease {lease_id} on environment {environment:?} ({reason}): the run stopped before its next call; run again to finish"
    )]
    Lost {
        /// The environment.
        environment: String,
        /// Our lease.
        lease_id: String,
        /// What the heartbeat found.
        reason: String,
    },

    /// `force_unlock` was given an id that does not hold the environment; nothing changed.
    #[error(
        "environment {environment:?} is not locked by lease {lease_id}: {}; nothing was changed",
        holder.as_deref().map_or_else(|| "it is not locked at all".to_owned(), |h| format!("it is held by {h}"))
    )]
    NotHeld {
        /// The environment.
        environment: String,
        /// The id given.
        lease_id: String,
        /// The lease that holds it, if any.
        holder: Option<Box<LeaseInfo>>,
    },

    /// The lease parameter holds something that is not a lease.
    #[error("{parameter} does not hold an ecs-modules lease ({reason}); delete it (aws ssm delete-parameter --name {parameter}) once no run is using the environment")]
    Unreadable {
        /// The parameter.
        parameter: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What a heartbeat knows: the lease as last written, and when that write began by the
/// monotonic clock (the lease lasts a ttl from then, whatever the wall clocks say).
#[derive(Debug)]
struct Renewal {
    info: LeaseInfo,
    at: Instant,
}

/// A lease held by this run. Renewed in the background until [`release`](Lease::release);
/// dropped without a release (as a killed run would), it stops renewing and lapses after its
/// ttl.
#[derive(Debug)]
pub struct Lease {
    aws: Aws,
    id: String,
    environment: String,
    ttl: Duration,
    renewal: Arc<Mutex<Renewal>>,
    /// Why the lease was lost, once it is.
    lost: watch::Receiver<Option<String>>,
    stop: watch::Sender<bool>,
    heartbeat: Option<JoinHandle<()>>,
}

impl Lease {
    /// Takes the lease on `environment`, waiting up to `options.wait` for another run's, and
    /// starts renewing it. Needs a Tokio runtime (the heartbeat is a task).
    pub async fn acquire(
        aws: &Aws,
        environment: &str,
        options: LeaseOptions,
    ) -> Result<Lease, Error> {
        options.check(environment)?;
        let began = Instant::now();
        // None: a wait too long to add to the clock, which is forever.
        let deadline = began.checked_add(options.wait);
        let id = new_id();
        // The lease we saw last and since when, by our own clock: a lease unrenewed for a
        // ttl while we watched has lapsed, whatever the clocks say.
        let mut seen: Option<(String, SystemTime, Instant)> = None;
        let mut attempt = 0u32;
        let mut said = false;
        loop {
            match try_acquire(aws, environment, &id, &options, &mut seen).await? {
                Attempt::Won(info, at) => {
                    tracing::info!(lease = %info.id, environment, "took the lease");
                    return Ok(Lease::start(aws, info, at, &options));
                }
                Attempt::Again => continue,
                Attempt::Held(holder) => {
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    if left.is_some_and(|l| l.is_zero()) {
                        return Err(LeaseError::Held {
                            holder: Box::new(holder),
                            waited: began.elapsed(),
                        }
                        .into());
                    }
                    if !said {
                        tracing::info!(environment, "waiting for the {holder}");
                        said = true;
                    }
                    let pause = jitter(attempt).min(left.unwrap_or(Duration::MAX));
                    attempt = attempt.saturating_add(1);
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Takes the lease, runs `work` [guarded](Lease::guard) by it, and releases it, also when
    /// the work fails. A failed release is logged (the lease then lapses after its ttl) and the
    /// work's result returned.
    pub async fn hold<T, F, Fut>(
        aws: &Aws,
        environment: &str,
        options: LeaseOptions,
        work: F,
    ) -> Result<T, Error>
    where
        F: FnOnce(&Lease) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let lease = Lease::acquire(aws, environment, options).await?;
        let result = lease.guard(work(&lease)).await;
        let id = lease.id.clone();
        if let Err(err) = lease.release().await {
            tracing::warn!(lease = %id, "could not release the lease, which lapses after its ttl: {err}");
        }
        result
    }

    /// Runs `work` while the lease holds: when a heartbeat finds it lost, `work` is dropped at
    /// its next await point (no further call starts) and this returns [`LeaseError::Lost`].
    pub async fn guard<T>(&self, work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        let mut lost = self.lost.clone();
        let lost = async move {
            match lost.wait_for(Option::is_some).await {
                Ok(reason) => reason.clone().unwrap_or_default(),
                // The heartbeat ended without losing it (only on release or drop).
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            reason = lost => Err(self.lost_error(reason)),
            result = work => result,
        }
    }

    /// Why the lease was lost, if it was.
    pub fn lost(&self) -> Option<String> {
        self.lost.borrow().clone()
    }

    /// The lease's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The lease as last written.
    pub fn info(&self) -> LeaseInfo {
        lock(&self.renewal).info.clone()
    }

    /// Stops renewing and deletes the lease, if it is still ours. A lease lost or lapsed
    /// meanwhile is left alone: it may be another run's by now.
    pub async fn release(mut self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        if let Some(task) = self.heartbeat.take() {
            // Let a renewal under way finish: a write landing after the delete would bring
            // the lease back until its ttl.
            let _ = task.await;
        }
        if self.lost().is_some() {
            return Ok(());
        }
        let renewed = lock(&self.renewal).at;
        if renewed.elapsed() >= self.ttl {
            tracing::warn!(lease = %self.id, "the lease lapsed before its release; another run may hold it now");
            return Ok(());
        }
        let name = parameter_name(&self.environment);
        match read_lease(&self.aws, &name).await? {
            Some(Ok(current)) if current.id == self.id => {
                delete(&self.aws, &name).await?;
                tracing::info!(lease = %self.id, environment = %self.environment, "released the lease");
            }
            _ => {}
        }
        Ok(())
    }

    fn start(aws: &Aws, info: LeaseInfo, at: Instant, options: &LeaseOptions) -> Lease {
        let (lost_tx, lost) = watch::channel(None);
        let (stop, stop_rx) = watch::channel(false);
        let renewal = Arc::new(Mutex::new(Renewal {
            info: info.clone(),
            at,
        }));
        let heartbeat = tokio::spawn(heartbeat(
            aws.clone(),
            options.heartbeat,
            options.ttl,
            Arc::clone(&renewal),
            lost_tx,
            stop_rx,
        ));
        Lease {
            aws: aws.clone(),
            id: info.id,
            environment: info.environment,
            ttl: options.ttl,
            renewal,
            lost,
            stop,
            heartbeat: Some(heartbeat),
        }
    }

    fn lost_error(&self, reason: String) -> Error {
        LeaseError::Lost {
            environment: self.environment.clone(),
            lease_id: self.id.clone(),
            reason,
        }
        .into()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Not released: as a killed run, stop renewing, and let the lease lapse.
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
    }
}

/// Who holds the lease on `environment`, if anyone: for `plan` and `output` to say so.
pub async fn holder(aws: &Aws, environment: &str) -> Result<Option<LeaseInfo>, Error> {
    let name = parameter_name(environment);
    match read_lease(aws, &name).await? {
        None => Ok(None),
        Some(Ok(info)) => Ok(Some(info)),
        Some(Err(reason)) => Err(LeaseError::Unreadable {
            parameter: name,
            reason,
        }
        .into()),
    }
}

/// Breaks the lease `lease_id` on `environment`, and returns it; refuses, naming the actual
/// holder, when the environment is held by another lease or not at all. For a run that is
/// dead: a live one would go on writing beside the next run until its next heartbeat.
pub async fn force_unlock(
    aws: &Aws,
    environment: &str,
    lease_id: &str,
) -> Result<LeaseInfo, Error> {
    let mut invalid = Invalid::new();
    invalid.check_environment(environment);
    invalid.into_result(())?;
    let name = parameter_name(environment);
    let not_held = |holder: Option<LeaseInfo>| -> Error {
        LeaseError::NotHeld {
            environment: environment.to_owned(),
            lease_id: lease_id.to_owned(),
            holder: holder.map(Box::new),
        }
        .into()
    };
    match read_lease(aws, &name).await? {
        None => Err(not_held(None)),
        Some(Err(reason)) => Err(LeaseError::Unreadable {
            parameter: name,
            reason,
        }
        .into()),
        Some(Ok(current)) if current.id != lease_id => Err(not_held(Some(current))),
        Some(Ok(current)) => {
            delete(aws, &name).await?;
            tracing::info!(lease = %current.id, environment, "broke the lease of {}", current.holder);
            Ok(current)
        }
    }
}

/// One try at the lease.
enum Attempt {
    /// Ours: as written, and when the write began.
    Won(LeaseInfo, Instant),
    /// Held by another run.
    Held(LeaseInfo),
    /// The lease changed under us (released, taken over): look again at once.
    Again,
}

async fn try_acquire(
    aws: &Aws,
    environment: &str,
    id: &str,
    options: &LeaseOptions,
    seen: &mut Option<(String, SystemTime, Instant)>,
) -> Result<Attempt, Error> {
    let name = parameter_name(environment);
    let at = Instant::now();
    let mine = new_lease(id, environment, options);
    if create(aws, &name, &json(&mine), environment).await? {
        return confirm(aws, &name, mine, at).await;
    }
    let current = match read_lease(aws, &name).await? {
        // Released between our create and this read.
        None => return Ok(Attempt::Again),
        Some(Err(reason)) => {
            return Err(LeaseError::Unreadable {
                parameter: name,
                reason,
            }
            .into())
        }
        Some(Ok(current)) => current,
    };
    let watched_since = match seen {
        Some((id, beat, since)) if *id == current.id && *beat == current.heartbeat_at => *since,
        _ => {
            *seen = Some((current.id.clone(), current.heartbeat_at, Instant::now()));
            Instant::now()
        }
    };
    let lapsed = current.lapsed_at(SystemTime::now()) || watched_since.elapsed() >= current.ttl;
    if !lapsed {
        return Ok(Attempt::Held(current));
    }
    take_over(aws, environment, current, id, options).await
}

/// Takes over `lapsed` through a claim that only one waiter can create.
async fn take_over(
    aws: &Aws,
    environment: &str,
    lapsed: LeaseInfo,
    id: &str,
    options: &LeaseOptions,
) -> Result<Attempt, Error> {
    let claim = Claim {
        lease: id.to_owned(),
        by: options.holder.clone(),
        at: SystemTime::now(),
    };
    let mut won = None;
    for generation in 0..MAX_CLAIMS {
        let name = claim_name(environment, &lapsed.id, generation);
        if create(aws, &name, &json(&claim), environment).await? {
            won = Some(generation);
            break;
        }
        let Some(value) = get(aws, &name).await? else {
            // The claim's taker finished and cleared it: the lease has moved on.
            return Ok(Attempt::Again);
        };
        // A claim is stale when its taker has had a ttl to finish: it died part way.
        let stale = serde_json::from_str::<Claim>(&value)
            .map(|c| SystemTime::now() > c.at + lapsed.ttl)
            .unwrap_or(true);
        if !stale {
            // Another waiter is taking it over right now.
            return Ok(Attempt::Held(lapsed));
        }
    }
    let Some(generation) = won else {
        return Ok(Attempt::Held(lapsed));
    };
    let lapsed_id = lapsed.id.clone();
    let clear = |upto: u32| {
        let lapsed_id = lapsed_id.clone();
        async move {
            for g in 0..=upto {
                delete(aws, &claim_name(environment, &lapsed_id, g)).await?;
            }
            Ok::<(), Error>(())
        }
    };
    let name = parameter_name(environment);
    // Only a claim holder replaces `lapsed`; check it is still what we judged lapsed.
    match read_lease(aws, &name).await? {
        Some(Ok(current))
            if current.id == lapsed.id && current.heartbeat_at == lapsed.heartbeat_at => {}
        Some(Ok(current)) if current.id == lapsed.id => {
            // Its holder renewed it meanwhile: alive after all.
            clear(generation).await?;
            return Ok(Attempt::Held(current));
        }
        // Released or replaced: the claim guards nothing now.
        _ => {
            clear(generation).await?;
            return Ok(Attempt::Again);
        }
    }
    let at = Instant::now();
    let mine = new_lease(id, environment, options);
    overwrite(aws, &name, &json(&mine)).await?;
    let confirmed = confirm(aws, &name, mine, at).await?;
    clear(generation).await?;
    if let Attempt::Won(info, _) = &confirmed {
        tracing::warn!(lease = %info.id, environment, "took over the lapsed {lapsed}");
    }
    Ok(confirmed)
}

/// Reads the lease back after writing it: ours, or whoever wrote after us.
async fn confirm(aws: &Aws, name: &str, mine: LeaseInfo, at: Instant) -> Result<Attempt, Error> {
    Ok(match read_lease(aws, name).await? {
        Some(Ok(current)) if current.id == mine.id => Attempt::Won(mine, at),
        Some(Ok(current)) => Attempt::Held(current),
        _ => Attempt::Again,
    })
}

/// Renews the lease every `every` until stopped, or until it is lost.
async fn heartbeat(
    aws: Aws,
    every: Duration,
    ttl: Duration,
    renewal: Arc<Mutex<Renewal>>,
    lost: watch::Sender<Option<String>>,
    mut stop: watch::Receiver<bool>,
) {
    let lose = |reason: String| {
        let _ = lost.send(Some(reason));
    };
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            // Stopped, or the lease dropped.
            _ = stop.changed() => return,
        }
        let (info, at) = {
            let r = lock(&renewal);
            (r.info.clone(), r.at)
        };
        if at.elapsed() >= ttl {
            return lose(format!(
                "no heartbeat got through for its ttl of {}, so another run may have taken it over",
                human(ttl)
            ));
        }
        match renew(&aws, &info, ttl).await {
            Ok(Ok((next, at))) => *lock(&renewal) = Renewal { info: next, at },
            Ok(Err(reason)) => return lose(reason),
            // Retried at the next beat; the lease lasts several.
            Err(err) => tracing::warn!(lease = %info.id, "a heartbeat failed: {err}"),
        }
    }
}

/// One heartbeat: the renewed lease and when its write began, or why it is not ours.
async fn renew(
    aws: &Aws,
    info: &LeaseInfo,
    ttl: Duration,
) -> Result<Result<(LeaseInfo, Instant), String>, Error> {
    let name = parameter_name(&info.environment);
    let ours = |found: Option<Result<LeaseInfo, String>>| match found {
        Some(Ok(current)) if current.id == info.id => Ok(()),
        Some(Ok(current)) => Err(format!("it is now the {current}")),
        Some(Err(reason)) => Err(format!("{name} was overwritten: {reason}")),
        None => Err(format!("{name} was deleted (force-unlocked?)")),
    };
    if let Err(reason) = ours(read_lease(aws, &name).await?) {
        return Ok(Err(reason));
    }
    let at = Instant::now();
    let now = SystemTime::now();
    let next = LeaseInfo {
        heartbeat_at: now,
        expires_at: now + ttl,
        ..info.clone()
    };
    overwrite(aws, &name, &json(&next)).await?;
    Ok(ours(read_lease(aws, &name).await?).map(|()| (next, at)))
}

fn new_lease(id: &str, environment: &str, options: &LeaseOptions) -> LeaseInfo {
    let now = SystemTime::now();
    LeaseInfo {
        id: id.to_owned(),
        environment: environment.to_owned(),
        holder: options.holder.clone(),
        started_at: now,
        heartbeat_at: now,
        expires_at: now + options.ttl,
        ttl: options.ttl,
    }
}

fn json<T: Serialize>(value: &T) -> String {
    // Plain structs of strings and numbers: serializing cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// The parameter `name` as a lease: `None` when absent, `Some(Err)` when it holds something
/// else.
async fn read_lease(aws: &Aws, name: &str) -> Result<Option<Result<LeaseInfo, String>>, Error> {
    Ok(get(aws, name)
        .await?
        .map(|value| serde_json::from_str(&value).map_err(|e| e.to_string())))
}

async fn get(aws: &Aws, name: &str) -> Result<Option<String>, Error> {
    let result = aws
        .ssm()
        .get_parameter()
        .name(name)
        .send()
        .await
        .context("GetParameter", format_args!("aws_ssm_parameter {name:?}"));
    match result {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_owned)),
        Err(err) if err.code() == Some("ParameterNotFound") => Ok(None),
        Err(err) => Err(err),
    }
}

/// Creates `name` unless it exists (`Overwrite=false`, SSM's one atomic write), tagged in the
/// call: whether it was created.
async fn create(aws: &Aws, name: &str, value: &str, environment: &str) -> Result<bool, Error> {
    let tags = Tags::new(MODULE, environment)
        .for_resource(name)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    let result = aws
        .ssm()
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .overwrite(false)
        .description(format!(
            "ecs-modules: one run at a time on environment {environment}"
        ))
        .set_tags(Some(tags))
        .send()
        .await
        .context("PutParameter", format_args!("aws_ssm_parameter {name:?}"));
    match result {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("ParameterAlreadyExists") => Ok(false),
        Err(err) => Err(err),
    }
}

/// Overwrites `name` (no tags: SSM refuses them with `Overwrite`, and the create's stay).
async fn overwrite(aws: &Aws, name: &str, value: &str) -> Result<(), Error> {
    aws.ssm()
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .context("PutParameter", format_args!("aws_ssm_parameter {name:?}"))
        .map(|_| ())
}

/// Deletes `name`; already gone is done.
async fn delete(aws: &Aws, name: &str) -> Result<(), Error> {
    let result = aws
        .ssm()
        .delete_parameter()
        .name(name)
        .send()
        .await
        .context(
            "DeleteParameter",
            format_args!("aws_ssm_parameter {name:?}"),
        );
    match result {
        Err(err) if err.code() != Some("ParameterNotFound") => Err(err),
        _ => Ok(()),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// 64 random bits, from the standard library's per-process random hash keys.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    if let Ok(d) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

/// A fresh lease id, in the UUID form people know from Terraform's lock ids.
fn new_id() -> String {
    let (a, b) = (random(), random());
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Full jitter: a pause drawn from zero to the backoff of `attempt`.
fn jitter(attempt: u32) -> Duration {
    let ceiling = POLL_BASE
        .saturating_mul(1u32 << attempt.min(16))
        .min(POLL_CAP);
    ceiling.mul_f64(random() as f64 / u64::MAX as f64)
}

/// A time to the second, RFC 3339, for people.
fn seconds(t: SystemTime) -> String {
    let secs = DateTime::from(t).secs();
    DateTime::from_secs(secs).to_string()
}

fn ago(now: SystemTime, then: SystemTime) -> String {
    match now.duration_since(then) {
        Ok(d) => human(d),
        Err(_) => "0s".to_owned(),
    }
}

/// `1m5s`, `12s`, `250ms`.
fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return if d.is_zero() {
            "0s".to_owned()
        } else {
            format!("{}ms", d.as_millis())
        };
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Times as RFC 3339 strings, to the millisecond, so a person reading the parameter in the
/// console reads them too.
mod rfc3339 {
    use super::*;
    use serde::de::Error as _;

    pub(super) fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let millis = DateTime::from(*t)
            .to_millis()
            .map_err(serde::ser::Error::custom)?;
        let text = DateTime::from_millis(millis)
            .fmt(Format::DateTime)
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::from_str(&text, Format::DateTime)
            .ok()
            .and_then(|t| SystemTime::try_from(t).ok())
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }
}

mod millis {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> LeaseInfo {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_714_564_800_123);
        LeaseInfo {
            id: "0a1b2c3d-0000-1111-2222-333344445555".into(),
            environment: "blog".into(),
            holder: Holder {
                user: "alice".into(),
                host: "ci-7".into(),
                pid: 4242,
                command: "fargate apply".into(),
            },
            started_at: t,
            heartbeat_at: t + Duration::from_secs(30),
            expires_at: t + Duration::from_secs(90),
            ttl: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_stored_form_is_small_json_with_readable_times() {
        let text = json(&info());
        assert_eq!(
            text,
            r#"{"id":"0a1b2c3d-0000-1111-2222-333344445555","environment":"blog","holder":{"user":"alice","host":"ci-7","pid":4242,"command":"fargate apply"},"started_at":"2024-05-01T12:00:00.123Z","heartbeat_at":"2024-05-01T12:00:30.123Z","expires_at":"2024-05-01T12:01:30.123Z","ttl_ms":60000}"#
        );
        let back: LeaseInfo = serde_json::from_str(&text).unwrap();
        assert_eq!(back, info());
    }

    #[test]
    fn held_names_the_holder_its_command_times_and_how_to_break_it() {
        let err = LeaseError::Held {
            holder: Box::new(info()),
            waited: Duration::ZERO,
        };
        let text = err.to_string();
        for want in [
            "environment \"blog\" is locked",
            "alice@ci-7 (pid 4242, `fargate apply`)",
            "started 2024-05-01T12:00:00Z",
            "last heartbeat 2024-05-01T12:00:30Z",
            "lapsed at 2024-05-01T12:01:30Z",
            "waiting 0s",
            "force-unlock 0a1b2c3d-0000-1111-2222-333344445555",
        ] {
            assert!(text.contains(want), "{want:?} not in {text}");
        }
    }

    #[test]
    fn options_are_checked() {
        let holder = Holder::current("test");
        let bad = LeaseOptions {
            wait: Duration::ZERO,
            ttl: Duration::from_secs(10),
            heartbeat: Duration::from_secs(10),
            holder,
        };
        let invalid = bad.check("Bad Env").unwrap_err();
        assert!(
            invalid.has("environment") && invalid.has("heartbeat"),
            "{invalid}"
        );
        assert!(LeaseOptions::default().check("blog").is_ok());
    }

    #[test]
    fn ids_are_fresh_and_jitter_stays_under_its_ceiling() {
        let ids: std::collections::BTreeSet<_> = (0..100).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 100);
        assert!(ids.iter().all(|id| id.len() == 36));
        for attempt in 0..40 {
            assert!(jitter(attempt) <= POLL_CAP);
        }
        assert!(jitter(0) <= POLL_BASE);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::ZERO), "0s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(65)), "1m5s");
        assert_eq!(human(Duration::from_secs(3725)), "1h2m5s");
    }

    #[test]
    fn claims_are_named_per_lease_and_generation() {
        assert_eq!(
            claim_name("blog", "abc", 0),
            "/ecs-modules/lock/blog/takeover/abc"
        );
        assert_eq!(
            claim_name("blog", "abc", 2),
            "/ecs-modules/lock/blog/takeover/abc.2"
        );
    }
}
