//! Two copies of one resource, as two runs without the lock leave them: the plan says which
//! copy is kept and which goes, the kept ones fit together, and apply leaves one of each.

use std::time::Duration;

use converge::{Action, Aws};
use ecs_modules::harness::Harness;
use ecs_modules::vpc::Vpc;

use crate::util::{aws, environment, fast_wait, sdk_config, tagged};

async fn subnets_of(aws: &Aws, env: &str) -> Vec<(String, String)> {
    aws.ec2()
        .describe_subnets()
        .filters(crate::util::env_filter(env))
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .map(|s| {
            (
                s.subnet_id().unwrap_or_default().to_owned(),
                s.vpc_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn two_unlocked_runs_leave_copies_that_the_next_apply_settles_consistently() {
    let clean = aws().await;
    let env = environment("dup");
    let vpc = Vpc::builder()
        .environment(&env)
        .wait(fast_wait())
        .build()
        .unwrap();
    // Two library applies at once, each with its own clients, slowed so that both read
    // before either writes (what the command line's lease prevents).
    let slow = || {
        let harness = Harness::builder().delay(Duration::from_millis(30)).build();
        async move { Aws::from_sdk_config(&harness.wrap(&sdk_config().await)) }
    };
    let (a, b) = (slow().await, slow().await);
    let (first, second) = tokio::join!(vpc.apply(&a), vpc.apply(&b));
    first.unwrap();
    second.unwrap();
    let counts: std::collections::BTreeMap<_, _> = tagged(&clean, &env).await.into_iter().collect();
    assert_eq!(counts["vpcs"], 2, "both runs made one: {counts:?}");

    let plan = vpc.plan(&clean).await.unwrap();
    let copies: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .collect();
    assert!(!copies.is_empty(), "{plan}");
    for c in &copies {
        assert!(
            c.kept.iter().any(|k| k.contains("a second copy")),
            "each delete says which copy is kept: {plan}"
        );
    }
    assert!(
        plan.to_string().contains("a second copy"),
        "the printed plan says it too:\n{plan}"
    );
    let (add, _, _) = plan.summary();
    assert_eq!(
        add, 0,
        "nothing is made: a copy of everything exists\n{plan}"
    );

    let out = vpc.apply(&clean).await.unwrap();
    let counts: std::collections::BTreeMap<_, _> = tagged(&clean, &env).await.into_iter().collect();
    assert_eq!(counts["vpcs"], 1, "{counts:?}");
    // The kept subnets are the kept VPC's, and every other copy is gone.
    let subnets = subnets_of(&clean, &env).await;
    assert_eq!(
        subnets.len(),
        out.public_subnets.len() + out.private_subnets.len()
    );
    assert!(subnets.iter().all(|(_, v)| *v == out.vpc_id), "{subnets:?}");
    let nat_subnets: Vec<String> = clean
        .ec2()
        .describe_nat_gateways()
        .filter(crate::util::env_filter(&env))
        .send()
        .await
        .unwrap()
        .nat_gateways()
        .iter()
        // The emulator ignores tag filters on NAT gateways.
        .filter(|n| {
            n.tags()
                .iter()
                .any(|t| t.key() == Some("Environment") && t.value() == Some(env.as_str()))
        })
        .filter(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
        .map(|n| n.subnet_id().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(nat_subnets.len(), out.nat_gateway_ids.len());
    assert!(
        nat_subnets.iter().all(|s| out.public_subnets.contains(s)),
        "the NAT gateways kept are in the kept subnets"
    );
    let plan = vpc.plan(&clean).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    vpc.destroy(&clean).await.unwrap();
    assert!(crate::util::nothing_tagged(&clean, &env).await);
}
