//! The deployments of the blog post "Running serverless containers with Terraform", composed
//! from the modules: [`Fargate`] (`cargo run --example fargate`) and [`FargateEc2`]
//! (`cargo run --example fargate_ec2`); and [`SharedAlb`] (`cargo run --example shared_alb`),
//! two services behind one load balancer. Both are [`Deployment`](crate::cli::Deployment)s, so
//! the shared command line plans, applies, destroys and shows them.
//!
//! Each is one stack: the network, the cluster, the log group, the role, the services (and the
//! instances) are declarations in one dependency graph, so each resource starts as soon as
//! what it reads exists, across modules: the load balancer once the public subnets and its
//! security group are there, the ECS service once its listener and the private subnets' route
//! to the NAT gateway are.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ecs_modules::blog::Fargate;
//! use ecs_modules::cli::{Deployment, Settings};
//! use ecs_modules::converge::Module;
//!
//! let aws = ecs_modules::converge::Aws::from_env().await;
//! let settings = Settings { environment: "blog".into(), ..Settings::default() };
//! let out = Fargate::new(&settings)?.apply(&aws).await?;
//! println!("{}", out.blog_url);
//! # Ok(())
//! # }
//! ```

mod fargate;
mod fargate_ec2;
mod shared_alb;

use std::time::Duration;

use converge::{Aws, ClusterRefs, Error, LogGroupRefs, RoleRefs};
use ecs_service::{
    DeploymentStrategy, Listener, LoadBalancer, Service, ServiceBuilder, TargetGroup,
};
use task_def::json;
use vpc::VpcRefs;

pub use fargate::{Fargate, FargateOutputs};
pub use fargate_ec2::{FargateEc2, FargateEc2Outputs};
pub use shared_alb::{SharedAlb, SharedAlbOutputs};

use crate::cli::Settings;

/// The blog's container definitions, with the blog's five variables (`${container_name}`,
/// `${container_port}`, `${log_group_name}`, `${log_group_region}`, `${log_group_prefix}`).
pub const CONTAINER_TEMPLATE: &str = include_str!("../../examples/blog.json");

/// How long `--blue-green` keeps the old revision after the shift, to roll back to.
const BLUE_GREEN_BAKE_MINUTES: u32 = 5;

/// How long `--wait-steady` waits for a service.
const STEADY_TIMEOUT: Duration = Duration::from_secs(600);

/// What every service of the blog shares, declared in the stack the services go in: the
/// network, the cluster, the log group and the task execution role.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Base {
    /// The network.
    pub vpc: VpcRefs,
    /// The cluster.
    pub cluster: ClusterRefs,
    /// The containers' log group.
    pub log_group: LogGroupRefs,
    /// The task execution role.
    pub execution_role: RoleRefs,
}

/// One of the blog's services: the blog's container from the template on port 80, 256 CPU
/// and 512 MiB, logging to the log group with the awslogs driver, behind an internet-facing
/// ALB (HTTP 80, target type ip) in the public subnets, the tasks in the private subnets.
/// It reads the network, the role, the cluster and the log group from `base`, so it starts as
/// soon as each exists, in the same stack. `place` says where its tasks run (a launch type or
/// a capacity provider strategy).
fn blog_service(
    settings: &Settings,
    name: &str,
    place: impl FnOnce(ServiceBuilder) -> ServiceBuilder,
    aws: &Aws,
    base: &Base,
) -> Result<Service, Error> {
    let service = blog_container_service(settings, name, aws, base)?.load_balancer(LoadBalancer {
        internal: false,
        // The network's public subnets.
        subnets: Vec::new(),
        listener: Listener::default(),
        target_group: blog_target(),
        ..LoadBalancer::default()
    });
    Ok(place(service).build()?)
}

/// The blog's container, as a load balancer targets it.
fn blog_target() -> TargetGroup {
    TargetGroup {
        container_name: Some("blog".into()),
        container_port: 80,
        ..TargetGroup::default()
    }
}

/// The blog's service without its front: the container, the task size, the network, the
/// role, and the wait `--wait-steady` asks for.
fn blog_container_service(
    settings: &Settings,
    name: &str,
    aws: &Aws,
    base: &Base,
) -> Result<ServiceBuilder, Error> {
    let containers = json::from_template(
        CONTAINER_TEMPLATE,
        [
            ("container_name", "blog"),
            ("container_port", "80"),
            ("log_group_name", &base.log_group.name),
            ("log_group_region", aws.region()),
            ("log_group_prefix", name),
        ],
    )?;
    let mut service = Service::builder()
        .environment(&settings.environment)
        .service_name(name)
        .network(&base.vpc)
        // The service waits for the cluster, and for the log group its log driver writes to.
        .cluster(&base.cluster)
        .depends_on(&base.log_group.outputs)
        .containers(containers)
        .task_cpu(256)
        .task_memory(512)
        .execution_role(&base.execution_role);
    if settings.wait_steady {
        service = service.wait_for_steady_state(STEADY_TIMEOUT);
    }
    if settings.blue_green {
        service = service.deployment_strategy(DeploymentStrategy::BlueGreen {
            bake_time: BLUE_GREEN_BAKE_MINUTES,
        });
    }
    Ok(service)
}

/// The URL a service's outputs point at.
fn url(out: &ecs_service::ServiceOutputs) -> String {
    out.service_url.clone().unwrap_or_default()
}
