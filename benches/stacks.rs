//! Measures the blog's two deployments against the local emulator: API calls and wall time of
//! apply, no-op apply, plan and destroy, without and with a fixed delay added to every call
//! (a stand-in for AWS's round trips); and how apply grows with the number of services on one
//! cluster. Prints Markdown tables. Run with `cargo bench --profile dev --bench stacks`;
//! `BENCH_DELAY_MS` sets the delay (default 50).
//!
//! Next to each delayed time: the lower bound the run's dependency chain allows (its longest
//! chain of calls, each begun after the one before ended, times the delay) and the time of the
//! same calls made one after another (all calls times the delay).
//!
//! Last, apply with AWS's provisioning times modelled by the harness (NAT gateway pending
//! about 90 s, load balancer provisioning about 150 s, both scaled by `BENCH_SCALE`, default
//! 1/10, as are the waits' polls), against three schedules: the NAT wait plus the call chain
//! (the goal), Terraform's (it waits for the load balancer, beside the NAT gateway), and
//! modules applied one after another (NAT wait, then the load balancer's). And destroy with
//! services draining and network interfaces released late, against the tasks' stop plus the
//! release (the goal) and the same with the 300 s deregistration delay on top (Terraform's).
//!
//! Then a hundred Fargate services in one stack under AWS's API rate limits (the harness's
//! token bucket per API family, at AWS's rates times `BENCH_THROTTLE_SCALE`, default 1):
//! wall time, calls and throttled answers of apply and destroy, against the least time the
//! buckets allow (for each family, the calls beyond a full bucket at its refill rate; the
//! longest of those). `BENCH_ONLY=throttling` runs only this part; `BENCH_THROTTLING=sdk`
//! runs it with the SDK's own settings (three attempts, every ready resource at once)
//! instead of the project's, and reports the failure it meets; `BENCH_THROTTLING=uncapped`
//! with the project's attempts but no limit per kind.

use std::time::{Duration, Instant};

use aws_types::SdkConfig;
use converge::{Aws, Module, Retry, Throttling, Wait};
use ecs_modules::blog::{Fargate, FargateEc2};
use ecs_modules::cli::{Deployment, Settings};
use ecs_modules::harness::{Harness, Load, Rates};
use ecs_modules::target;

/// One measured step.
struct Row {
    stack: String,
    step: &'static str,
    mutating: u64,
    reads: u64,
    wall: Duration,
    /// Longest chain of calls, when measured under delay.
    chain: usize,
}

fn settings(env: String) -> Settings {
    Settings {
        environment: env,
        ..Settings::default()
    }
}

async fn step<T>(
    harness: &Harness,
    aws: &Aws,
    stack: &str,
    name: &'static str,
    rows: &mut Vec<Row>,
    work: impl std::future::Future<Output = Result<T, converge::Error>>,
) -> T {
    aws.calls().reset();
    harness.reset_log();
    let start = Instant::now();
    let out = work.await.unwrap_or_else(|e| panic!("{stack} {name}: {e}"));
    let calls = aws.calls().report();
    rows.push(Row {
        stack: stack.to_owned(),
        step: name,
        mutating: calls.mutating,
        reads: calls.reads,
        wall: start.elapsed(),
        chain: harness.critical_path(),
    });
    out
}

/// Apply, no-op apply, plan and destroy of deployment `D` in a fresh environment.
async fn lifecycle<D: Deployment>(
    base: &SdkConfig,
    label: &str,
    delay: Duration,
    rows: &mut Vec<Row>,
) {
    let harness = Harness::builder().delay(delay).build();
    let aws = Aws::from_sdk_config(&harness.wrap(base));
    let env = format!("bench{}{}", std::process::id() % 10_000, rows.len());
    let stack = D::new(&settings(env)).expect("valid settings");
    step(&harness, &aws, label, "apply", rows, stack.apply(&aws)).await;
    step(
        &harness,
        &aws,
        label,
        "apply (no-op)",
        rows,
        stack.apply(&aws),
    )
    .await;
    step(
        &harness,
        &aws,
        label,
        "plan (no-op)",
        rows,
        stack.plan(&aws),
    )
    .await;
    step(&harness, &aws, label, "destroy", rows, stack.destroy(&aws)).await;
}

/// The Fargate deployment's shared modules and `n` Fargate services on them.
async fn fleet(base: &SdkConfig, n: usize, delay: Duration, rows: &mut Vec<Row>) {
    let harness = Harness::builder().delay(delay).build();
    let aws = Aws::from_sdk_config(&harness.wrap(base));
    let env = format!("fleet{}{n}", std::process::id() % 10_000);
    let stack = Fargate::new(&settings(env)).expect("valid settings");
    let label = format!("{n} services");
    // One stack: the shared modules and the n services.
    let mut declared = converge::Stack::new();
    let base = stack
        .declare_base(&aws, &mut declared)
        .await
        .expect("declared");
    for i in 1..=n {
        stack
            .service_named(&aws, &base, &format!("blog-{i}"))
            .expect("valid service")
            .declare(&aws, &mut declared)
            .await
            .expect("declared");
    }
    step(&harness, &aws, &label, "apply", rows, declared.apply(&aws)).await;
    step(
        &harness,
        &aws,
        &label,
        "destroy",
        rows,
        declared.destroy(&aws),
    )
    .await;
}

/// One step of the throttled fleet: its calls, wall time and what each family met.
struct Throttled {
    step: &'static str,
    calls: u64,
    wall: Duration,
    loads: Vec<Load>,
}

/// Apply and destroy of the Fargate deployment's shared modules and `n` services under AWS's
/// rate limits, refilled `scale` times as fast.
async fn throttled_fleet(
    base: &SdkConfig,
    n: usize,
    scale: f64,
    throttling: Throttling,
) -> Vec<Throttled> {
    let harness = Harness::builder()
        .throttling_rates(Rates::aws().scaled(scale))
        .build();
    let aws = Aws::builder()
        .sdk_config(&harness.wrap(base))
        .throttling(throttling)
        .build();
    let env = format!("load{}{n}", std::process::id() % 10_000);
    let stack = Fargate::new(&settings(env)).expect("valid settings");
    let mut declared = converge::Stack::new();
    let shared = stack
        .declare_base(&aws, &mut declared)
        .await
        .expect("declared");
    for i in 1..=n {
        stack
            .service_named(&aws, &shared, &format!("blog-{i}"))
            .expect("valid service")
            .declare(&aws, &mut declared)
            .await
            .expect("declared");
    }
    let mut out = Vec::new();
    for step in ["apply", "destroy"] {
        aws.calls().reset();
        harness.reset_loads();
        let start = Instant::now();
        let result = match step {
            "apply" => declared.apply(&aws).await.map(|_| ()),
            _ => declared.destroy(&aws).await.map(|_| ()),
        };
        if let Err(e) = result {
            println!(
                "\n{n} services {step} failed after {:.1} s: {e}",
                start.elapsed().as_secs_f64()
            );
            // Cleaned up with the project's settings.
            let patient = Aws::from_sdk_config(&harness.wrap(base));
            declared.destroy(&patient).await.expect("cleaned up");
            return out;
        }
        let calls = aws.calls().report();
        out.push(Throttled {
            step,
            calls: calls.mutating + calls.reads,
            wall: start.elapsed(),
            loads: harness.loads(),
        });
    }
    out
}

fn print_throttled(n: usize, scale: f64, steps: &[Throttled]) {
    let rates = if scale == 1.0 {
        "AWS's rates".to_owned()
    } else {
        format!("AWS's rates refilled {scale} times as fast")
    };
    println!("\n### {n} Fargate services under {rates}\n");
    println!("| step | calls | throttled | wall | bound (slowest family) | wall / bound |");
    println!("|---|---:|---:|---:|---:|---:|");
    for s in steps {
        let slowest = s.loads.iter().max_by_key(|l| l.bound());
        let bound = slowest.map_or(Duration::ZERO, Load::bound);
        println!(
            "| {} | {} | {} | {:.1} s | {:.1} s ({}) | {:.2} |",
            s.step,
            s.calls,
            s.loads.iter().map(|l| l.throttled).sum::<usize>(),
            s.wall.as_secs_f64(),
            bound.as_secs_f64(),
            slowest.map_or("none", |l| l.family),
            s.wall.as_secs_f64() / bound.as_secs_f64().max(f64::EPSILON),
        );
    }
    println!("\n| step | family | bucket | refill / s | calls let through | throttled | bound |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for s in steps {
        for l in &s.loads {
            println!(
                "| {} | {} | {} | {} | {} | {} | {:.1} s |",
                s.step,
                l.family,
                l.rate.bucket,
                l.rate.refill,
                l.calls,
                l.throttled,
                l.bound().as_secs_f64(),
            );
        }
    }
}

/// AWS's provisioning times, scaled.
struct Scaled {
    nat: Duration,
    lb: Duration,
    /// The scale itself, for the deregistration delay.
    factor: f64,
    /// A service's tasks stopping.
    task_stop: Duration,
    /// Network interfaces released after their load balancer, tasks or NAT gateway went.
    release: Duration,
    /// A fresh EC2 id unknown to the next call; an instance profile, a listener's target
    /// group or a capacity provider not yet usable elsewhere.
    propagation: Duration,
    /// The waits' pacing, scaled like the provisioning times.
    wait: Wait,
    /// The retries' pacing, the same.
    retry: Retry,
}

/// Apply and destroy of deployment `D` under modelled provisioning, draining and interface
/// release; `chain` is the same apply's longest call chain without them.
async fn provisioned<D: Deployment>(
    base: &SdkConfig,
    label: &str,
    delay: Duration,
    scaled: &Scaled,
    make: impl Fn(D) -> D,
) -> (Row, Row) {
    let harness = Harness::builder()
        .delay(delay)
        .provisioning(scaled.nat, scaled.lb)
        .draining(scaled.factor, scaled.task_stop)
        .releasing(scaled.release)
        .fresh_ids(scaled.propagation)
        .propagation(scaled.propagation)
        .account_has_used_ecs()
        .build();
    let aws = Aws::builder()
        .sdk_config(&harness.wrap(base))
        .retry(scaled.retry)
        .build();
    let env = format!("prov{}{label}", std::process::id() % 10_000).replace('_', "");
    let stack = make(D::new(&settings(env)).expect("valid settings"));
    let mut rows = Vec::new();
    step(&harness, &aws, label, "apply", &mut rows, stack.apply(&aws)).await;
    step(
        &harness,
        &aws,
        label,
        "destroy",
        &mut rows,
        stack.destroy(&aws),
    )
    .await;
    let destroy = rows.pop().expect("destroy measured");
    (rows.pop().expect("apply measured"), destroy)
}

fn print_teardown(rows: &[Row], scaled: &Scaled) {
    let drain = Duration::from_secs(300).mul_f64(scaled.factor);
    println!(
        "\n### Destroy with tasks stopping in {:.1} s and interfaces released {:.1} s after their load balancer, tasks or NAT gateway\n",
        scaled.task_stop.as_secs_f64(),
        scaled.release.as_secs_f64()
    );
    println!("| stack | calls | wall | stop + release (goal) | with the 300 s drain (Terraform) | wall / goal |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let goal = scaled.task_stop + scaled.release;
        println!(
            "| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} |",
            r.stack,
            r.mutating + r.reads,
            r.wall.as_secs_f64(),
            goal.as_secs_f64(),
            (goal + drain).as_secs_f64(),
            r.wall.as_secs_f64() / goal.as_secs_f64(),
        );
    }
}

fn print_provisioned(rows: &[(Row, usize)], delay: Duration, scaled: &Scaled) {
    println!(
        "\n### Apply with NAT pending {:.1} s and load balancer provisioning {:.1} s, {} ms per call\n",
        scaled.nat.as_secs_f64(),
        scaled.lb.as_secs_f64(),
        delay.as_millis()
    );
    println!("| stack | calls | wall | NAT + chain (goal) | Terraform's schedule | modules one after another | wall / goal | calls × delay / wall |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (r, chain) in rows {
        let calls = r.mutating + r.reads;
        let chain = delay * *chain as u32;
        let goal = scaled.nat + chain;
        let terraform = scaled.nat.max(scaled.lb) + chain;
        let serial = scaled.nat + scaled.lb + chain;
        println!(
            "| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} | {:.2} |",
            r.stack,
            calls,
            r.wall.as_secs_f64(),
            goal.as_secs_f64(),
            terraform.as_secs_f64(),
            serial.as_secs_f64(),
            r.wall.as_secs_f64() / goal.as_secs_f64(),
            (delay * calls as u32).as_secs_f64() / r.wall.as_secs_f64(),
        );
    }
}

fn print(title: &str, rows: &[Row], delay: Option<Duration>) {
    println!("\n### {title}\n");
    match delay {
        None => {
            println!("| stack | step | mutating | reads | wall |");
            println!("|---|---|---:|---:|---:|");
            for r in rows {
                println!(
                    "| {} | {} | {} | {} | {:.0} ms |",
                    r.stack,
                    r.step,
                    r.mutating,
                    r.reads,
                    r.wall.as_secs_f64() * 1000.0
                );
            }
        }
        Some(d) => {
            println!("| stack | step | calls | wall | longest chain | lower bound | one after another | wall / bound |");
            println!("|---|---|---:|---:|---:|---:|---:|---:|");
            for r in rows {
                let calls = r.mutating + r.reads;
                let bound = d * r.chain as u32;
                let serial = d * calls as u32;
                println!(
                    "| {} | {} | {} | {:.2} s | {} | {:.2} s | {:.2} s | {:.2} |",
                    r.stack,
                    r.step,
                    calls,
                    r.wall.as_secs_f64(),
                    r.chain,
                    bound.as_secs_f64(),
                    serial.as_secs_f64(),
                    r.wall.as_secs_f64() / bound.as_secs_f64().max(f64::EPSILON)
                );
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let delay = Duration::from_millis(
        std::env::var("BENCH_DELAY_MS")
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(50),
    );
    let url = target::start_emulator().unwrap_or_else(|e| panic!("{e}"));
    let base = target::emulator_config(&url, None).await;
    let throttle_scale: f64 = std::env::var("BENCH_THROTTLE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let throttling = match std::env::var("BENCH_THROTTLING").as_deref() {
        Ok("sdk") => Throttling::sdk_default(),
        Ok("uncapped") => Throttling {
            per_kind: None,
            ..Throttling::default()
        },
        _ => Throttling::default(),
    };
    if std::env::var("BENCH_ONLY").as_deref() == Ok("throttling") {
        let steps = throttled_fleet(&base, 100, throttle_scale, throttling).await;
        print_throttled(100, throttle_scale, &steps);
        return;
    }

    let mut plain = Vec::new();
    lifecycle::<Fargate>(&base, "fargate", Duration::ZERO, &mut plain).await;
    lifecycle::<FargateEc2>(&base, "fargate_ec2", Duration::ZERO, &mut plain).await;
    print("Against the emulator", &plain, None);

    let mut delayed = Vec::new();
    lifecycle::<Fargate>(&base, "fargate", delay, &mut delayed).await;
    lifecycle::<FargateEc2>(&base, "fargate_ec2", delay, &mut delayed).await;
    print(
        &format!("With {} ms added to every call", delay.as_millis()),
        &delayed,
        Some(delay),
    );

    let factor: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.1);
    let scaled = Scaled {
        nat: Duration::from_secs(90).mul_f64(factor),
        lb: Duration::from_secs(150).mul_f64(factor),
        factor,
        task_stop: Duration::from_secs(30).mul_f64(factor),
        release: Duration::from_secs(60).mul_f64(factor),
        propagation: Duration::from_secs(10).mul_f64(factor),
        retry: Retry {
            max_elapsed: Duration::from_secs(120),
            initial_delay: Duration::from_millis(500).mul_f64(factor),
            max_delay: Duration::from_secs(10).mul_f64(factor),
        },
        wait: Wait {
            timeout: Duration::from_secs(600),
            initial_delay: Duration::from_secs(1).mul_f64(factor),
            max_delay: Duration::from_secs(15).mul_f64(factor),
        },
    };
    // Each stack's longest chain without provisioning, from the delayed runs above.
    let chain_of = |stack: &str| {
        delayed
            .iter()
            .find(|r| r.stack == stack && r.step == "apply")
            .map_or(0, |r| r.chain)
    };
    let wait = scaled.wait;
    let (fargate, fargate_down) = provisioned::<Fargate>(&base, "fargate", delay, &scaled, |d| {
        d.with_wait(wait).expect("valid wait")
    })
    .await;
    let (fargate_ec2, fargate_ec2_down) =
        provisioned::<FargateEc2>(&base, "fargate_ec2", delay, &scaled, |d| {
            d.with_wait(wait).expect("valid wait")
        })
        .await;
    print_provisioned(
        &[
            (fargate, chain_of("fargate")),
            (fargate_ec2, chain_of("fargate_ec2")),
        ],
        delay,
        &scaled,
    );
    print_teardown(&[fargate_down, fargate_ec2_down], &scaled);

    let mut scale = Vec::new();
    for n in [1, 5, 20] {
        fleet(&base, n, delay, &mut scale).await;
    }
    print(
        &format!(
            "N Fargate services on one cluster, {} ms per call",
            delay.as_millis()
        ),
        &scale,
        Some(delay),
    );

    let steps = throttled_fleet(&base, 100, throttle_scale, throttling).await;
    print_throttled(100, throttle_scale, &steps);
}
