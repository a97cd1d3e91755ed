//! The service as declarations: security groups, load balancer, target group, listener, task
//! definition and ECS service in one stack, each starting as soon as what it reads exists.

use async_trait::async_trait;
use converge::kinds::iam_role::{managed_policy_arn, trust_policy};
use converge::kinds::{
    IngressRule, Peer, RoleKind, RolePolicyKind, RoleSpec, SecurityGroupKind, SecurityGroupSpec,
};
use converge::{Applied, Aws, Error, Handle, Module, Options, Plan, Ref, Stack, Tags, Value};
use task_def::{DeployedIn, NetworkMode, TaskDefinitionKind, TaskDefinitionSpec};

use crate::front_door::{self, protocol, FrontDoor, REDIRECT_PORT};
use crate::inputs::alarms::{AlarmTarget, DeploymentAlarms};
use crate::inputs::{ListenerRule, Service, TaskIngress};
use crate::listener_rules::{ListenerRuleKind, ListenerRuleSpec, RuleAt};
use crate::listeners::{listener_name, ListenerAction, ListenerKind, ListenerOf};
use crate::load_balancers::{LoadBalancerKind, LoadBalancerOutputs};
use crate::names::{shorten, MAX_LB_NAME};
use crate::outputs::{ServiceOutputs, ServiceRefs};
use crate::scalable_targets::{resource_id, ScalableTargetKind, ScalableTargetSpec};
use crate::scaling_policies::{resource_label, AttachedKey, ScalingPolicyKind, ScalingPolicySpec};
use crate::scheduled_actions::{ScheduledActionKind, ScheduledActionSpec};
use crate::services::{
    Awsvpc, EcsServiceKind, ServiceAlarms, ServiceSpec, ServiceTarget, TrafficShift,
};
use crate::target_groups::{TargetGroupKind, TargetGroupSpec};

/// The target group and what the service's outputs read of its front: a load balancer of
/// its own, or a rule on a shared listener.
#[derive(Clone)]
struct Front {
    tg: Handle<TargetGroupKind>,
    /// Known once a listener or a rule forwards to the target group (ECS needs it to).
    forwarding: Ref<()>,
    lb: Ref<LoadBalancerOutputs>,
    listener_arn: Ref<String>,
    /// The load balancer's group, which the tasks admit.
    lb_group: Ref<String>,
    rule: Option<Ref<String>>,
    url: Ref<String>,
    /// What ECS shifts traffic with, under a strategy that does.
    shift: Option<Shift>,
}

/// The alternate target group, the production listener rule whose weights ECS moves and the
/// infrastructure role it moves them with.
#[derive(Clone)]
struct Shift {
    alt: Handle<TargetGroupKind>,
    rule: Ref<String>,
    role: Ref<String>,
}

/// What the service waits for besides what it reads: its task role's policies, and the
/// deployment alarms it names.
struct Before {
    policies: Vec<Handle<RolePolicyKind>>,
    alarms: Option<Ref<Vec<String>>>,
}

/// The production rule on a service's own listener: first, and matching every path.
const PRODUCTION_RULE_PRIORITY: i32 = 1;

/// The AWS managed policy ECS's infrastructure role needs to move a load balancer's traffic.
const INFRASTRUCTURE_POLICY: &str = "AmazonECSInfrastructureRolePolicyForLoadBalancers";

impl Service {
    pub(crate) fn tags(&self) -> Tags {
        Tags::for_instance("ecs-service", &self.environment, &self.service_name)
            .with_legacy_instance(&self.full_name())
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

    /// Behind a shared listener, other names: a target group belongs to one load balancer,
    /// so a service moving onto a shared listener needs a new one before its own load
    /// balancer goes.
    fn rule_tg_names(&self) -> [String; 2] {
        [
            shorten(&format!("{}-r", self.full_name()), MAX_LB_NAME),
            shorten(&format!("{}-rb", self.full_name()), MAX_LB_NAME),
        ]
    }

    /// The alternate target group's two names, on either front.
    fn alt_tg_names(&self) -> [String; 2] {
        let (a, b) = match self.listener_rule {
            Some(_) => ("rg", "rgb"),
            None => ("g", "gb"),
        };
        [
            shorten(&format!("{}-{a}", self.full_name()), MAX_LB_NAME),
            shorten(&format!("{}-{b}", self.full_name()), MAX_LB_NAME),
        ]
    }

    /// The production listener rule on the service's own listener.
    fn production_rule_name(&self) -> String {
        format!("{}-production", self.full_name())
    }

    /// The infrastructure role ECS shifts traffic with (IAM takes 64 characters).
    fn infrastructure_role_name(&self) -> String {
        shorten(&format!("{}-ecs-infra", self.full_name()), 64)
    }

    /// Under a strategy that shifts traffic, the alternate target group and the
    /// infrastructure role; otherwise, those an earlier apply made (and its production rule
    /// on the service's own listener) are looked for, and go once the service no longer
    /// names them.
    fn declare_shift_parts(
        &self,
        aws: &Aws,
        stack: &mut Stack,
        tags: &Tags,
        tg: Option<Handle<TargetGroupKind>>,
    ) -> Option<(Handle<TargetGroupKind>, Ref<String>)> {
        let [alt_name, alt_alt_name] = self.alt_tg_names();
        let role_name = self.infrastructure_role_name();
        let shifting = self.deployment_strategy.shifts_traffic() && tg.is_some();
        if !shifting {
            let alt = stack.track(
                TargetGroupKind,
                alt_name,
                tags.clone(),
                alt_alt_name,
                |_| {},
            );
            if let Some(lb) = &self.load_balancer {
                let at = RuleAt {
                    load_balancer: self.lb_name.clone(),
                    port: lb.listener.port,
                    priority: PRODUCTION_RULE_PRIORITY,
                };
                // The rule goes before the group it forwards to.
                let name = self.production_rule_name();
                stack.track(ListenerRuleKind, name, tags.clone(), at, move |r| {
                    r.get(&alt);
                });
            }
            stack.track(RoleKind, role_name, tags.clone(), (), |_| {});
            return None;
        }
        let alt = self
            .add_target_group(stack, tags, [alt_name, alt_alt_name])
            .expect("a front has a target group");
        let role = RoleSpec {
            assume_role_policy: trust_policy("ecs.amazonaws.com"),
            managed_policy_arns: vec![managed_policy_arn(aws.region(), INFRASTRUCTURE_POLICY)],
        };
        let role = stack.add(RoleKind, role_name, tags.clone(), (), move |_| role.clone());
        Some((alt, role.output(|o| o.role_arn.clone())))
    }

    /// The deployment alarms the module makes, each after the target group and load balancer
    /// it watches; without any, those an earlier apply made are looked for, and go.
    fn declare_alarms(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        front: Option<&Front>,
    ) -> Option<Ref<Vec<String>>> {
        let prefix = self.full_name();
        let Some(alarms) = &self.deployment_alarms else {
            DeploymentAlarms::track(stack, tags, &prefix);
            return None;
        };
        let mut target = AlarmTarget::new(&self.service_name, &self.cluster).name_prefix(prefix);
        if let Some(front) = front {
            target = target.load_balancer(
                front.tg.output(|o| o.arn.clone()),
                front.lb.clone().map(|o| o.arn),
            );
        }
        Some(alarms.declare(stack, tags, &target))
    }

    /// Without a load balancer of its own, the one an earlier apply made is still looked for,
    /// and goes with its listeners, target group and security group once the service has
    /// moved (onto a shared listener, or off any).
    fn track_own_load_balancer(&self, stack: &mut Stack, tags: &Tags) {
        let sg = stack.track(
            SecurityGroupKind,
            self.alb_sg_name(),
            tags.clone(),
            (),
            |_| {},
        );
        let [tg_name, alt_name] = self.tg_names();
        let tg = stack.track(TargetGroupKind, tg_name, tags.clone(), alt_name, |_| {});
        let lb = stack.track(
            LoadBalancerKind,
            &self.lb_name,
            tags.clone(),
            (),
            move |r| {
                r.get(&sg);
            },
        );
        let of = ListenerOf {
            load_balancer: self.lb_name.clone(),
            shared: false,
        };
        let name = listener_name(&self.lb_name, REDIRECT_PORT);
        stack.track(ListenerKind, name, tags.clone(), of, move |r| {
            r.get(&lb);
            r.get(&tg);
        });
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

    fn add_to(&self, aws: &Aws, stack: &mut Stack) -> Ref<ServiceOutputs> {
        let tags = self.tags();
        let door = self.front_door();

        // The target group, and what forwards to it: a listener of its own load balancer, or
        // a rule on the shared one's.
        if self.load_balancer.is_none() {
            self.track_own_load_balancer(stack, &tags);
        }
        let tg = self.declare_target_group(stack, &tags);
        let shift = self.declare_shift_parts(aws, stack, &tags, tg);
        let (front, task_sg) = match (&door, &self.listener_rule, tg) {
            (Some(door), _, Some(tg)) => self.declare_own_front(stack, &tags, door, tg, shift),
            (None, Some(rule), Some(tg)) => self.declare_rule_front(stack, &tags, rule, tg, shift),
            _ => (None, self.declare_task_sg(stack, &tags, None)),
        };

        let task = self.declare_task_definition(stack);
        let policies = self.declare_policies(aws, stack, &tags);
        let before = Before {
            policies,
            alarms: self.declare_alarms(stack, &tags, front.as_ref()),
        };
        let service = self.declare_service(stack, &tags, task, task_sg, front.clone(), before);

        self.declare_autoscaling(stack, &tags, service, front.clone());

        service_outputs(service, task, task_sg, front)
    }

    /// A load balancer of its own, when the inputs give one: its group admits the clients.
    fn front_door(&self) -> Option<FrontDoor> {
        let net = &self.network;
        self.load_balancer.as_ref().map(|lb| FrontDoor {
            lb_name: self.lb_name.clone(),
            shared: false,
            sg_name: self.alb_sg_name(),
            internal: lb.internal,
            whitelist: lb.whitelist.clone(),
            listener: lb.listener.clone(),
            extra_groups: lb.security_group_ids.clone(),
            attributes: lb.attributes.elb(),
            wait_active: self.steady_state.is_some(),
            wait: self.wait,
            vpc_id: net.vpc_id.clone(),
            vpc_cidr: net.vpc_cidr.clone(),
            subnets: net.lb_subnets.clone(),
        })
    }

    /// The tasks' group (awsvpc only): it admits the load balancer's group, its own or the
    /// shared one's, or the VPC.
    fn declare_task_sg(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        lb_group: Option<Ref<String>>,
    ) -> Option<Handle<SecurityGroupKind>> {
        (self.network_mode() == NetworkMode::Awsvpc).then(|| {
            let (vpc_id, cidr) = (self.network.vpc_id.clone(), self.network.vpc_cidr.clone());
            let ingress = self.task_ingress.clone();
            let lb_port = self.target().map(|(_, port)| port);
            let ports = self.container_ports();
            stack.add(
                SecurityGroupKind,
                self.task_sg_name(),
                tags.clone(),
                (),
                move |r| {
                    let rules = match (&ingress, lb_port, &lb_group) {
                        (TaskIngress::VpcCidrAllTcp, _, _) => vec![IngressRule {
                            from: 0,
                            to: 65535,
                            peer: r.value(&cidr).map(Peer::Cidr),
                        }],
                        (TaskIngress::LoadBalancerOnly, Some(port), Some(group)) => {
                            vec![IngressRule {
                                from: port,
                                to: port,
                                peer: r.value(group).map(Peer::Group),
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
        })
    }

    /// The target group of either front, when the service has one.
    fn declare_target_group(
        &self,
        stack: &mut Stack,
        tags: &Tags,
    ) -> Option<Handle<TargetGroupKind>> {
        let names = match self.listener_rule {
            Some(_) => self.rule_tg_names(),
            None => self.tg_names(),
        };
        self.add_target_group(stack, tags, names)
    }

    /// A target group as the front's inputs ask for it, named `tg_name`, replaced under
    /// `alt_name` (the alternate name a replacement takes).
    fn add_target_group(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        [tg_name, alt_name]: [String; 2],
    ) -> Option<Handle<TargetGroupKind>> {
        self.target_group().map(|(want, check, _)| {
            let vpc_id = self.network.vpc_id.clone();
            let tg_spec = TargetGroupSpec {
                alt_name: alt_name.clone(),
                port: want.host_port,
                protocol: protocol(want.protocol).into(),
                target_type: self.target_type().into(),
                vpc_id: Value::AfterApply,
                health_check: check.clone(),
                deregistration_delay: want.deregistration_delay,
            };
            stack.add(TargetGroupKind, tg_name, tags.clone(), alt_name, move |r| {
                TargetGroupSpec {
                    vpc_id: r.value(&vpc_id),
                    ..tg_spec.clone()
                }
            })
        })
    }

    /// The service's own load balancer forwarding to `tg`, then the tasks' group admitting it.
    fn declare_own_front(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        door: &FrontDoor,
        tg: Handle<TargetGroupKind>,
        shift: Option<(Handle<TargetGroupKind>, Ref<String>)>,
    ) -> (Option<Front>, Option<Handle<SecurityGroupKind>>) {
        let made = door.declare(stack, tags, move |r| {
            ListenerAction::Forward(r.get(&tg).map(|o| o.arn.clone()))
        });
        let lb_group = made.sg.output(|o| o.id.clone());
        let task_sg = self.declare_task_sg(stack, tags, Some(lb_group.clone()));
        let listener = made.listener;
        let url_listener = door.listener.clone();
        // Under a strategy that shifts traffic, a rule before the listener's default action
        // forwards every request to both groups, with the weights ECS moves.
        let shift = shift.map(|(alt, role)| {
            let at = RuleAt {
                load_balancer: self.lb_name.clone(),
                port: door.listener.port,
                priority: PRODUCTION_RULE_PRIORITY,
            };
            let rule = stack.add(
                ListenerRuleKind,
                self.production_rule_name(),
                tags.clone(),
                at,
                move |r| ListenerRuleSpec {
                    listener_arn: r.get(&listener).map(|o| o.arn.clone()),
                    priority: PRODUCTION_RULE_PRIORITY,
                    host_headers: Vec::new(),
                    path_patterns: vec!["/*".into()],
                    target_group_arn: r.get(&tg).map(|o| o.arn.clone()),
                    alternate_target_group_arn: Some(r.get(&alt).map(|o| o.arn.clone())),
                },
            );
            Shift {
                alt,
                rule: rule.output(|o| o.arn.clone()),
                role,
            }
        });
        let forwarding = match &shift {
            Some(s) => listener.done().after(s.rule.clone()),
            None => listener.done(),
        };
        let front = Front {
            tg,
            shift,
            forwarding,
            lb: made.lb.output(Clone::clone),
            listener_arn: listener.output(|o| o.arn.clone()),
            lb_group,
            rule: None,
            url: Ref::new(move |r| {
                r.get(&made.lb)
                    .map(|lb| front_door::url(&url_listener, &lb.dns_name))
            }),
        };
        (Some(front), task_sg)
    }

    /// The tasks' group admitting the shared load balancer, then the rule on its listener
    /// forwarding to `tg`.
    fn declare_rule_front(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        rule: &ListenerRule,
        tg: Handle<TargetGroupKind>,
        shift: Option<(Handle<TargetGroupKind>, Ref<String>)>,
    ) -> (Option<Front>, Option<Handle<SecurityGroupKind>>) {
        let alt = shift.as_ref().map(|(alt, _)| *alt);
        let shared = rule.listener.outputs.clone();
        let lb_group = shared.clone().map(|o| o.security_group_id);
        let task_sg = self.declare_task_sg(stack, tags, Some(lb_group.clone()));
        let spec = ListenerRuleSpec {
            listener_arn: Value::AfterApply,
            priority: rule.priority,
            host_headers: rule.host_headers.clone(),
            path_patterns: rule.path_patterns.clone(),
            target_group_arn: Value::AfterApply,
            alternate_target_group_arn: None,
        };
        let at = RuleAt {
            load_balancer: rule.listener.load_balancer.clone(),
            port: rule.listener.port(),
            priority: rule.priority,
        };
        let listener_arn = shared.clone().map(|o| o.listener_arn);
        let handle = {
            let listener_arn = listener_arn.clone();
            stack.add(
                ListenerRuleKind,
                self.full_name(),
                tags.clone(),
                at,
                move |r| ListenerRuleSpec {
                    listener_arn: r.value(&listener_arn),
                    target_group_arn: r.get(&tg).map(|o| o.arn.clone()),
                    alternate_target_group_arn: alt.map(|alt| r.get(&alt).map(|o| o.arn.clone())),
                    ..spec.clone()
                },
            )
        };
        let (url_listener, host, path) = (
            rule.listener.listener.clone(),
            rule.host_headers
                .iter()
                .find(|h| !h.contains(['*', '?']))
                .cloned(),
            rule.url_path(),
        );
        let rule_arn = handle.output(|o| o.arn.clone());
        let front = Front {
            tg,
            shift: shift.map(|(alt, role)| Shift {
                alt,
                rule: rule_arn.clone(),
                role,
            }),
            forwarding: handle.done(),
            lb: shared
                .clone()
                .map(|o| LoadBalancerOutputs::new(o.lb_arn, o.lb_dns_name, o.lb_zone_id)),
            listener_arn,
            lb_group,
            rule: Some(rule_arn),
            url: shared.map(move |o| {
                let base =
                    front_door::url(&url_listener, host.as_deref().unwrap_or(&o.lb_dns_name));
                format!("{base}{path}")
            }),
        };
        (Some(front), task_sg)
    }

    /// The task definition, with the roles declared in the same stack.
    fn declare_task_definition(&self, stack: &mut Stack) -> Handle<TaskDefinitionKind> {
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
    }

    /// The ECS service, after its network, `depends_on`, its front's forwarding and its
    /// policies.
    fn declare_service(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        task: Handle<TaskDefinitionKind>,
        task_sg: Option<Handle<SecurityGroupKind>>,
        front: Option<Front>,
        before: Before,
    ) -> Handle<EcsServiceKind> {
        let Before { policies, alarms } = before;
        let rollback = self.deployment_alarms.as_ref().is_some_and(|a| a.rollback);
        let base = ServiceSpec {
            cluster: self.cluster.clone(),
            task_definition: Value::AfterApply,
            desired_count: self.desired_count,
            desired_count_managed: self.autoscaling.is_some(),
            launch_type: self.launch_type,
            strategy: self.strategy.clone(),
            awsvpc: None,
            target: None,
            health_check_grace_period: self.target_group().and_then(|(_, _, grace)| grace),
            circuit_breaker: self.circuit_breaker,
            deployment_strategy: self.deployment_strategy,
            traffic_shift: None,
            alarms: None,
            minimum_healthy_percent: self.minimum_healthy_percent,
            maximum_percent: self.maximum_percent,
            propagate_tags: self.propagate_tags,
            enable_execute_command: self.enable_execute_command,
            task_definition_left_to_ci: self.ignore_task_definition_changes,
            role: self.ecs_service_role.clone(),
            steady_state: self.steady_state,
        };
        let target = self.target();
        let subnets = self.network.subnets.clone();
        let egress = self.network.egress.clone();
        let extra_groups = self.security_group_ids.clone();
        // Not values, an order: tasks must pull their image through the NAT gateway, ECS
        // needs the target group on a listener, and tasks start with their secrets and their
        // exec agent's permissions.
        let mut options = Options::new().depends_on(egress);
        for d in &self.depends_on {
            options = options.depends_on(d.clone());
        }
        if let Some(front) = &front {
            options = options.depends_on(front.forwarding.clone());
        }
        for policy in &policies {
            options = options.depends_on(policy.done());
        }
        let service = stack.add(
            EcsServiceKind,
            &self.service_name,
            tags.clone(),
            self.cluster.clone(),
            move |r| ServiceSpec {
                task_definition: r.get(&task).map(|o| o.arn.clone()),
                awsvpc: task_sg.map(|sg| Awsvpc {
                    subnets: r.value(&subnets),
                    security_groups: r.get(&sg).map(|o| {
                        let mut groups = vec![o.id.clone()];
                        groups.extend(extra_groups.iter().cloned());
                        groups
                    }),
                }),
                target: front
                    .as_ref()
                    .zip(target.clone())
                    .map(|(front, (name, port))| ServiceTarget {
                        target_group_arn: r.get(&front.tg).map(|o| o.arn.clone()),
                        container_name: name,
                        container_port: port,
                    }),
                alarms: alarms.as_ref().map(|names| ServiceAlarms {
                    names: r.value(names),
                    rollback,
                }),
                traffic_shift: front.as_ref().and_then(|f| f.shift.as_ref()).map(|s| {
                    TrafficShift {
                        alternate_target_group_arn: r.get(&s.alt).map(|o| o.arn.clone()),
                        production_listener_rule: r.value(&s.rule),
                        role_arn: r.value(&s.role),
                    }
                }),
                ..base.clone()
            },
        );
        stack.options(service, options);
        service
    }

    /// The scalable target, its policies and scheduled actions, each after what it reads, so
    /// that destroy deletes them before the service. Without autoscaling the target is still
    /// looked for: one an earlier apply made goes, its policies and actions with it.
    fn declare_autoscaling(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        service: converge::Handle<EcsServiceKind>,
        front: Option<Front>,
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
            let (policy, resource_id, front) = (policy.clone(), id.clone(), front.clone());
            let by_requests = policy.metric == crate::ScalingMetric::RequestsPerTarget;
            // After its scalable target; by requests, once a listener forwards to the target
            // group (it counts requests only then).
            let mut options = Options::new().depends_on(target.done());
            if let (true, Some(f)) = (by_requests, &front) {
                options = options.depends_on(f.forwarding.clone());
            }
            let scaling = stack.add(
                ScalingPolicyKind,
                format!("{prefix}{}", policy.metric.suffix()),
                tags.clone(),
                key.clone(),
                move |r| {
                    let resource_label = front.as_ref().filter(|_| by_requests).map(|f| {
                        r.value(&f.lb)
                            .zip(r.get(&f.tg))
                            .map(|(lb, tg)| resource_label(&lb.arn, &tg.arn))
                    });
                    ScalingPolicySpec {
                        resource_id: resource_id.clone(),
                        policy: policy.clone(),
                        resource_label,
                    }
                },
            );
            stack.options(scaling, options);
        }
        for action in &auto.scheduled {
            let spec = ScheduledActionSpec {
                resource_id: id.clone(),
                schedule: action.schedule.clone(),
                timezone: action.timezone.clone(),
                min_capacity: action.min_capacity,
                max_capacity: action.max_capacity,
            };
            let scheduled = stack.add(
                ScheduledActionKind,
                format!("{prefix}{}", action.name),
                tags.clone(),
                key.clone(),
                move |_| spec.clone(),
            );
            stack.options(scheduled, Options::new().depends_on(target.done()));
        }
    }

    /// What [`apply`](Service::apply) would change.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes AWS match the inputs: the security groups, then the load balancer and the target
    /// group, the listener, the task definition and the service, each as soon as what it
    /// reads exists. A second apply makes no mutating call.
    pub async fn apply(&self, aws: &Aws) -> Result<Applied<ServiceOutputs>, Error> {
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

/// The service's outputs, once every resource they read is known.
fn service_outputs(
    service: Handle<EcsServiceKind>,
    task: Handle<TaskDefinitionKind>,
    task_sg: Option<Handle<SecurityGroupKind>>,
    front: Option<Front>,
) -> Ref<ServiceOutputs> {
    Ref::new(move |r| {
        // Every value is read before any is judged, so the reads are all recorded.
        let service = r.get(&service);
        let task = r.get(&task);
        let task_sg = task_sg.map(|h| r.get(&h));
        let front = front.as_ref().map(|f| {
            let rule = f.rule.as_ref().map(|arn| r.value(arn));
            let read = (
                r.value(&f.url),
                r.value(&f.lb),
                r.get(&f.tg),
                r.value(&f.listener_arn),
                r.value(&f.lb_group),
            );
            (read, rule)
        });
        let (Value::Known(service), Value::Known(task)) = (service, task) else {
            return Value::AfterApply;
        };
        let task_sg = match task_sg {
            Some(Value::AfterApply) => return Value::AfterApply,
            other => other.and_then(Value::into_known).map(|o| o.id.clone()),
        };
        let front = match front {
            None => None,
            Some((
                (
                    Value::Known(url),
                    Value::Known(lb),
                    Value::Known(tg),
                    Value::Known(listener),
                    Value::Known(group),
                ),
                rule,
            )) => {
                let rule = match rule {
                    Some(Value::AfterApply) => return Value::AfterApply,
                    other => other.and_then(Value::into_known),
                };
                Some((url, lb, tg.arn.clone(), listener, group, rule))
            }
            Some(_) => return Value::AfterApply,
        };
        let (service_url, lb, tg, listener, group, rule) = match front {
            Some((url, lb, tg, listener, group, rule)) => (
                Some(url),
                Some(lb),
                Some(tg),
                Some(listener),
                Some(group),
                rule,
            ),
            None => (None, None, None, None, None, None),
        };
        Value::Known(ServiceOutputs {
            service_url,
            lb_dns_name: lb.as_ref().map(|lb| lb.dns_name.clone()),
            lb_arn: lb.as_ref().map(|lb| lb.arn.clone()),
            lb_zone_id: lb.as_ref().map(|lb| lb.zone_id.clone()),
            task_definition_arn: task.arn.clone(),
            lb_target_group_arn: tg,
            lb_listener_arn: listener,
            lb_listener_rule_arn: rule,
            lb_security_group_id: group,
            service_arn: service.arn.clone(),
            service_name: service.name.clone(),
            task_security_group_id: task_sg,
        })
    })
}

#[async_trait]
impl Module for Service {
    type Outputs = ServiceOutputs;
    type Refs = ServiceRefs;

    /// Adds the service's resources to `stack`; what it reads from other modules (the
    /// network, the roles, the cluster, `depends_on`) may be declared in the same stack.
    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<ServiceRefs, Error> {
        let start = stack.len();
        let outputs = self.add_to(aws, stack);
        Ok(ServiceRefs {
            outputs,
            addresses: stack.addresses_from(start),
        })
    }
}
