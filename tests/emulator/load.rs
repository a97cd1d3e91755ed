//! A big stack under AWS's API rate limits: a hundred Fargate services in one stack apply and
//! destroy against the harness's throttling model, with no failure.

use std::time::Instant;

use converge::{Action, Aws, Module, Stack};
use ecs_modules::blog::Fargate;
use ecs_modules::cli::{Deployment, Settings};
use ecs_modules::harness::{Harness, Rates};

use crate::util::{aws_in, environment, leftovers, sdk_config_in};

/// Services in the stack.
const SERVICES: usize = 100;

/// Away from the region the other tests share an emulator in: their listings (load
/// balancers, target groups, task definitions) and call counts would page through this
/// test's hundreds of resources.
const REGION: &str = "eu-west-1";

/// AWS's buckets with their refill this many times as fast, so the test takes a minute, not
/// AWS's several: the bursts are AWS's, so a hundred services still overflow ECS's and ELB's
/// write buckets and are throttled.
const SCALE: f64 = 4.0;

/// The Fargate deployment's network, cluster, log group and role, and `SERVICES` services
/// on them, in one stack.
async fn fleet(aws: &Aws, env: &str) -> Stack {
    let deployment = Fargate::new(&Settings {
        environment: env.to_owned(),
        ..Settings::default()
    })
    .unwrap();
    let mut stack = Stack::new();
    let base = deployment.declare_base(aws, &mut stack).await.unwrap();
    for i in 1..=SERVICES {
        deployment
            .service_named(aws, &base, &format!("blog-{i}"))
            .unwrap()
            .declare(aws, &mut stack)
            .await
            .unwrap();
    }
    stack
}

/// An error and its causes, one a line.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(&format!("\n  caused by: {c}"));
        cause = c.source();
    }
    text
}

#[tokio::test]
async fn a_hundred_services_apply_and_destroy_under_aws_rate_limits() {
    let env = environment("load");
    let clean = aws_in(REGION).await;
    let harness = Harness::builder()
        .throttling_rates(Rates::aws().scaled(SCALE))
        .build();
    let throttled = Aws::from_sdk_config(&harness.wrap(&sdk_config_in(REGION).await));
    let stack = fleet(&throttled, &env).await;

    let start = Instant::now();
    let applied = stack
        .apply(&throttled)
        .await
        .unwrap_or_else(|e| panic!("apply: {}", causes(&e)));
    let apply_time = start.elapsed();
    let services = applied
        .plan()
        .changes
        .iter()
        .filter(|c| c.kind == "aws_ecs_service" && c.action == Action::Create)
        .count();
    assert_eq!(services, SERVICES);
    // The model was met: the executor's cap does not keep every call within the buckets.
    let apply_throttled = harness.throttled();
    assert!(apply_throttled > 0, "{:?}", harness.loads());
    // Every service is there, read past the first page.
    let mut listed = 0;
    let mut pages = clean
        .ecs()
        .list_services()
        .cluster(&env)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        listed += page.unwrap().service_arns().len();
    }
    assert_eq!(listed, SERVICES);

    harness.reset_loads();
    let start = Instant::now();
    stack
        .destroy(&throttled)
        .await
        .unwrap_or_else(|e| panic!("destroy: {}", causes(&e)));
    let destroy_time = start.elapsed();
    assert!(harness.throttled() > 0, "{:?}", harness.loads());
    assert_eq!(leftovers(&clean, &env).await, []);
    // The stack's own paged reads find nothing either.
    let left = stack.plan_destroy(&clean).await.unwrap();
    assert!(
        left.changes.iter().all(|c| c.action == Action::NoOp),
        "{left}"
    );
    eprintln!(
        "{SERVICES} services at AWS's rates x{SCALE}: apply {apply_time:.1?} ({apply_throttled} throttled), destroy {destroy_time:.1?} ({} throttled)",
        harness.throttled()
    );
}
