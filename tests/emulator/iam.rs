//! The IAM policy comes from the code: every kind the examples use says what it calls, and
//! docs/iam-policy.json is the examples' generated policy.
//!
//! Not yet here: running the examples as a user holding only that policy against an
//! emulator that enforces IAM (moto with `INITIAL_NO_AUTH_ACTION_COUNT`): moto 5.2.5 refuses
//! every Route 53 call of such a user whatever its policy (even `route53:*`), and the VPC
//! module's private zone needs Route 53.

use ecs_modules::blog::{Fargate, FargateEc2, SharedAlb};
use ecs_modules::cli::{self, Settings};
use serde_json::Value as Json;

const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn settings(environment: &str, capacity_provider: bool) -> Settings {
    Settings {
        environment: environment.to_owned(),
        wait_steady: false,
        capacity_provider,
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
