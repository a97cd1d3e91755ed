//! The mixed deployment of the blog post "Running serverless containers with Terraform": the
//! Fargate deployment, plus an Auto Scaling group of ECS-optimized EC2 instances joined to the
//! same cluster and a second service, `blog-ec2`, with launch type EC2 (the post's text says
//! FARGATE there by mistake). Prints both URLs.
//!
//! The composition is [`ecs_modules::blog::FargateEc2`]; the command line is
//! [`ecs_modules::cli`], the same as the `fargate` example's.
//!
//! ```text
//! cargo run --example fargate_ec2                  # apply, print the outputs
//! cargo run --example fargate_ec2 -- plan --json   # the changes, as JSON
//! cargo run --example fargate_ec2 -- destroy       # asks first; --yes does not
//! ```

fn main() -> std::process::ExitCode {
    ecs_modules::cli::main::<ecs_modules::blog::FargateEc2>(
        "Deploy the blog of \"Running serverless containers with Terraform\" on Fargate and EC2",
    )
}
