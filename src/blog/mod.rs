//! The deployments of the blog post "Running serverless containers with Terraform", composed
//! from the modules: [`Fargate`] (`cargo run --example fargate`) and [`FargateEc2`]
//! (`cargo run --example fargate_ec2`). Both are [`Deployment`](crate::cli::Deployment)s, so
//! the shared command line plans, applies, destroys and shows them.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ecs_modules::blog::Fargate;
//! use ecs_modules::cli::{Deployment, Settings};
//!
//! let aws = ecs_modules::converge::Aws::from_env().await;
//! let settings = Settings { environment: "blog".into(), wait_steady: false };
//! let out = Fargate::new(&settings)?.apply(&aws).await?;
//! println!("{}", out.blog_url);
//! # Ok(())
//! # }
//! ```

mod fargate;
mod fargate_ec2;

use std::time::Duration;

use converge::{Aws, Error};
use ecs_service::{LaunchType, Listener, LoadBalancer, Service, TargetGroup};
use task_def::json;
use vpc::{Vpc, VpcOutputs};

pub use fargate::{Fargate, FargateOutputs};
pub use fargate_ec2::{FargateEc2, FargateEc2Outputs};

use crate::cli::Settings;

/// The blog's container definitions, with the blog's five variables (`${container_name}`,
/// `${container_port}`, `${log_group_name}`, `${log_group_region}`, `${log_group_prefix}`).
pub const CONTAINER_TEMPLATE: &str = include_str!("../../examples/blog.json");

/// What a plan shows for a value that exists only after apply.
const UNKNOWN: &str = "(known after apply)";

/// How long `--wait-steady` waits for a service.
const STEADY_TIMEOUT: Duration = Duration::from_secs(600);

/// The network's outputs as a plan from nothing sees them: ids unknown, one subnet per zone.
fn unknown_network(network: &Vpc) -> VpcOutputs {
    let per_zone = || vec![UNKNOWN.to_owned(); 3];
    VpcOutputs {
        vpc_id: UNKNOWN.to_owned(),
        vpc_cidr: network.cidr_block().to_string(),
        public_subnets: per_zone(),
        private_subnets: per_zone(),
        availability_zones: per_zone(),
        private_dns_zone_id: None,
        private_domain_name: None,
        nat_gateway_ids: vec![UNKNOWN.to_owned()],
        internet_gateway_id: UNKNOWN.to_owned(),
    }
}

/// The network as it is, or as a plan from nothing sees it. A half-built one (an apply cut
/// short) lacks some subnets: unknown ones stand in, so the services can still be planned
/// and destroyed (they are found by their tags, not by the network).
async fn network_or_unknown(aws: &Aws, network: &Vpc) -> Result<VpcOutputs, Error> {
    Ok(known_or_unknown(network, network.outputs(aws).await?))
}

/// `outputs` with unknown ids standing in for what is missing.
fn known_or_unknown(network: &Vpc, outputs: Option<VpcOutputs>) -> VpcOutputs {
    let unknown = unknown_network(network);
    let Some(mut net) = outputs else {
        return unknown;
    };
    for (have, placeholder) in [
        (&mut net.public_subnets, &unknown.public_subnets),
        (&mut net.private_subnets, &unknown.private_subnets),
    ] {
        if have.len() < placeholder.len() {
            have.extend(placeholder[have.len()..].iter().cloned());
        }
    }
    net
}

/// One of the blog's services: the blog's container from the template on port 80, 256 CPU
/// and 512 MiB, logging to `log_group` with the awslogs driver, behind an internet-facing
/// ALB (HTTP 80, target type ip) in the public subnets, the tasks in the private subnets.
#[allow(clippy::too_many_arguments)]
fn blog_service(
    settings: &Settings,
    name: &str,
    launch_type: LaunchType,
    region: &str,
    net: &VpcOutputs,
    cluster: &str,
    log_group: &str,
    role_arn: &str,
) -> Result<Service, Error> {
    let containers = json::from_template(
        CONTAINER_TEMPLATE,
        [
            ("container_name", "blog"),
            ("container_port", "80"),
            ("log_group_name", log_group),
            ("log_group_region", region),
            ("log_group_prefix", name),
        ],
    )?;
    let mut service = Service::builder()
        .environment(&settings.environment)
        .service_name(name)
        .network(net)
        .cluster(cluster)
        .containers(containers)
        .launch_type(launch_type)
        .task_cpu(256)
        .task_memory(512)
        .execution_role_arn(role_arn)
        .load_balancer(LoadBalancer {
            internal: false,
            subnets: net.public_subnets.clone(),
            listener: Listener::default(),
            target_group: TargetGroup {
                container_name: Some("blog".into()),
                container_port: 80,
                ..TargetGroup::default()
            },
            ..LoadBalancer::default()
        });
    if settings.wait_steady {
        service = service.wait_for_steady_state(STEADY_TIMEOUT);
    }
    Ok(service.build()?)
}

/// The URL a service's outputs point at.
fn url(out: &ecs_service::ServiceOutputs) -> String {
    out.service_url.clone().unwrap_or_default()
}
