//! An HTTP client in front of the SDK's own, for the reliability tests and the benchmarks:
//! it adds a fixed delay to every call (a stand-in for AWS's round trips), answers a share of
//! calls with throttling or 5xx errors without forwarding them, stops the world after the
//! k-th call (every later call hangs, as in a killed process), and logs when each forwarded
//! call began and ended. It also models what AWS does and the emulator does not: NAT gateways
//! `pending` and load balancers `provisioning` for a while after their creation
//! ([`provisioning`](HarnessBuilder::provisioning)), fresh EC2 ids unknown to the next
//! call that uses them ([`fresh_ids`](HarnessBuilder::fresh_ids)), and network interfaces
//! that keep security groups, subnets and the internet gateway in use for a while after a
//! destroy's first deletes ([`releasing`](HarnessBuilder::releasing)), services that
//! drain for their target group's deregistration delay ([`draining`](HarnessBuilder::draining)),
//! deployments that shift traffic, bake and end or roll back on an alarm
//! ([`deploying`](HarnessBuilder::deploying)), and what takes a while to become usable elsewhere: ECS's service-linked role, instance
//! profiles, listeners' target groups, capacity providers and Auto Scaling groups
//! ([`propagation`](HarnessBuilder::propagation)), and creates that AWS carries out once per
//! client token ([`idempotency`](HarnessBuilder::idempotency)), and AWS's API rate limits,
//! a token bucket per API family ([`throttling`](HarnessBuilder::throttling)). It can also lose the answer
//! to a call it forwarded ([`lose_answers`](HarnessBuilder::lose_answers)), so the SDK sends
//! it again. A [restarted](Harness::restarted) harness is a new process meeting the same
//! modelled AWS, for runs cut off and run again.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ecs_modules::harness::Harness;
//! use ecs_modules::target;
//!
//! let harness = Harness::builder().faults(0.2, 7).build();
//! let config = target::emulator_config(&target::start_emulator()?, None).await;
//! let aws = ecs_modules::converge::Aws::from_sdk_config(&harness.wrap(&config));
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_types::SdkConfig;
use tokio::sync::Notify;

mod deploying;
mod draining;
mod fresh_ids;
mod idempotency;
mod lost_answers;
mod propagation;
mod provisioning;
mod releasing;
mod throttling;
mod wire;

pub use throttling::{Load, Rate, Rates};

use lost_answers::LostAnswers;
use provisioning::Provisioning;

/// What the harness does to calls; shared by every client it wraps.
#[derive(Clone, Debug)]
pub struct Harness {
    state: Arc<State>,
}

/// Builds a [`Harness`]; by default it only forwards and logs.
#[derive(Clone, Debug, Default)]
pub struct HarnessBuilder {
    delay: Duration,
    fault_rate: f64,
    seed: u64,
    stop_after: Option<usize>,
    nat_pending: Duration,
    lb_provisioning: Duration,
    fresh_window: Duration,
    release_window: Duration,
    draining: Option<(f64, Duration)>,
    deploying: Option<deploying::Deploying>,
    propagation: Duration,
    ecs_used: bool,
    idempotency: bool,
    lost: Vec<(String, usize)>,
    rates: Option<Rates>,
}

impl HarnessBuilder {
    /// Waits `delay` before each call.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Answers a share `rate` (0 to 1) of calls with a throttling or 5xx error instead of
    /// forwarding them, chosen by a generator seeded with `seed`, so a failure can be
    /// replayed.
    pub fn faults(mut self, rate: f64, seed: u64) -> Self {
        self.fault_rate = rate.clamp(0.0, 1.0);
        self.seed = seed;
        self
    }

    /// Answers `k` calls (forwarded or injected); every later one never answers.
    pub fn stop_after(mut self, k: usize) -> Self {
        self.stop_after = Some(k);
        self
    }

    /// Describes each NAT gateway as `pending` for `nat` after it was created, and each load
    /// balancer as `provisioning` for `lb` (on AWS about 90 s and 150 s).
    pub fn provisioning(mut self, nat: Duration, lb: Duration) -> Self {
        self.nat_pending = nat;
        self.lb_provisioning = lb;
        self
    }

    /// Refuses the first use of an id an EC2 create call returned, within `window` of the
    /// create, with EC2's `Invalid...NotFound` (AWS's documented eventual consistency).
    pub fn fresh_ids(mut self, window: Duration) -> Self {
        self.fresh_window = window;
        self
    }

    /// Refuses, with `DependencyViolation`, to delete security groups and subnets or detach
    /// the internet gateway for `window` after a load balancer, a service or a NAT gateway was
    /// deleted (their network interfaces and addresses take that long to go on AWS).
    pub fn releasing(mut self, window: Duration) -> Self {
        self.release_window = window;
        self
    }

    /// Keeps a deleted service DRAINING for its target group's deregistration delay (as last
    /// set, else ELB's 300 s) times `scale`, plus `task_stop`; meanwhile its cluster and its
    /// target group cannot be deleted.
    pub fn draining(mut self, scale: f64, task_stop: Duration) -> Self {
        self.draining = Some((scale, task_stop));
        self
    }

    /// Each ECS deployment shifts production traffic for `shift`, then bakes for `bake`,
    /// then is done, or with `alarm`, is rolled back by that alarm; meanwhile its service
    /// cannot be deleted (the emulator finishes a deployment at once).
    pub fn deploying(mut self, shift: Duration, bake: Duration, alarm: Option<&str>) -> Self {
        self.deploying = Some(deploying::Deploying {
            shift,
            bake,
            alarm: alarm.map(str::to_owned),
        });
        self
    }

    /// ECS's service-linked role, IAM instance profiles, target groups' association with their
    /// load balancer, capacity providers and Auto Scaling groups take `window` after their
    /// creation to become usable elsewhere: until then the calls that use them are refused
    /// with AWS's errors, and a new Auto Scaling group is left out of its descriptions.
    pub fn propagation(mut self, window: Duration) -> Self {
        self.propagation = window;
        self
    }

    /// With [`propagation`](Self::propagation): the account has used ECS before, so its
    /// service-linked role exists and the first cluster is not refused.
    pub fn account_has_used_ecs(mut self) -> Self {
        self.ecs_used = true;
        self
    }

    /// Carries out a create call with a client token once, as AWS does: a repeat of one that
    /// succeeded gets its first answer (EC2's `ClientToken`, ECS's `clientToken`), or
    /// `HostedZoneAlreadyExists` (Route 53's `CallerReference`); EC2 refuses the token with
    /// other parameters (`IdempotentParameterMismatch`). The emulator ignores tokens.
    pub fn idempotency(mut self) -> Self {
        self.idempotency = true;
        self
    }

    /// Forwards the `k`-th call (from 1) of each of `operations` (`"CreateNatGateway"`,
    /// `"CreateService"`, `"CreateHostedZone"`, ...) but answers it with a timeout, as if the
    /// connection dropped after AWS carried it out: the SDK sends it again.
    pub fn lose_answers<I, S>(mut self, operations: I, k: usize) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lost
            .extend(operations.into_iter().map(|op| (op.into(), k)));
        self
    }

    /// Throttles calls as AWS does, at AWS's rates ([`Rates::aws`]): a token bucket per API
    /// family of the account, and a call that finds its bucket empty is refused with the
    /// protocol's throttling error without being forwarded.
    pub fn throttling(self) -> Self {
        self.throttling_rates(Rates::aws())
    }

    /// [`throttling`](Self::throttling) with these rates ([`Rates::scaled`] for tests).
    pub fn throttling_rates(mut self, rates: Rates) -> Self {
        self.rates = Some(rates);
        self
    }

    /// The harness.
    pub fn build(self) -> Harness {
        let world = World {
            nat_pending: self.nat_pending,
            lb_provisioning: self.lb_provisioning,
            made: Mutex::new(Vec::new()),
            fresh_window: self.fresh_window,
            fresh: Mutex::new(Vec::new()),
            release_window: self.release_window,
            released_at: Mutex::new(None),
            draining: self.draining,
            drain: Mutex::default(),
            deploying: self.deploying,
            deploys: Mutex::default(),
            propagation: self.propagation,
            propagating: Mutex::new(propagation::Propagating::new(self.ecs_used)),
            refused: Mutex::default(),
            idempotency: self.idempotency,
            answers: Mutex::default(),
            repeats: AtomicUsize::new(0),
            buckets: self.rates.map(|r| Mutex::new(throttling::Buckets::new(r))),
        };
        Harness {
            state: Arc::new(State::new(
                self.delay,
                self.fault_rate,
                self.seed,
                self.stop_after,
                LostAnswers::new(self.lost),
                Arc::new(world),
            )),
        }
    }
}

/// What one process meets: its delay, faults, stop and call log.
struct State {
    delay: Duration,
    fault_rate: f64,
    seed: u64,
    rng: Mutex<u64>,
    stop_after: Option<usize>,
    started: AtomicUsize,
    completed: AtomicUsize,
    answered: AtomicUsize,
    stopped: AtomicBool,
    stop: Notify,
    injected: AtomicUsize,
    lost: LostAnswers,
    lost_count: AtomicUsize,
    log: Mutex<Vec<(Instant, Instant)>>,
    world: Arc<World>,
}

/// What the modelled AWS remembers across processes: what is still provisioning, fresh,
/// releasing, draining or propagating, and the client tokens it carried out.
#[derive(Debug)]
struct World {
    nat_pending: Duration,
    lb_provisioning: Duration,
    /// Resources still provisioning: their id and when they are ready.
    made: Mutex<Vec<(String, Instant)>>,
    fresh_window: Duration,
    fresh: Mutex<Vec<fresh_ids::Fresh>>,
    release_window: Duration,
    /// Until when interfaces are still being released.
    released_at: Mutex<Option<Instant>>,
    draining: Option<(f64, Duration)>,
    drain: Mutex<draining::Draining>,
    deploying: Option<deploying::Deploying>,
    deploys: Mutex<deploying::Started>,
    propagation: Duration,
    propagating: Mutex<propagation::Propagating>,
    /// How many calls each model refused.
    refused: Mutex<BTreeMap<&'static str, usize>>,
    idempotency: bool,
    answers: Mutex<idempotency::Answers>,
    /// How many calls were answered for a client token already carried out.
    repeats: AtomicUsize,
    /// The account's API rate limits, when modelled.
    buckets: Option<Mutex<throttling::Buckets>>,
}

/// A model's refusal of a call: what the model met, and AWS's error answer.
type Refusal = (&'static str, HttpResponse);

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("delay", &self.delay)
            .field("fault_rate", &self.fault_rate)
            .field("stop_after", &self.stop_after)
            .field("completed", &self.completed)
            .field("injected", &self.injected)
            .finish_non_exhaustive()
    }
}

impl State {
    fn new(
        delay: Duration,
        fault_rate: f64,
        seed: u64,
        stop_after: Option<usize>,
        lost: LostAnswers,
        world: Arc<World>,
    ) -> Self {
        Self {
            delay,
            fault_rate,
            seed,
            rng: Mutex::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            stop_after,
            started: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            stop: Notify::new(),
            injected: AtomicUsize::new(0),
            lost,
            lost_count: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            world,
        }
    }

    /// xorshift64*: enough to pick which calls fail, and replayable.
    fn roll(&self) -> Option<u64> {
        if self.fault_rate <= 0.0 {
            return None;
        }
        let mut x = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        let n = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((n >> 11) as f64 / (1u64 << 53) as f64 <= self.fault_rate).then_some(n)
    }
}

impl Harness {
    /// A builder.
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder::default()
    }

    /// The same modelled AWS met by a new process: what is provisioning, fresh, releasing,
    /// draining or propagating stays so, while the counters start over, and the new process
    /// is stopped after `stop_after` calls, if given.
    pub fn restarted(&self, stop_after: Option<usize>) -> Harness {
        let s = &self.state;
        Harness {
            state: Arc::new(State::new(
                s.delay,
                s.fault_rate,
                s.seed.wrapping_add(1),
                stop_after,
                LostAnswers::new(s.lost.wanted()),
                Arc::clone(&s.world),
            )),
        }
    }

    /// `config` with this harness in front of its HTTP client.
    pub fn wrap(&self, config: &SdkConfig) -> SdkConfig {
        // A loaded configuration leaves the client out when it is the default; make the
        // default (HTTPS with rustls, as the SDK's) to forward to.
        let inner = config.http_client().unwrap_or_else(|| {
            use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build_https()
        });
        config
            .to_builder()
            .http_client(SharedHttpClient::new(Client {
                inner,
                state: Arc::clone(&self.state),
            }))
            .build()
    }

    /// Resolves once the `k` calls of [`stop_after`](HarnessBuilder::stop_after) have been
    /// answered.
    pub async fn stopped(&self) {
        if !self.state.stopped.load(Ordering::SeqCst) {
            self.state.stop.notified().await;
        }
    }

    /// How many calls were answered by AWS (or the emulator).
    pub fn forwarded(&self) -> usize {
        self.state.completed.load(Ordering::SeqCst)
    }

    /// How many calls each model of AWS refused, by what it met (`"fresh id"`, `"service
    /// draining"`, `"target group not yet associated"`, ...), over this harness and its
    /// restarts.
    pub fn refusals(&self) -> BTreeMap<&'static str, usize> {
        self.state
            .world
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many calls were answered with an injected error.
    pub fn injected(&self) -> usize {
        self.state.injected.load(Ordering::SeqCst)
    }

    /// How many forwarded calls had their answer [lost](HarnessBuilder::lose_answers).
    pub fn lost_answers(&self) -> usize {
        self.state.lost_count.load(Ordering::SeqCst)
    }

    /// How many calls carried a client token already carried out, and were answered without
    /// being forwarded ([`idempotency`](HarnessBuilder::idempotency)), over this harness and
    /// its restarts.
    pub fn repeats(&self) -> usize {
        self.state.world.repeats.load(Ordering::SeqCst)
    }

    /// How many calls the [throttling](HarnessBuilder::throttling) model refused, over this
    /// harness and its restarts (since [`reset_loads`](Self::reset_loads)).
    pub fn throttled(&self) -> usize {
        self.loads().iter().map(|l| l.throttled).sum()
    }

    /// What each API family's bucket let through and refused, for the families called
    /// (since [`reset_loads`](Self::reset_loads)); empty without the throttling model.
    pub fn loads(&self) -> Vec<Load> {
        self.state
            .world
            .buckets
            .as_ref()
            .map_or_else(Vec::new, |b| {
                b.lock().unwrap_or_else(|p| p.into_inner()).loads()
            })
    }

    /// Forgets the counts of [`loads`](Self::loads); the buckets keep their tokens.
    pub fn reset_loads(&self) {
        if let Some(b) = &self.state.world.buckets {
            b.lock().unwrap_or_else(|p| p.into_inner()).reset_counts();
        }
    }

    /// Forgets the call log.
    pub fn reset_log(&self) {
        self.state
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The longest chain of logged calls in which each began after the one before it ended:
    /// the calls the run had to make one after another.
    pub fn critical_path(&self) -> usize {
        let mut calls = self
            .state
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        calls.sort_by_key(|(start, _)| *start);
        let mut depth = vec![1usize; calls.len()];
        for i in 0..calls.len() {
            for j in 0..i {
                if calls[j].1 <= calls[i].0 {
                    depth[i] = depth[i].max(depth[j] + 1);
                }
            }
        }
        depth.into_iter().max().unwrap_or(0)
    }
}

#[derive(Debug)]
struct Client {
    inner: SharedHttpClient,
    state: Arc<State>,
}

impl HttpClient for Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.http_connector(settings, components),
            state: Arc::clone(&self.state),
        })
    }
}

#[derive(Debug)]
struct Connector {
    inner: SharedHttpConnector,
    state: Arc<State>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let state = Arc::clone(&self.state);
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if let Some(k) = state.stop_after {
                if state.started.fetch_add(1, Ordering::SeqCst) >= k {
                    return std::future::pending().await;
                }
            }
            let response = answer(&state, inner, request).await;
            // Injected answers count towards the stop as forwarded ones do.
            let done = state.answered.fetch_add(1, Ordering::SeqCst) + 1;
            if state.stop_after == Some(done) {
                state.stopped.store(true, Ordering::SeqCst);
                state.stop.notify_one();
            }
            response
        })
    }
}

/// The answer to one call: injected by a fault or a model, or forwarded and perhaps rewritten
/// by a model.
async fn answer(
    state: &State,
    inner: SharedHttpConnector,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    // The delay is part of the call, as a round trip would be.
    let start = Instant::now();
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    if let Some(n) = state.roll() {
        state.injected.fetch_add(1, Ordering::SeqCst);
        return Ok(error_answer(&request, n % 2 == 0, "injected"));
    }
    let world = &state.world;
    // AWS throttles before it reads the call.
    if let (Some(buckets), Some(family)) = (&world.buckets, throttling::family(&request)) {
        let admitted = buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(family, Instant::now());
        if !admitted {
            return Ok(error_answer(&request, true, "Rate exceeded"));
        }
    }
    // AWS looks the token up before anything else: a repeat is not carried out again.
    let token = idempotency::token_of(&request, world);
    if let Some(repeat) = token
        .as_ref()
        .and_then(|t| idempotency::repeat(t, &request, world))
    {
        world.repeats.fetch_add(1, Ordering::SeqCst);
        return Ok(repeat);
    }
    if let Some((what, refused)) = fresh_ids::refusal(&request, world)
        .or_else(|| releasing::refusal(&request, world))
        .or_else(|| draining::before(&request, world))
        .or_else(|| deploying::before(&request, world))
        .or_else(|| propagation::before(&request, world))
    {
        state.injected.fetch_add(1, Ordering::SeqCst);
        *world
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(what)
            .or_default() += 1;
        return Ok(refused);
    }
    releasing::record(&request, world);
    let provisioning = Provisioning::of(&request, world);
    let created = fresh_ids::creates(&request, world);
    let drains = draining::rewrites(&request, world);
    let deploys = deploying::rewrites(&request, world);
    let young_groups = propagation::rewrites(&request, world);
    let lose = state.lost.loses(&request);
    let sent = token
        .is_some()
        .then(|| request.body().bytes().unwrap_or_default().to_vec());
    let mut response = inner.call(request).await;
    if provisioning.is_some()
        || created.is_some()
        || drains
        || deploys
        || young_groups
        || token.is_some()
    {
        if let Ok(answer) = response.as_mut() {
            if let Some(mut text) = success_text(answer).await {
                if let Some(created) = created {
                    fresh_ids::record(created, &text, world);
                }
                if let Some(p) = provisioning {
                    p.model(&mut text, world);
                }
                if drains {
                    draining::rewrite(&mut text, world);
                }
                if deploys {
                    deploying::rewrite(&mut text, world);
                }
                if young_groups {
                    propagation::rewrite(&mut text, world);
                }
                // What the SDK sees first is what a repeat gets.
                if let (Some(token), Some(sent)) = (&token, sent) {
                    idempotency::record(token, sent, answer, &text, world);
                }
                set_text(answer, text);
            }
        }
    }
    state
        .log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((start, Instant::now()));
    state.completed.fetch_add(1, Ordering::SeqCst);
    if lose {
        state.lost_count.fetch_add(1, Ordering::SeqCst);
        return Err(lost_answers::lost());
    }
    response
}

/// A successful answer's body, read whole (it is put back with [`set_text`]).
async fn success_text(response: &mut HttpResponse) -> Option<String> {
    if !response.status().is_success() {
        return None;
    }
    let body = response.take_body();
    let bytes = aws_smithy_types::byte_stream::ByteStream::new(body)
        .collect()
        .await
        .ok()?
        .into_bytes();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Puts an answer's body back, its length updated.
fn set_text(response: &mut HttpResponse, text: String) {
    let len = text.len();
    *response.body_mut() = SdkBody::from(text);
    if response.headers().contains_key("content-length") {
        response
            .headers_mut()
            .insert("content-length", len.to_string());
    }
}

/// A throttling or server error in the protocol of the request: JSON (ECS, CloudWatch Logs,
/// SSM), CloudWatch's CBOR, EC2's query dialect, or the query and REST-XML of IAM, ELB,
/// Auto Scaling and Route 53.
fn error_answer(request: &HttpRequest, throttle: bool, message: &str) -> HttpResponse {
    let content_type = request.headers().get("content-type").unwrap_or_default();
    if content_type.starts_with("application/cbor") {
        let (status, code) = if throttle {
            (400, "ThrottlingException")
        } else {
            (500, "InternalFailure")
        };
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).expect("a valid status"),
            SdkBody::from(wire::cbor_error_body(code, message)),
        );
        let headers = response.headers_mut();
        headers.insert("content-type", "application/cbor");
        headers.insert("smithy-protocol", "rpc-v2-cbor");
        return response;
    }
    let json = content_type.starts_with("application/x-amz-json");
    let ec2 = request
        .body()
        .bytes()
        .is_some_and(|b| b.windows(18).any(|w| w == b"Version=2016-11-15"));
    let (status, body, kind) = match (json, ec2, throttle) {
        (true, _, throttle) => {
            let (status, code) = if throttle {
                (400, "ThrottlingException")
            } else {
                (500, "InternalFailure")
            };
            (
                status,
                serde_json::json!({ "__type": code, "message": message }).to_string(),
                "application/x-amz-json-1.1",
            )
        }
        (false, true, throttle) => {
            let (status, code) = if throttle {
                (503, "RequestLimitExceeded")
            } else {
                (500, "InternalError")
            };
            (
                status,
                format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>harness</RequestID></Response>"),
                "text/xml",
            )
        }
        (false, false, throttle) => {
            let (status, kind, code) = if throttle {
                (400, "Sender", "Throttling")
            } else {
                (503, "Receiver", "ServiceUnavailable")
            };
            (
                status,
                format!("<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>harness</RequestId></ErrorResponse>"),
                "text/xml",
            )
        }
    };
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid status"),
        SdkBody::from(body),
    );
    response.headers_mut().insert("content-type", kind);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_share_follows_the_rate_and_the_seed() {
        let draw = |seed| {
            let h = Harness::builder().faults(0.2, seed).build();
            (0..10_000).filter(|_| h.state.roll().is_some()).count()
        };
        let n = draw(1);
        assert!((1_700..2_300).contains(&n), "{n}");
        assert_eq!(draw(1), n);
        let none = Harness::builder().build();
        assert!((0..100).all(|_| none.state.roll().is_none()));
    }
}
