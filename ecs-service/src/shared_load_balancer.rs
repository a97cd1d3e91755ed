//! One application load balancer for many services: its security group, its listener
//! answering `404` to what no rule matches, and HTTP's redirect to HTTPS. Each service adds
//! a rule on the listener ([`ListenerRule`](crate::ListenerRule)) with its own target group.

use async_trait::async_trait;
use converge::{
    Address, Applied, Aws, Error, Invalid, Module, Plan, Ref, Refs, Stack, Tags, Value, Wait,
};
use serde::{Deserialize, Serialize};

use crate::front_door::{url, FrontDoor};
use crate::inputs::{
    check_front, check_listener, Listener, ListenerProtocol, LoadBalancerAttributes,
};
use crate::listeners::ListenerAction;
use crate::names::{shorten, valid_lb_name, MAX_LB_NAME};

/// A load balancer that services share by listener rules, as a Copilot environment's.
///
/// ```no_run
/// use ecs_service::{Listener, ListenerRule, SharedListener, SharedLoadBalancer};
///
/// # async fn run(aws: converge::Aws, network: vpc::VpcOutputs) -> Result<(), Box<dyn std::error::Error>> {
/// let alb = SharedLoadBalancer::builder()
///     .environment("blog")
///     .name("public")
///     .network(&network)
///     .listener(Listener::default()) // HTTP on 80; Listener::https(cert) for HTTPS
///     .build()?;
/// let outputs = alb.apply(&aws).await?;
/// println!("{}", outputs.url);
/// // A service's rule: `/api/*` at priority 20 (in the same stack, from the refs `declare`
/// // returned: `ListenerRule::new(&refs, 20)`).
/// let rule = ListenerRule::new(&outputs, 20).path("/api/*");
/// # let _ = rule;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SharedLoadBalancer {
    environment: String,
    name: String,
    door: FrontDoor,
    tags: std::collections::BTreeMap<String, String>,
}

/// What a shared load balancer gives back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SharedLoadBalancerOutputs {
    /// `http(s)://<dns name>[:port]`.
    pub url: String,
    /// The load balancer's name, by which services find their rules.
    pub lb_name: String,
    /// The load balancer's ARN.
    pub lb_arn: String,
    /// Its DNS name.
    pub lb_dns_name: String,
    /// Its Route 53 zone, for alias records.
    pub lb_zone_id: String,
    /// Its security group, which the services' tasks admit.
    pub security_group_id: String,
    /// The listener the services' rules go on.
    pub listener_arn: String,
    /// Its port.
    pub listener_port: i32,
    /// Its protocol.
    pub listener_protocol: ListenerProtocol,
    /// HTTP's redirect to HTTPS, when there is one.
    pub redirect_listener_arn: Option<String>,
}

/// A shared load balancer's listener, as a service's [`ListenerRule`](crate::ListenerRule)
/// sees it: where its rule goes, and the group its tasks admit.
#[derive(Clone, Debug)]
pub struct SharedListener {
    pub(crate) load_balancer: String,
    pub(crate) listener: Listener,
    pub(crate) outputs: Ref<SharedLoadBalancerOutputs>,
}

impl SharedListener {
    /// The listener of a shared load balancer applied already, from its outputs alone (read
    /// with [`SharedLoadBalancer::outputs`], or kept as JSON by the program that applied it).
    pub fn from_outputs(outputs: &SharedLoadBalancerOutputs) -> Self {
        Self {
            load_balancer: outputs.lb_name.clone(),
            listener: Listener {
                port: outputs.listener_port,
                protocol: outputs.listener_protocol,
                ..Listener::default()
            },
            outputs: Ref::known(outputs.clone()),
        }
    }

    /// The load balancer's name.
    pub fn load_balancer(&self) -> &str {
        &self.load_balancer
    }

    /// The listener's port.
    pub fn port(&self) -> i32 {
        self.listener.port
    }
}

impl From<&SharedLoadBalancerOutputs> for SharedListener {
    fn from(outputs: &SharedLoadBalancerOutputs) -> Self {
        Self::from_outputs(outputs)
    }
}

impl From<&Applied<SharedLoadBalancerOutputs>> for SharedListener {
    fn from(applied: &Applied<SharedLoadBalancerOutputs>) -> Self {
        Self::from_outputs(&applied.outputs)
    }
}

impl From<&SharedLoadBalancerRefs> for SharedListener {
    fn from(refs: &SharedLoadBalancerRefs) -> Self {
        refs.listener.clone()
    }
}

/// A shared load balancer declared into a stack: the listener services put their rules on,
/// its outputs, and the addresses of the load balancer, its group and its listeners.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SharedLoadBalancerRefs {
    /// The listener, as a [`ListenerRule`](crate::ListenerRule) takes it.
    pub listener: SharedListener,
    /// Every output at once, known when all are.
    pub outputs: Ref<SharedLoadBalancerOutputs>,
    /// The addresses of its resources.
    pub addresses: Vec<Address>,
}

impl Refs for SharedLoadBalancerRefs {
    type Outputs = SharedLoadBalancerOutputs;

    fn outputs(&self) -> Ref<SharedLoadBalancerOutputs> {
        self.outputs.clone()
    }

    fn addresses(&self) -> &[Address] {
        &self.addresses
    }
}

impl SharedLoadBalancer {
    /// A builder: internet-facing, HTTP on port 80.
    pub fn builder() -> SharedLoadBalancerBuilder {
        SharedLoadBalancerBuilder::default()
    }

    /// The load balancer's name: `<environment>-<name>`, shortened to ELB's 32 characters.
    pub fn lb_name(&self) -> &str {
        &self.door.lb_name
    }

    fn owner_tags(&self) -> Tags {
        Tags::for_instance("shared-alb", &self.environment, &self.name)
            .with_legacy_instance(&self.full_name())
            .with_extra(self.tags.clone())
    }

    fn full_name(&self) -> String {
        format!("{}-{}", self.environment, self.name)
    }

    /// The load balancer, its group and its listeners, in `stack`.
    fn add_to(&self, stack: &mut Stack) -> Ref<SharedLoadBalancerOutputs> {
        let d = &self.door;
        let made = d.declare(stack, &self.owner_tags(), |_| ListenerAction::NotFound);
        let (listener, lb_name) = (d.listener.clone(), d.lb_name.clone());
        Ref::new(move |r| {
            let (sg, lb, l) = (r.get(&made.sg), r.get(&made.lb), r.get(&made.listener));
            let redirect = made.redirect.map(|h| r.get(&h));
            let (Value::Known(sg), Value::Known(lb), Value::Known(l)) = (sg, lb, l) else {
                return Value::AfterApply;
            };
            let redirect_listener_arn = match redirect {
                Some(Value::AfterApply) => return Value::AfterApply,
                Some(Value::Known(o)) => Some(o.arn.clone()),
                None => None,
            };
            Value::Known(SharedLoadBalancerOutputs {
                url: url(&listener, &lb.dns_name),
                lb_name: lb_name.clone(),
                listener_port: listener.port,
                listener_protocol: listener.protocol,
                lb_arn: lb.arn.clone(),
                lb_dns_name: lb.dns_name.clone(),
                lb_zone_id: lb.zone_id.clone(),
                security_group_id: sg.id.clone(),
                listener_arn: l.arn.clone(),
                redirect_listener_arn,
            })
        })
    }

    /// What [`apply`](SharedLoadBalancer::apply) would change.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes the load balancer, its group and its listeners match the inputs.
    pub async fn apply(&self, aws: &Aws) -> Result<Applied<SharedLoadBalancerOutputs>, Error> {
        Module::apply(self, aws).await
    }

    /// Deletes the listeners, the load balancer and its group; refused, before anything is
    /// deleted, while another stack's rule is on a listener (the refusal names them).
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::destroy(self, aws).await
    }

    /// The outputs of what exists, read only.
    pub async fn outputs(&self, aws: &Aws) -> Result<Option<SharedLoadBalancerOutputs>, Error> {
        Module::outputs(self, aws).await
    }
}

#[async_trait]
impl Module for SharedLoadBalancer {
    type Outputs = SharedLoadBalancerOutputs;
    type Refs = SharedLoadBalancerRefs;

    /// Adds the load balancer, its group and its listeners to `stack`.
    async fn declare(
        &self,
        _aws: &Aws,
        stack: &mut Stack,
    ) -> Result<SharedLoadBalancerRefs, Error> {
        let start = stack.len();
        let outputs = self.add_to(stack);
        Ok(SharedLoadBalancerRefs {
            listener: SharedListener {
                load_balancer: self.door.lb_name.clone(),
                listener: self.door.listener.clone(),
                outputs: outputs.clone(),
            },
            outputs,
            addresses: stack.addresses_from(start),
        })
    }
}

/// Builds a [`SharedLoadBalancer`]; `build` checks every input before any AWS call.
#[derive(Clone, Debug, Default)]
pub struct SharedLoadBalancerBuilder {
    environment: Option<String>,
    name: Option<String>,
    internal: bool,
    whitelist: Option<Vec<String>>,
    listener: Option<Listener>,
    security_group_ids: Vec<String>,
    attributes: LoadBalancerAttributes,
    wait: Option<Wait>,
    network: Option<vpc::Network>,
    tags: std::collections::BTreeMap<String, String>,
}

impl SharedLoadBalancerBuilder {
    /// Required. The name prefix and `Environment` tag.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }
    /// Required. The load balancer's own name, after the environment's.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Required. The VPC, and its public subnets (private ones when internal): the
    /// [`vpc::VpcRefs`] of a network declared in the same stack, its outputs, or
    /// [`vpc::Network::ids`].
    pub fn network(mut self, network: impl Into<vpc::Network>) -> Self {
        self.network = Some(network.into());
        self
    }
    /// Internal (reached from the VPC only, in the private subnets) instead of
    /// internet-facing (in the public subnets).
    pub fn internal(mut self, internal: bool) -> Self {
        self.internal = internal;
        self
    }
    /// CIDRs allowed to reach an internet-facing load balancer (default `0.0.0.0/0`).
    pub fn whitelist<I: IntoIterator<Item = S>, S: Into<String>>(mut self, cidrs: I) -> Self {
        self.whitelist = Some(cidrs.into_iter().map(Into::into).collect());
        self
    }
    /// The listener the services' rules go on (default HTTP on 80); [`Listener::https`]
    /// gives HTTPS on 443 with HTTP redirected to it.
    pub fn listener(mut self, listener: Listener) -> Self {
        self.listener = Some(listener);
        self
    }
    /// An extra security group for the load balancer.
    pub fn security_group_id(mut self, id: impl Into<String>) -> Self {
        self.security_group_ids.push(id.into());
        self
    }
    /// Deletion protection, access logs, idle timeout, invalid header fields.
    pub fn attributes(mut self, attributes: LoadBalancerAttributes) -> Self {
        self.attributes = attributes;
        self
    }
    /// How long destroy waits for the load balancer to be gone (default ten minutes).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = Some(wait);
        self
    }
    /// An extra tag on every resource.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Checks every input and reports every problem at once.
    pub fn build(self) -> Result<SharedLoadBalancer, Invalid> {
        let mut invalid = Invalid::default();
        let environment = self.environment.unwrap_or_default();
        let name = self.name.unwrap_or_default();
        invalid.check_environment(&environment);
        invalid.check_tags(&self.tags);
        invalid.check(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "name",
            "is required: letters, digits and hyphens (ELB's rule)",
        );
        let lb_name = shorten(&format!("{environment}-{name}"), MAX_LB_NAME);
        if !name.is_empty() {
            invalid.check(
                valid_lb_name(&lb_name),
                "name",
                format_args!(
                    "{lb_name:?} is not a valid load balancer name (letters, digits, hyphens)"
                ),
            );
        }
        invalid.check(self.network.is_some(), "network", "is required");
        let network = self.network.unwrap_or_else(|| vpc::Network::ids("", ""));
        let (subnets, count) = if self.internal {
            let known = network.known_private_subnets().map(<[String]>::len);
            (network.private_subnet_ids().clone(), known)
        } else {
            let known = network.known_public_subnets().map(<[String]>::len);
            (network.public_subnet_ids().clone(), known)
        };
        invalid.check(
            count.is_none_or(|n| n >= 2),
            "network",
            "an application load balancer needs subnets in at least two availability zones",
        );
        let listener = self.listener.unwrap_or_default();
        check_listener(&mut invalid, "listener", &listener);
        let whitelist = self
            .whitelist
            .unwrap_or_else(|| vec!["0.0.0.0/0".to_owned()]);
        check_front(
            &mut invalid,
            "",
            self.internal,
            &whitelist,
            &self.security_group_ids,
            &listener,
        );
        let sg_name = format!("{environment}-{name}-alb-sg");
        invalid.check(
            sg_name.len() <= 255,
            "name",
            format_args!(
                "makes the security group name {}... of {} characters: EC2 takes at most 255",
                sg_name.chars().take(40).collect::<String>(),
                sg_name.len()
            ),
        );
        self.attributes.check(&mut invalid, "attributes");
        invalid.into_result(())?;
        Ok(SharedLoadBalancer {
            environment,
            name,
            door: FrontDoor {
                sg_name,
                lb_name,
                shared: true,
                internal: self.internal,
                whitelist,
                listener,
                extra_groups: self.security_group_ids,
                attributes: self.attributes.elb(),
                // Nothing needs it active: listeners and rules are made on a provisioning one.
                wait_active: false,
                wait: self.wait.unwrap_or_default(),
                vpc_id: network.vpc_id().clone(),
                vpc_cidr: network.vpc_cidr().clone(),
                subnets,
            },
            tags: self.tags,
        })
    }
}
