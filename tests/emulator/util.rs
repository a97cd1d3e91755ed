//! What the emulator tests share.

use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ec2::types::Filter;
use converge::{Aws, Wait};
use ecs_modules::target;

/// The SDK configuration for this test's emulator, for clients `Aws` does not bundle.
pub async fn sdk_config() -> aws_types::SdkConfig {
    target::emulator_config(&this_tests_emulator(), None).await
}

/// The SDK configuration for this test's emulator in `region`: a test whose stack is big
/// keeps it out of the region the others read, so their listings and call counts do not page
/// through it.
pub async fn sdk_config_in(region: &str) -> aws_types::SdkConfig {
    target::emulator_config(&this_tests_emulator(), Some(region)).await
}

/// [`aws`] in `region`.
pub async fn aws_in(region: &str) -> Aws {
    keep_progress_events_asking();
    target::emulator_clients_in(&this_tests_emulator(), Some(region)).await
}

/// The service `name` of cluster `cluster` as ECS describes it.
pub async fn described_service(
    aws: &Aws,
    cluster: &str,
    name: &str,
) -> aws_sdk_ecs::types::Service {
    let out = aws
        .ecs()
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .unwrap();
    out.services()[0].clone()
}

/// A cluster of environment `env` that lists Fargate's providers, with `strategy` as its
/// default.
pub fn fargate_cluster(env: &str, strategy: Vec<converge::StrategyItem>) -> converge::Cluster {
    converge::Cluster::builder()
        .environment(env)
        .fargate_capacity_providers(true)
        .default_capacity_provider_strategy(strategy)
        .build()
        .unwrap()
}

/// Clients for this test's emulator, started once per test binary. A test that cannot reach
/// it fails and says how to start it.
pub async fn aws() -> Aws {
    keep_progress_events_asking();
    target::emulator_clients(&this_tests_emulator()).await
}

/// Progress events are `tracing` events that the command line counts with a subscriber of
/// its own thread. When other tests' threads reach an event's callsite first, tracing can
/// cache it as wanted by no one just before that subscriber registers, and the command line
/// then misses its events (a run reporting "0 added"). A global subscriber that never takes
/// an event but stays "sometimes" interested keeps every callsite asking. Every test calls
/// this (through `aws` or the command line runner) before it can emit an event.
pub fn keep_progress_events_asking() {
    use tracing::span::{Attributes, Id, Record};
    use tracing::subscriber::Interest;
    use tracing::{Event, Metadata};

    struct Asking;
    impl tracing::Subscriber for Asking {
        fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
            Interest::sometimes()
        }
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            false
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing::dispatcher::set_global_default(tracing::Dispatch::new(Asking));
    });
}

/// Emulators for the tests, so that they do not queue on one Python process: the base one
/// (`MOTO_PORT`, default 5000) and one more per test that libtest runs at once, on the next
/// ports. Each test thread leases the least busy of the others and pins it (the command line
/// and `target::emulator_url` then find it too); the lease ends with the thread. The command
/// line tests run the command line in threads of their own, which must all find one emulator:
/// they, and any thread a test spawns, use the base one.
fn this_tests_emulator() -> String {
    static BASE: OnceLock<Result<String, String>> = OnceLock::new();
    static POOL: OnceLock<Vec<Result<u16, String>>> = OnceLock::new();
    static BUSY: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    struct Lease(usize);
    impl Drop for Lease {
        fn drop(&mut self) {
            BUSY.lock().unwrap_or_else(|p| p.into_inner())[self.0] -= 1;
        }
    }
    thread_local! {
        static LEASE: RefCell<Option<(Lease, u16)>> = const { RefCell::new(None) };
    }

    let name = std::thread::current().name().map(str::to_owned);
    let leased = name.is_some_and(|n| n != "main" && !n.starts_with("cli::"));
    if !leased {
        let url = BASE.get_or_init(|| target::start_emulator().map_err(|e| e.to_string()));
        return url.clone().unwrap_or_else(|err| panic!("{err}"));
    }
    if let Some(port) = LEASE.with(|l| l.borrow().as_ref().map(|(_, port)| *port)) {
        return format!("http://127.0.0.1:{port}");
    }
    let pool = POOL.get_or_init(|| {
        let at_once = std::env::var("RUST_TEST_THREADS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
            .clamp(1, 8);
        let base = target::emulator_port();
        // Started side by side: each takes a few seconds to come up and warm.
        std::thread::scope(|s| {
            let starts: Vec<_> = (1..=at_once as u16)
                .map(|i| {
                    s.spawn(move || {
                        target::start_emulator_on(base + i)
                            .map(|_| base + i)
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            starts.into_iter().map(|h| h.join().unwrap()).collect()
        })
    });
    let index = {
        let mut busy = BUSY.lock().unwrap_or_else(|p| p.into_inner());
        busy.resize(pool.len(), 0);
        let index = (0..pool.len()).min_by_key(|&i| busy[i]).unwrap();
        busy[index] += 1;
        index
    };
    let port = match &pool[index] {
        Ok(port) => *port,
        Err(err) => panic!("{err}"),
    };
    LEASE.with(|l| *l.borrow_mut() = Some((Lease(index), port)));
    target::pin_emulator_port(port);
    format!("http://127.0.0.1:{port}")
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
    // A deleted endpoint is still described for a while.
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(f())
        .send()
        .await
        .unwrap()
        .vpc_endpoints()
        .iter()
        .filter(|e| {
            !matches!(
                e.state()
                    .map(|s| s.as_str().to_ascii_lowercase())
                    .as_deref(),
                Some("deleted" | "deleting")
            )
        })
        .count();
    vec![
        ("vpcs", vpcs),
        ("subnets", subnets),
        ("internet gateways", igws),
        ("route tables", rts),
        ("elastic ips", eips),
        ("nat gateways", nats),
        ("vpc endpoints", endpoints),
    ]
}

/// The security groups of a describe answer but the VPCs' default ones, which the vpc module
/// closes and tags, and which go with their VPC.
pub fn groups_but_default(
    out: &aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput,
) -> Vec<&aws_sdk_ec2::types::SecurityGroup> {
    out.security_groups()
        .iter()
        .filter(|g| g.group_name() != Some("default"))
        .collect()
}

/// Whether nothing carries the environment's tag any more.
pub async fn nothing_tagged(aws: &Aws, environment: &str) -> bool {
    tagged(aws, environment).await.iter().all(|(_, n)| *n == 0)
}

/// Everything of `environment` that exists, by kind, across every service the modules use:
/// tagged `Environment=<environment>` where the service can filter or list tags, else named
/// `<environment>-...` (IAM) or `/ecs/<environment>...` (log groups).
pub async fn inventory(
    aws: &Aws,
    environment: &str,
) -> std::collections::BTreeMap<&'static str, usize> {
    let mut found: std::collections::BTreeMap<&'static str, usize> =
        tagged(aws, environment).await.into_iter().collect();
    let ec2 = aws.ec2();
    let f = || env_filter(environment);
    let sgs = ec2
        .describe_security_groups()
        .filters(f())
        .send()
        .await
        .unwrap();
    found.insert("security groups", groups_but_default(&sgs).len());
    let lts = ec2
        .describe_launch_templates()
        .filters(f())
        .send()
        .await
        .unwrap();
    found.insert("launch templates", lts.launch_templates().len());
    let instances = ec2.describe_instances().filters(f()).send().await.unwrap();
    found.insert(
        "instances",
        instances
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter(|i| {
                i.state().and_then(|s| s.name())
                    != Some(&aws_sdk_ec2::types::InstanceStateName::Terminated)
            })
            .count(),
    );

    let elb = aws.elbv2();
    // Every page: a test's hundred load balancers on the same emulator (`load.rs`) push
    // others' past the first.
    let mut arns: Vec<(&'static str, String)> = Vec::new();
    let mut lbs = elb.describe_load_balancers().into_paginator().send();
    while let Some(page) = lbs.next().await {
        arns.extend(
            page.unwrap()
                .load_balancers()
                .iter()
                .filter_map(|l| l.load_balancer_arn())
                .map(|a| ("load balancers", a.to_owned())),
        );
    }
    let mut tgs = elb.describe_target_groups().into_paginator().send();
    while let Some(page) = tgs.next().await {
        arns.extend(
            page.unwrap()
                .target_groups()
                .iter()
                .filter_map(|t| t.target_group_arn())
                .map(|a| ("target groups", a.to_owned())),
        );
    }
    found.insert("load balancers", 0);
    found.insert("target groups", 0);
    // DescribeTags takes 20 ARNs at a time.
    for batch in arns.chunks(20) {
        let described = elb
            .describe_tags()
            .set_resource_arns(Some(batch.iter().map(|(_, arn)| arn.clone()).collect()))
            .send()
            .await
            .unwrap();
        for d in described.tag_descriptions() {
            let ours = in_environment(d.tags().iter().map(|t| (t.key(), t.value())), environment);
            let kind = batch
                .iter()
                .find(|(_, arn)| Some(arn.as_str()) == d.resource_arn())
                .map(|(kind, _)| *kind);
            if let (true, Some(kind)) = (ours, kind) {
                *found.entry(kind).or_default() += 1;
            }
        }
    }

    // The modules name the cluster after the environment.
    let ecs = aws.ecs();
    let mut our_clusters = 0;
    let mut services = 0;
    let described = ecs
        .describe_clusters()
        .clusters(environment)
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .unwrap();
    for c in described.clusters() {
        if c.status() != Some("ACTIVE") {
            continue;
        }
        if in_environment(c.tags().iter().map(|t| (t.key(), t.value())), environment) {
            our_clusters += 1;
        }
        let listed = ecs
            .list_services()
            .cluster(environment)
            .send()
            .await
            .unwrap();
        if listed.service_arns().is_empty() {
            continue;
        }
        let d = ecs
            .describe_services()
            .cluster(environment)
            .set_services(Some(listed.service_arns().to_vec()))
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .unwrap();
        services += d
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .filter(|s| in_environment(s.tags().iter().map(|t| (t.key(), t.value())), environment))
            .count();
    }
    found.insert("ecs clusters", our_clusters);
    found.insert("ecs services", services);
    // The emulator takes a family prefix as a whole family name: list them all.
    let ours = format!("task-definition/{environment}-");
    let mut families = ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .into_paginator()
        .send();
    let mut definitions = 0;
    while let Some(page) = families.next().await {
        definitions += page
            .unwrap()
            .task_definition_arns()
            .iter()
            .filter(|arn| arn.contains(&ours))
            .count();
    }
    found.insert("task definitions", definitions);
    // The emulator fails a describe of every provider; ours has one name.
    let providers = ecs
        .describe_capacity_providers()
        .capacity_providers(format!("{environment}-ecs-instances"))
        .send()
        .await
        .unwrap();
    found.insert(
        "capacity providers",
        providers
            .capacity_providers()
            .iter()
            .filter(|p| {
                p.name()
                    .is_some_and(|n| n.starts_with(&format!("{environment}-")))
            })
            .filter(|p| p.status() != Some(&aws_sdk_ecs::types::CapacityProviderStatus::Inactive))
            .count(),
    );

    let prefix = format!("{environment}-");
    let roles = aws.iam().list_roles().send().await.unwrap();
    found.insert(
        "iam roles",
        roles
            .roles()
            .iter()
            .filter(|r| r.role_name().starts_with(&prefix))
            .count(),
    );
    let profiles = aws.iam().list_instance_profiles().send().await.unwrap();
    found.insert(
        "instance profiles",
        profiles
            .instance_profiles()
            .iter()
            .filter(|p| p.instance_profile_name().starts_with(&prefix))
            .count(),
    );
    let logs = aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(format!("/ecs/{environment}"))
        .send()
        .await
        .unwrap();
    found.insert(
        "log groups",
        logs.log_groups()
            .iter()
            .filter(|g| {
                g.log_group_name().is_some_and(|n| {
                    n == format!("/ecs/{environment}")
                        || n.starts_with(&format!("/ecs/{environment}/"))
                })
            })
            .count(),
    );
    let groups = aws
        .autoscaling()
        .describe_auto_scaling_groups()
        .filters(
            aws_sdk_autoscaling::types::Filter::builder()
                .name("tag:Environment")
                .values(environment)
                .build(),
        )
        .send()
        .await
        .unwrap();
    found.insert("auto scaling groups", groups.auto_scaling_groups().len());
    found
}

/// The kinds of which anything of `environment` is left.
pub async fn leftovers(aws: &Aws, environment: &str) -> Vec<(&'static str, usize)> {
    inventory(aws, environment)
        .await
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Whether tags hold `Environment=<environment>`.
fn in_environment<'a>(
    tags: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
    environment: &str,
) -> bool {
    tags.into_iter()
        .any(|(k, v)| k == Some("Environment") && v == Some(environment))
}

/// A network over two zones (`subnet-a`, `subnet-b` public, `subnet-c`, `subnet-d` private),
/// for inputs that make no call: outputs are read, not built, so a network given by hand
/// comes in as data.
pub fn two_zone_network() -> ecs_modules::vpc::VpcOutputs {
    serde_json::from_value(serde_json::json!({
        "vpc_id": "vpc-1",
        "vpc_cidr": "10.0.0.0/16",
        "public_subnets": ["subnet-a", "subnet-b"],
        "private_subnets": ["subnet-c", "subnet-d"],
        "availability_zones": ["us-east-1a", "us-east-1b"],
        "private_dns_zone_id": null,
        "private_domain_name": null,
        "nat_gateway_ids": [],
        "internet_gateway_id": "igw-1"
    }))
    .expect("network outputs")
}
