//! The load balancer, its security group and its listeners, as a service's own load balancer
//! and a shared one both declare them.

use std::collections::BTreeMap;

use converge::kinds::{IngressRule, Peer, SecurityGroupKind, SecurityGroupSpec};
use converge::{Handle, Ref, Resolver, Stack, Tags, Value, Wait};

use crate::inputs::{Listener, ListenerProtocol, DEFAULT_SSL_POLICY};
use crate::listeners::{listener_name, ListenerAction, ListenerKind, ListenerOf, ListenerSpec};
use crate::load_balancers::{LoadBalancerKind, LoadBalancerSpec};

/// Where HTTP is redirected from.
pub(crate) const REDIRECT_PORT: i32 = 80;

pub(crate) fn protocol(p: ListenerProtocol) -> &'static str {
    match p {
        ListenerProtocol::Http => "HTTP",
        ListenerProtocol::Https => "HTTPS",
    }
}

/// `http(s)://<dns>[:port]`: the port only when it is not the scheme's own.
pub(crate) fn url(listener: &Listener, dns_name: &str) -> String {
    let (scheme, default_port) = match listener.protocol {
        ListenerProtocol::Http => ("http", 80),
        ListenerProtocol::Https => ("https", 443),
    };
    if listener.port == default_port {
        format!("{scheme}://{dns_name}")
    } else {
        format!("{scheme}://{dns_name}:{}", listener.port)
    }
}

/// A load balancer with its group and listeners, to declare.
#[derive(Clone, Debug)]
pub(crate) struct FrontDoor {
    pub lb_name: String,
    /// A shared load balancer's, whose listeners carry other stacks' rules.
    pub shared: bool,
    pub sg_name: String,
    pub internal: bool,
    /// Who may reach an internet-facing one.
    pub whitelist: Vec<String>,
    pub listener: Listener,
    /// Extra security groups of the load balancer.
    pub extra_groups: Vec<String>,
    /// As ELB names them.
    pub attributes: BTreeMap<String, String>,
    pub wait_active: bool,
    pub wait: Wait,
    pub vpc_id: Ref<String>,
    pub vpc_cidr: Ref<String>,
    pub subnets: Ref<Vec<String>>,
}

/// What [`FrontDoor::declare`] declared.
#[derive(Clone, Copy)]
pub(crate) struct Declared {
    pub sg: Handle<SecurityGroupKind>,
    pub lb: Handle<LoadBalancerKind>,
    pub listener: Handle<ListenerKind>,
    pub redirect: Option<Handle<ListenerKind>>,
}

impl FrontDoor {
    /// The group (admitting the clients on the listener's port, and 80 for the redirect),
    /// the load balancer, the listener doing `action`, and the redirect when asked for.
    pub fn declare(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        action: impl Fn(&Resolver<'_>) -> ListenerAction + Send + Sync + 'static,
    ) -> Declared {
        let (vpc_id, cidr) = (self.vpc_id.clone(), self.vpc_cidr.clone());
        let (internal, whitelist) = (self.internal, self.whitelist.clone());
        let mut ports = vec![self.listener.port];
        if self.listener.redirect_http {
            ports.push(REDIRECT_PORT);
        }
        let sg = stack.add(
            SecurityGroupKind,
            &self.sg_name,
            tags.clone(),
            (),
            move |r| {
                let sources: Vec<Value<String>> = if internal {
                    vec![r.value(&cidr)]
                } else {
                    whitelist.iter().cloned().map(Value::Known).collect()
                };
                SecurityGroupSpec {
                    vpc_id: r.value(&vpc_id),
                    description: "controls access to the application load balancer".into(),
                    ingress: ports
                        .iter()
                        .flat_map(|&port| {
                            sources.iter().map(move |c| IngressRule {
                                from: port,
                                to: port,
                                peer: c.clone().map(Peer::Cidr),
                            })
                        })
                        .collect(),
                }
            },
        );

        let spec_of = {
            let extra_groups = self.extra_groups.clone();
            let subnets = self.subnets.clone();
            let (wait_active, wait) = (self.wait_active, self.wait);
            let attributes = self.attributes.clone();
            move |r: &Resolver<'_>| LoadBalancerSpec {
                internal,
                subnets: r.value(&subnets),
                security_groups: r.get(&sg).map(|o| {
                    let mut groups = vec![o.id.clone()];
                    groups.extend(extra_groups.iter().cloned());
                    groups
                }),
                wait_active,
                wait,
                attributes: attributes.clone(),
            }
        };
        let lb = stack.add(LoadBalancerKind, &self.lb_name, tags.clone(), (), spec_of);

        let certificate_arn = self.listener.certificate_arn.clone();
        let ssl_policy = certificate_arn.as_ref().map(|_| {
            self.listener
                .ssl_policy
                .clone()
                .unwrap_or_else(|| DEFAULT_SSL_POLICY.to_owned())
        });
        let (port, listener_protocol) = (self.listener.port, protocol(self.listener.protocol));
        let of = ListenerOf {
            load_balancer: self.lb_name.clone(),
            shared: self.shared,
        };
        let listener = stack.add(
            ListenerKind,
            listener_name(&self.lb_name, port),
            tags.clone(),
            of.clone(),
            move |r| ListenerSpec {
                load_balancer_arn: r.get(&lb).map(|o| o.arn.clone()),
                port,
                protocol: listener_protocol.into(),
                certificate_arn: certificate_arn.clone(),
                ssl_policy: ssl_policy.clone(),
                action: action(r),
            },
        );
        let redirect = self.listener.redirect_http.then(|| {
            stack.add(
                ListenerKind,
                listener_name(&self.lb_name, REDIRECT_PORT),
                tags.clone(),
                of,
                move |r| ListenerSpec {
                    load_balancer_arn: r.get(&lb).map(|o| o.arn.clone()),
                    port: REDIRECT_PORT,
                    protocol: "HTTP".into(),
                    certificate_arn: None,
                    ssl_policy: None,
                    action: ListenerAction::RedirectToHttps(port),
                },
            )
        });
        Declared {
            sg,
            lb,
            listener,
            redirect,
        }
    }
}
