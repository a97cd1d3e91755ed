//! Measures the VPC module against the local emulator: wall time and API calls of a first
//! apply, a no-op apply, a plan and a destroy. Run with `cargo bench --bench vpc`; set
//! `BENCH_ROUNDS` for more rounds (default 5).
//!
//! Timings against the emulator say how much the module's own work and call pattern cost, not
//! how long AWS takes (a real NAT gateway alone takes minutes).

use std::time::{Duration, Instant};

use converge::{Aws, CallReport, Wait};
use ecs_modules::target;
use ecs_modules::vpc::Vpc;

struct Step {
    name: &'static str,
    times: Vec<Duration>,
    calls: CallReport,
}

async fn measure<T, F: std::future::Future<Output = T>>(aws: &Aws, step: &mut Step, f: F) -> T {
    aws.calls().reset();
    let start = Instant::now();
    let out = f.await;
    step.times.push(start.elapsed());
    step.calls = aws.calls().report();
    out
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let aws = target::emulator().await.unwrap_or_else(|e| panic!("{e}"));
    let mut steps = [
        "apply (from nothing)",
        "apply (no changes)",
        "plan (no changes)",
        "destroy",
    ]
    .map(|name| Step {
        name,
        times: Vec::new(),
        calls: CallReport::default(),
    });
    for round in 0..rounds {
        let network = Vpc::builder()
            .environment(format!("bench-{}-{round}", std::process::id()))
            .wait(Wait {
                timeout: Duration::from_secs(30),
                initial_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(500),
            })
            .build()
            .expect("valid inputs");
        let [apply, noop, plan, destroy] = &mut steps;
        measure(&aws, apply, network.apply(&aws))
            .await
            .expect("apply");
        measure(&aws, noop, network.apply(&aws))
            .await
            .expect("no-op apply");
        measure(&aws, plan, network.plan(&aws)).await.expect("plan");
        measure(&aws, destroy, network.destroy(&aws))
            .await
            .expect("destroy");
    }
    println!("{rounds} rounds against the local emulator\n");
    println!(
        "{:<22} {:>10} {:>10} {:>7} {:>9} {:>6}",
        "step", "median", "max", "calls", "mutating", "reads"
    );
    for step in &mut steps {
        step.times.sort();
        let median = step.times[step.times.len() / 2];
        let max = step.times[step.times.len() - 1];
        println!(
            "{:<22} {:>10.1?} {:>10.1?} {:>7} {:>9} {:>6}",
            step.name, median, max, step.calls.total, step.calls.mutating, step.calls.reads
        );
    }
}
