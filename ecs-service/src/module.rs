//! The service as declarations: security groups, load balancer, target group, listener, task
//! definition and ECS service in one stack, each starting as soon as what it reads exists.

use async_trait::async_trait;
use converge::kinds::{IngressRule, Peer, SecurityGroupKind, SecurityGroupSpec};
use converge::{Aws, Error, Module, Plan, Ref, Stack, Tags, Value};
use task_def::{DeployedIn, NetworkMode, TaskDefinitionKind, TaskDefinitionSpec};

use crate::inputs::{ListenerProtocol, Service, TaskIngress, DEFAULT_SSL_POLICY};
use crate::listeners::{listener_name, ListenerAction, ListenerKind, ListenerSpec};
use crate::load_balancers::{LoadBalancerKind, LoadBalancerSpec};
use crate::names::{shorten, MAX_LB_NAME};
use crate::outputs::ServiceOutputs;
use crate::scalable_targets::{resource_id, ScalableTargetKind, ScalableTargetSpec};
use crate::scaling_policies::{resource_label, AttachedKey, ScalingPolicyKind, ScalingPolicySpec};
use crate::scheduled_actions::{ScheduledActionKind, ScheduledActionSpec};
use crate::services::{Awsvpc, EcsServiceKind, ServiceSpec, ServiceTarget};
use crate::target_groups::{TargetGroupKind, TargetGroupSpec};

/// Where HTTP is redirected from.
const REDIRECT_PORT: i32 = 80;

fn protocol(p: ListenerProtocol) -> &'static str {
    match p {
        ListenerProtocol::Http => "HTTP",
        ListenerProtocol::Https => "HTTPS",
    }
}

impl Service {
    pub(crate) fn tags(&self) -> Tags {
        Tags::for_instance("ecs-service", &self.environment, &self.full_name())
            .with_extra(self.tags.clone())
    }

    fn alb_sg_name(&self) -> String {
        format!("{}-alb-sg", self.full_name())
    }

    fn task_sg_name(&self) -> String {
        format!("{}-task-sg", self.full_name())
    }

    /// The target group's two names: a replacement takes the one not in use, since the old one
    /// must live until the listener and the service have moved.
    fn tg_names(&self) -> [String; 2] {
        [
            self.lb_name.clone(),
            shorten(&format!("{}-b", self.full_name()), MAX_LB_NAME),
        ]
    }

    fn target_type(&self) -> &'static str {
        if self.network_mode() == NetworkMode::Awsvpc {
            "ip"
        } else {
            "instance"
        }
    }

    /// The containers' ports, for the tasks' group when no load balancer fronts them.
    fn container_ports(&self) -> Vec<i32> {
        let mut ports: Vec<i32> = self
            .task_definition
            .containers()
            .iter()
            .flat_map(|c| c.port_mappings.iter().map(|p| p.container_port))
            .collect();
        ports.sort();
        ports.dedup();
        ports
    }

    /// Adds the service's resources to `stack`; what it reads from other modules (the
    /// network, the execution role, `depends_on`) may be declared in the same stack.
    pub fn declare_refs(&self, aws: &Aws, stack: &mut Stack) -> Ref<ServiceOutputs> {
        let tags = self.tags();
        let net = self.network.clone();

        // The load balancer's group admits its clients; the tasks' group admits the load
        // balancer (or the VPC).
        let alb_sg = self.load_balancer.as_ref().map(|lb| {
            let (vpc_id, cidr) = (net.vpc_id.clone(), net.vpc_cidr.clone());
            let (internal, whitelist) = (lb.internal, lb.whitelist.clone());
            // The listener's port, and 80 for the redirect to it.
            let mut ports = vec![lb.listener.port];
            if lb.listener.redirect_http {
                ports.push(REDIRECT_PORT);
            }
            stack.add(
                SecurityGroupKind,
                self.alb_sg_name(),
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
            )
        });
        let task_sg = (self.network_mode() == NetworkMode::Awsvpc).then(|| {
            let (vpc_id, cidr) = (net.vpc_id.clone(), net.vpc_cidr.clone());
            let ingress = self.task_ingress.clone();
            let lb_port = self
                .load_balancer
                .as_ref()
                .map(|lb| lb.target_group.container_port);
            let ports = self.container_ports();
            stack.add(
                SecurityGroupKind,
                self.task_sg_name(),
                tags.clone(),
                (),
                move |r| {
                    let rules = match (&ingress, lb_port, alb_sg) {
                        (TaskIngress::VpcCidrAllTcp, _, _) => vec![IngressRule {
                            from: 0,
                            to: 65535,
                            peer: r.value(&cidr).map(Peer::Cidr),
                        }],
                        (TaskIngress::LoadBalancerOnly, Some(port), Some(alb)) => {
                            vec![IngressRule {
                                from: port,
                                to: port,
                                peer: r.get(&alb).map(|o| Peer::Group(o.id.clone())),
                            }]
                        }
                        (TaskIngress::LoadBalancerOnly, _, _) => ports
                            .iter()
                            .map(|&p| IngressRule {
                                from: p,
                                to: p,
                                peer: r.value(&cidr).map(Peer::Cidr),
                            })
                            .collect(),
                    };
                    SecurityGroupSpec {
                        vpc_id: r.value(&vpc_id),
                        description: "controls access to the service's tasks".into(),
                        ingress: rules,
                    }
                },
            )
        });

        // Load balancer, target group and listener.
        let front = self.load_balancer.as_ref().map(|want| {
            let alb_sg = alb_sg.expect("declared with the load balancer");
            let extra_groups = want.security_group_ids.clone();
            let lb_subnets = net.lb_subnets.clone();
            let spec_of = {
                let internal = want.internal;
                let wait_active = self.steady_state.is_some();
                let wait = self.wait;
                let attributes = want.attributes.elb();
                move |r: &converge::Resolver<'_>| LoadBalancerSpec {
                    internal,
                    subnets: r.value(&lb_subnets),
                    security_groups: r.get(&alb_sg).map(|o| {
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

            let [tg_name, alt_name] = self.tg_names();
            let vpc_id = net.vpc_id.clone();
            let tg_spec = TargetGroupSpec {
                alt_name: alt_name.clone(),
                port: want.target_group.host_port,
                protocol: protocol(want.target_group.protocol).into(),
                target_type: self.target_type().into(),
                vpc_id: Value::AfterApply,
                health_check: want.health_check.clone(),
                deregistration_delay: want.target_group.deregistration_delay,
            };
            let tg = stack.add(TargetGroupKind, tg_name, tags.clone(), alt_name, move |r| {
                TargetGroupSpec {
                    vpc_id: r.value(&vpc_id),
                    ..tg_spec.clone()
                }
            });

            let certificate_arn = want.listener.certificate_arn.clone();
            let ssl_policy = certificate_arn.as_ref().map(|_| {
                want.listener
                    .ssl_policy
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SSL_POLICY.to_owned())
            });
            let (port, listener_protocol) = (want.listener.port, protocol(want.listener.protocol));
            let listener = stack.add(
                ListenerKind,
                listener_name(&self.lb_name, port),
                tags.clone(),
                self.lb_name.clone(),
                move |r| ListenerSpec {
                    load_balancer_arn: r.get(&lb).map(|o| o.arn.clone()),
                    port,
                    protocol: listener_protocol.into(),
                    certificate_arn: certificate_arn.clone(),
                    ssl_policy: ssl_policy.clone(),
                    action: ListenerAction::Forward(r.get(&tg).map(|o| o.arn.clone())),
                },
            );
            if want.listener.redirect_http {
                stack.add(
                    ListenerKind,
                    listener_name(&self.lb_name, REDIRECT_PORT),
                    tags.clone(),
                    self.lb_name.clone(),
                    move |r| ListenerSpec {
                        load_balancer_arn: r.get(&lb).map(|o| o.arn.clone()),
                        port: REDIRECT_PORT,
                        protocol: "HTTP".into(),
                        certificate_arn: None,
                        ssl_policy: None,
                        action: ListenerAction::RedirectToHttps(port),
                    },
                );
            }
            (lb, tg, listener)
        });

        let task = {
            let execution = self.execution_role.as_ref().map(|role| role.arn().clone());
            let task_role = self.task_role.as_ref().map(|role| role.arn().clone());
            let definition = self.task_definition.clone();
            let (keep_images, left_to_ci) = (
                self.keep_deployed_images.clone(),
                self.ignore_task_definition_changes,
            );
            // Only a spec that keeps something reads which revision the service runs.
            let deployed = (!keep_images.is_empty() || left_to_ci).then(|| DeployedIn {
                cluster: self.cluster.clone(),
                service: self.service_name.clone(),
            });
            stack.add(
                TaskDefinitionKind,
                definition.family().to_owned(),
                definition.tags(),
                deployed,
                move |r| TaskDefinitionSpec {
                    execution_role_arn: execution.as_ref().map(|arn| r.value(arn)),
                    task_role_arn: task_role.as_ref().map(|arn| r.value(arn)),
                    keep_images: keep_images.clone(),
                    left_to_ci,
                    ..TaskDefinitionSpec::new(definition.clone())
                },
            )
        };
        let policies = self.declare_policies(aws, stack, &tags);

        let service = {
            let base = ServiceSpec {
                cluster: self.cluster.clone(),
                task_definition: Value::AfterApply,
                desired_count: self.desired_count,
                desired_count_managed: self.autoscaling.is_some(),
                launch_type: self.launch_type,
                strategy: self.strategy.clone(),
                awsvpc: None,
                target: None,
                health_check_grace_period: self
                    .load_balancer
                    .as_ref()
                    .and_then(|lb| lb.health_check_grace_period_seconds),
                circuit_breaker: self.circuit_breaker,
                minimum_healthy_percent: self.minimum_healthy_percent,
                maximum_percent: self.maximum_percent,
                propagate_tags: self.propagate_tags,
                enable_execute_command: self.enable_execute_command,
                task_definition_left_to_ci: self.ignore_task_definition_changes,
                role: self.ecs_service_role.clone(),
                steady_state: self.steady_state,
            };
            let target = self.target();
            let subnets = net.subnets.clone();
            let egress = net.egress.clone();
            let extra_groups = self.security_group_ids.clone();
            let depends_on = self.depends_on.clone();
            stack.add(
                EcsServiceKind,
                &self.service_name,
                tags.clone(),
                self.cluster.clone(),
                move |r| {
                    // Not values, an order: tasks must pull their image through the NAT
                    // gateway, and ECS needs the target group on a listener.
                    let _ = r.value(&egress);
                    for d in &depends_on {
                        let _ = r.value(d);
                    }
                    if let Some((_, _, listener)) = &front {
                        let _ = r.get(listener);
                    }
                    // Tasks start with their secrets and their exec agent's permissions.
                    for policy in &policies {
                        let _ = r.get(policy);
                    }
                    ServiceSpec {
                        task_definition: r.get(&task).map(|o| o.arn.clone()),
                        awsvpc: task_sg.map(|sg| Awsvpc {
                            subnets: r.value(&subnets),
                            security_groups: r.get(&sg).map(|o| {
                                let mut groups = vec![o.id.clone()];
                                groups.extend(extra_groups.iter().cloned());
                                groups
                            }),
                        }),
                        target: front.zip(target.clone()).map(|((_, tg, _), (name, port))| {
                            ServiceTarget {
                                target_group_arn: r.get(&tg).map(|o| o.arn.clone()),
                                container_name: name,
                                container_port: port,
                            }
                        }),
                        ..base.clone()
                    }
                },
            )
        };

        self.declare_autoscaling(stack, &tags, service, front);

        let scheme_port = self.load_balancer.as_ref().map(|lb| {
            let (scheme, default_port) = match lb.listener.protocol {
                ListenerProtocol::Http => ("http", 80),
                ListenerProtocol::Https => ("https", 443),
            };
            (
                scheme,
                (lb.listener.port != default_port).then_some(lb.listener.port),
            )
        });
        Ref::new(move |r| {
            // Every handle is read before any is judged, so the reads are all recorded.
            let service = r.get(&service);
            let task = r.get(&task);
            let task_sg = task_sg.map(|h| r.get(&h));
            let alb_sg = alb_sg.map(|h| r.get(&h));
            let front = front.map(|(lb, tg, l)| (r.get(&lb), r.get(&tg), r.get(&l)));
            let (Value::Known(service), Value::Known(task)) = (service, task) else {
                return Value::AfterApply;
            };
            let task_sg = match task_sg {
                Some(Value::AfterApply) => return Value::AfterApply,
                other => other.and_then(Value::into_known).map(|o| o.id.clone()),
            };
            let (alb_sg, front) = match (alb_sg, front) {
                (
                    Some(Value::Known(sg)),
                    Some((Value::Known(lb), Value::Known(tg), Value::Known(l))),
                ) => (Some(sg.id.clone()), Some((lb, tg, l))),
                (None, None) => (None, None),
                _ => return Value::AfterApply,
            };
            let service_url =
                front
                    .zip(scheme_port)
                    .map(|((lb, _, _), (scheme, port))| match port {
                        Some(port) => format!("{scheme}://{}:{port}", lb.dns_name),
                        None => format!("{scheme}://{}", lb.dns_name),
                    });
            Value::Known(ServiceOutputs {
                service_url,
                lb_dns_name: front.map(|(lb, _, _)| lb.dns_name.clone()),
                lb_arn: front.map(|(lb, _, _)| lb.arn.clone()),
                lb_zone_id: front.map(|(lb, _, _)| lb.zone_id.clone()),
                task_definition_arn: task.arn.clone(),
                lb_target_group_arn: front.map(|(_, tg, _)| tg.arn.clone()),
                lb_listener_arn: front.map(|(_, _, l)| l.arn.clone()),
                lb_security_group_id: alb_sg,
                service_arn: service.arn.clone(),
                service_name: service.name.clone(),
                task_security_group_id: task_sg,
            })
        })
    }

    /// The scalable target, its policies and scheduled actions, each after what it reads, so
    /// that destroy deletes them before the service. Without autoscaling the target is still
    /// looked for: one an earlier apply made goes, its policies and actions with it.
    fn declare_autoscaling(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        service: converge::Handle<EcsServiceKind>,
        front: Option<(
            converge::Handle<LoadBalancerKind>,
            converge::Handle<TargetGroupKind>,
            converge::Handle<ListenerKind>,
        )>,
    ) {
        let id = resource_id(&self.cluster, &self.service_name);
        let Some(auto) = &self.autoscaling else {
            stack.track(ScalableTargetKind, &id, tags.clone(), (), move |r| {
                r.get(&service);
            });
            return;
        };
        let bounds = ScalableTargetSpec {
            min_capacity: auto.min_capacity,
            max_capacity: auto.max_capacity,
        };
        let target = stack.add(ScalableTargetKind, &id, tags.clone(), (), move |r| {
            r.get(&service);
            bounds.clone()
        });
        let prefix = format!("{}-", self.full_name());
        let key = AttachedKey {
            resource_id: id.clone(),
            prefix: prefix.clone(),
        };
        // What an earlier apply made and the inputs no longer name is found by the prefix.
        stack.track(
            ScalingPolicyKind,
            format!("{prefix}*"),
            tags.clone(),
            key.clone(),
            move |r| {
                r.get(&target);
            },
        );
        stack.track(
            ScheduledActionKind,
            format!("{prefix}*"),
            tags.clone(),
            key.clone(),
            move |r| {
                r.get(&target);
            },
        );
        for policy in &auto.target_tracking {
            let (policy, resource_id) = (policy.clone(), id.clone());
            let by_requests = policy.metric == crate::ScalingMetric::RequestsPerTarget;
            stack.add(
                ScalingPolicyKind,
                format!("{prefix}{}", policy.metric.suffix()),
                tags.clone(),
                key.clone(),
                move |r| {
                    r.get(&target);
                    let resource_label = front.filter(|_| by_requests).map(|(lb, tg, l)| {
                        // The target group counts requests once a listener forwards to it.
                        r.get(&l);
                        r.get(&lb)
                            .zip(r.get(&tg))
                            .map(|(lb, tg)| resource_label(&lb.arn, &tg.arn))
                    });
                    ScalingPolicySpec {
                        resource_id: resource_id.clone(),
                        policy: policy.clone(),
                        resource_label,
                    }
                },
            );
        }
        for action in &auto.scheduled {
            let spec = ScheduledActionSpec {
                resource_id: id.clone(),
                schedule: action.schedule.clone(),
                timezone: action.timezone.clone(),
                min_capacity: action.min_capacity,
                max_capacity: action.max_capacity,
            };
            stack.add(
                ScheduledActionKind,
                format!("{prefix}{}", action.name),
                tags.clone(),
                key.clone(),
                move |r| {
                    r.get(&target);
                    spec.clone()
                },
            );
        }
    }

    /// What [`apply`](Service::apply) would change.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes AWS match the inputs: the security groups, then the load balancer and the target
    /// group, the listener, the task definition and the service, each as soon as what it
    /// reads exists. A second apply makes no mutating call.
    pub async fn apply(&self, aws: &Aws) -> Result<ServiceOutputs, Error> {
        Module::apply(self, aws).await
    }

    /// Deletes everything this service made, found by name and ownership tag: the service
    /// (scaled to zero, waited until INACTIVE), the listener, the target group, the load
    /// balancer (waited until gone), the security groups and the task definition revisions.
    /// Works on a half-built or absent stack.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::destroy(self, aws).await
    }

    /// The outputs of what exists, read only; `None` until the service was applied.
    pub async fn outputs(&self, aws: &Aws) -> Result<Option<ServiceOutputs>, Error> {
        Module::outputs(self, aws).await
    }
}

#[async_trait]
impl Module for Service {
    type Outputs = ServiceOutputs;

    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<Ref<ServiceOutputs>, Error> {
        Ok(self.declare_refs(aws, stack))
    }
}
