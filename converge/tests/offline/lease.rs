//! Unit tests of the lease against aws-smithy-mocks: the SSM calls it makes and what it
//! decides on their answers. No AWS, no emulator.
//!
//! The mock is a small parameter store with SSM's rules (`Overwrite=false` on an existing
//! name fails with `ParameterAlreadyExists`, tags with `Overwrite=true` are refused, a
//! missing name is `ParameterNotFound`), and it logs every call, so the tests check the
//! calls' shapes and order as well as the outcome.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_ssm::operation::delete_parameter::{DeleteParameterError, DeleteParameterOutput};
use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
use aws_sdk_ssm::operation::put_parameter::{PutParameterError, PutParameterOutput};
use aws_sdk_ssm::types::error::{ParameterAlreadyExists, ParameterNotFound};
use aws_sdk_ssm::types::{Parameter, ParameterType};
use aws_sdk_ssm::Client as Ssm;
use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use converge::lease::{self, Holder, Lease, LeaseError, LeaseInfo, LeaseOptions};
use converge::{Aws, Error};

const LOCK: &str = "/ecs-modules/lock/blog";

/// One call as SSM received it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Call {
    op: &'static str,
    name: String,
    /// PutParameter's `Overwrite`.
    overwrite: Option<bool>,
    /// PutParameter's tags.
    tags: Vec<(String, String)>,
}

impl Call {
    fn new(op: &'static str, name: &str) -> Self {
        Call {
            op,
            name: name.to_owned(),
            overwrite: None,
            tags: Vec::new(),
        }
    }
}

/// The mocked parameter store.
#[derive(Clone, Default)]
struct Store {
    params: Arc<Mutex<BTreeMap<String, String>>>,
    calls: Arc<Mutex<Vec<Call>>>,
    /// Answer every PutParameter with this error code instead.
    refuse_puts: Option<&'static str>,
    /// What the lease becomes as soon as a takeover claim is made (its holder renewing).
    on_claim: Arc<Mutex<Option<String>>>,
}

impl Store {
    fn with(params: &[(&str, String)]) -> Self {
        let store = Store::default();
        for (name, value) in params {
            store.set(name, value.clone());
        }
        store
    }

    fn set(&self, name: &str, value: String) {
        self.params.lock().unwrap().insert(name.to_owned(), value);
    }

    fn value(&self, name: &str) -> Option<String> {
        self.params.lock().unwrap().get(name).cloned()
    }

    fn lease(&self) -> Option<LeaseInfo> {
        self.value(LOCK).map(|v| serde_json::from_str(&v).unwrap())
    }

    fn names(&self) -> Vec<String> {
        self.params.lock().unwrap().keys().cloned().collect()
    }

    /// The calls since the last look, as (operation, name, overwrite).
    fn take(&self) -> Vec<(&'static str, String, Option<bool>)> {
        self.calls
            .lock()
            .unwrap()
            .drain(..)
            .map(|c| (c.op, c.name, c.overwrite))
            .collect()
    }

    fn aws(&self) -> Aws {
        let put = {
            let store = self.clone();
            mock!(Ssm::put_parameter).then_compute_response(move |req| {
                let name = req.name().unwrap().to_owned();
                let overwrite = req.overwrite();
                let tags: Vec<_> = req
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                store.calls.lock().unwrap().push(Call {
                    overwrite,
                    tags: tags.clone(),
                    ..Call::new("PutParameter", &name)
                });
                assert_eq!(req.r#type(), Some(&ParameterType::String), "{name}");
                if let Some(code) = store.refuse_puts {
                    return MockResponse::Error(PutParameterError::generic(
                        ErrorMetadata::builder()
                            .code(code)
                            .message("not allowed")
                            .build(),
                    ));
                }
                let mut params = store.params.lock().unwrap();
                if overwrite == Some(true) && !tags.is_empty() {
                    return MockResponse::Error(PutParameterError::generic(
                        ErrorMetadata::builder()
                            .code("ValidationException")
                            .message("tags and overwrite can't be used together")
                            .build(),
                    ));
                }
                if overwrite != Some(true) && params.contains_key(&name) {
                    return MockResponse::Error(PutParameterError::ParameterAlreadyExists(
                        ParameterAlreadyExists::builder()
                            .message("The parameter already exists.")
                            .meta(
                                ErrorMetadata::builder()
                                    .code("ParameterAlreadyExists")
                                    .build(),
                            )
                            .build(),
                    ));
                }
                if name.contains("/takeover/") {
                    if let Some(renewal) = store.on_claim.lock().unwrap().take() {
                        params.insert(LOCK.to_owned(), renewal);
                    }
                }
                params.insert(name, req.value().unwrap().to_owned());
                MockResponse::Output(PutParameterOutput::builder().version(1).build())
            })
        };
        let not_found = || {
            ParameterNotFound::builder()
                .meta(ErrorMetadata::builder().code("ParameterNotFound").build())
                .build()
        };
        let get = {
            let store = self.clone();
            mock!(Ssm::get_parameter).then_compute_response(move |req| {
                let name = req.name().unwrap();
                store
                    .calls
                    .lock()
                    .unwrap()
                    .push(Call::new("GetParameter", name));
                match store.value(name) {
                    None => MockResponse::Error(GetParameterError::ParameterNotFound(not_found())),
                    Some(value) => MockResponse::Output(
                        GetParameterOutput::builder()
                            .parameter(Parameter::builder().name(name).value(value).build())
                            .build(),
                    ),
                }
            })
        };
        let delete = {
            let store = self.clone();
            mock!(Ssm::delete_parameter).then_compute_response(move |req| {
                let name = req.name().unwrap();
                store
                    .calls
                    .lock()
                    .unwrap()
                    .push(Call::new("DeleteParameter", name));
                match store.params.lock().unwrap().remove(name) {
                    None => {
                        MockResponse::Error(DeleteParameterError::ParameterNotFound(not_found()))
                    }
                    Some(_) => MockResponse::Output(DeleteParameterOutput::builder().build()),
                }
            })
        };
        let ssm = mock_client!(
            aws_sdk_ssm,
            RuleMode::MatchAny,
            [&put, &get, &delete],
            |c| c.retry_config(aws_sdk_ssm::config::retry::RetryConfig::disabled())
        );
        Aws::builder().ssm(ssm).build()
    }
}

fn holder(command: &str) -> Holder {
    Holder {
        user: "alice".into(),
        host: "ci-7".into(),
        pid: 4242,
        command: command.into(),
    }
}

fn options(wait: Duration) -> LeaseOptions {
    LeaseOptions {
        wait,
        ttl: Duration::from_secs(60),
        heartbeat: Duration::from_secs(15),
        holder: holder("fargate apply"),
    }
}

/// Now, to the millisecond, as leases store times.
fn now() -> SystemTime {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    SystemTime::UNIX_EPOCH + Duration::from_millis(since.as_millis() as u64)
}

/// Another run's lease, its last heartbeat `beat_ago` ago, lapsing `ttl` after it.
fn other(id: &str, beat_ago: Duration, ttl: Duration) -> LeaseInfo {
    let beat = now() - beat_ago;
    LeaseInfo {
        id: id.into(),
        environment: "blog".into(),
        holder: Holder {
            user: "bob".into(),
            host: "laptop".into(),
            pid: 7,
            command: "fargate destroy".into(),
        },
        started_at: beat - Duration::from_secs(5),
        heartbeat_at: beat,
        expires_at: beat + ttl,
        ttl,
    }
}

fn json(info: &LeaseInfo) -> String {
    serde_json::to_string(info).unwrap()
}

fn op(
    op: &'static str,
    name: &str,
    overwrite: Option<bool>,
) -> (&'static str, String, Option<bool>) {
    (op, name.to_owned(), overwrite)
}

#[tokio::test]
async fn acquire_creates_the_parameter_once_tagged_and_release_deletes_it() {
    let store = Store::default();
    let aws = store.aws();
    let lease = Lease::acquire(&aws, "blog", options(Duration::ZERO))
        .await
        .unwrap();
    let tags = store.calls.lock().unwrap()[0].tags.clone();
    assert_eq!(
        store.take(),
        [
            op("PutParameter", LOCK, Some(false)),
            op("GetParameter", LOCK, None),
        ]
    );
    // Tagged in the create call itself.
    let tags: BTreeMap<_, _> = tags.into_iter().collect();
    assert_eq!(tags.get("Environment").map(String::as_str), Some("blog"));
    assert!(tags.contains_key("ecs-modules:owner"), "{tags:?}");
    assert_eq!(tags.get("Name").map(String::as_str), Some(LOCK));

    let stored = store.lease().unwrap();
    assert_eq!(stored.id, lease.id());
    assert_eq!(stored.holder, holder("fargate apply"));
    assert_eq!(stored.ttl, Duration::from_secs(60));
    assert_eq!(stored.expires_at, stored.heartbeat_at + stored.ttl);
    assert_eq!(lease::holder(&aws, "blog").await.unwrap(), Some(stored));
    store.take();

    lease.release().await.unwrap();
    assert_eq!(
        store.take(),
        [
            op("GetParameter", LOCK, None),
            op("DeleteParameter", LOCK, None),
        ]
    );
    assert_eq!(store.names(), Vec::<String>::new());
    assert_eq!(lease::holder(&aws, "blog").await.unwrap(), None);
}

#[tokio::test]
async fn a_held_lease_fails_at_once_naming_the_holder_and_writes_nothing() {
    let theirs = other(
        "their-lease",
        Duration::from_secs(2),
        Duration::from_secs(60),
    );
    let store = Store::with(&[(LOCK, json(&theirs))]);
    let err = Lease::acquire(&store.aws(), "blog", options(Duration::ZERO))
        .await
        .unwrap_err();
    match &err {
        Error::Lease(LeaseError::Held { holder, .. }) => assert_eq!(**holder, theirs),
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    for want in [
        "bob@laptop (pid 7, `fargate destroy`)",
        "force-unlock their-lease",
        "last heartbeat",
    ] {
        assert!(text.contains(want), "{want:?} not in {text}");
    }
    // One refused create and one read; the lease is theirs still.
    assert_eq!(
        store.take(),
        [
            op("PutParameter", LOCK, Some(false)),
            op("GetParameter", LOCK, None),
        ]
    );
    assert_eq!(store.lease(), Some(theirs));
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_over_through_a_claim_never_deleted() {
    let lapsed = other(
        "dead-run",
        Duration::from_secs(120),
        Duration::from_secs(60),
    );
    let store = Store::with(&[(LOCK, json(&lapsed))]);
    let lease = Lease::acquire(&store.aws(), "blog", options(Duration::ZERO))
        .await
        .unwrap();
    let claim = "/ecs-modules/lock/blog/takeover/dead-run";
    assert_eq!(
        store.take(),
        [
            op("PutParameter", LOCK, Some(false)),
            op("GetParameter", LOCK, None),
            // Exactly one waiter can make the claim...
            op("PutParameter", claim, Some(false)),
            // ... which checks the lease is still the lapsed one, replaces it in place ...
            op("GetParameter", LOCK, None),
            op("PutParameter", LOCK, Some(true)),
            op("GetParameter", LOCK, None),
            // ... and clears the claim once the lease has moved on.
            op("DeleteParameter", claim, None),
        ]
    );
    assert_eq!(store.lease().unwrap().id, lease.id());
    assert_eq!(store.names(), [LOCK]);
}

#[tokio::test]
async fn a_claim_another_waiter_holds_means_waiting_not_writing() {
    let lapsed = other(
        "dead-run",
        Duration::from_secs(120),
        Duration::from_secs(60),
    );
    let claim = serde_json::json!({
        "lease": "the-other-waiter",
        "by": holder("fargate apply"),
        "at": "2099-01-01T00:00:00Z",
    })
    .to_string();
    let store = Store::with(&[
        (LOCK, json(&lapsed)),
        ("/ecs-modules/lock/blog/takeover/dead-run", claim),
    ]);
    let err = Lease::acquire(&store.aws(), "blog", options(Duration::ZERO))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Lease(LeaseError::Held { .. })),
        "{err:?}"
    );
    let calls = store.take();
    assert!(
        !calls.iter().any(|(op, name, ow)| name == LOCK
            && (*op == "DeleteParameter" || (*op == "PutParameter" && *ow == Some(true)))),
        "{calls:?}"
    );
    assert_eq!(store.lease(), Some(lapsed));
}

#[tokio::test]
async fn a_claim_whose_taker_died_is_taken_over_under_the_next_name() {
    let lapsed = other(
        "dead-run",
        Duration::from_secs(600),
        Duration::from_secs(60),
    );
    let claim = serde_json::json!({
        "lease": "a-waiter-that-died",
        "by": holder("fargate apply"),
        "at": "2020-01-01T00:00:00Z",
    })
    .to_string();
    let first = "/ecs-modules/lock/blog/takeover/dead-run";
    let store = Store::with(&[(LOCK, json(&lapsed)), (first, claim)]);
    let lease = Lease::acquire(&store.aws(), "blog", options(Duration::ZERO))
        .await
        .unwrap();
    let calls = store.take();
    let second = "/ecs-modules/lock/blog/takeover/dead-run.1";
    assert!(
        calls.contains(&op("PutParameter", second, Some(false))),
        "{calls:?}"
    );
    assert_eq!(store.lease().unwrap().id, lease.id());
    // Both claims cleared.
    assert_eq!(store.names(), [LOCK]);
}

#[tokio::test]
async fn a_lease_renewed_while_it_is_claimed_is_left_to_its_holder() {
    // By its times it has lapsed (a slow holder); it renews just as a waiter claims it.
    let lapsed = other(
        "slow-run",
        Duration::from_secs(120),
        Duration::from_secs(60),
    );
    let renewed = LeaseInfo {
        heartbeat_at: now(),
        expires_at: now() + Duration::from_secs(60),
        ..lapsed.clone()
    };
    let store = Store::with(&[(LOCK, json(&lapsed))]);
    *store.on_claim.lock().unwrap() = Some(json(&renewed));
    let err = Lease::acquire(&store.aws(), "blog", options(Duration::ZERO))
        .await
        .unwrap_err();
    match &err {
        Error::Lease(LeaseError::Held { holder, .. }) => assert_eq!(**holder, renewed),
        other => panic!("{other:?}"),
    }
    let claim = "/ecs-modules/lock/blog/takeover/slow-run";
    let calls = store.take();
    assert_eq!(
        calls[2..],
        [
            op("PutParameter", claim, Some(false)),
            op("GetParameter", LOCK, None),
            op("DeleteParameter", claim, None),
        ],
        "{calls:?}"
    );
    assert_eq!(store.lease(), Some(renewed));
    assert_eq!(store.names(), [LOCK]);
}

#[tokio::test]
async fn force_unlock_breaks_only_the_lease_it_names() {
    let theirs = other(
        "their-lease",
        Duration::from_secs(1),
        Duration::from_secs(60),
    );
    let store = Store::with(&[(LOCK, json(&theirs))]);
    let aws = store.aws();
    let err = lease::force_unlock(&aws, "blog", "some-other-id")
        .await
        .unwrap_err();
    match &err {
        Error::Lease(LeaseError::NotHeld {
            holder, lease_id, ..
        }) => {
            assert_eq!(lease_id, "some-other-id");
            assert_eq!(holder.as_deref(), Some(&theirs));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("held by lease their-lease"),
        "{err}"
    );
    assert_eq!(store.lease(), Some(theirs.clone()));
    store.take();

    let broken = lease::force_unlock(&aws, "blog", "their-lease")
        .await
        .unwrap();
    assert_eq!(broken, theirs);
    assert_eq!(
        store.take(),
        [
            op("GetParameter", LOCK, None),
            op("DeleteParameter", LOCK, None),
        ]
    );
    let err = lease::force_unlock(&aws, "blog", "their-lease")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not locked at all"), "{err}");
}

#[tokio::test]
async fn other_errors_are_errors_not_a_held_lease() {
    let store = Store {
        refuse_puts: Some("AccessDeniedException"),
        ..Store::default()
    };
    let err = Lease::acquire(&store.aws(), "blog", options(Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert!(err.to_string().contains("PutParameter"), "{err}");
    // Not waited on: one call.
    assert_eq!(store.take().len(), 1);
}

#[tokio::test]
async fn heartbeats_renew_the_lease_and_its_loss_stops_the_work() {
    let store = Store::default();
    let aws = store.aws();
    let lease = Lease::acquire(
        &aws,
        "blog",
        LeaseOptions {
            ttl: Duration::from_millis(2000),
            heartbeat: Duration::from_millis(50),
            ..options(Duration::ZERO)
        },
    )
    .await
    .unwrap();
    let first = store.lease().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let renewed = store.lease().unwrap();
    assert_eq!(renewed.id, first.id);
    assert!(renewed.heartbeat_at > first.heartbeat_at, "{renewed:?}");
    assert_eq!(renewed.started_at, first.started_at);
    // A renewal overwrites in place, untagged (SSM refuses tags with Overwrite).
    assert!(store
        .calls
        .lock()
        .unwrap()
        .iter()
        .any(|c| c.op == "PutParameter" && c.overwrite == Some(true) && c.tags.is_empty()));

    // Someone else's lease now: the next heartbeat finds it and the work stops.
    store.set(
        LOCK,
        json(&other("usurper", Duration::ZERO, Duration::from_secs(60))),
    );
    let steps = Arc::new(Mutex::new(0u32));
    let counted = Arc::clone(&steps);
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        lease.guard(async move {
            // Until stopped; the bound only gives the loop an exit the compiler can see.
            while *counted.lock().unwrap() < u32::MAX {
                *counted.lock().unwrap() += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok::<(), Error>(())
        }),
    )
    .await
    .expect("the guard stops the work")
    .unwrap_err();
    assert!(
        matches!(&err, Error::Lease(LeaseError::Lost { reason, .. }) if reason.contains("usurper")),
        "{err:?}"
    );
    let at_loss = *steps.lock().unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(*steps.lock().unwrap(), at_loss, "the work went on");
    assert!(lease.lost().is_some());
    // Released after its loss: the usurper's lease is left alone.
    store.take();
    lease.release().await.unwrap();
    assert!(!store.take().iter().any(|(op, ..)| *op == "DeleteParameter"));
    assert_eq!(store.lease().unwrap().id, "usurper");
}
