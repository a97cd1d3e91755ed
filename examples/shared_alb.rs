//! Two services behind one load balancer: the Fargate deployment's network, cluster, log
//! group and role, one internet-facing ALB whose listener answers 404 to what no rule
//! matches, and two Fargate services of the blog's container, each with its own target group
//! and a rule on the shared listener: `api` for `/api/*`, `web` for the rest. Prints both
//! URLs.
//!
//! The composition is [`ecs_modules::blog::SharedAlb`]; the command line is
//! [`ecs_modules::cli`], the same as the other examples'.
//!
//! ```text
//! cargo run --example shared_alb                   # apply, print both URLs
//! cargo run --example shared_alb -- plan           # only show what would change
//! cargo run --example shared_alb -- destroy --yes  # remove it all
//! ```

fn main() -> std::process::ExitCode {
    ecs_modules::cli::main::<ecs_modules::blog::SharedAlb>(
        "Deploy two services of the blog's container behind one shared load balancer",
    )
}
