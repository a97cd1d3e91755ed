//! The three examples' main flows through the shared command line, in process: apply with
//! `--json`, apply again, plan, output, destroy, two environments at once, and bad usage.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use ecs_modules::blog::{Fargate, FargateEc2, SharedAlb};
use ecs_modules::cli::{self, Deployment, Io};
use serde_json::Value;

use crate::util::{aws, described_service, environment, leftovers};

/// A captured stream.
#[derive(Clone, Default)]
pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a run printed and how it ended.
pub(crate) struct Run {
    pub code: ExitCode,
    pub out: String,
    pub err: String,
}

impl Run {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.out)
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{}", self.out))
    }

    /// The summary's `(mutating, reads)`.
    pub(crate) fn calls(&self) -> (u64, u64) {
        let line = self
            .err
            .lines()
            .find(|l| l.starts_with("API calls: "))
            .unwrap_or_else(|| panic!("no API call summary in:\n{}", self.err));
        let numbers: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        (numbers[1], numbers[2])
    }

    pub(crate) fn ok(self) -> Self {
        assert_eq!(self.code, ExitCode::SUCCESS, "stderr:\n{}", self.err);
        self
    }
}

/// Runs the command line of deployment `D` with `args`, against the emulator unless the
/// args say otherwise; `answer` is what a person at a terminal would answer.
fn run_with<D: Deployment>(args: &[&str], answer: Option<bool>) -> Run {
    crate::util::keep_progress_events_asking();
    let out = Buffer::default();
    let err = Buffer::default();
    let io = Io {
        out: Box::new(out.clone()),
        err: Arc::new(Mutex::new(err.clone())),
        err_is_terminal: false,
        confirm: answer.map(|yes| Box::new(move |_: &str| yes) as cli::Confirm),
    };
    let mut argv = vec!["example"];
    if !args.contains(&"--target") {
        argv.extend(["--target", "local"]);
    }
    argv.extend_from_slice(args);
    let code = cli::run::<D>("test", argv, io);
    Run {
        code,
        out: out.text(),
        err: err.text(),
    }
}

fn run<D: Deployment>(args: &[&str]) -> Run {
    run_with::<D>(args, None)
}

fn left(env: &str) -> Vec<(&'static str, usize)> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { leftovers(&aws().await, env).await })
}

fn assert_ids(value: &Value, field: &str, prefix: &str) {
    let s = value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {value}"));
    assert!(s.starts_with(prefix), "{field} = {s}");
}

fn assert_id_list(value: &Value, field: &str, prefix: &str, n: usize) {
    let list = value[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} missing in {value}"));
    assert_eq!(list.len(), n, "{field}");
    for id in list {
        assert!(id.as_str().unwrap().starts_with(prefix), "{field}: {id}");
    }
}

/// Every output of the Fargate deployment present and well formed.
fn check_fargate_outputs(json: &Value, env: &str) {
    let vpc = &json["vpc"];
    assert_ids(vpc, "vpc_id", "vpc-");
    assert_eq!(vpc["vpc_cidr"], "10.0.0.0/16");
    assert_id_list(vpc, "public_subnets", "subnet-", 3);
    assert_id_list(vpc, "private_subnets", "subnet-", 3);
    assert_id_list(vpc, "nat_gateway_ids", "nat-", 1);
    assert_ids(vpc, "internet_gateway_id", "igw-");
    assert_eq!(json["cluster"]["cluster_name"], env);
    assert_ids(&json["cluster"], "cluster_arn", "arn:aws:ecs:");
    assert_eq!(json["log_group"]["log_group_name"], format!("/ecs/{env}"));
    assert_ids(&json["execution_role"], "role_arn", "arn:aws:iam::");
    let service = &json["service"];
    assert_eq!(service["service_name"], "blog");
    for (field, prefix) in [
        ("service_arn", "arn:aws:ecs:"),
        ("task_definition_arn", "arn:aws:ecs:"),
        ("lb_arn", "arn:aws:elasticloadbalancing:"),
        ("lb_target_group_arn", "arn:aws:elasticloadbalancing:"),
        ("lb_listener_arn", "arn:aws:elasticloadbalancing:"),
        ("lb_security_group_id", "sg-"),
        ("task_security_group_id", "sg-"),
    ] {
        assert_ids(service, field, prefix);
    }
    let url = json["blog_url"].as_str().unwrap();
    assert!(url.starts_with("http://") && url.contains(".elb."), "{url}");
    assert_eq!(Some(url), service["service_url"].as_str());
}

#[test]
fn fargate_apply_again_plan_output_and_destroy() {
    let env = environment("e2e");
    let first = run::<Fargate>(&["apply", "--json", "--environment", &env]).ok();
    let outputs = first.json();
    check_fargate_outputs(&outputs, &env);
    assert!(
        first
            .err
            .contains("Apply complete! Resources: 24 added, 0 changed, 0 destroyed."),
        "{}",
        first.err
    );

    // Apply is the default command; a second one changes nothing.
    let again = run::<Fargate>(&["--json", "--environment", &env]).ok();
    assert_eq!(again.json(), outputs);
    assert_eq!(again.calls().0, 0, "{}", again.err);
    assert!(again
        .err
        .contains("Resources: 0 added, 0 changed, 0 destroyed."));

    let plan = run::<Fargate>(&["plan", "--environment", &env]).ok();
    assert!(plan.out.contains("No changes."), "{}", plan.out);
    let plan = run::<Fargate>(&["plan", "--json", "--environment", &env]).ok();
    let changes = plan.json()["changes"].as_array().unwrap().clone();
    assert_eq!(changes.len(), 24);
    assert!(
        changes.iter().all(|c| c["action"] == "no_op"),
        "{changes:?}"
    );

    let output = run::<Fargate>(&["output", "--json", "--environment", &env]).ok();
    assert_eq!(output.json(), outputs);
    assert_eq!(output.calls().0, 0);
    let human = run::<Fargate>(&["output", "--environment", &env]).ok();
    assert!(human.out.contains(&format!(
        "blog_url: {}",
        outputs["blog_url"].as_str().unwrap()
    )));

    let destroyed = run::<Fargate>(&["destroy", "--yes", "--environment", &env]).ok();
    assert!(
        destroyed
            .err
            .contains("Destroy complete! Resources: 24 destroyed."),
        "{}",
        destroyed.err
    );
    assert_eq!(left(&env), []);
    // Nothing left to show.
    let gone = run::<Fargate>(&["output", "--environment", &env]);
    assert_eq!(gone.code, ExitCode::from(1));
    assert!(gone.err.contains("24 to add"), "{}", gone.err);
}

#[test]
fn fargate_ec2_apply_again_plan_and_destroy() {
    let env = environment("mix");
    let first = run::<FargateEc2>(&["--json", "--environment", &env]).ok();
    let outputs = first.json();
    check_fargate_outputs(&outputs, &env);
    let instances = &outputs["instances"];
    assert_eq!(instances["asg_name"], format!("{env}-ecs-asg"));
    assert_ids(instances, "launch_template_id", "lt-");
    assert_ids(instances, "security_group_id", "sg-");
    assert_ids(instances, "instance_profile_arn", "arn:aws:iam::");
    let ec2 = &outputs["service_ec2"];
    assert_eq!(ec2["service_name"], "blog-ec2");
    let url = outputs["blog_ec2_url"].as_str().unwrap();
    assert!(url.starts_with("http://"), "{url}");
    assert_ne!(url, outputs["blog_url"].as_str().unwrap());
    assert!(first.err.contains("Resources: 36 added"), "{}", first.err);

    // The EC2 service really has launch type EC2, in the same cluster.
    let launch_type = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let service = described_service(&aws().await, &env, "blog-ec2").await;
        service.launch_type().map(|l| l.as_str().to_owned())
    });
    assert_eq!(launch_type.as_deref(), Some("EC2"));

    let again = run::<FargateEc2>(&["--environment", &env]).ok();
    assert_eq!(again.calls().0, 0, "{}", again.err);
    assert!(
        again.out.contains(&format!("blog_ec2_url: {url}")),
        "{}",
        again.out
    );
    let plan = run::<FargateEc2>(&["plan", "--environment", &env]).ok();
    assert!(plan.out.contains("No changes."), "{}", plan.out);

    let destroyed = run::<FargateEc2>(&["destroy", "--yes", "--environment", &env]).ok();
    assert!(
        destroyed.err.contains("Resources: 36 destroyed."),
        "{}",
        destroyed.err
    );
    assert_eq!(left(&env), []);
}

/// `--capacity-provider` puts the instances' provider in the plan and the EC2 service on it.
#[test]
fn fargate_ec2_plans_its_capacity_provider_with_the_flag_only() {
    let env = environment("mix-cp");
    let plain = run::<FargateEc2>(&["plan", "--json", "--environment", &env]).ok();
    let on = run::<FargateEc2>(&[
        "plan",
        "--json",
        "--capacity-provider",
        "--environment",
        &env,
    ])
    .ok();
    let provider = format!("{env}-ecs-instances:1");
    assert!(
        !plain.out.contains("aws_ecs_capacity_provider"),
        "{}",
        plain.out
    );
    for want in [
        "aws_ecs_capacity_provider",
        "aws_ecs_cluster_capacity_providers",
        &provider,
    ] {
        assert!(on.out.contains(want), "{want}: {}", on.out);
    }
    assert_eq!(on.calls().0, 0, "{}", on.err);
}

#[test]
fn two_environments_side_by_side() {
    let (a, b) = (environment("twa"), environment("twb"));
    let (run_a, run_b) = std::thread::scope(|s| {
        let a = s.spawn(|| run::<Fargate>(&["--json", "--environment", &a]));
        let b = s.spawn(|| run::<Fargate>(&["--json", "--environment", &b]));
        (a.join().unwrap().ok(), b.join().unwrap().ok())
    });
    let (out_a, out_b) = (run_a.json(), run_b.json());
    assert_ne!(out_a["vpc"]["vpc_id"], out_b["vpc"]["vpc_id"]);
    assert_ne!(out_a["blog_url"], out_b["blog_url"]);

    // Destroying one leaves the other as it was.
    run::<Fargate>(&["destroy", "--yes", "--environment", &a]).ok();
    assert_eq!(left(&a), []);
    let plan = run::<Fargate>(&["plan", "--environment", &b]).ok();
    assert!(plan.out.contains("No changes."), "{}", plan.out);
    run::<Fargate>(&["destroy", "--yes", "--environment", &b]).ok();
    assert_eq!(left(&b), []);
}

#[test]
fn destroy_asks_and_a_no_keeps_everything() {
    let env = environment("ask");
    run::<Fargate>(&["--environment", &env]).ok();
    let refused = run_with::<Fargate>(&["destroy", "--environment", &env], Some(false));
    assert_eq!(refused.code, ExitCode::from(2));
    assert!(refused.err.contains("destroy cancelled"), "{}", refused.err);
    let plan = run::<Fargate>(&["plan", "--environment", &env]).ok();
    assert!(plan.out.contains("No changes."));
    run_with::<Fargate>(&["destroy", "--environment", &env], Some(true)).ok();
    assert_eq!(left(&env), []);
}

#[test]
fn bad_usage_exits_2_before_any_call() {
    for (args, says) in [
        (&["--bogus"][..], "--bogus"),
        (&["deploy"][..], "deploy"),
        (&["--target", "mars"][..], "unknown target"),
        (&["--environment", "Bad Env!"][..], "environment"),
        (&["plan", "--environment", ""][..], "environment"),
        (&["--environment", &"x".repeat(40)][..], "environment"),
        (&["--region", "moon-1"][..], "--region"),
        (&["destroy"][..], "--yes"),
    ] {
        let run = run::<Fargate>(args);
        assert_eq!(run.code, ExitCode::from(2), "{args:?}: {}", run.err);
        assert!(run.err.contains(says), "{args:?}: {}", run.err);
        // Refused before connecting: no target line, no call summary, nothing on stdout.
        assert!(!run.err.contains("Target:"), "{args:?}: {}", run.err);
        assert!(run.out.is_empty(), "{args:?}: {}", run.out);
    }
    let help = run::<FargateEc2>(&["--help"]);
    assert_eq!(help.code, ExitCode::SUCCESS);
    assert!(help.out.contains("destroy"), "{}", help.out);
}

#[test]
fn shared_alb_apply_again_and_destroy() {
    let env = environment("e2e-alb");
    let first = run::<SharedAlb>(&["apply", "--json", "--environment", &env]).ok();
    let outputs = first.json();
    assert!(
        first
            .err
            .contains("Apply complete! Resources: 30 added, 0 changed, 0 destroyed."),
        "{}",
        first.err
    );
    // Both services on the one load balancer: its URL, and `/api/` on it.
    let lb = &outputs["load_balancer"];
    let url = lb["url"].as_str().unwrap();
    assert!(url.starts_with("http://") && url.contains(".elb."), "{url}");
    assert_eq!(outputs["web_url"].as_str(), Some(url));
    assert_eq!(outputs["api_url"], format!("{url}/api/"));
    for service in ["web", "api"] {
        let out = &outputs[service];
        assert_eq!(out["lb_arn"], lb["lb_arn"], "{service}");
        assert_eq!(out["lb_listener_arn"], lb["listener_arn"], "{service}");
        assert_ids(out, "lb_listener_rule_arn", "arn:aws:elasticloadbalancing:");
    }
    assert_ne!(
        outputs["web"]["lb_target_group_arn"],
        outputs["api"]["lb_target_group_arn"]
    );
    let human = run::<SharedAlb>(&["output", "--environment", &env]).ok();
    assert!(
        human.out.contains(&format!("api_url: {url}/api/")),
        "{}",
        human.out
    );

    let again = run::<SharedAlb>(&["--environment", &env]).ok();
    assert_eq!(again.calls().0, 0, "{}", again.err);

    // One stack: its own rules do not hold its listener back.
    let destroyed = run::<SharedAlb>(&["destroy", "--yes", "--environment", &env]).ok();
    assert!(
        destroyed
            .err
            .contains("Destroy complete! Resources: 30 destroyed."),
        "{}",
        destroyed.err
    );
    assert_eq!(left(&env), []);
}

/// `plan --detailed-exitcode`, as Terraform's: 2 with changes, 0 without, 1 on any error,
/// invalid input included (which is 2 without the flag).
#[test]
fn a_detailed_plan_exits_2_with_changes_0_without_and_1_on_error() {
    let env = environment("dex");
    let fresh = run::<Fargate>(&["plan", "--detailed-exitcode", "--environment", &env]);
    assert_eq!(fresh.code, ExitCode::from(2), "{}", fresh.err);
    assert!(fresh.out.contains("Plan: 24 to add"), "{}", fresh.out);

    run::<Fargate>(&["apply", "--environment", &env]).ok();
    let converged = run::<Fargate>(&["plan", "--detailed-exitcode", "--environment", &env]);
    assert_eq!(converged.code, ExitCode::SUCCESS, "{}", converged.err);
    assert!(converged.out.contains("No changes."), "{}", converged.out);

    for args in [
        &["plan", "--detailed-exitcode", "--environment", "Bad Env!"][..],
        &["plan", "--detailed-exitcode", "--bogus"][..],
    ] {
        let failed = run::<Fargate>(args);
        assert_eq!(failed.code, ExitCode::from(1), "{args:?}: {}", failed.err);
    }

    run::<Fargate>(&["destroy", "--yes", "--environment", &env]).ok();
    assert_eq!(left(&env), []);
}

/// `plan --out FILE` then `apply FILE`: what was shown is what is done. A file made with
/// other settings is refused before any call; a plan AWS no longer agrees with (applied
/// already, or drift since) is refused before any write, naming what moved.
#[test]
fn a_saved_plan_is_applied_exactly_or_refused_when_stale() {
    let env = environment("sav");
    let path = |name: &str| {
        std::env::temp_dir()
            .join(format!("{env}-{name}.json"))
            .to_string_lossy()
            .into_owned()
    };
    let fresh = path("fresh");
    let plan = run::<Fargate>(&["plan", "--out", &fresh, "--environment", &env]).ok();
    assert!(plan.out.contains("Plan: 24 to add"), "{}", plan.out);
    assert!(plan.err.contains("Saved the plan"), "{}", plan.err);

    let other = run::<Fargate>(&["apply", &fresh, "--environment", "other"]);
    assert_eq!(other.code, ExitCode::from(2), "{}", other.err);
    assert!(
        other
            .err
            .contains(&format!("--environment {env}, this run has other")),
        "{}",
        other.err
    );
    assert!(!other.err.contains("Target:"), "{}", other.err);

    let applied = run::<Fargate>(&["apply", &fresh, "--environment", &env]).ok();
    assert!(
        applied
            .err
            .contains("Apply complete! Resources: 24 added, 0 changed, 0 destroyed."),
        "{}",
        applied.err
    );
    // The same file again: everything it would make exists now.
    let again = run::<Fargate>(&["apply", &fresh, "--environment", &env]);
    assert_eq!(again.code, ExitCode::from(1), "{}", again.err);
    assert!(
        again.err.contains("the saved plan is out of date"),
        "{}",
        again.err
    );

    // Drift between plan and apply: the log group goes behind the plan's back.
    let quiet = path("quiet");
    let plan = run::<Fargate>(&["plan", "--json", "--out", &quiet, "--environment", &env]).ok();
    let changes = plan.json()["changes"].as_array().unwrap().clone();
    assert!(
        changes.iter().all(|c| c["action"] == "no_op"),
        "{changes:?}"
    );
    let group = changes
        .iter()
        .find(|c| c["kind"] == "aws_cloudwatch_log_group")
        .and_then(|c| c["name"].as_str())
        .unwrap()
        .to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let groups = |aws: &converge::Aws| {
        let aws = aws.clone();
        let group = group.clone();
        async move {
            aws.logs()
                .describe_log_groups()
                .log_group_name_prefix(&group)
                .send()
                .await
                .unwrap()
                .log_groups()
                .iter()
                .filter(|g| g.log_group_name() == Some(group.as_str()))
                .count()
        }
    };
    rt.block_on(async {
        let aws = aws().await;
        assert_eq!(groups(&aws).await, 1, "no log group {group}");
        aws.logs()
            .delete_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
    });
    let stale = run::<Fargate>(&["apply", &quiet, "--environment", &env]);
    assert_eq!(stale.code, ExitCode::from(1), "{}", stale.err);
    assert!(
        stale.err.contains(&format!(
            "aws_cloudwatch_log_group \"{group}\": planned no change, now + "
        )),
        "{}",
        stale.err
    );
    // Refused before any write: the log group is still gone.
    rt.block_on(async { assert_eq!(groups(&aws().await).await, 0) });

    let repair = path("repair");
    run::<Fargate>(&["plan", "--out", &repair, "--environment", &env]).ok();
    let repaired = run::<Fargate>(&["apply", &repair, "--environment", &env]).ok();
    assert!(
        repaired.err.contains("Resources: 1 added"),
        "{}",
        repaired.err
    );
    run::<Fargate>(&["destroy", "--yes", "--environment", &env]).ok();
    assert_eq!(left(&env), []);
    for file in [fresh, quiet, repair] {
        std::fs::remove_file(file).unwrap();
    }
}
