//! Plan, apply and destroy of a service and what it needs around it: security groups, load
//! balancer, target group, listener, task definition.

use converge::{Action, Aws, Change, Error, Plan, Progress, Tags, Wait};
use futures::future::try_join_all;
use task_def::NetworkMode;

use crate::ecs_service::{self, FoundService};
use crate::inputs::{ListenerProtocol, Service, TaskIngress, DEFAULT_SSL_POLICY};
use crate::load_balancer::{self as lb, FoundLb, FoundListener, FoundTg, ListenerSpec};
use crate::names::shorten;
use crate::outputs::ServiceOutputs;
use crate::security_groups::{self as sg, FoundGroup, Rule, Source};

/// What exists of one service.
struct Existing {
    groups: Vec<FoundGroup>,
    lb: Option<FoundLb>,
    /// Target groups by our two names, the listener's first.
    tgs: Vec<FoundTg>,
    listeners: Vec<FoundListener>,
    service: Option<FoundService>,
    task_definition: Change,
}

impl Service {
    fn tags(&self) -> Tags {
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
    /// must live until the listener has moved.
    fn tg_names(&self) -> [String; 2] {
        [
            self.lb_name.clone(),
            shorten(
                &format!("{}-b", self.full_name()),
                crate::names::MAX_LB_NAME,
            ),
        ]
    }

    fn target_type(&self) -> &'static str {
        // Validation keeps an explicit target type equal to this one.
        if self.network_mode() == NetworkMode::Awsvpc {
            "ip"
        } else {
            "instance"
        }
    }

    fn alb_rules(&self) -> Vec<Rule> {
        let Some(lb) = &self.load_balancer else {
            return Vec::new();
        };
        let port = lb.listener.port;
        let sources: Vec<String> = if lb.internal {
            vec![self.vpc_cidr.clone()]
        } else {
            lb.whitelist.clone()
        };
        sources
            .into_iter()
            .map(|c| Rule {
                from: port,
                to: port,
                source: Source::Cidr(c),
            })
            .collect()
    }

    fn task_rules(&self, alb_sg: Option<&str>) -> Vec<Rule> {
        match (&self.task_ingress, &self.load_balancer, alb_sg) {
            (TaskIngress::VpcCidrAllTcp, _, _) => {
                vec![Rule {
                    from: 0,
                    to: 65535,
                    source: Source::Cidr(self.vpc_cidr.clone()),
                }]
            }
            (TaskIngress::LoadBalancerOnly, Some(lb), Some(alb_sg)) => {
                let port = lb.target_group.container_port;
                vec![Rule {
                    from: port,
                    to: port,
                    source: Source::Group(alb_sg.to_owned()),
                }]
            }
            // Before the load balancer's group exists (plan), its rule is not yet known.
            (TaskIngress::LoadBalancerOnly, Some(_), None) => Vec::new(),
            // No load balancer: the containers' ports, from the VPC.
            (TaskIngress::LoadBalancerOnly, None, _) => {
                let mut ports: Vec<i32> = self
                    .task_definition
                    .containers()
                    .iter()
                    .flat_map(|c| c.port_mappings.iter().map(|p| p.container_port))
                    .collect();
                ports.sort();
                ports.dedup();
                ports
                    .into_iter()
                    .map(|p| Rule {
                        from: p,
                        to: p,
                        source: Source::Cidr(self.vpc_cidr.clone()),
                    })
                    .collect()
            }
        }
    }

    async fn read(&self, aws: &Aws) -> Result<Existing, Error> {
        let tags = self.tags();
        let [tg_a, tg_b] = self.tg_names();
        let (groups, found_lb, tg_a, tg_b, service, td_plan) = tokio::try_join!(
            sg::find(aws, &tags),
            lb::find_lb(aws, &tags, &self.lb_name),
            lb::find_tg(aws, &tags, &tg_a),
            lb::find_tg(aws, &tags, &tg_b),
            ecs_service::find(aws, &tags, &self.cluster, &self.service_name),
            self.task_definition.plan(aws),
        )?;
        let listeners = match &found_lb {
            Some(l) => lb::find_all_listeners(aws, &l.arn).await?,
            None => Vec::new(),
        };
        // The target group the listener uses comes first: it is the live one.
        let mut tgs: Vec<FoundTg> = tg_a.into_iter().chain(tg_b).collect();
        let live = listeners.iter().find_map(|l| l.target_group_arn.clone());
        tgs.sort_by_key(|t| Some(&t.arn) != live.as_ref());
        Ok(Existing {
            groups,
            lb: found_lb,
            tgs,
            listeners,
            service,
            task_definition: td_plan.changes.into_iter().next().expect("one change"),
        })
    }

    /// What [`apply`](Service::apply) would change.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let existing = self.read(aws).await?;
        Ok(self.plan_of(&existing))
    }

    fn plan_of(&self, existing: &Existing) -> Plan {
        let mut plan = Plan::new();
        let group = |name: String, want: Vec<Rule>, known: bool| match existing
            .groups
            .iter()
            .find(|g| g.name == name)
        {
            None => Change::new(Action::Create, sg::KIND, name),
            Some(g) => {
                let mut c = Change::new(Action::NoOp, sg::KIND, name).id(&g.id);
                if known {
                    for r in want.iter().filter(|r| !g.rules.contains(r)) {
                        c = c.diff("ingress", None::<String>, Some(r.to_string()));
                    }
                    for r in g.rules.iter().filter(|r| !want.contains(r)) {
                        c = c.diff("ingress", Some(r.to_string()), None::<String>);
                    }
                }
                if !c.diffs.is_empty() {
                    c.action = Action::Update;
                }
                c
            }
        };
        let alb_sg = existing
            .groups
            .iter()
            .find(|g| g.name == self.alb_sg_name())
            .map(|g| g.id.clone());
        if let Some(want) = &self.load_balancer {
            plan.push(group(self.alb_sg_name(), self.alb_rules(), true));
            plan.push(match &existing.lb {
                None => Change::new(Action::Create, lb::LB_KIND, &self.lb_name),
                Some(found) if found.internal != want.internal => {
                    Change::new(Action::Replace, lb::LB_KIND, &self.lb_name)
                        .id(&found.arn)
                        .diff(
                            "internal",
                            Some(found.internal.to_string()),
                            Some(want.internal.to_string()),
                        )
                }
                Some(found) => {
                    let mut c =
                        Change::new(Action::NoOp, lb::LB_KIND, &self.lb_name).id(&found.arn);
                    if !same_set(&found.subnets, &want.subnets) {
                        c = c.diff(
                            "subnets",
                            Some(found.subnets.join(",")),
                            Some(want.subnets.join(",")),
                        );
                        c.action = Action::Update;
                    }
                    c
                }
            });
            plan.push(self.tg_change(existing.tgs.first()));
            let listener = existing
                .listeners
                .iter()
                .find(|l| l.port == want.listener.port);
            plan.push(match listener {
                None => Change::new(
                    Action::Create,
                    lb::LISTENER_KIND,
                    format!("{}:{}", self.lb_name, want.listener.port),
                ),
                Some(l) => Change::new(
                    Action::NoOp,
                    lb::LISTENER_KIND,
                    format!("{}:{}", self.lb_name, l.port),
                )
                .id(&l.arn),
            });
        }
        if self.network_mode() == NetworkMode::Awsvpc {
            plan.push(group(
                self.task_sg_name(),
                self.task_rules(alb_sg.as_deref()),
                alb_sg.is_some() || self.load_balancer.is_none(),
            ));
        }
        plan.push(existing.task_definition.clone());
        plan.push(self.service_change(existing));
        // A replaced resource's deletion is already counted by its replacement.
        let replaced: Vec<Option<String>> = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Replace)
            .map(|c| c.id.clone())
            .collect();
        for change in self.leftovers(existing) {
            if !replaced.contains(&change.id) {
                plan.push(change);
            }
        }
        plan
    }

    fn tg_change(&self, found: Option<&FoundTg>) -> Change {
        let want = self
            .load_balancer
            .as_ref()
            .expect("called with a load balancer");
        let protocol = match want.target_group.protocol {
            ListenerProtocol::Http => "HTTP",
            ListenerProtocol::Https => "HTTPS",
        };
        let Some(tg) = found else {
            return Change::new(Action::Create, lb::TG_KIND, &self.tg_names()[0]);
        };
        let mut c = Change::new(Action::NoOp, lb::TG_KIND, &tg.name).id(&tg.arn);
        let immutable = [
            (
                "port",
                tg.port.to_string(),
                want.target_group.host_port.to_string(),
            ),
            ("protocol", tg.protocol.clone(), protocol.to_owned()),
            (
                "target_type",
                tg.target_type.clone(),
                self.target_type().to_owned(),
            ),
            ("vpc_id", tg.vpc_id.clone(), self.vpc_id.clone()),
        ];
        for (field, have, wanted) in immutable {
            if have != wanted {
                c.action = Action::Replace;
                c = c.diff(field, Some(have), Some(wanted));
            }
        }
        if tg.deregistration_delay != want.target_group.deregistration_delay {
            if c.action == Action::NoOp {
                c.action = Action::Update;
            }
            c = c.diff(
                "deregistration_delay",
                Some(tg.deregistration_delay.to_string()),
                Some(want.target_group.deregistration_delay.to_string()),
            );
        }
        if tg.health_check != want.health_check {
            if c.action == Action::NoOp {
                c.action = Action::Update;
            }
            c = c.diff(
                "health_check",
                Some(format!("{:?}", tg.health_check)),
                Some(format!("{:?}", want.health_check)),
            );
        }
        c
    }

    fn service_change(&self, existing: &Existing) -> Change {
        let Some(found) = &existing.service else {
            return Change::new(Action::Create, ecs_service::KIND, &self.service_name);
        };
        let mut c = Change::new(Action::NoOp, ecs_service::KIND, &self.service_name).id(&found.arn);
        let launch = match self.launch_type {
            crate::LaunchType::Fargate => "FARGATE",
            crate::LaunchType::Ec2 => "EC2",
        };
        if found.launch_type.as_deref().is_some_and(|l| l != launch) {
            c.action = Action::Replace;
            return c.diff("launch_type", found.launch_type.clone(), Some(launch));
        }
        let td = &existing.task_definition;
        if td.action != Action::NoOp || td.id.as_deref() != Some(found.task_definition.as_str()) {
            c = c.diff(
                "task_definition",
                Some(&found.task_definition),
                Some(
                    td.id
                        .clone()
                        .filter(|_| td.action == Action::NoOp)
                        .unwrap_or_else(|| "(new revision)".to_owned()),
                ),
            );
        }
        if self.network_mode() == NetworkMode::Awsvpc {
            if let Some(have) = found
                .subnets
                .as_ref()
                .filter(|have| !same_set(have, &self.subnets))
            {
                c = c.diff(
                    "subnets",
                    Some(have.join(",")),
                    Some(self.subnets.join(",")),
                );
            }
            // Only comparable once the tasks' group exists.
            let task_sg = existing
                .groups
                .iter()
                .find(|g| g.name == self.task_sg_name());
            if let (Some(have), Some(task_sg)) = (&found.security_groups, task_sg) {
                let mut want = vec![task_sg.id.clone()];
                want.extend(self.security_group_ids.iter().cloned());
                if !same_set(have, &want) {
                    c = c.diff(
                        "security_groups",
                        Some(have.join(",")),
                        Some(want.join(",")),
                    );
                }
            }
        }
        if found.desired_count != self.desired_count {
            c = c.diff(
                "desired_count",
                Some(found.desired_count.to_string()),
                Some(self.desired_count.to_string()),
            );
        }
        let grace = self
            .load_balancer
            .as_ref()
            .and_then(|lb| lb.health_check_grace_period_seconds);
        if grace.is_some() && found.health_check_grace_period != grace {
            c = c.diff(
                "health_check_grace_period_seconds",
                found.health_check_grace_period.map(|g| g.to_string()),
                grace.map(|g| g.to_string()),
            );
        }
        if found
            .circuit_breaker
            .is_some_and(|on| on != self.circuit_breaker)
        {
            c = c.diff(
                "circuit_breaker",
                found.circuit_breaker.map(|on| on.to_string()),
                Some(self.circuit_breaker.to_string()),
            );
        }
        if !c.diffs.is_empty() {
            c.action = Action::Update;
        }
        c
    }

    /// What exists but the inputs no longer ask for.
    fn leftovers(&self, existing: &Existing) -> Vec<Change> {
        let mut out = Vec::new();
        let mut wanted_groups = vec![];
        if self.load_balancer.is_some() {
            wanted_groups.push(self.alb_sg_name());
        }
        if self.network_mode() == NetworkMode::Awsvpc {
            wanted_groups.push(self.task_sg_name());
        }
        for g in existing
            .groups
            .iter()
            .filter(|g| !wanted_groups.contains(&g.name))
        {
            out.push(Change::new(Action::Delete, sg::KIND, &g.name).id(&g.id));
        }
        match &self.load_balancer {
            None => {
                if let Some(found) = &existing.lb {
                    out.push(
                        Change::new(Action::Delete, lb::LB_KIND, &self.lb_name).id(&found.arn),
                    );
                }
                for tg in &existing.tgs {
                    out.push(Change::new(Action::Delete, lb::TG_KIND, &tg.name).id(&tg.arn));
                }
            }
            Some(want) => {
                for l in existing
                    .listeners
                    .iter()
                    .filter(|l| l.port != want.listener.port)
                {
                    out.push(
                        Change::new(
                            Action::Delete,
                            lb::LISTENER_KIND,
                            format!("{}:{}", self.lb_name, l.port),
                        )
                        .id(&l.arn),
                    );
                }
                // The live target group stays, unless it is being replaced.
                let keep = match self.tg_change(existing.tgs.first()).action {
                    Action::Replace => 0,
                    _ => 1,
                };
                for tg in existing.tgs.iter().skip(keep) {
                    out.push(Change::new(Action::Delete, lb::TG_KIND, &tg.name).id(&tg.arn));
                }
            }
        }
        out
    }

    /// Makes AWS match the inputs: security groups, load balancer (waited for until active),
    /// target group, listener, then the service (a listener must exist before a service uses
    /// its target group), and returns the outputs. A second apply makes no mutating call.
    pub async fn apply(&self, aws: &Aws) -> Result<ServiceOutputs, Error> {
        let existing = self.read(aws).await?;
        converge::events::planned(&self.plan_of(&existing).changes);
        let progress = Progress::new();
        self.converge(aws, &existing, &progress)
            .await
            .map_err(|e| progress.fail(e))
    }

    async fn converge(
        &self,
        aws: &Aws,
        existing: &Existing,
        progress: &Progress,
    ) -> Result<ServiceOutputs, Error> {
        let tags = self.tags();
        let wait = self.wait;

        // Security groups: the load balancer's first, the tasks' admit it.
        let ensure_group = |name: String, description: &'static str| {
            let tags = &tags;
            async move {
                match existing.groups.iter().find(|g| g.name == name) {
                    Some(g) => Ok::<_, Error>((g.id.clone(), g.rules.clone())),
                    None => {
                        let id = sg::create(aws, tags, &self.vpc_id, &name, description).await?;
                        progress.made(format_args!("{} \"{name}\" ({id})", sg::KIND));
                        Ok((id, Vec::new()))
                    }
                }
            }
        };
        let alb_sg = match &self.load_balancer {
            Some(_) => {
                let (id, rules) = ensure_group(
                    self.alb_sg_name(),
                    "controls access to the application load balancer",
                )
                .await?;
                sg::converge_rules(aws, &id, &rules, &self.alb_rules()).await?;
                Some(id)
            }
            None => None,
        };
        let task_sg = if self.network_mode() == NetworkMode::Awsvpc {
            let (id, rules) = ensure_group(
                self.task_sg_name(),
                "controls access to the service's tasks",
            )
            .await?;
            sg::converge_rules(aws, &id, &rules, &self.task_rules(alb_sg.as_deref())).await?;
            Some(id)
        } else {
            None
        };

        // The task definition and the load balancer are independent. The read already found
        // whether the latest revision matches; asking again would cost a call.
        let register = async {
            match (
                &existing.task_definition.action,
                &existing.task_definition.id,
            ) {
                (Action::NoOp, Some(arn)) => Ok(arn.clone()),
                _ => {
                    let arn = self.task_definition.register(aws).await?;
                    // A new revision is what progress reports as made.
                    progress.made(format_args!(
                        "{} \"{}\" ({arn})",
                        existing.task_definition.kind, existing.task_definition.name
                    ));
                    Ok::<_, Error>(arn)
                }
            }
        };
        let (task_definition_arn, lb_parts) = tokio::try_join!(
            register,
            self.ensure_load_balancer(aws, &tags, existing, alb_sg.as_deref(), &wait, progress),
        )?;

        let tg_arn = lb_parts.as_ref().map(|(_, tg, _)| tg.clone());
        let mut security_groups: Vec<String> = task_sg.iter().cloned().collect();
        security_groups.extend(self.security_group_ids.iter().cloned());
        let service_arn = match existing
            .service
            .as_ref()
            .map(|s| (s, self.service_change(existing).action))
        {
            Some((found, Action::NoOp)) if found.target_group_arn == tg_arn => found.arn.clone(),
            Some((found, action)) if action != Action::Replace => {
                ecs_service::update(
                    aws,
                    self,
                    &task_definition_arn,
                    tg_arn.as_deref(),
                    &security_groups,
                )
                .await?;
                found.arn.clone()
            }
            replaced_or_absent => {
                if replaced_or_absent.is_some() {
                    // The launch type cannot change in place.
                    ecs_service::delete(aws, &wait, &self.cluster, &self.service_name).await?;
                }
                let arn = ecs_service::create(
                    aws,
                    &tags,
                    self,
                    &task_definition_arn,
                    tg_arn.as_deref(),
                    &security_groups,
                )
                .await?;
                progress.made(format_args!(
                    "{} \"{}\" ({arn})",
                    ecs_service::KIND,
                    self.service_name
                ));
                arn
            }
        };

        // Leftovers go once nothing uses them.
        for change in self.leftovers(existing) {
            let id = change.id.as_deref().unwrap_or_default();
            match change.kind.as_str() {
                lb::LISTENER_KIND => lb::delete_listener(aws, id).await?,
                lb::LB_KIND => lb::delete_lb(aws, &wait, id).await?,
                lb::TG_KIND => lb::delete_tg(aws, id).await?,
                sg::KIND => sg::delete(aws, &sg::eni_wait(), id).await?,
                _ => {}
            }
        }
        if let Some(steady) = &self.steady_state {
            ecs_service::wait_steady(aws, steady, &self.cluster, &self.service_name).await?;
        }

        let (found_lb, tg, listener) = match lb_parts {
            Some((l, tg, listener)) => (Some(l), Some(tg), Some(listener)),
            None => (None, None, None),
        };
        let service_url = found_lb
            .as_ref()
            .zip(self.load_balancer.as_ref())
            .map(|(l, want)| {
                let (scheme, default_port) = match want.listener.protocol {
                    ListenerProtocol::Http => ("http", 80),
                    ListenerProtocol::Https => ("https", 443),
                };
                if want.listener.port == default_port {
                    format!("{scheme}://{}", l.dns_name)
                } else {
                    format!("{scheme}://{}:{}", l.dns_name, want.listener.port)
                }
            });
        Ok(ServiceOutputs {
            service_url,
            lb_dns_name: found_lb.as_ref().map(|l| l.dns_name.clone()),
            lb_arn: found_lb.as_ref().map(|l| l.arn.clone()),
            lb_zone_id: found_lb.as_ref().map(|l| l.zone_id.clone()),
            task_definition_arn,
            lb_target_group_arn: tg,
            lb_listener_arn: listener,
            lb_security_group_id: alb_sg,
            service_arn,
            service_name: self.service_name.clone(),
            task_security_group_id: task_sg,
        })
    }

    /// The load balancer, target group and listener; returns (load balancer, target group ARN,
    /// listener ARN).
    async fn ensure_load_balancer(
        &self,
        aws: &Aws,
        tags: &Tags,
        existing: &Existing,
        alb_sg: Option<&str>,
        wait: &Wait,
        progress: &Progress,
    ) -> Result<Option<(FoundLb, String, String)>, Error> {
        let Some(want) = &self.load_balancer else {
            return Ok(None);
        };
        let mut groups: Vec<String> = alb_sg.into_iter().map(str::to_owned).collect();
        groups.extend(want.security_group_ids.iter().cloned());

        let found = match &existing.lb {
            Some(found) if found.internal != want.internal => {
                // The scheme cannot change in place: the load balancer (and its listeners) go.
                lb::delete_lb(aws, wait, &found.arn).await?;
                None
            }
            other => other.clone(),
        };
        let lb_found = match found {
            Some(found) => {
                let subnets =
                    (!same_set(&found.subnets, &want.subnets)).then_some(want.subnets.as_slice());
                let sgs = (!same_set(&found.security_groups, &groups)).then_some(groups.as_slice());
                lb::update_lb(aws, &found, subnets, sgs).await?;
                found
            }
            None => {
                let created = lb::create_lb(
                    aws,
                    tags,
                    &self.lb_name,
                    want.internal,
                    &want.subnets,
                    &groups,
                )
                .await?;
                progress.made(format_args!(
                    "{} \"{}\" ({})",
                    lb::LB_KIND,
                    self.lb_name,
                    created.arn
                ));
                lb::wait_active(aws, wait, &created.arn).await?;
                created
            }
        };

        let current = existing.tgs.first();
        let change = self.tg_change(current);
        let tg_arn = match (change.action, current) {
            (Action::NoOp | Action::Update, Some(tg)) => {
                if tg.health_check != want.health_check {
                    lb::update_health_check(aws, &tg.arn, &want.health_check).await?;
                }
                if tg.deregistration_delay != want.target_group.deregistration_delay {
                    lb::set_deregistration_delay(
                        aws,
                        &tg.arn,
                        want.target_group.deregistration_delay,
                    )
                    .await?;
                }
                tg.arn.clone()
            }
            (_, current) => {
                // A new target group needs the name the old one (still in use) does not have.
                let [a, b] = self.tg_names();
                let name = if current.is_some_and(|t| t.name == a) {
                    b
                } else {
                    a
                };
                let arn = lb::create_tg(
                    aws,
                    tags,
                    &name,
                    want.target_group.host_port,
                    want.target_group.protocol,
                    self.target_type(),
                    &self.vpc_id,
                    &want.health_check,
                )
                .await?;
                progress.made(format_args!("{} \"{name}\" ({arn})", lb::TG_KIND));
                if want.target_group.deregistration_delay != 300 {
                    lb::set_deregistration_delay(aws, &arn, want.target_group.deregistration_delay)
                        .await?;
                }
                arn
            }
        };

        let ssl_policy = want.listener.certificate_arn.as_ref().map(|_| {
            want.listener
                .ssl_policy
                .as_deref()
                .unwrap_or(DEFAULT_SSL_POLICY)
        });
        let spec = ListenerSpec {
            port: want.listener.port,
            protocol: want.listener.protocol,
            certificate_arn: want.listener.certificate_arn.as_deref(),
            ssl_policy,
        };
        let listener_name = format!("{}:{}", self.lb_name, want.listener.port);
        let listener = existing
            .listeners
            .iter()
            .filter(|_| existing.lb.as_ref().is_some_and(|l| l.arn == lb_found.arn))
            .find(|l| l.port == want.listener.port);
        let listener_arn = match listener {
            Some(l) => {
                let protocol = match want.listener.protocol {
                    ListenerProtocol::Http => "HTTP",
                    ListenerProtocol::Https => "HTTPS",
                };
                if l.target_group_arn.as_deref() != Some(&tg_arn)
                    || l.protocol != protocol
                    || l.certificate_arn.as_deref() != spec.certificate_arn
                {
                    lb::modify_listener(aws, &l.arn, &spec, &tg_arn).await?;
                }
                l.arn.clone()
            }
            None => {
                let arn =
                    lb::create_listener(aws, tags, &listener_name, &lb_found.arn, &spec, &tg_arn)
                        .await?;
                progress.made(format_args!(
                    "{} \"{listener_name}\" ({arn})",
                    lb::LISTENER_KIND
                ));
                arn
            }
        };
        Ok(Some((lb_found, tg_arn, listener_arn)))
    }

    /// Deletes everything this service made, found by name and ownership tag: the service
    /// (scaled to zero, waited until INACTIVE), the listener, target groups, the load balancer
    /// (waited until gone), security groups (once their network interfaces are released) and
    /// the task definition revisions. Works on a half-built or absent stack.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let existing = self.read(aws).await?;
        let wait = self.wait;
        let mut plan = Plan::new();
        if let Some(found) = &existing.service {
            ecs_service::delete(aws, &wait, &self.cluster, &self.service_name).await?;
            plan.push(
                Change::new(Action::Delete, ecs_service::KIND, &self.service_name).id(&found.arn),
            );
        }
        for l in &existing.listeners {
            lb::delete_listener(aws, &l.arn).await?;
            plan.push(
                Change::new(
                    Action::Delete,
                    lb::LISTENER_KIND,
                    format!("{}:{}", self.lb_name, l.port),
                )
                .id(&l.arn),
            );
        }
        try_join_all(existing.tgs.iter().map(|tg| lb::delete_tg(aws, &tg.arn))).await?;
        for tg in &existing.tgs {
            plan.push(Change::new(Action::Delete, lb::TG_KIND, &tg.name).id(&tg.arn));
        }
        if let Some(found) = &existing.lb {
            lb::delete_lb(aws, &wait, &found.arn).await?;
            plan.push(Change::new(Action::Delete, lb::LB_KIND, &self.lb_name).id(&found.arn));
        }
        // The tasks' group first: it admits the load balancer's, which then can go.
        let mut groups = existing.groups.clone();
        groups.sort_by_key(|g| g.name != self.task_sg_name());
        for g in &groups {
            sg::delete(aws, &sg::eni_wait(), &g.id).await?;
            plan.push(Change::new(Action::Delete, sg::KIND, &g.name).id(&g.id));
        }
        for arn in self.task_definition.deregister(aws).await? {
            plan.push(
                Change::new(
                    Action::Delete,
                    "aws_ecs_task_definition",
                    self.task_definition.family(),
                )
                .id(arn),
            );
        }
        Ok(plan)
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}
