//! The module's inputs: a builder that checks everything before any AWS call.

use std::collections::BTreeMap;

use converge::LogGroup;
use converge::{ClusterRef, Invalid, Ref, Wait};

use crate::capacity_provider::{ManagedScaling, RESERVED_PREFIXES};
use crate::user_data::UserData;

/// The most user data EC2 takes, before base64.
pub const MAX_USER_DATA: usize = 16 * 1024;
/// An Auto Scaling group of ECS-optimized EC2 instances joined to an ECS cluster, with its
/// security group, instance role and profile, agent log group and launch template.
///
/// Made by [`Instances::builder`]; then [`plan`](Instances::plan),
/// [`apply`](Instances::apply) and [`destroy`](Instances::destroy) it, or declare it into a
/// composition's stack with [`declare`](converge::Module::declare).
#[derive(Clone, Debug)]
pub struct Instances {
    pub(crate) environment: String,
    /// The cluster's name: known, or from another resource of the stack.
    pub(crate) cluster: Ref<String>,
    /// The cluster's name when the inputs know it (the capacity provider association then
    /// reads that cluster only).
    pub(crate) cluster_name: Option<String>,
    pub(crate) vpc_id: Ref<String>,
    pub(crate) vpc_cidr: Ref<String>,
    pub(crate) subnets: Ref<Vec<String>>,
    pub(crate) key_name: Option<String>,
    pub(crate) instance_type: String,
    pub(crate) asg_min: u32,
    pub(crate) asg_max: u32,
    pub(crate) asg_desired: u32,
    pub(crate) ami_id: Option<String>,
    /// Its `Debug` is a digest: it can carry secrets.
    pub(crate) user_data: Option<UserData>,
    pub(crate) root_volume_size: u32,
    pub(crate) create_ecs_service_role: bool,
    pub(crate) instance_refresh: bool,
    pub(crate) capacity_provider: Option<ManagedScaling>,
    pub(crate) log_group: LogGroup,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) wait: Wait,
}

/// An input given as a value (checked by `build`) or as a reference to another resource's
/// output in the same stack (known at apply).
#[derive(Clone, Debug)]
enum Input<T> {
    Known(T),
    Ref(Ref<T>),
}

impl<T: Clone + Send + Sync + 'static> Input<T> {
    fn known(&self) -> Option<&T> {
        match self {
            Input::Known(v) => Some(v),
            Input::Ref(_) => None,
        }
    }

    fn into_ref(self) -> Ref<T> {
        match self {
            Input::Known(v) => Ref::known(v),
            Input::Ref(r) => r,
        }
    }
}

/// Builds [`Instances`]: `environment`, the `cluster` and the `network` are required.
#[derive(Clone, Debug)]
pub struct InstancesBuilder {
    environment: Option<String>,
    cluster: Option<ClusterRef>,
    network: Option<vpc::Network>,
    subnets: Option<Vec<String>>,
    key_name: Option<String>,
    instance_type: String,
    asg_min: u32,
    asg_max: u32,
    asg_desired: u32,
    ami_id: Option<String>,
    user_data: Option<UserData>,
    root_volume_size: u32,
    create_ecs_service_role: bool,
    instance_refresh: bool,
    capacity_provider: Option<ManagedScaling>,
    log_retention_in_days: Option<u32>,
    tags: BTreeMap<String, String>,
    wait: Wait,
}

impl Default for InstancesBuilder {
    fn default() -> Self {
        Self {
            environment: None,
            cluster: None,
            network: None,
            subnets: None,
            key_name: None,
            instance_type: "t3.small".to_owned(),
            asg_min: 1,
            asg_max: 2,
            asg_desired: 1,
            ami_id: None,
            user_data: None,
            root_volume_size: 30,
            create_ecs_service_role: false,
            instance_refresh: false,
            capacity_provider: None,
            log_retention_in_days: Some(30),
            tags: BTreeMap::new(),
            wait: Wait::default(),
        }
    }
}

impl InstancesBuilder {
    /// Required. The `Environment` tag and the prefix of every name: 1 to 32 letters, digits
    /// and hyphens, starting with a letter.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Required. The ECS cluster the instances join (written to `/etc/ecs/ecs.config`): the
    /// [`converge::ClusterRefs`] of one declared in the same stack (the launch template and
    /// the capacity provider's place in the cluster wait for it, and destroy takes them away
    /// before it), its outputs, or its name.
    pub fn cluster(mut self, cluster: impl Into<ClusterRef>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    /// Required. The network: the VPC (the security group is made in it and admits all TCP
    /// from its CIDR block) and its private subnets, where the group launches. The
    /// [`vpc::VpcRefs`] of a network declared in the same stack, its outputs, or
    /// [`vpc::Network::ids`].
    pub fn network(mut self, network: impl Into<vpc::Network>) -> Self {
        self.network = Some(network.into());
        self
    }

    /// The subnets the Auto Scaling group launches into, instead of the network's private
    /// ones.
    pub fn subnets<S: Into<String>>(mut self, subnets: impl IntoIterator<Item = S>) -> Self {
        self.subnets = Some(subnets.into_iter().map(Into::into).collect());
        self
    }

    /// An EC2 key pair for SSH (none by default: use SSM Session Manager).
    pub fn key_name(mut self, key: impl Into<String>) -> Self {
        self.key_name = Some(key.into());
        self
    }

    /// The instance type (default `t3.small`).
    pub fn instance_type(mut self, instance_type: impl Into<String>) -> Self {
        self.instance_type = instance_type.into();
        self
    }

    /// The group's minimum size (default 1).
    pub fn asg_min(mut self, n: u32) -> Self {
        self.asg_min = n;
        self
    }

    /// The group's maximum size (default 2).
    pub fn asg_max(mut self, n: u32) -> Self {
        self.asg_max = n;
        self
    }

    /// The group's desired capacity (default 1).
    pub fn asg_desired(mut self, n: u32) -> Self {
        self.asg_desired = n;
        self
    }

    /// The AMI (default: the SSM parameter
    /// `/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id`).
    pub fn ami_id(mut self, ami: impl Into<String>) -> Self {
        self.ami_id = Some(ami.into());
        self
    }

    /// The instances' user data, replacing the default one that joins the cluster
    /// ([`default_user_data`](crate::default_user_data)). At most 16 KiB.
    pub fn user_data(mut self, user_data: impl Into<String>) -> Self {
        self.user_data = Some(UserData(user_data.into()));
        self
    }

    /// The encrypted root volume's size in GiB (default 30, the ECS AMI's minimum).
    pub fn root_volume_size(mut self, gib: u32) -> Self {
        self.root_volume_size = gib;
        self
    }

    /// Whether to make the legacy ECS service role (default false). ECS now uses the
    /// service-linked role `AWSServiceRoleForECS`, which AWS creates on first use, so the
    /// module's old `ecs_service_role` is only needed by services that still pass a role.
    pub fn create_ecs_service_role(mut self, create: bool) -> Self {
        self.create_ecs_service_role = create;
        self
    }

    /// Whether to start an instance refresh when the launch template changes (default false:
    /// new instances get the new version, running ones stay until replaced).
    pub fn instance_refresh(mut self, refresh: bool) -> Self {
        self.instance_refresh = refresh;
        self
    }

    /// Makes an ECS capacity provider for the group, with managed scaling, and adds it to the
    /// cluster's capacity providers (keeping the others and the default strategy). Services
    /// then place tasks on it with a capacity provider strategy, and ECS grows and shrinks the
    /// group to fit them. Off by default, as in the module; turning it off again detaches and
    /// deletes it. Its name is `<environment>-ecs-instances`.
    pub fn capacity_provider(mut self, scaling: impl Into<Option<ManagedScaling>>) -> Self {
        self.capacity_provider = scaling.into();
        self
    }

    /// How long CloudWatch keeps the agent's logs: one of [`LogGroup::RETENTION_DAYS`], or
    /// `None` to keep them forever (default 30 days, as the service's log group).
    pub fn log_retention_in_days(mut self, days: impl Into<Option<u32>>) -> Self {
        self.log_retention_in_days = days.into();
        self
    }

    /// An extra tag on every resource, propagated to the instances.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// How long destroy waits for the Auto Scaling group to be gone (default ten minutes).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Checks every input given as a value and reports every problem at once, naming the
    /// field; references are checked by the resources they come from.
    pub fn build(self) -> Result<Instances, Invalid> {
        let mut invalid = Invalid::new();
        let environment = self.environment.clone().unwrap_or_default();
        invalid.check_environment(&environment);
        let cluster = self.cluster.clone().unwrap_or_else(|| ClusterRef::from(""));
        let network = (self.network.clone()).unwrap_or_else(|| vpc::Network::ids("", ""));
        let subnets = match &self.subnets {
            Some(given) => Input::Known(given.clone()),
            None => match network.known_private_subnets() {
                Some(known) => Input::Known(known.to_vec()),
                None => Input::Ref(network.private_subnet_ids().clone()),
            },
        };
        check_cluster(&mut invalid, cluster.name());
        match &self.network {
            Some(network) => check_network(&mut invalid, network, &subnets),
            None => invalid.push("network", "is required"),
        }
        self.check_instances(&mut invalid);
        self.check_capacity_provider(&mut invalid, &environment);
        self.check_log_retention(&mut invalid);
        invalid.check_tags(&self.tags);
        invalid.into_result(())?;
        let log_group = self.log_group(&environment)?;
        Ok(Instances {
            environment,
            cluster_name: Some(cluster.name().to_owned()),
            cluster: cluster.name_ref(),
            vpc_id: network.vpc_id().clone(),
            vpc_cidr: network.vpc_cidr().clone(),
            subnets: subnets.into_ref(),
            key_name: self.key_name,
            instance_type: self.instance_type,
            asg_min: self.asg_min,
            asg_max: self.asg_max,
            asg_desired: self.asg_desired,
            ami_id: self.ami_id,
            user_data: self.user_data,
            root_volume_size: self.root_volume_size,
            create_ecs_service_role: self.create_ecs_service_role,
            instance_refresh: self.instance_refresh,
            capacity_provider: self.capacity_provider,
            log_group,
            tags: self.tags,
            wait: self.wait,
        })
    }

    /// The instances themselves: type, group sizes, AMI, user data, key pair, root volume.
    fn check_instances(&self, invalid: &mut Invalid) {
        invalid.check(
            is_instance_type(&self.instance_type),
            "instance_type",
            format_args!(
                "{:?} must be family.size, e.g. t3.small",
                self.instance_type
            ),
        );
        invalid.check(
            self.asg_min <= self.asg_desired && self.asg_desired <= self.asg_max,
            "asg_desired",
            format_args!(
                "asg_min ({}) <= asg_desired ({}) <= asg_max ({}) must hold",
                self.asg_min, self.asg_desired, self.asg_max
            ),
        );
        invalid.check(self.asg_max >= 1, "asg_max", "must be at least 1");
        if let Some(ami) = &self.ami_id {
            invalid.check(
                is_ami_id(ami),
                "ami_id",
                format_args!("{ami:?} must be ami- and 8 or 17 hex digits"),
            );
        }
        if let Some(UserData(user_data)) = &self.user_data {
            invalid.check(
                user_data.len() <= MAX_USER_DATA,
                "user_data",
                format_args!(
                    "is {} bytes; EC2 takes at most {MAX_USER_DATA} (16 KiB)",
                    user_data.len()
                ),
            );
        }
        if let Some(key) = &self.key_name {
            invalid.check(
                (1..=255).contains(&key.len()),
                "key_name",
                "must be 1 to 255 characters",
            );
        }
        invalid.check(
            (30..=16384).contains(&self.root_volume_size),
            "root_volume_size",
            format_args!(
                "{} GiB; the ECS-optimized AMI needs 30 to 16384",
                self.root_volume_size
            ),
        );
    }

    /// The capacity provider's scaling, and an environment it can be named after.
    fn check_capacity_provider(&self, invalid: &mut Invalid, environment: &str) {
        if let Some(scaling) = &self.capacity_provider {
            scaling.check(invalid, "capacity_provider");
            let reserved = RESERVED_PREFIXES
                .iter()
                .find(|p| environment.to_ascii_lowercase().starts_with(*p));
            if let Some(prefix) = reserved {
                invalid.push(
                    "environment",
                    format_args!(
                        "{environment:?} starts with {prefix:?}, which ECS keeps for its own capacity providers; the capacity provider is named after the environment"
                    ),
                );
            }
        }
    }

    /// The agent's log retention is one CloudWatch Logs accepts.
    fn check_log_retention(&self, invalid: &mut Invalid) {
        if let Some(days) = self.log_retention_in_days {
            invalid.check(
                LogGroup::RETENTION_DAYS.contains(&days),
                "log_retention_in_days",
                format_args!(
                    "{days} is not a retention CloudWatch Logs accepts: one of {:?}, or None to never expire",
                    LogGroup::RETENTION_DAYS
                ),
            );
        }
    }

    /// The agent's log group, `/ecs/<environment>/ecs-agent`, with the tags.
    fn log_group(&self, environment: &str) -> Result<LogGroup, Invalid> {
        let mut log_group = LogGroup::builder()
            .environment(environment)
            .name(format!("/ecs/{environment}/ecs-agent"))
            .retention_in_days(self.log_retention_in_days);
        for (key, value) in &self.tags {
            log_group = log_group.tag(key, value);
        }
        log_group.build()
    }
}

/// The cluster name, VPC id and CIDR, and subnets, where given as values.
fn check_cluster(invalid: &mut Invalid, cluster: &str) {
    invalid.check(
        (1..=255).contains(&cluster.len())
            && cluster
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "cluster",
        format_args!("{cluster:?} must be 1 to 255 letters, digits, hyphens and underscores"),
    );
}

/// The network's ids, where known now, and the subnets the group launches into.
fn check_network(invalid: &mut Invalid, network: &vpc::Network, subnets: &Input<Vec<String>>) {
    if let Some(id) = network.known_vpc_id() {
        invalid.check(
            id.starts_with("vpc-"),
            "vpc_id",
            format_args!("{id:?} must be a VPC id (vpc-...)"),
        );
    }
    if let Some(cidr) = network.known_vpc_cidr() {
        invalid.check(
            cidr.parse::<vpc::Ipv4Cidr>().is_ok(),
            "vpc_cidr",
            format_args!("{cidr:?} must be an IPv4 CIDR block"),
        );
    }
    if let Some(subnets) = subnets.known() {
        invalid.check(
            !subnets.is_empty(),
            "subnets",
            "at least one subnet is required",
        );
        for (i, subnet) in subnets.iter().enumerate() {
            invalid.check(
                subnet.starts_with("subnet-"),
                format!("subnets[{i}]"),
                format_args!("{subnet:?} must be a subnet id (subnet-...)"),
            );
        }
    }
}

/// `ami-` and 8 or 17 lowercase hex digits.
pub(crate) fn is_ami_id(ami: &str) -> bool {
    ami.strip_prefix("ami-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// `family.size`, e.g. `t3.small`, `m7g.2xlarge`, `u-6tb1.metal`.
pub(crate) fn is_instance_type(t: &str) -> bool {
    let Some((family, size)) = t.split_once('.') else {
        return false;
    };
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    ok(family) && ok(size) && family.starts_with(|c: char| c.is_ascii_lowercase())
}

/// The user data that joins an instance to `cluster`: the ECS agent's configuration, with the
/// `json-file` and `awslogs` logging drivers.
pub fn default_user_data(cluster: &str) -> String {
    format!(
        "#!/bin/bash\ncat <<'EOF' >> /etc/ecs/ecs.config\nECS_CLUSTER={cluster}\nECS_AVAILABLE_LOGGING_DRIVERS=[\"json-file\",\"awslogs\"]\nEOF\n"
    )
}

impl Instances {
    /// A builder with the module's defaults.
    pub fn builder() -> InstancesBuilder {
        InstancesBuilder::default()
    }

    /// The environment.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The user data the instances get, before base64: `None` when it is the default one
    /// and the cluster's name comes from a reference (it is known at apply).
    pub fn user_data(&self) -> Option<String> {
        match (&self.user_data, &self.cluster_name) {
            (Some(custom), _) => Some(custom.0.clone()),
            (None, Some(cluster)) => Some(default_user_data(cluster)),
            (None, None) => None,
        }
    }

    /// The capacity provider's name, `<environment>-ecs-instances`, when there is one: what
    /// a service's capacity provider strategy names.
    pub fn capacity_provider_name(&self) -> Option<String> {
        self.capacity_provider
            .map(|_| self.name(crate::module::PROVIDER_SUFFIX))
    }

    pub(crate) fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.environment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> InstancesBuilder {
        Instances::builder()
            .environment("blog")
            .cluster("blog")
            .network(vpc::Network::ids("vpc-1234", "10.0.0.0/16"))
            .subnets(["subnet-1", "subnet-2"])
    }

    fn fields(err: &Invalid) -> Vec<&str> {
        err.problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn defaults_follow_the_module() {
        let i = valid().build().unwrap();
        assert_eq!(i.instance_type, "t3.small");
        assert_eq!((i.asg_min, i.asg_desired, i.asg_max), (1, 1, 2));
        assert_eq!(i.key_name, None);
        assert!(!i.create_ecs_service_role);
        assert_eq!(i.ami_id, None);
    }

    #[test]
    fn references_skip_the_value_checks_but_not_the_others() {
        let cluster = converge::ClusterRef::from("blog");
        let refs = Instances::builder()
            .environment("blog")
            .cluster(cluster.clone())
            .network(
                serde_json::from_value::<vpc::VpcOutputs>(serde_json::json!({
                    "vpc_id": "vpc-9",
                    "vpc_cidr": "10.1.0.0/16",
                    "public_subnets": ["subnet-pub"],
                    "private_subnets": ["subnet-a", "subnet-b"],
                    "availability_zones": [],
                    "private_dns_zone_id": null,
                    "private_domain_name": null,
                    "nat_gateway_ids": [],
                    "internet_gateway_id": "igw-1"
                }))
                .unwrap(),
            )
            .build()
            .unwrap();
        // The cluster's name is known from its declaration: so is the default user data.
        assert_eq!(refs.cluster_name.as_deref(), Some("blog"));
        assert_eq!(refs.user_data(), Some(default_user_data("blog")));
        let err = Instances::builder()
            .environment("blog")
            .cluster(cluster)
            .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
            .subnets(["subnet-1", "sn-2"])
            .instance_type("big")
            .build()
            .unwrap_err();
        assert_eq!(fields(&err), ["subnets[1]", "instance_type"]);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = Instances::builder()
            .environment("")
            .instance_type("t3small")
            .ami_id("ami-xyz")
            .asg_min(3)
            .asg_desired(2)
            .asg_max(1)
            .user_data("x".repeat(MAX_USER_DATA + 1))
            .tag("Name", "spoof")
            .build()
            .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "environment",
                "cluster",
                "network",
                "instance_type",
                "asg_desired",
                "ami_id",
                "user_data",
                "tags[\"Name\"]"
            ]
        );
    }

    #[test]
    fn sizes_must_be_ordered() {
        assert!(valid()
            .asg_min(0)
            .asg_desired(0)
            .asg_max(0)
            .build()
            .is_err());
        assert!(valid().asg_min(0).asg_desired(0).asg_max(1).build().is_ok());
        assert!(valid().asg_min(2).asg_desired(2).asg_max(2).build().is_ok());
        let err = valid().asg_desired(3).build().unwrap_err();
        assert_eq!(fields(&err), ["asg_desired"]);
    }

    #[test]
    fn ami_and_instance_type_syntax() {
        assert!(is_ami_id("ami-12345678"));
        assert!(is_ami_id("ami-0123456789abcdef0"));
        assert!(!is_ami_id("ami-1234567"));
        assert!(!is_ami_id("ami-0123456789ABCDEF0"));
        assert!(!is_ami_id("img-12345678"));
        for good in ["t3.small", "m7g.2xlarge", "u-6tb1.metal"] {
            assert!(is_instance_type(good), "{good}");
        }
        for bad in ["t3", ".small", "t3.", "T3.small", "t3 .small", "t3.small.x"] {
            assert!(!is_instance_type(bad), "{bad}");
        }
    }

    #[test]
    fn capacity_provider_and_log_retention_rules() {
        let err = Instances::builder()
            .environment("ecs-prod")
            .cluster("prod")
            .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
            .subnets(["subnet-1"])
            .capacity_provider(ManagedScaling {
                target_capacity: 101,
                ..ManagedScaling::default()
            })
            .log_retention_in_days(31)
            .build()
            .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "capacity_provider.target_capacity",
                "environment",
                "log_retention_in_days"
            ]
        );
        assert!(err.to_string().contains("ECS keeps for its own"), "{err}");
        // The prefix only matters when there is a provider to name.
        assert!(Instances::builder()
            .environment("ecs-prod")
            .cluster("prod")
            .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
            .subnets(["subnet-1"])
            .build()
            .is_ok());
        let i = valid()
            .capacity_provider(ManagedScaling::default())
            .log_retention_in_days(None)
            .build()
            .unwrap();
        assert_eq!(i.log_group.retention_in_days(), None);
        assert_eq!(
            valid().build().unwrap().log_group.retention_in_days(),
            Some(30)
        );
    }

    #[test]
    fn user_data_limit_is_16_kib() {
        assert!(valid().user_data("x".repeat(MAX_USER_DATA)).build().is_ok());
        let err = valid()
            .user_data("x".repeat(MAX_USER_DATA + 1))
            .build()
            .unwrap_err();
        assert_eq!(fields(&err), ["user_data"]);
    }

    #[test]
    fn default_user_data_joins_the_cluster() {
        let i = valid().cluster("prod-cluster").build().unwrap();
        let text = i.user_data().unwrap();
        assert!(text.starts_with("#!/bin/bash\n"));
        assert!(text.contains(">> /etc/ecs/ecs.config"));
        assert!(text.contains("\nECS_CLUSTER=prod-cluster\n"));
        assert!(text.contains("ECS_AVAILABLE_LOGGING_DRIVERS=[\"json-file\",\"awslogs\"]"));
        let custom = valid().user_data("#!/bin/bash\necho hi").build().unwrap();
        assert_eq!(custom.user_data().as_deref(), Some("#!/bin/bash\necho hi"));
    }
}
