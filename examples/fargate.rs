//! The Fargate deployment of the blog post "Running serverless containers with Terraform".
//!
//! For now this builds its network: a VPC with public and private subnets over three
//! availability zones and a NAT gateway. It runs against the local AWS emulator unless real
//! credentials are configured (see `--target`).
//!
//! ```text
//! cargo run --example fargate                 # plan, apply, print the outputs
//! cargo run --example fargate -- --destroy    # remove it all
//! ```

use std::process::ExitCode;

use clap::Parser;
use ecs_modules::target::{connect, Target};
use ecs_modules::vpc::Vpc;

#[derive(Debug, Parser)]
#[command(about = "Deploy the blog's Fargate stack (its VPC, for now)")]
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
    let network = Vpc::builder().environment(&args.environment).build()?;
    let (aws, target) = connect(args.target).await?;
    println!("Target: {target}\n");

    if args.destroy {
        let deleted = network.destroy(&aws).await?;
        println!(
            "Destroy complete! Resources: {} destroyed.",
            deleted.changes.len()
        );
    } else {
        let plan = network.plan(&aws).await?;
        println!("{plan}\n");
        if !args.plan {
            let outputs = network.apply(&aws).await?;
            println!(
                "Apply complete!\n\nOutputs:\n{}",
                serde_json::to_string_pretty(&outputs)?
            );
        }
    }
    println!("\n{:#}", aws.calls().report());
    Ok(())
}
