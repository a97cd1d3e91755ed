//! The Fargate deployment of the blog post "Running serverless containers with Terraform":
//! a VPC over three availability zones with a NAT gateway, an ECS cluster, a CloudWatch log
//! group, a task execution role, the blog's container (`npalm/040code.github.io:latest`, port
//! 80, 256 CPU, 512 MiB) on Fargate in the private subnets, behind an internet-facing
//! application load balancer. Prints the blog's URL.
//!
//! It runs against the local AWS emulator unless real credentials are configured (see
//! `--target`).
//!
//! ```text
//! cargo run --example fargate                 # plan, apply, print the outputs
//! cargo run --example fargate -- --plan       # only show what would change
//! cargo run --example fargate -- --destroy    # remove it all
//! ```

use std::process::ExitCode;

use clap::Parser;
use ecs_modules::converge::Aws;
use ecs_modules::ecs_service::{
    Cluster, Listener, LoadBalancer, LogGroup, Service, TargetGroup, TaskExecutionRole,
};
use ecs_modules::target::{connect, Target};
use ecs_modules::task_def::json;
use ecs_modules::vpc::{Vpc, VpcOutputs};

/// The blog's container definitions, as the Terraform module's test takes them.
const BLOG_TEMPLATE: &str = include_str!("blog.json");

#[derive(Debug, Parser)]
#[command(about = "Deploy the blog of \"Running serverless containers with Terraform\" on Fargate")]
struct Args {
    /// Name prefix and Environment tag of every resource.
    #[arg(long, default_value = "blog")]
    environment: String,
    /// Where to deploy: auto (real AWS when credentials are configured, else the local
    /// emulator), local, or aws.
    #[arg(long, default_value = "auto")]
    target: Target,
    /// Only show what apply would change.
    #[arg(long)]
    plan: bool,
    /// Delete everything the example made.
    #[arg(long, conflicts_with = "plan")]
    destroy: bool,
}

/// The stack's modules, all from the same inputs.
struct Stack {
    network: Vpc,
    cluster: Cluster,
    logs: LogGroup,
    role: TaskExecutionRole,
}

impl Stack {
    fn new(environment: &str) -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self {
            network: Vpc::builder().environment(environment).build()?,
            cluster: Cluster::builder().environment(environment).build()?,
            logs: LogGroup::builder()
                .environment(environment)
                .name(format!("/ecs/{environment}"))
                .build()?,
            role: TaskExecutionRole::builder()
                .environment(environment)
                .build()?,
        })
    }

    /// The service, once the network and the role exist.
    fn service(
        &self,
        aws: &Aws,
        net: &VpcOutputs,
        role_arn: &str,
    ) -> Result<Service, Box<dyn std::error::Error>> {
        let env = self.network.environment();
        let containers = json::from_template(
            BLOG_TEMPLATE,
            [
                ("container_name", "blog"),
                ("container_port", "80"),
                ("log_group_name", self.logs.name()),
                ("log_group_region", aws.region()),
                ("log_group_prefix", "blog"),
            ],
        )?;
        Ok(Service::builder()
            .environment(env)
            .service_name("blog")
            .network(net)
            .cluster(self.cluster.name())
            .containers(containers)
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
            })
            .build()?)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let stack = Stack::new(&args.environment)?;
    let (aws, target) = connect(args.target).await?;
    println!("Target: {target}\n");

    if args.destroy {
        destroy(&aws, &stack).await?;
    } else if args.plan {
        plan(&aws, &stack).await?;
    } else {
        apply(&aws, &stack).await?;
    }
    println!("\n{:#}", aws.calls().report());
    Ok(())
}

async fn plan(aws: &Aws, stack: &Stack) -> Result<(), Box<dyn std::error::Error>> {
    let mut plan = stack.network.plan(aws).await?;
    plan.extend(stack.cluster.plan(aws).await?);
    plan.extend(stack.logs.plan(aws).await?);
    plan.extend(stack.role.plan(aws).await?);
    println!("{plan}");
    println!("\n(the service is planned once the network and the role exist)");
    Ok(())
}

async fn apply(aws: &Aws, stack: &Stack) -> Result<(), Box<dyn std::error::Error>> {
    let net = stack.network.apply(aws).await?;
    let (cluster, logs, role) = tokio::try_join!(
        stack.cluster.apply(aws),
        stack.logs.apply(aws),
        stack.role.apply(aws),
    )?;
    let service = stack.service(aws, &net, &role.role_arn)?;
    println!("{}\n", service.plan(aws).await?);
    let out = service.apply(aws).await?;
    println!("Apply complete!\n");
    println!("Outputs:");
    println!("  vpc_id              = {}", net.vpc_id);
    println!("  private_subnets     = {:?}", net.private_subnets);
    println!("  cluster_arn         = {}", cluster.cluster_arn);
    println!("  log_group_name      = {}", logs.log_group_name);
    println!("  execution_role_arn  = {}", role.role_arn);
    println!("  task_definition_arn = {}", out.task_definition_arn);
    println!("  service_arn         = {}", out.service_arn);
    println!(
        "  lb_dns_name         = {}",
        out.lb_dns_name.as_deref().unwrap_or_default()
    );
    println!(
        "\nThe blog: {}",
        out.service_url.as_deref().unwrap_or_default()
    );
    Ok(())
}

async fn destroy(aws: &Aws, stack: &Stack) -> Result<(), Box<dyn std::error::Error>> {
    let mut deleted = 0;
    // The service needs the network's ids to find its pieces; without a network there is no
    // service to delete.
    if let Some(net) = stack.network.outputs(aws).await? {
        // The role's ARN only matters to a new task definition revision.
        let role = stack.role.name();
        deleted += stack
            .service(aws, &net, role)?
            .destroy(aws)
            .await?
            .changes
            .len();
    }
    let (cluster, logs, role) = tokio::try_join!(
        stack.cluster.destroy(aws),
        stack.logs.destroy(aws),
        stack.role.destroy(aws),
    )?;
    deleted += cluster.changes.len() + logs.changes.len() + role.changes.len();
    deleted += stack.network.destroy(aws).await?.changes.len();
    println!("Destroy complete! Resources: {deleted} destroyed.");
    Ok(())
}
