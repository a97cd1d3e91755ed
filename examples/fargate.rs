//! The Fargate deployment of the blog post "Running serverless containers with Terraform":
//! a VPC over three availability zones with a NAT gateway, an ECS cluster, a CloudWatch log
//! group, a task execution role, the blog's container (`npalm/040code.github.io:latest`, port
//! 80, 256 CPU, 512 MiB) on Fargate in the private subnets, behind an internet-facing
//! application load balancer. Prints the blog's URL.
//!
//! The composition is [`ecs_modules::blog::Fargate`]; the command line is
//! [`ecs_modules::cli`]. It runs against the local AWS emulator unless `AWS_ENDPOINT_URL` or
//! real credentials are configured.
//!
//! ```text
//! cargo run --example fargate                      # apply, print the outputs
//! cargo run --example fargate -- plan              # only show what would change
//! cargo run --example fargate -- output --json     # the outputs of what exists, as JSON
//! cargo run --example fargate -- destroy --yes     # remove it all
//! ```

fn main() -> std::process::ExitCode {
    ecs_modules::cli::main::<ecs_modules::blog::Fargate>(
        "Deploy the blog of \"Running serverless containers with Terraform\" on Fargate",
    )
}
