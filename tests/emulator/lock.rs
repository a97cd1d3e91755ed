//! One run at a time per environment: the lease (`converge::lease`) on the emulator's SSM,
//! and the command line's apply and destroy holding it, with calls slowed so that runs
//! overlap as they do on AWS.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::ResourceTypeForTagging;
use aws_types::SdkConfig;
use converge::lease::{self, Holder, Lease, LeaseError, LeaseOptions};
use converge::{Aws, Error};
use ecs_modules::blog::{Fargate, FargateEc2};
use ecs_modules::cli::{self, Deployment, Io};
use ecs_modules::harness::Harness;

use crate::cli::{Buffer, Run};
use crate::util::{aws, environment, keep_progress_events_asking, leftovers, sdk_config};

fn options(command: &str, wait: Duration) -> LeaseOptions {
    LeaseOptions {
        wait,
        holder: Holder::current(command),
        ..LeaseOptions::default()
    }
}

/// Short-lived leases, so that a dead holder's lapses within the test.
fn short(command: &str, wait: Duration) -> LeaseOptions {
    LeaseOptions {
        ttl: Duration::from_millis(1500),
        heartbeat: Duration::from_millis(300),
        ..options(command, wait)
    }
}

fn held_by(err: &Error) -> &lease::LeaseInfo {
    match err {
        Error::Lease(LeaseError::Held { holder, .. }) => holder,
        other => panic!("not a held lease: {other:?}"),
    }
}

async fn exists(aws: &Aws, name: &str) -> bool {
    match aws.ssm().get_parameter().name(name).send().await {
        Ok(_) => true,
        Err(err) => {
            use converge::ProvideErrorMetadata;
            assert_eq!(err.code(), Some("ParameterNotFound"), "{err:?}");
            false
        }
    }
}

#[tokio::test]
async fn acquire_tags_the_parameter_and_release_frees_the_environment() {
    let aws = aws().await;
    let env = environment("lk-basic");
    let lease = Lease::acquire(&aws, &env, options("test basic", Duration::ZERO))
        .await
        .unwrap();
    let info = lease::holder(&aws, &env).await.unwrap().expect("held");
    assert_eq!(info.id, lease.id());
    assert_eq!(info.holder.command, "test basic");
    assert_eq!(info.holder.pid, std::process::id());
    assert_eq!(info.environment, env);

    let name = lease::parameter_name(&env);
    assert_eq!(name, format!("/ecs-modules/lock/{env}"));
    let tags: BTreeMap<String, String> = aws
        .ssm()
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(&name)
        .send()
        .await
        .unwrap()
        .tag_list()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    assert_eq!(tags.get("Environment"), Some(&env));
    assert!(tags.contains_key("ecs-modules:owner"), "{tags:?}");

    lease.release().await.unwrap();
    assert_eq!(lease::holder(&aws, &env).await.unwrap(), None);
    // Free again: a new lease at once.
    Lease::acquire(&aws, &env, options("test basic", Duration::ZERO))
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_second_run_fails_at_once_naming_the_holder_or_waits_for_its_release() {
    let aws = aws().await;
    let env = environment("lk-wait");
    let first = Lease::acquire(&aws, &env, options("fargate apply", Duration::ZERO))
        .await
        .unwrap();

    let started = Instant::now();
    let err = Lease::acquire(&aws, &env, options("fargate destroy", Duration::ZERO))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "not at once");
    assert_eq!(held_by(&err).id, first.id());
    let text = err.to_string();
    for want in [
        format!("environment {env:?} is locked"),
        "`fargate apply`".to_owned(),
        "started ".to_owned(),
        "last heartbeat ".to_owned(),
        format!("force-unlock {}", first.id()),
    ] {
        assert!(text.contains(&want), "{want:?} not in {text}");
    }

    // With a wait, it gets the lease once the first run releases it.
    let waiter = {
        let aws = aws.clone();
        let env = env.clone();
        tokio::spawn(async move {
            let began = Instant::now();
            let lease = Lease::acquire(
                &aws,
                &env,
                options("fargate destroy", Duration::from_secs(60)),
            )
            .await;
            (lease, began.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!waiter.is_finished(), "took a held lease");
    first.release().await.unwrap();
    let (second, waited) = waiter.await.unwrap();
    let second = second.unwrap();
    assert!(waited >= Duration::from_millis(1400), "{waited:?}");
    let info = lease::holder(&aws, &env).await.unwrap().unwrap();
    assert_eq!(info.id, second.id());
    assert_eq!(info.holder.command, "fargate destroy");
    second.release().await.unwrap();
}

/// A run killed while it held the lease (here: dropped without a release, so its heartbeat
/// stops) leaves a lease that lapses after its ttl; two waiters then race for it and exactly
/// one takes it over, each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_holders_lease_lapses_and_exactly_one_of_two_waiters_takes_it_over() {
    let aws = aws().await;
    let env = environment("lk-kill");
    for round in 0..3 {
        let killed = Lease::acquire(&aws, &env, short("killed run", Duration::ZERO))
            .await
            .unwrap();
        let dead_id = killed.id().to_owned();
        // It renews while alive: still held after more than its ttl.
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let err = Lease::acquire(&aws, &env, short("waiter", Duration::ZERO))
            .await
            .unwrap_err();
        assert_eq!(held_by(&err).id, dead_id, "round {round}");
        drop(killed);
        tokio::time::sleep(Duration::from_millis(2000)).await;

        // Both see it lapsed and claim it at the same moment.
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|i| {
                let (aws, env, barrier) = (aws.clone(), env.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    Lease::acquire(&aws, &env, options(&format!("waiter {i}"), Duration::ZERO))
                        .await
                })
            })
            .collect();
        let mut won = Vec::new();
        let mut lost = Vec::new();
        for racer in racers {
            match racer.await.unwrap() {
                Ok(lease) => won.push(lease),
                Err(err) => lost.push(err),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: {lost:?}");
        let winner = won.pop().unwrap();
        // The loser saw the lease held: by the dead run whose takeover was under way, or
        // already by the winner.
        let seen = held_by(&lost[0]).id.clone();
        assert!(
            seen == dead_id || seen == winner.id(),
            "round {round}: {seen}"
        );
        let info = lease::holder(&aws, &env).await.unwrap().unwrap();
        assert_eq!(info.id, winner.id());
        // The claim that decided it is gone.
        let claim = format!("{}/takeover/{dead_id}", lease::parameter_name(&env));
        assert!(!exists(&aws, &claim).await, "round {round}: {claim} left");
        winner.release().await.unwrap();
    }
}

#[tokio::test]
async fn force_unlock_breaks_a_lease_by_its_id_only_and_its_holder_stops() {
    let aws = aws().await;
    let env = environment("lk-force");
    let lease = Lease::acquire(&aws, &env, short("stuck run", Duration::ZERO))
        .await
        .unwrap();

    let err = lease::force_unlock(&aws, &env, "not-the-lease")
        .await
        .unwrap_err();
    match &err {
        Error::Lease(LeaseError::NotHeld { holder, .. }) => {
            assert_eq!(holder.as_ref().unwrap().id, lease.id());
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("`stuck run`"), "{err}");
    assert_eq!(
        lease::holder(&aws, &env).await.unwrap().unwrap().id,
        lease.id()
    );

    let broken = lease::force_unlock(&aws, &env, lease.id()).await.unwrap();
    assert_eq!(broken.id, lease.id());
    assert_eq!(lease::holder(&aws, &env).await.unwrap(), None);
    // Its holder finds out at its next heartbeat.
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        lease.guard(std::future::pending::<Result<(), Error>>()),
    )
    .await
    .expect("the loss is noticed")
    .unwrap_err();
    assert!(
        matches!(&err, Error::Lease(LeaseError::Lost { reason, .. }) if reason.contains("deleted")),
        "{err}"
    );
    lease.release().await.unwrap();

    let err = lease::force_unlock(&aws, &env, broken.id.as_str())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not locked at all"), "{err}");
}

/// The work a lease guards writes (SSM parameters, one after another); once the lease is
/// taken from it, no further write is made.
#[tokio::test]
async fn losing_the_lease_stops_the_holders_writes() {
    let aws = aws().await;
    let env = environment("lk-lost");
    let lease = Lease::acquire(&aws, &env, short("writer", Duration::ZERO))
        .await
        .unwrap();
    let writes = Arc::new(AtomicU32::new(0));
    let work = {
        let (aws, env, writes) = (aws.clone(), env.clone(), Arc::clone(&writes));
        async move {
            // Until stopped; the bound only gives the loop an exit the compiler can see.
            while writes.load(Ordering::SeqCst) < u32::MAX {
                let n = writes.load(Ordering::SeqCst);
                aws.ssm()
                    .put_parameter()
                    .name(format!("/ecs-modules/test/{env}/write-{n}"))
                    .value("x")
                    .r#type(aws_sdk_ssm::types::ParameterType::String)
                    .send()
                    .await
                    .unwrap();
                writes.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok::<(), Error>(())
        }
    };
    let breaker = {
        let (aws, env, id) = (aws.clone(), env.clone(), lease.id().to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            lease::force_unlock(&aws, &env, &id).await.unwrap();
        })
    };
    let err = tokio::time::timeout(Duration::from_secs(10), lease.guard(work))
        .await
        .expect("the work is stopped")
        .unwrap_err();
    breaker.await.unwrap();
    assert!(
        matches!(err, Error::Lease(LeaseError::Lost { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains("stopped before its next call"),
        "{err}"
    );
    let made = writes.load(Ordering::SeqCst);
    assert!(made > 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        writes.load(Ordering::SeqCst),
        made,
        "a write after the loss"
    );
    // No parameter beyond the counted ones: nothing was in flight past the stop.
    let next = format!("/ecs-modules/test/{env}/write-{}", made + 1);
    assert!(!exists(&aws, &next).await);
    lease.release().await.unwrap();
}

/// The policy in docs/iam-policy.json grants every call the lease makes, on the lock
/// parameters, through acquire, heartbeat, takeover, force-unlock and release.
#[tokio::test]
async fn the_iam_policy_grants_every_call_the_lease_makes() {
    let aws = aws().await;
    let env = environment("lk-iam");
    aws.calls().reset();
    let lease = Lease::acquire(&aws, &env, short("iam", Duration::ZERO))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    drop(lease);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let taken = Lease::acquire(&aws, &env, short("iam", Duration::ZERO))
        .await
        .unwrap();
    lease::force_unlock(&aws, &env, taken.id()).await.unwrap();
    taken.release().await.unwrap();
    Lease::acquire(&aws, &env, short("iam", Duration::ZERO))
        .await
        .unwrap()
        .release()
        .await
        .unwrap();

    let mut needed: Vec<String> = aws
        .calls()
        .report()
        .by_operation
        .keys()
        .map(|op| format!("ssm:{op}"))
        .collect();
    // Tags in PutParameter need this too.
    needed.push("ssm:AddTagsToResource".to_owned());
    for op in [
        "ssm:PutParameter",
        "ssm:GetParameter",
        "ssm:DeleteParameter",
    ] {
        assert!(
            needed.iter().any(|n| n == op),
            "{op} not exercised: {needed:?}"
        );
    }

    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json"))
            .unwrap();
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    // The documented policy is the examples' for environment `blog`.
    let on_lock = "arn:aws:ssm:*:*:parameter/ecs-modules/lock/blog";
    // `Action` and `Resource` are a string or a list of them.
    fn list(v: &serde_json::Value) -> Vec<&str> {
        match v {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str()).collect(),
            _ => Vec::new(),
        }
    }
    let granted: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .filter(|s| {
            list(&s["Resource"])
                .iter()
                .any(|r| *r == on_lock || *r == "*")
        })
        .flat_map(|s| list(&s["Action"]))
        .collect();
    for action in &needed {
        assert!(
            granted.contains(&action.as_str()),
            "{action} is not granted on {on_lock} by docs/iam-policy.json"
        );
    }
}

/// Runs the command line of `D` in this thread, against `config` slowed by `delay` per call;
/// returns what it printed and the harness (its call counts).
fn run_slowed<D: Deployment>(config: &SdkConfig, delay: Duration, args: &[&str]) -> (Run, Harness) {
    keep_progress_events_asking();
    let harness = Harness::builder().delay(delay).build();
    let out = Buffer::default();
    let err = Buffer::default();
    let io = Io {
        out: Box::new(out.clone()),
        err: Arc::new(Mutex::new(err.clone())),
        err_is_terminal: false,
        confirm: None,
    };
    let mut argv = vec!["example"];
    argv.extend_from_slice(args);
    let code = cli::run_against::<D>("test", argv, io, harness.wrap(config));
    let run = Run {
        code,
        out: out.text(),
        err: err.text(),
    };
    (run, harness)
}

fn run<D: Deployment>(config: &SdkConfig, args: &[&str]) -> Run {
    run_slowed::<D>(config, Duration::ZERO, args).0
}

/// The configuration of this test's emulator, and a runtime to look at it with.
fn setup() -> (tokio::runtime::Runtime, SdkConfig, Aws) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (config, aws) = rt.block_on(async { (sdk_config().await, aws().await) });
    (rt, config, aws)
}

/// Waits until someone holds the lease on `env`, and returns it.
fn wait_for_holder(rt: &tokio::runtime::Runtime, aws: &Aws, env: &str) -> lease::LeaseInfo {
    let began = Instant::now();
    loop {
        if let Some(info) = rt.block_on(lease::holder(aws, env)).unwrap() {
            return info;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "no one took the lease"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const SLOW: Duration = Duration::from_millis(50);

/// What one `fargate` deployment leaves, by `util::inventory`'s kinds (those it has any of).
const FARGATE: &[(&str, usize)] = &[
    ("ecs clusters", 1),
    ("ecs services", 1),
    ("elastic ips", 1),
    ("iam roles", 1),
    ("internet gateways", 1),
    ("load balancers", 1),
    ("log groups", 1),
    ("nat gateways", 1),
    ("route tables", 2),
    ("security groups", 2),
    ("subnets", 6),
    ("target groups", 1),
    ("task definitions", 1),
    ("vpc endpoints", 1),
    ("vpcs", 1),
];

/// What one `fargate_ec2` deployment leaves.
const FARGATE_EC2: &[(&str, usize)] = &[
    ("auto scaling groups", 1),
    ("ecs clusters", 1),
    ("ecs services", 2),
    ("elastic ips", 1),
    ("iam roles", 2),
    ("instance profiles", 1),
    ("instances", 1),
    ("internet gateways", 1),
    ("launch templates", 1),
    ("load balancers", 2),
    ("log groups", 2),
    ("nat gateways", 1),
    ("route tables", 2),
    ("security groups", 4),
    ("subnets", 6),
    ("target groups", 2),
    ("task definitions", 2),
    ("vpc endpoints", 1),
    ("vpcs", 1),
];

/// Two applies of one deployment started together, each waiting for the other's lease:
/// both succeed, the second makes no change, and one of each resource exists.
fn two_applies_at_once<D: Deployment>(prefix: &str, resources: usize, one: &[(&str, usize)]) {
    let (rt, config, aws) = setup();
    let env = environment(prefix);
    let args = ["apply", "--environment", &env, "--lock-timeout", "10m"];
    let runs: Vec<Run> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| s.spawn(|| run_slowed::<D>(&config, SLOW, &args).0))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap().ok()).collect()
    });
    let mut summaries: Vec<&str> = runs
        .iter()
        .map(|r| {
            r.err
                .lines()
                .find(|l| l.starts_with("Apply complete!"))
                .unwrap_or_else(|| panic!("no summary in {}", r.err))
        })
        .collect();
    summaries.sort();
    let first = format!("Apply complete! Resources: {resources} added, 0 changed, 0 destroyed.");
    assert_eq!(
        summaries,
        [
            "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.",
            first.as_str()
        ],
        "{}\n---\n{}",
        runs[0].err,
        runs[1].err
    );
    // Each took the lease and released it.
    for r in &runs {
        assert!(r.err.contains("taken on environment"), "{}", r.err);
        assert!(r.err.contains("released"), "{}", r.err);
    }
    // One deployment's worth of everything: two applies' would be twice as much.
    assert_eq!(rt.block_on(leftovers(&aws, &env)), one, "{env}");
    let plan = run::<D>(&config, &["plan", "--environment", &env]).ok();
    assert!(plan.out.contains("No changes."), "{}", plan.out);
    assert_eq!(rt.block_on(lease::holder(&aws, &env)).unwrap(), None);

    run::<D>(&config, &["destroy", "--yes", "--environment", &env]).ok();
    assert_eq!(rt.block_on(leftovers(&aws, &env)), []);
}

#[test]
fn two_fargate_applies_at_once_run_one_after_the_other() {
    two_applies_at_once::<Fargate>("lk-two", 24, FARGATE);
}

#[test]
fn two_fargate_ec2_applies_at_once_run_one_after_the_other() {
    two_applies_at_once::<FargateEc2>("lk-two-ec2", 36, FARGATE_EC2);
}

/// With `--lock-timeout 0s` the second run fails at once, naming the holder, with no call
/// but the lease's two; plan and output read meanwhile and say who holds it.
#[test]
fn with_no_lock_timeout_a_second_apply_fails_at_once_and_writes_nothing() {
    let (rt, config, aws) = setup();
    let env = environment("lk-zero");
    let args = ["apply", "--environment", &env];
    std::thread::scope(|s| {
        let first = s.spawn(|| run_slowed::<Fargate>(&config, SLOW, &args).0);
        let holder = wait_for_holder(&rt, &aws, &env);
        assert_eq!(holder.holder.command, "example apply");

        let started = Instant::now();
        let (second, harness) = run_slowed::<Fargate>(&config, SLOW, &args);
        assert_eq!(second.code, ExitCode::from(1), "{}", second.err);
        assert!(started.elapsed() < Duration::from_secs(5), "not at once");
        for want in [
            format!("environment {env:?} is locked"),
            "`example apply`".to_owned(),
            format!("force-unlock {}", holder.id),
            "--lock-timeout".to_owned(),
        ] {
            assert!(second.err.contains(&want), "{want:?} not in {}", second.err);
        }
        assert!(second.out.is_empty(), "{}", second.out);
        // The refused create and the read of who holds it: nothing else reached AWS.
        assert_eq!(harness.forwarded(), 2, "{}", second.err);

        let plan = run::<Fargate>(&config, &["plan", "--environment", &env]).ok();
        assert!(
            plan.err
                .contains(&format!("Note: environment {env:?} is locked")),
            "{}",
            plan.err
        );
        assert!(plan.err.contains(&holder.id), "{}", plan.err);

        let first = first.join().unwrap().ok();
        assert!(first.err.contains("24 added"), "{}", first.err);
    });
    assert_eq!(rt.block_on(leftovers(&aws, &env)), FARGATE, "{env}");
    // Free once the first is done: plan notes nothing.
    let plan = run::<Fargate>(&config, &["plan", "--environment", &env]).ok();
    assert!(!plan.err.contains("is locked"), "{}", plan.err);
    run::<Fargate>(&config, &["destroy", "--yes", "--environment", &env]).ok();
    assert_eq!(rt.block_on(leftovers(&aws, &env)), []);
}

/// A destroy started while an apply runs waits for it, then deletes everything it made.
#[test]
fn a_destroy_during_an_apply_waits_and_leaves_nothing() {
    let (rt, config, aws) = setup();
    let env = environment("lk-dest");
    std::thread::scope(|s| {
        let apply =
            s.spawn(|| run_slowed::<Fargate>(&config, SLOW, &["apply", "--environment", &env]).0);
        wait_for_holder(&rt, &aws, &env);
        let (destroy, _) = run_slowed::<Fargate>(
            &config,
            SLOW,
            &[
                "destroy",
                "--yes",
                "--environment",
                &env,
                "--lock-timeout",
                "10m",
            ],
        );
        let apply = apply.join().unwrap().ok();
        assert!(apply.err.contains("24 added"), "{}", apply.err);
        let destroy = destroy.ok();
        assert!(
            destroy
                .err
                .contains("Destroy complete! Resources: 24 destroyed."),
            "{}",
            destroy.err
        );
    });
    assert_eq!(rt.block_on(leftovers(&aws, &env)), []);
    assert_eq!(rt.block_on(lease::holder(&aws, &env)).unwrap(), None);
}

#[test]
fn force_unlock_through_the_command_line() {
    let (rt, config, aws) = setup();
    let env = environment("lk-cli-fu");
    let lease = rt
        .block_on(Lease::acquire(
            &aws,
            &env,
            options("dead run", Duration::ZERO),
        ))
        .unwrap();
    let id = lease.id().to_owned();
    // Dead: no heartbeat from here on.
    drop(lease);

    let no_yes = run::<Fargate>(&config, &["force-unlock", &id, "--environment", &env]);
    assert_eq!(no_yes.code, ExitCode::from(2), "{}", no_yes.err);
    assert!(no_yes.err.contains("--yes"), "{}", no_yes.err);

    let wrong = run::<Fargate>(
        &config,
        &["force-unlock", "wrong-id", "--yes", "--environment", &env],
    );
    assert_eq!(wrong.code, ExitCode::from(1), "{}", wrong.err);
    assert!(
        wrong.err.contains(&format!("held by lease {id}")),
        "{}",
        wrong.err
    );
    assert!(wrong.err.contains("`dead run`"), "{}", wrong.err);

    let broken = run::<Fargate>(
        &config,
        &[
            "force-unlock",
            &id,
            "--yes",
            "--json",
            "--environment",
            &env,
        ],
    )
    .ok();
    assert_eq!(broken.json()["id"], id.as_str());
    assert_eq!(broken.json()["holder"]["command"], "dead run");
    assert_eq!(rt.block_on(lease::holder(&aws, &env)).unwrap(), None);
}
