//! [`ServiceBuilder::build`]: every input checked, one concern per function, in the order
//! the problems are reported.

use converge::{check_strategy, Invalid, Ref, FARGATE_SPOT};
use task_def::{Compatibility, NetworkMode, TaskDefinition};

use super::{
    check_deployment, check_front, check_group_ids, check_listener, check_target, LaunchType,
    Network, Roles, Service, ServiceBuilder, TargetGroup, TaskIngress, MAX_SG_RULES,
    MAX_TASK_SECURITY_GROUPS,
};
use crate::names::{shorten, valid_lb_name, MAX_LB_NAME};

/// ECS's rule for a service name: 1 to 255 letters, digits, hyphens and underscores.
fn is_service_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl ServiceBuilder {
    /// Checks every input, the task definition's included, and reports every problem at once.
    pub fn build(self) -> Result<Service, Invalid> {
        let mut invalid = self.containers_json_error.clone().unwrap_or_default();
        let environment = self.environment.clone().unwrap_or_default();
        let service_name = self.service_name.clone().unwrap_or_default();
        self.check_names(&mut invalid, &environment, &service_name);
        let full = format!("{environment}-{service_name}");
        let lb_name = shorten(&full, MAX_LB_NAME);

        let platform = self.check_placement(&mut invalid);
        if let Some(a) = &self.autoscaling {
            a.check(
                &mut invalid,
                self.load_balancer.is_some() || self.listener_rule.is_some(),
            );
        }
        let mode = self.network_mode(platform);
        self.check_network(&mut invalid, platform, mode);
        self.check_load_balancer(&mut invalid, &lb_name);
        self.check_listener_rule(&mut invalid, &lb_name);
        self.check_counts(&mut invalid);
        self.check_target_types(&mut invalid, mode);
        self.check_task_security_groups(&mut invalid, mode);
        if is_service_name(&service_name) && !environment.is_empty() {
            self.check_derived_names(&mut invalid, &full, mode);
        }

        let task_definition =
            self.task_definition_checked(&mut invalid, &full, &environment, mode, platform);
        let fronted = self.front();
        if let Some((front, target_group)) = fronted {
            self.check_target_container(
                &mut invalid,
                task_definition.as_ref(),
                &service_name,
                front,
                target_group,
            );
        }
        if let Some(task) = &task_definition {
            self.check_port_rules(&mut invalid, task, mode, fronted.is_some());
        }
        let roles = Roles::check(&self, task_definition.as_ref(), &mut invalid);
        invalid.into_result(())?;
        let task_definition = task_definition.expect("checked above");
        let network = self.built_network();
        Ok(Service {
            environment,
            service_name,
            network,
            cluster: self
                .cluster
                .as_ref()
                .map(|c| c.name().to_owned())
                .unwrap_or_default(),
            execution_role: roles.execution,
            task_role: roles.task,
            secrets: roles.secrets,
            secrets_kms_key: self.secrets_kms_key,
            enable_execute_command: self.enable_execute_command,
            keep_deployed_images: self.keep_deployed_images,
            ignore_task_definition_changes: self.ignore_task_definition_changes,
            depends_on: self
                .depends_on
                .iter()
                .cloned()
                .chain(self.cluster.iter().map(|c| c.ready().clone()))
                .collect(),
            task_definition,
            launch_type: platform,
            strategy: self.strategy,
            autoscaling: self.autoscaling,
            desired_count: self.desired_count.unwrap_or(1),
            load_balancer: self.load_balancer,
            listener_rule: self.listener_rule,
            security_group_ids: self.security_group_ids,
            task_ingress: self.task_ingress,
            ecs_service_role: self.ecs_service_role,
            circuit_breaker: self.circuit_breaker.unwrap_or(true),
            deployment_strategy: self.deployment_strategy,
            deployment_alarms: self.deployment_alarms,
            minimum_healthy_percent: self.minimum_healthy_percent,
            maximum_percent: self.maximum_percent,
            steady_state: self.steady_state,
            propagate_tags: self.propagate_tags,
            tags: self.tags,
            lb_name,
            wait: self.wait.unwrap_or_default(),
        })
    }

    /// The environment, the tags, the service name and the cluster.
    fn check_names(&self, invalid: &mut Invalid, environment: &str, service_name: &str) {
        // The same rules as every other module's: it prefixes names and scopes ownership.
        invalid.check_environment(environment);
        invalid.check_tags(&self.tags);
        invalid.check(
            is_service_name(service_name),
            "service_name",
            "is required: letters, digits, hyphens and underscores (ECS's rule)",
        );
        invalid.check(
            self.cluster.as_ref().is_some_and(|c| !c.name().is_empty()),
            "cluster",
            "is required (the ECS cluster's name or ARN)",
        );
    }

    /// The launch type and the capacity provider strategy; returns where the tasks run.
    fn check_placement(&self, invalid: &mut Invalid) -> LaunchType {
        const STRATEGY: &str = "capacity_provider_strategy";
        check_strategy(invalid, STRATEGY, &self.strategy);
        let spot = self
            .strategy
            .iter()
            .any(|p| p.capacity_provider == FARGATE_SPOT);
        match self.launch_type {
            Some(LaunchType::Ec2) if spot => invalid.push(
                STRATEGY,
                "FARGATE_SPOT runs Fargate tasks: not with the EC2 launch type",
            ),
            Some(_) if !self.strategy.is_empty() => invalid.push(
                "launch_type",
                "give a launch type or a capacity provider strategy, not both (ECS refuses both)",
            ),
            _ => {}
        }
        // Where the tasks run: the launch type, or what the strategy's providers are.
        match (self.launch_type, self.strategy.first()) {
            (Some(l), _) => l,
            (None, Some(p)) if !p.is_fargate() => LaunchType::Ec2,
            (None, _) => LaunchType::Fargate,
        }
    }

    /// The tasks' network mode: the one given, the task definition's, or the platform's.
    fn network_mode(&self, platform: LaunchType) -> NetworkMode {
        self.task_network_mode
            .or(self.task_definition.as_ref().and_then(|t| t.network_mode()))
            .unwrap_or(match platform {
                LaunchType::Fargate => NetworkMode::Awsvpc,
                LaunchType::Ec2 => NetworkMode::Bridge,
            })
    }

    /// The network mode against the platform, and the VPC and subnets the tasks need.
    fn check_network(&self, invalid: &mut Invalid, platform: LaunchType, mode: NetworkMode) {
        if platform == LaunchType::Fargate && mode != NetworkMode::Awsvpc {
            invalid.push(
                "task_network_mode",
                format_args!(
                    "{} with FARGATE: Fargate runs awsvpc tasks only",
                    mode.as_str()
                ),
            );
        }
        if mode == NetworkMode::Awsvpc {
            invalid.check(
                self.network.is_some(),
                "network",
                "awsvpc tasks need the VPC and subnets (give `network`)",
            );
            invalid.check(
                !self.task_subnets().is_some_and(|s| s.is_empty()),
                "subnets",
                "awsvpc tasks need subnets (give a network with private subnets, or `subnets`)",
            );
        }
        if let (LaunchType::Fargate, Some(network)) = (platform, &self.network) {
            for subnet in self.task_subnets().unwrap_or_default() {
                let why = network.zone_id_of(&subnet).and_then(vpc::fargate_refuses);
                if let Some(why) = why {
                    invalid.push("subnets", format_args!("{subnet}: {why}"));
                }
            }
        }
    }

    /// The service's own load balancer: its network, name, listener, front and target.
    fn check_load_balancer(&self, invalid: &mut Invalid, lb_name: &str) {
        let Some(lb) = &self.load_balancer else {
            return;
        };
        invalid.check(
            self.network.is_some(),
            "network",
            "a load balancer needs the VPC (give `network`)",
        );
        if let Some(subnets) = self.lb_subnets(lb) {
            self.check_load_balancer_zones(invalid, &subnets);
        }
        invalid.check(
            valid_lb_name(lb_name),
            "service_name",
            format_args!(
                "{lb_name:?} is not a valid load balancer name (letters, digits, hyphens)"
            ),
        );
        check_listener(invalid, "load_balancer.listener", &lb.listener);
        check_front(
            invalid,
            "load_balancer.",
            lb.internal,
            &lb.whitelist,
            &lb.security_group_ids,
            &lb.listener,
        );
        lb.attributes.check(invalid, "load_balancer.attributes");
        check_target(invalid, "load_balancer", &lb.target_group, &lb.health_check);
    }

    /// The load balancer's subnets span at least two availability zones.
    fn check_load_balancer_zones(&self, invalid: &mut Invalid, subnets: &[String]) {
        let zone_of = |s: &String| self.network.as_ref().and_then(|n| n.zone_of(s));
        let mut zones: Vec<&str> = subnets.iter().filter_map(zone_of).collect();
        zones.sort_unstable();
        zones.dedup();
        let all_known = zones.len() == 1 && subnets.iter().all(|s| zone_of(s).is_some());
        invalid.check(
            !all_known,
            "load_balancer.subnets",
            format_args!(
                "are all in {}: an application load balancer needs subnets in at least two availability zones",
                zones.first().copied().unwrap_or("one zone")
            ),
        );
        invalid.check(
            subnets.len() >= 2,
            "load_balancer.subnets",
            "an application load balancer needs subnets in at least two availability zones",
        );
    }

    /// A rule on a shared listener: exclusive with a load balancer, its VPC, name and target.
    fn check_listener_rule(&self, invalid: &mut Invalid, lb_name: &str) {
        let Some(rule) = &self.listener_rule else {
            return;
        };
        invalid.check(
            self.load_balancer.is_none(),
            "listener_rule",
            "a service has its own load balancer or a rule on a shared one: give one of load_balancer and listener_rule",
        );
        invalid.check(
            self.network.is_some(),
            "network",
            "a listener rule's target group needs the VPC (give `network`)",
        );
        invalid.check(
            valid_lb_name(lb_name),
            "service_name",
            format_args!("{lb_name:?} is not a valid target group name (letters, digits, hyphens)"),
        );
        rule.check(invalid);
        check_target(
            invalid,
            "listener_rule",
            &rule.target_group,
            &rule.health_check,
        );
    }

    /// The desired count, the health check grace periods and the deployment bounds.
    fn check_counts(&self, invalid: &mut Invalid) {
        invalid.check(
            self.desired_count.unwrap_or(1) >= 0,
            "desired_count",
            "must not be negative",
        );
        let graces = [
            (
                "load_balancer",
                self.load_balancer
                    .as_ref()
                    .map(|lb| lb.health_check_grace_period_seconds),
            ),
            (
                "listener_rule",
                self.listener_rule
                    .as_ref()
                    .map(|r| r.health_check_grace_period_seconds),
            ),
        ];
        for (front, grace) in graces {
            if let Some(Some(seconds)) = grace {
                invalid.check(
                    seconds >= 0,
                    format!("{front}.health_check_grace_period_seconds"),
                    format_args!(
                        "{seconds} must not be negative (ECS takes 0 to 2147483647 seconds)"
                    ),
                );
            }
        }
        check_deployment(invalid, self.minimum_healthy_percent, self.maximum_percent);
        self.deployment_strategy
            .check(invalid, "deployment_strategy");
        if let Some(alarms) = &self.deployment_alarms {
            let prefix = format!(
                "{}-{}",
                self.environment.as_deref().unwrap_or_default(),
                self.service_name.as_deref().unwrap_or_default()
            );
            let fronted = self.load_balancer.is_some() || self.listener_rule.is_some();
            alarms.check(invalid, &prefix, fronted);
        }
        invalid.check(
            !self.deployment_strategy.shifts_traffic()
                || self.load_balancer.is_some()
                || self.listener_rule.is_some(),
            "deployment_strategy",
            format_args!(
                "{} shifts traffic between two target groups: it needs a load_balancer or a listener_rule",
                self.deployment_strategy.as_str()
            ),
        );
    }

    /// A target type given on either front matches the network mode.
    fn check_target_types(&self, invalid: &mut Invalid, mode: NetworkMode) {
        // The target type follows the network mode (ECS registers task IPs for awsvpc,
        // instances for bridge and host): another is refused, not ignored.
        let fronts = [
            (
                "load_balancer",
                self.load_balancer.as_ref().map(|lb| &lb.target_group),
            ),
            (
                "listener_rule",
                self.listener_rule.as_ref().map(|r| &r.target_group),
            ),
        ];
        for (front, target_group) in fronts {
            let Some(given) = target_group.and_then(|t| t.target_type.as_deref()) else {
                continue;
            };
            let needed = if mode == NetworkMode::Awsvpc {
                "ip"
            } else {
                "instance"
            };
            invalid.check(
                given == needed,
                format!("{front}.target_group.target_type"),
                format_args!(
                    "{given:?}: {} tasks are registered as {needed:?} targets (leave it unset to follow the network mode)",
                    mode.as_str()
                ),
            );
        }
    }

    /// The tasks' extra security groups: valid ids, and room for them in the network mode.
    fn check_task_security_groups(&self, invalid: &mut Invalid, mode: NetworkMode) {
        check_group_ids(invalid, "security_group_ids", &self.security_group_ids);
        if mode == NetworkMode::Awsvpc {
            invalid.check(
                self.security_group_ids.len() < MAX_TASK_SECURITY_GROUPS,
                "security_group_ids",
                format_args!(
                    "{} extra groups: an awsvpc task takes at most {MAX_TASK_SECURITY_GROUPS} security groups and the module adds its own, so at most {}",
                    self.security_group_ids.len(),
                    MAX_TASK_SECURITY_GROUPS - 1
                ),
            );
        } else {
            invalid.check(
                self.security_group_ids.is_empty(),
                "security_group_ids",
                format_args!(
                    "security groups are for awsvpc tasks, not {}",
                    mode.as_str()
                ),
            );
        }
    }

    /// The task definition given, or the one built from the containers and task settings;
    /// `None` when there is none or it has problems (reported).
    fn task_definition_checked(
        &self,
        invalid: &mut Invalid,
        full: &str,
        environment: &str,
        mode: NetworkMode,
        platform: LaunchType,
    ) -> Option<TaskDefinition> {
        let task_settings = [
            ("cpu_architecture", self.cpu_architecture.is_some()),
            ("ephemeral_storage", self.ephemeral_storage.is_some()),
        ];
        for (field, given) in task_settings {
            invalid.check(
                !(given && self.task_definition.is_some()),
                field,
                "set it in the task_definition given, not beside it",
            );
        }
        match self.task_definition.clone() {
            Some(task) => Some(task),
            None if self.containers.is_empty() && self.containers_json_error.is_none() => {
                invalid.push(
                    "task_definition",
                    "give a task definition or the containers",
                );
                None
            }
            None if self.containers_json_error.is_some() => None,
            None => self.build_task_definition(invalid, full, environment, mode, platform),
        }
    }

    /// The task definition `<environment>-<service_name>` from the containers and task
    /// settings; its problems are reported under `task_definition.`.
    fn build_task_definition(
        &self,
        invalid: &mut Invalid,
        full: &str,
        environment: &str,
        mode: NetworkMode,
        platform: LaunchType,
    ) -> Option<TaskDefinition> {
        let mut b = TaskDefinition::builder()
            .family(full)
            .environment(environment)
            .containers(self.containers.clone())
            .network_mode(mode)
            .requires_compatibility(match platform {
                LaunchType::Fargate => Compatibility::Fargate,
                LaunchType::Ec2 => Compatibility::Ec2,
            });
        if let Some(cpu) = self.task_cpu {
            b = b.cpu(cpu);
        }
        if let Some(memory) = self.task_memory {
            b = b.memory(memory);
        }
        if let Some(arn) = &self.task_role_arn {
            b = b.task_role_arn(arn);
        }
        if let Some(arn) = &self.execution_role_arn {
            b = b.execution_role_arn(arn);
        }
        for volume in &self.task_volumes {
            b = b.volume(volume.clone());
        }
        if let Some(arch) = &self.cpu_architecture {
            b = b.cpu_architecture(arch);
        }
        if let Some(gib) = self.ephemeral_storage {
            b = b.ephemeral_storage(gib);
        }
        for (k, v) in &self.tags {
            b = b.tag(k, v);
        }
        match b.build() {
            Ok(task) => Some(task),
            Err(problems) => {
                for p in problems.problems {
                    // Already reported as `task_network_mode`.
                    if p.field == "network_mode" && invalid.has("task_network_mode") {
                        continue;
                    }
                    // The service's own tags, already checked above.
                    if p.field.starts_with("tags[") {
                        continue;
                    }
                    invalid.push(format!("task_definition.{}", p.field), p.rule);
                }
                None
            }
        }
    }

    /// The front the service is behind, by field name, and its target group.
    fn front(&self) -> Option<(&'static str, &TargetGroup)> {
        (self.load_balancer.as_ref())
            .map(|lb| ("load_balancer", &lb.target_group))
            .or((self.listener_rule.as_ref()).map(|r| ("listener_rule", &r.target_group)))
    }

    /// The container the front targets exists and maps the target group's port.
    fn check_target_container(
        &self,
        invalid: &mut Invalid,
        task_definition: Option<&TaskDefinition>,
        service_name: &str,
        front: &str,
        target_group: &TargetGroup,
    ) {
        let container = target_group
            .container_name
            .clone()
            .unwrap_or_else(|| service_name.to_owned());
        // Checked against the containers even when the task definition has other problems,
        // so every problem is reported at once.
        let candidate = task_definition.cloned().or_else(|| {
            let containers = self
                .task_definition
                .as_ref()
                .map_or(self.containers.clone(), |t| t.containers().to_vec());
            TaskDefinition::builder()
                .family("check")
                .containers(containers)
                .build()
                .ok()
        });
        if let Some(task) = candidate {
            if let Err(p) = task.check_load_balancer_target(&container, target_group.container_port)
            {
                invalid.push(format!("{front}.target_group.{}", p.field), p.rule);
            }
        } else if let Some(c) = self.containers.iter().find(|c| c.name == container) {
            if !c
                .port_mappings
                .iter()
                .any(|p| p.container_port == target_group.container_port)
            {
                invalid.push(
                    format!("{front}.target_group.container_port"),
                    format_args!(
                        "container {container:?} maps no port {}",
                        target_group.container_port
                    ),
                );
            }
        } else {
            invalid.push(
                format!("{front}.target_group.container_name"),
                format_args!("the task has no container {container:?}"),
            );
        }
    }

    /// The inbound rules the tasks' security group needs fit in one group.
    fn check_port_rules(
        &self,
        invalid: &mut Invalid,
        task: &TaskDefinition,
        mode: NetworkMode,
        fronted: bool,
    ) {
        // Without a load balancer the tasks' group admits each container port from the VPC.
        let mut ports: Vec<i32> = (task.containers().iter())
            .flat_map(|c| c.port_mappings.iter().map(|p| p.container_port))
            .collect();
        ports.sort();
        ports.dedup();
        let rules = match (&self.task_ingress, fronted) {
            (TaskIngress::LoadBalancerOnly, false) => ports.len(),
            _ => 1,
        };
        invalid.check(
            mode != NetworkMode::Awsvpc || rules <= MAX_SG_RULES,
            "task_definition.containers",
            format_args!(
                "map {rules} container ports, one inbound rule each in the tasks' security group: it takes at most {MAX_SG_RULES}"
            ),
        );
    }

    /// The tasks' subnets when known now: `subnets`, or the network's private ones (`None`
    /// for a network declared in the same stack, or none given).
    fn task_subnets(&self) -> Option<Vec<String>> {
        if !self.subnets.is_empty() {
            return Some(self.subnets.clone());
        }
        let network = self.network.as_ref()?;
        network.known_private_subnets().map(<[String]>::to_vec)
    }

    /// The load balancer's subnets when known now: its own, or the network's public ones
    /// (private when internal).
    fn lb_subnets(&self, lb: &crate::LoadBalancer) -> Option<Vec<String>> {
        if !lb.subnets.is_empty() {
            return Some(lb.subnets.clone());
        }
        let network = self.network.as_ref()?;
        let known = if lb.internal {
            network.known_private_subnets()
        } else {
            network.known_public_subnets()
        };
        known.map(<[String]>::to_vec)
    }

    /// Where the service lives, from the network given: known values or references.
    fn built_network(&self) -> Network {
        let internal = self.load_balancer.as_ref().is_none_or(|lb| lb.internal);
        let given_lb_subnets = self
            .load_balancer
            .as_ref()
            .map(|lb| lb.subnets.clone())
            .filter(|s| !s.is_empty());
        let Some(vpc) = &self.network else {
            return Network {
                vpc_id: Ref::known(String::new()),
                vpc_cidr: Ref::known(String::new()),
                subnets: Ref::known(self.subnets.clone()),
                lb_subnets: Ref::known(given_lb_subnets.unwrap_or_default()),
                egress: Ref::known(()),
            };
        };
        Network {
            vpc_id: vpc.vpc_id().clone(),
            vpc_cidr: vpc.vpc_cidr().clone(),
            subnets: if self.subnets.is_empty() {
                vpc.private_subnet_ids().clone()
            } else {
                Ref::known(self.subnets.clone())
            },
            lb_subnets: match given_lb_subnets {
                Some(s) => Ref::known(s),
                None if internal => vpc.private_subnet_ids().clone(),
                None => vpc.public_subnet_ids().clone(),
            },
            egress: vpc.private_egress().clone(),
        }
    }
}
