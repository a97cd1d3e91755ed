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
//! # On the resource model
//!
//! Each AWS resource is one [`converge::Resource`] kind, declared into a
//! [`converge::Stack`]: the instance role and the optional ECS service role are converge's
//! `aws_iam_role` (their managed policies an attribute), the security group converge's
//! `aws_security_group`, the agent's log group a [`converge::LogGroup`]; this crate adds
//! `aws_iam_instance_profile`, `aws_launch_template`, `aws_autoscaling_group`,
//! `aws_ecs_capacity_provider` and `aws_ecs_cluster_capacity_providers` (our provider's
//! place in the cluster's list). [`Instances`] is a [`converge::Module`]: plan, apply,
//! destroy and outputs are runs of one executor, so plan and apply cannot disagree.
//!
//! In a composition, [`declare`](converge::Module::declare) adds the module's resources to
//! the composition's stack and returns [`InstancesRefs`]; the network
//! ([`network`](InstancesBuilder::network)) and the cluster
//! ([`cluster`](InstancesBuilder::cluster)) can come in as the references their own
//! `declare` returned, so each resource starts as soon as what it reads exists.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let aws = converge::Aws::from_env().await;
//! let network = vpc::Vpc::builder().environment("blog").build()?.apply(&aws).await?;
//! let instances = ecs_instances::Instances::builder()
//!     .environment("blog")
//!     .cluster("blog")
//!     .network(&network)
//!     .instance_type("t3.medium")
//!     .asg_max(3)
//!     .build()?;
//! println!("{}", instances.plan(&aws).await?);
//! let out = instances.apply(&aws).await?;
//! println!("{}", serde_json::to_string_pretty(&out.outputs)?);
//!
//! // One graph: the network, the cluster and the instances in one stack, each resource
//! // started as soon as what it reads exists.
//! let vpc = vpc::Vpc::builder().environment("blog").build()?;
//! let cluster = converge::Cluster::builder().environment("blog").build()?;
//! use converge::Module;
//! let mut stack = converge::Stack::new();
//! let net = vpc.declare(&aws, &mut stack).await?;
//! let cluster = cluster.declare(&aws, &mut stack).await?;
//! let refs = ecs_instances::Instances::builder()
//!     .environment("blog")
//!     .cluster(&cluster)
//!     .network(&net)
//!     .build()?
//!     .declare(&aws, &mut stack)
//!     .await?;
//! println!("{}", stack.plan(&aws).await?.plan());
//! let applied = stack.apply(&aws).await?;
//! println!("{:?}", applied.value(&refs.outputs));
//! stack.destroy(&aws).await?;
//! # Ok(())
//! # }
//! ```
//!
//! [npalm/terraform-aws-ecs-instances]: https://github.com/npalm/terraform-aws-ecs-instances

// No library function over 120 lines (clippy.toml sets the bound); tests may be longer.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

mod auto_scaling_group;
mod capacity_provider;
mod cluster_capacity_providers;
mod inputs;
mod instance_profile;
mod launch_template;
mod module;
mod outputs;
pub mod user_data;

pub use auto_scaling_group::AutoScalingGroupField;
pub use capacity_provider::{CapacityProviderField, ManagedScaling};
pub use cluster_capacity_providers::ClusterProvidersField;
pub use inputs::{default_user_data, Instances, InstancesBuilder, MAX_USER_DATA};
pub use instance_profile::InstanceProfileField;
pub use launch_template::LaunchTemplateField;
pub use module::AMI_PARAMETER;
pub use outputs::{InstancesOutputs, InstancesRefs};
