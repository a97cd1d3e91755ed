//! Two services behind one load balancer: the Fargate deployment's network, cluster, log
//! group and role, a shared internet-facing ALB whose listener answers 404 to what no rule
//! matches, and two Fargate services of the blog's container, each with its own target
//! group and a rule on the listener: `api` for `/api/*` (priority 10), `web` for the rest
//! (priority 100).

use async_trait::async_trait;
use converge::{Aws, Error, Invalid, Module, OutputRefs, Ref, Stack, Value};
use ecs_service::{
    LaunchType, ListenerRule, Service, ServiceOutputs, SharedLoadBalancer,
    SharedLoadBalancerOutputs,
};
use serde::{Deserialize, Serialize};

use super::{blog_container_service, blog_target, url, Base, Fargate};
use crate::cli::{Deployment, Settings};

/// The services, with their rules' priorities and paths.
const SERVICES: [(&str, i32, &str); 2] = [("api", 10, "/api/*"), ("web", 100, "/*")];

/// Two services sharing one load balancer by path.
#[derive(Clone, Debug)]
pub struct SharedAlb {
    base: Fargate,
}

/// What the deployment gives back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SharedAlbOutputs {
    /// The shared load balancer's.
    pub load_balancer: SharedLoadBalancerOutputs,
    /// The `web` service's.
    pub web: ServiceOutputs,
    /// The `api` service's.
    pub api: ServiceOutputs,
    /// Where `web` answers: the load balancer's root.
    pub web_url: String,
    /// Where `api` answers: `/api/` on the same load balancer.
    pub api_url: String,
}

impl SharedAlb {
    /// One of the two services, with its rule on the shared listener.
    fn service(
        &self,
        aws: &Aws,
        base: &Base,
        listener: &ecs_service::SharedLoadBalancerRefs,
        (name, priority, path): (&str, i32, &str),
    ) -> Result<Service, Error> {
        let rule = ListenerRule::new(listener, priority)
            .path(path)
            .target_group(blog_target());
        let service = blog_container_service(&self.base.settings, name, aws, base)?
            .launch_type(LaunchType::Fargate)
            .listener_rule(rule);
        Ok(service.build()?)
    }
}

#[async_trait]
impl Module for SharedAlb {
    type Outputs = SharedAlbOutputs;
    type Refs = OutputRefs<SharedAlbOutputs>;

    /// One stack: what every service shares, the load balancer, and the two services.
    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<Self::Refs, Error> {
        let start = stack.len();
        let base = self.base.declare_base(aws, stack).await?;
        let alb = SharedLoadBalancer::builder()
            .environment(&self.base.settings.environment)
            .name("shared")
            .network(&base.vpc)
            .build()?;
        let alb = alb.declare(aws, stack).await?;
        let api = self
            .service(aws, &base, &alb, SERVICES[0])?
            .declare(aws, stack)
            .await?
            .outputs;
        let web = self
            .service(aws, &base, &alb, SERVICES[1])?
            .declare(aws, stack)
            .await?
            .outputs;
        let load_balancer = alb.outputs;
        let outputs = Ref::new(move |r| {
            let (lb, web, api) = (r.value(&load_balancer), r.value(&web), r.value(&api));
            let (Value::Known(load_balancer), Value::Known(web), Value::Known(api)) =
                (lb, web, api)
            else {
                return Value::AfterApply;
            };
            Value::Known(SharedAlbOutputs {
                web_url: url(&web),
                api_url: url(&api),
                load_balancer,
                web,
                api,
            })
        });
        Ok(OutputRefs::new(outputs, stack.addresses_from(start)))
    }
}

impl Deployment for SharedAlb {
    fn new(settings: &Settings) -> Result<Self, Invalid> {
        Ok(Self {
            base: Fargate::new(settings)?,
        })
    }

    fn urls(out: &SharedAlbOutputs) -> Vec<(&'static str, String)> {
        vec![
            ("web_url", out.web_url.clone()),
            ("api_url", out.api_url.clone()),
        ]
    }
}
