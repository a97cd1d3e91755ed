//! Port of [npalm/terraform-aws-ecs-instances]: an Auto Scaling group of ECS-optimized EC2
//! instances that join an ECS cluster, with their security group, IAM role and instance
//! profile, a CloudWatch log group for the agent, and a launch template.
//!
//! # What changed from the Terraform module
//!
//! - **CoreOS and launch configurations are gone.** CoreOS reached its end of life in 2020 and
//!   AWS retired launch configurations; this port uses the **Amazon Linux 2023 ECS-optimized
//!   AMI**, found through the public SSM parameter
//!   `/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id` (or
//!   [`ami_id`](InstancesBuilder::ami_id)), and a **launch template**.
//! - The instances get no public IP (a network interface with `AssociatePublicIpAddress=false`
//!   and the security group), **IMDSv2 is required** (`HttpTokens=required`), and the root
//!   volume is **encrypted** (gp3).
//! - The user data writes `ECS_CLUSTER=<name>` and
//!   `ECS_AVAILABLE_LOGGING_DRIVERS=["json-file","awslogs"]` to `/etc/ecs/ecs.config`
//!   ([`default_user_data`]); [`user_data`](InstancesBuilder::user_data) replaces it.
//! - The module's ECS service role is not made by default
//!   ([`create_ecs_service_role`](InstancesBuilder::create_ecs_service_role)): ECS now uses its
//!   service-linked role `AWSServiceRoleForECS`, which AWS creates on first use.
//! - Extra [`tag`](InstancesBuilder::tag)s go on every resource and propagate to the instances.
//! - A changed AMI, instance type or user data makes a new launch template version and moves
//!   the group to it; [`instance_refresh`](InstancesBuilder::instance_refresh) also replaces
//!   the running instances.
//! - An optional **ECS capacity provider** with managed scaling
//!   ([`capacity_provider`](InstancesBuilder::capacity_provider)), added to the cluster's
//!   capacity providers next to the ones already there.
//! - The agent's log group keeps its events 30 days by default
//!   ([`log_retention_in_days`](InstancesBuilder::log_retention_in_days)); it is an
//!   [`converge::LogGroup`], owned as `log-group/<env>`.
//!
//! Every resource is tagged `Name`, `Environment` and `ecs-modules:owner=ecs-instances/<env>`
//! in its create call, found again by name and that tag, and never touched without it.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let aws = converge::Aws::from_env().await;
//! let network = vpc::Vpc::builder().environment("blog").build()?.apply(&aws).await?;
//! let instances = ecs_instances::Instances::builder()
//!     .environment("blog")
//!     .ecs_cluster_name("blog")
//!     .network(&network)
//!     .instance_type("t3.medium")
//!     .asg_max(3)
//!     .build()?;
//! println!("{}", instances.plan(&aws).await?);
//! let out = instances.apply(&aws).await?;
//! println!("{}", serde_json::to_string_pretty(&out)?);
//! # Ok(())
//! # }
//! ```
//!
//! [npalm/terraform-aws-ecs-instances]: https://github.com/npalm/terraform-aws-ecs-instances

mod apply;
mod asg;
mod capacity_provider;
mod iam;
mod inputs;
mod launch_template;
mod outputs;
mod security_group;

pub use apply::AMI_PARAMETER;
pub use capacity_provider::ManagedScaling;
pub use inputs::{default_user_data, Instances, InstancesBuilder, MAX_USER_DATA};
pub use outputs::InstancesOutputs;

/// Whether a failure says the resource is already gone, which destroy counts as done.
fn ignore_gone<T>(result: Result<T, converge::Error>) -> Result<(), converge::Error> {
    match result {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(()),
    }
}
