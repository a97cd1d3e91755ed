//! The Fargate deployment: a VPC over three availability zones with one NAT gateway, an ECS
//! cluster, a log group, the task execution role, and the blog on Fargate behind an ALB.

use async_trait::async_trait;
use converge::{Aws, Error, Invalid, Module, OutputRefs, Ref, Stack, Value, Wait};
use ecs_service::{
    Cluster, ClusterOutputs, LaunchType, LogGroup, LogGroupOutputs, Service, ServiceOutputs,
    TaskExecutionRole, TaskExecutionRoleOutputs,
};
use serde::{Deserialize, Serialize};
use vpc::{Vpc, VpcBuilder, VpcOutputs};

use super::{blog_service, url, Base};
use crate::cli::{Deployment, Settings};

/// The blog's Fargate deployment, as the blog post composes the modules.
#[derive(Clone, Debug)]
pub struct Fargate {
    pub(crate) settings: Settings,
    pub(crate) network: Vpc,
    pub(crate) cluster: Cluster,
    pub(crate) logs: LogGroup,
    pub(crate) role: TaskExecutionRole,
}

/// Every module's outputs, and the blog's URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FargateOutputs {
    /// The VPC module's.
    pub vpc: VpcOutputs,
    /// The cluster's.
    pub cluster: ClusterOutputs,
    /// The containers' log group's.
    pub log_group: LogGroupOutputs,
    /// The task execution role's.
    pub execution_role: TaskExecutionRoleOutputs,
    /// The Fargate service's.
    pub service: ServiceOutputs,
    /// Where the blog answers.
    pub blog_url: String,
}

impl Fargate {
    /// The same deployment, its waits (the NAT gateway's) bounded and paced by `wait`.
    pub fn with_wait(mut self, wait: Wait) -> Result<Self, Invalid> {
        self.network = network(&self.settings.environment).wait(wait).build()?;
        Ok(self)
    }

    /// Declares what every service shares (network, cluster, log group, role) into `stack`.
    pub async fn declare_base(&self, aws: &Aws, stack: &mut Stack) -> Result<Base, Error> {
        Ok(Base {
            vpc: self.network.declare(aws, stack).await?,
            cluster: self.cluster.declare(aws, stack).await?,
            log_group: self.logs.declare(aws, stack).await?,
            execution_role: self.role.declare(aws, stack).await?,
        })
    }

    /// A Fargate service like the blog's, named `name`, on the network, cluster, log group
    /// and role of `base` (the benchmarks declare many in one stack).
    pub fn service_named(&self, aws: &Aws, base: &Base, name: &str) -> Result<Service, Error> {
        blog_service(
            &self.settings,
            name,
            |s| s.launch_type(LaunchType::Fargate),
            aws,
            base,
        )
    }

    /// The outputs of the shared part and of the blog's service, known when all are.
    pub(crate) fn outputs_of(base: &Base, service: Ref<ServiceOutputs>) -> Ref<FargateOutputs> {
        let base = base.clone();
        Ref::new(move |r| {
            // Every value is read before any is judged, so every read is recorded.
            let vpc = r.value(&base.vpc.outputs);
            let cluster = r.value(&base.cluster.outputs);
            let log_group = r.value(&base.log_group.outputs);
            let execution_role = r.value(&base.execution_role.outputs);
            let service = r.value(&service);
            let (
                Value::Known(vpc),
                Value::Known(cluster),
                Value::Known(log_group),
                Value::Known(execution_role),
                Value::Known(service),
            ) = (vpc, cluster, log_group, execution_role, service)
            else {
                return Value::AfterApply;
            };
            Value::Known(FargateOutputs {
                blog_url: url(&service),
                vpc,
                cluster,
                log_group,
                execution_role,
                service,
            })
        })
    }
}

#[async_trait]
impl Module for Fargate {
    type Outputs = FargateOutputs;
    type Refs = OutputRefs<FargateOutputs>;

    /// One stack: the network, cluster, log group and role, and the blog's service reading
    /// them.
    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<Self::Refs, Error> {
        let start = stack.len();
        let base = self.declare_base(aws, stack).await?;
        let service = self
            .service_named(aws, &base, "blog")?
            .declare(aws, stack)
            .await?;
        let outputs = Self::outputs_of(&base, service.outputs);
        Ok(OutputRefs::new(outputs, stack.addresses_from(start)))
    }
}

/// The blog's network: the module's defaults, in zones where Fargate runs.
fn network(environment: &str) -> VpcBuilder {
    Vpc::builder().environment(environment).fargate(true)
}

impl Deployment for Fargate {
    fn new(settings: &Settings) -> Result<Self, Invalid> {
        let env = &settings.environment;
        Ok(Self {
            settings: settings.clone(),
            network: network(env).build()?,
            cluster: Cluster::builder().environment(env).build()?,
            logs: LogGroup::builder()
                .environment(env)
                .name(format!("/ecs/{env}"))
                .build()?,
            role: TaskExecutionRole::builder().environment(env).build()?,
        })
    }

    fn urls(out: &FargateOutputs) -> Vec<(&'static str, String)> {
        vec![("blog_url", out.blog_url.clone())]
    }
}
