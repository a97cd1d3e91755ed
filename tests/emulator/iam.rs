//! The IAM policy comes from the code: every kind the examples use says what it calls,
//! docs/iam-policy.json is the examples' generated policy, and the examples plan, apply,
//! apply again and destroy as a user that holds only their policy, against an emulator that
//! enforces IAM.
//!
//! The enforcing emulator is moto on a port of its own (the others' port plus 40 to 43),
//! started with `INITIAL_NO_AUTH_ACTION_COUNT`, never the emulator the other tests share.
//! What moto checks (moto 5.2.5, `moto/iam/access_control.py`): the action of every call;
//! the `Resource` only for IAM calls naming an existing role (`RoleName`: the role's ARN),
//! every other call's resource being `*`; no condition key but `sts:ExternalId` (a
//! condition on any other key is passed over). So the copy of the policy given to moto
//! adds to each statement scoped to named resources a pattern ([`MOTO_UNNAMED`]; moto reads
//! patterns as regular expressions) that matches only that `*`: the IAM calls on our roles
//! are held to the role names, and every other call to its action. moto's own signature
//! check refuses calls the SDK signed right (no body, or a space in a form);
//! `scripts/moto_server.py` mends it.

use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use ecs_modules::blog::{Fargate, FargateEc2, SharedAlb};
use ecs_modules::cli::{self, Deployment, Io, Settings};
use ecs_modules::target;
use serde_json::Value as Json;

use crate::cli::{Buffer, Run};
use crate::util::environment;

const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json");

/// `policy` calls nothing: any configuration does.
fn no_aws() -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn settings(environment: &str, capacity_provider: bool) -> Settings {
    Settings {
        environment: environment.to_owned(),
        capacity_provider,
        ..Settings::default()
    }
}

/// A kind that says nothing of what it calls would leave its calls out of the policy.
#[test]
fn every_kind_the_examples_declare_says_what_it_calls() {
    let rt = runtime();
    let mut missing = Vec::new();
    for cp in [false, true] {
        let s = settings("blog", cp);
        missing.extend(
            rt.block_on(cli::kinds_without_permissions::<FargateEc2>(&s))
                .unwrap(),
        );
        if !cp {
            missing.extend(
                rt.block_on(cli::kinds_without_permissions::<Fargate>(&s))
                    .unwrap(),
            );
            missing.extend(
                rt.block_on(cli::kinds_without_permissions::<SharedAlb>(&s))
                    .unwrap(),
            );
        }
    }
    assert!(
        missing.is_empty(),
        "these kinds declare no IAM permissions (Resource::permissions): {missing:?}"
    );
}

/// docs/iam-policy.json is the examples' policy as the code makes it, for environment
/// `blog`. `UPDATE_POLICY=1` writes it.
#[test]
fn the_documented_policy_is_the_generated_one() {
    let generated = runtime()
        .block_on(cli::examples_policy("blog"))
        .unwrap()
        .to_json_pretty();
    if std::env::var_os("UPDATE_POLICY").is_some_and(|v| v == "1") {
        std::fs::write(DOCS, &generated).unwrap();
    }
    let documented = std::fs::read_to_string(DOCS).unwrap_or_default();
    assert!(
        documented == generated,
        "docs/iam-policy.json is not the policy the code makes; regenerate it with \
         `cargo run --example fargate -- policy --all-examples > docs/iam-policy.json` \
         (or UPDATE_POLICY=1 cargo test --test emulator iam::) and review the difference"
    );
    // The least-privilege rules the README promises.
    let doc: Json = serde_json::from_str(&generated).unwrap();
    for s in doc["Statement"].as_array().unwrap() {
        let actions = list(&s["Action"]);
        let resources = list(&s["Resource"]);
        let condition = &s["Condition"];
        for action in &actions {
            if *action == "iam:PassRole" {
                // To the services that take each role; unconditioned only for the roles that
                // go into an instance profile.
                let to_services =
                    !list(&condition["StringEquals"]["iam:PassedToService"]).is_empty();
                let instance_roles = resources.iter().all(|r| r.ends_with("-ecs-instance-role"));
                assert!(to_services || instance_roles, "iam:PassRole too broad: {s}");
            }
            if *action == "iam:AttachRolePolicy" {
                assert!(!condition["ArnEquals"]["iam:PolicyARN"].is_null(), "{s}");
            }
            if action.starts_with("iam:") && *action != "iam:CreateServiceLinkedRole" {
                assert!(
                    resources
                        .iter()
                        .all(|r| r.starts_with("arn:aws:iam::*:role/blog-")
                            || r.starts_with("arn:aws:iam::*:instance-profile/blog-")),
                    "{action} not limited to the stack's roles: {s}"
                );
            }
            if *action == "ec2:CreateTags" && resources == ["*"] {
                assert!(!condition.is_null(), "ec2:CreateTags unconditioned: {s}");
            }
        }
    }
}

/// `Action` and `Resource` are a string or a list of them.
fn list(v: &Json) -> Vec<&str> {
    match v {
        Json::String(s) => vec![s.as_str()],
        Json::Array(items) => items.iter().filter_map(|i| i.as_str()).collect(),
        _ => Vec::new(),
    }
}

/// An ARN-shaped pattern that moto's regular expression (`^{pattern}$`, `*` read as `.*`)
/// matches only for the resource `*`, which moto names for every call but IAM role calls.
/// On AWS it would match nothing.
const MOTO_UNNAMED: &str = "arn:aws:moto:::unnamed|[*]";

/// The policy as moto can check it (see the module's docs).
fn for_moto(policy: &Json) -> Json {
    let mut policy = policy.clone();
    for s in policy["Statement"].as_array_mut().unwrap() {
        let resources: Vec<String> = list(&s["Resource"]).iter().map(|r| r.to_string()).collect();
        if resources.iter().any(|r| r == "*") {
            continue;
        }
        let mut with = resources;
        with.push(MOTO_UNNAMED.to_owned());
        s["Resource"] = Json::from(with);
    }
    // moto names the role, not the profile, for the calls that put a role in a profile (AWS
    // checks the profile, and `iam:PassRole` on the role): allow them on the roles the
    // policy lets be passed.
    let passed: Vec<Json> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| list(&s["Action"]).contains(&"iam:PassRole"))
        .flat_map(|s| {
            list(&s["Resource"])
                .into_iter()
                .map(Json::from)
                .collect::<Vec<_>>()
        })
        .collect();
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "Effect": "Allow",
            "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile"],
            "Resource": passed,
        }));
    policy
}

/// Starts (or reuses) the enforcing emulator on `port`, makes a user holding only `policy`
/// with the calls moto lets through unauthenticated, then turns enforcement on. Returns the
/// SDK configuration of that user.
fn enforcing_emulator_as(port: u16, policy: &Json) -> aws_types::SdkConfig {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/emulator");
    let url = format!("http://127.0.0.1:{port}");
    // Unauthenticated until the count: the warm-up and the user's set-up.
    let status = Command::new(script)
        .arg("start")
        .env("MOTO_PORT", port.to_string())
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "1000000000")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the IAM-enforcing emulator did not start on port {port}: see .emulator/moto-{port}.log, or start it by hand with `INITIAL_NO_AUTH_ACTION_COUNT=1000000000 MOTO_PORT={port} scripts/emulator start`"
    );
    let rt = runtime();
    rt.block_on(async {
        // A server reused from an earlier run enforces already: open it for the set-up.
        reset_auth(&url, "1000000000");
        let admin = target::emulator_config(&url, None).await;
        let iam = aws_sdk_iam::Client::new(&admin);
        let user = format!("ecs-modules-{port}-{}", environment("u"));
        iam.create_user().user_name(&user).send().await.unwrap();
        let arn = iam
            .create_policy()
            .policy_name(&user)
            .policy_document(serde_json::to_string(&for_moto(policy)).unwrap())
            .send()
            .await
            .unwrap()
            .policy()
            .and_then(|p| p.arn())
            .unwrap()
            .to_owned();
        iam.attach_user_policy()
            .user_name(&user)
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
        let key = iam
            .create_access_key()
            .user_name(&user)
            .send()
            .await
            .unwrap()
            .access_key()
            .unwrap()
            .clone();
        // From here on every call is checked.
        reset_auth(&url, "0");
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                key.access_key_id(),
                key.secret_access_key(),
                None,
                None,
                "iam-test-user",
            ))
            .load()
            .await
    })
}

/// Sets moto's count of calls let through unauthenticated (`/moto-api/reset-auth`) and
/// starts counting again: `0` checks every call from now on.
fn reset_auth(url: &str, count: &str) {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let request = format!(
        "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{count}",
        count.len()
    );
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    // A stalled emulator fails the test instead of holding it.
    let limit = Some(std::time::Duration::from_secs(30));
    stream.set_read_timeout(limit).unwrap();
    stream.set_write_timeout(limit).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "reset-auth: {answer}");
}

fn run_as<D: Deployment>(config: &aws_types::SdkConfig, args: &[&str]) -> Run {
    crate::util::keep_progress_events_asking();
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
    let code = cli::run_against::<D>("test", argv, io, config.clone());
    Run {
        code,
        out: out.text(),
        err: err.text(),
    }
}

/// Plan, apply, apply again, plan and destroy of `D` as a user holding only the policy
/// `policy` prints for it.
fn runs_with_its_own_policy<D: Deployment>(port_offset: u16, prefix: &str, extra: &[&str]) {
    let env = environment(prefix);
    let mut args = vec!["policy", "--environment", &env];
    args.extend_from_slice(extra);
    let printed = run_as::<D>(&no_aws(), &args).ok();
    let policy: Json = serde_json::from_str(&printed.out).unwrap();
    let config = enforcing_emulator_as(target::emulator_port() + port_offset, &policy);
    let step = |cmd: &[&str]| {
        let mut a: Vec<&str> = cmd.to_vec();
        a.extend(["--environment", &env]);
        a.extend_from_slice(extra);
        let run = run_as::<D>(&config, &a);
        assert_eq!(
            run.code,
            ExitCode::SUCCESS,
            "`{}` as a user holding only the generated policy:\n{}",
            a.join(" "),
            run.err
        );
        run
    };
    step(&["plan"]);
    step(&["apply"]);
    let again = step(&["apply"]);
    assert_eq!(again.calls().0, 0, "{}", again.err);
    let plan = step(&["plan"]);
    assert!(plan.out.contains("No changes."), "{}", plan.out);
    step(&["destroy", "--yes"]);
}

#[test]
fn fargate_runs_as_a_user_holding_only_its_policy() {
    runs_with_its_own_policy::<Fargate>(40, "iamf", &[]);
}

#[test]
fn fargate_ec2_runs_as_a_user_holding_only_its_policy() {
    runs_with_its_own_policy::<FargateEc2>(41, "iame", &["--capacity-provider"]);
}

#[test]
fn shared_alb_with_blue_green_runs_as_a_user_holding_only_its_policy() {
    // Blue/green on the shared listener: the alternate groups, the rules and the roles ECS
    // shifts traffic with are made, and destroyed, under the policy too.
    runs_with_its_own_policy::<SharedAlb>(42, "iams", &["--blue-green"]);
}

/// Without a grant the policy makes, the run is refused: the enforcing emulator does check.
#[test]
fn a_call_the_policy_lacks_is_refused() {
    let env = environment("iamx");
    let printed = run_as::<Fargate>(&no_aws(), &["policy", "--environment", &env]).ok();
    let mut policy: Json = serde_json::from_str(&printed.out).unwrap();
    for s in policy["Statement"].as_array_mut().unwrap() {
        let kept: Vec<String> = list(&s["Action"])
            .into_iter()
            .filter(|a| *a != "ec2:DescribeVpcEndpoints")
            .map(str::to_owned)
            .collect();
        s["Action"] = Json::from(kept);
    }
    let config = enforcing_emulator_as(target::emulator_port() + 43, &policy);
    let run = run_as::<Fargate>(&config, &["plan", "--environment", &env]);
    assert_eq!(run.code, ExitCode::from(1), "{}", run.err);
    assert!(run.err.contains("DescribeVpcEndpoints"), "{}", run.err);
}
