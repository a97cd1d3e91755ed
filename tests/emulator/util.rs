//! What the emulator tests share.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ec2::types::Filter;
use converge::{Aws, Wait};
use ecs_modules::target;

/// Clients for the emulator, started once per test binary. A test that cannot reach it
/// fails and says how to start it.
pub async fn aws() -> Aws {
    static STARTED: OnceLock<Result<String, String>> = OnceLock::new();
    let url = STARTED.get_or_init(|| target::start_emulator().map_err(|e| e.to_string()));
    match url {
        Ok(url) => target::emulator_clients(url).await,
        Err(err) => panic!("{err}"),
    }
}

/// A fresh environment name for one test run: `<prefix>-<base36 time>`.
pub fn environment(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut n = (nanos / 1000) % 36u128.pow(6);
    let mut suffix = String::new();
    for _ in 0..6 {
        suffix.insert(0, char::from_digit((n % 36) as u32, 36).unwrap());
        n /= 36;
    }
    format!("{prefix}-{suffix}")
}

/// Short waits: the emulator's NAT gateways are available at once.
pub fn fast_wait() -> Wait {
    Wait {
        timeout: std::time::Duration::from_secs(30),
        initial_delay: std::time::Duration::from_millis(50),
        max_delay: std::time::Duration::from_millis(500),
    }
}

/// EC2 filter on the `Environment` tag.
pub fn env_filter(environment: &str) -> Filter {
    Filter::builder()
        .name("tag:Environment")
        .values(environment)
        .build()
}

/// How many EC2 resources of each kind still carry the environment's tag (deleted NAT
/// gateways, which AWS keeps listing for an hour, excluded).
pub async fn tagged(aws: &Aws, environment: &str) -> Vec<(&'static str, usize)> {
    let ec2 = aws.ec2();
    let f = || env_filter(environment);
    let vpcs = ec2
        .describe_vpcs()
        .filters(f())
        .send()
        .await
        .unwrap()
        .vpcs()
        .len();
    let subnets = ec2
        .describe_subnets()
        .filters(f())
        .send()
        .await
        .unwrap()
        .subnets()
        .len();
    let igws = ec2
        .describe_internet_gateways()
        .filters(f())
        .send()
        .await
        .unwrap()
        .internet_gateways()
        .len();
    let rts = ec2
        .describe_route_tables()
        .filters(f())
        .send()
        .await
        .unwrap()
        .route_tables()
        .len();
    let eips = ec2
        .describe_addresses()
        .filters(f())
        .send()
        .await
        .unwrap()
        .addresses()
        .len();
    // The emulator ignores tag filters on NAT gateways: filter here too.
    let nats = ec2
        .describe_nat_gateways()
        .filter(f())
        .send()
        .await
        .unwrap()
        .nat_gateways()
        .iter()
        .filter(|n| {
            n.tags()
                .iter()
                .any(|t| t.key() == Some("Environment") && t.value() == Some(environment))
        })
        .filter(|n| n.state() != Some(&aws_sdk_ec2::types::NatGatewayState::Deleted))
        .count();
    vec![
        ("vpcs", vpcs),
        ("subnets", subnets),
        ("internet gateways", igws),
        ("route tables", rts),
        ("elastic ips", eips),
        ("nat gateways", nats),
    ]
}

/// Whether nothing carries the environment's tag any more.
pub async fn nothing_tagged(aws: &Aws, environment: &str) -> bool {
    tagged(aws, environment).await.iter().all(|(_, n)| *n == 0)
}
