//! One AWS resource kind, written once: how to read it, how it differs from what the inputs
//! ask for, and how to create, update, replace and delete it. A [`Stack`](crate::Stack) runs
//! plan, apply and destroy over any mix of kinds with one executor, so plan and apply cannot
//! disagree: both take their decisions from [`Resource::diff`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::delta::{Delta, Field};
use crate::phase::Resolve;
use crate::plan::{Action, Diff};
use crate::value::Value;
use crate::{Aws, Error, Tags, Transient, Wait};

/// One resource a run reports on: its kind, its name and, once it exists, its id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    /// The kind, in Terraform's words (`aws_vpc`).
    pub kind: String,
    /// The resource's `Name`.
    pub name: String,
    /// Its AWS id, when it exists.
    pub id: Option<String>,
}

impl Address {
    /// The address of `name`, of `kind`.
    pub fn new(kind: &str, name: impl Into<String>, id: Option<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            name: name.into(),
            id,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} \"{}\"", self.kind, self.name)?;
        if let Some(id) = &self.id {
            write!(f, " ({id})")?;
        }
        Ok(())
    }
}

/// Something another owner keeps on a resource, that would go with it: another service's
/// rule on a shared listener. A stack refuses to delete the resource while one is there that
/// is not the stack's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its ownership tag value; `None` when it has none (made outside any stack).
    pub owner: Option<String>,
    /// What it is, for the refusal: `aws_lb_listener_rule "blog-api" (priority 20)`.
    pub what: String,
}

/// Where a resource's tags are written, for re-tagging in place one that an earlier release
/// tagged with its old ownership value ([`Resource::tag_target`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagTarget {
    /// An EC2 resource, by id (`CreateTags`).
    Ec2(String),
    /// A load balancer, target group, listener or rule, by ARN (`AddTags`).
    Elbv2(String),
    /// An ECS service, task definition or cluster, by ARN (`TagResource`).
    Ecs(String),
    /// An IAM role, by name (`TagRole`).
    IamRole(String),
    /// A CloudWatch Logs log group, by ARN without its `:*` (`TagResource`).
    Logs(String),
    /// A CloudWatch metric alarm, by ARN (`TagResource`).
    CloudWatch(String),
}

/// How a kind replaces a resource whose fixed attribute changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// Delete the old one first (its name must be free, or it holds something the new one
    /// needs): Terraform's default.
    DeleteFirst,
    /// Make the new one first; the old one is deleted once everything that used it has moved
    /// (Terraform's `create_before_destroy`).
    CreateFirst,
}

/// What a kind's poll found ([`Resource::ready`], [`Resource::gone`]): the state the engine
/// waits for, or not yet. The engine polls again until it is done or the declaration's wait
/// times out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<T> {
    /// Reached, with what the resource gives now (its outputs, for `ready`).
    Done(T),
    /// Not yet.
    Pending {
        /// What is waited for, for the progress report and the timeout's error; it names the
        /// resource: `NAT gateway nat-1 to be available`.
        what: String,
        /// When to poll again, where AWS says; else the wait backs off with jitter.
        after: Option<Duration>,
        /// What AWS said lately about it (a service's last events), added to the timeout's
        /// error should this be the last poll.
        lately: Option<String>,
    },
}

impl<T> Progress<T> {
    /// Not yet, waiting for `what`; poll again when the wait's backoff says.
    pub fn pending(what: impl Into<String>) -> Self {
        Progress::Pending {
            what: what.into(),
            after: None,
            lately: None,
        }
    }
}

/// One declared resource as its kind sees it during a read: its name, the ownership tag it
/// must carry, and where to look (a kind's [`Resource::Key`], e.g. the cluster of a service).
#[derive(Debug)]
pub struct Wanted<'a, K> {
    /// The resource's `Name`.
    pub name: &'a str,
    /// Its tags (the ownership tag's value is `tags.owner()`).
    pub tags: &'a Tags,
    /// Where to look.
    pub key: &'a K,
    /// Whether the read is for a destroy: nothing will be made, so a kind need not refuse
    /// what only a create would meet (a priority another rule took).
    pub teardown: bool,
}

/// What a kind's create, update and delete get besides the inputs.
#[derive(Clone, Copy, Debug)]
pub struct Cx<'a> {
    /// The clients.
    pub aws: &'a Aws,
    /// The resource's `Name`.
    pub name: &'a str,
    /// Its tags, for the create call.
    pub tags: &'a Tags,
    /// Whether the whole stack is being destroyed: a delete need not leave things as a
    /// replacement would need them (a service need not wait to be gone before its load
    /// balancer goes).
    pub teardown: bool,
}

impl Cx<'_> {
    /// This resource's address, of kind `kind`, with `id`.
    pub fn address(&self, kind: &str, id: Option<String>) -> Address {
        Address::new(kind, self.name, id)
    }
}

/// A kind's desired state at apply: what its create, update and readiness poll get.
pub type DesiredAtApply<R> = <<R as Resource>::Desired as Resolve>::Output;

/// One AWS resource kind. Implement it once; a [`Stack`](crate::Stack) plans, applies and
/// destroys any number of them, in dependency order, with one batched read per kind.
///
/// The contract:
/// - [`read`](Resource::read) finds every declared resource of the kind in as few calls as
///   it can (one, tag- or name-filtered, for most kinds) and returns what it found with its
///   ownership tag; the stack decides, in one place, what is ours, what is a look-alike we
///   must not touch and what is left over;
/// - [`diff`](Resource::diff) is pure: it is the only source of both the plan and the apply;
/// - [`create`](Resource::create) puts the tags in the create call itself;
/// - [`delete`](Resource::delete) treats "not found" as done;
/// - create, update and delete make calls and classify AWS's answers; the engine owns the
///   loops: it retries them on the kind's [`TRANSIENT`](Resource::TRANSIENT) and
///   [`IN_USE`](Resource::IN_USE) errors (jittered backoff, [`Aws::retry`]), then polls
///   [`ready`](Resource::ready) or [`gone`](Resource::gone) with the declaration's
///   [`wait`](Resource::wait) until AWS has reached the state the next resource needs.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// Terraform's name for the kind, e.g. `aws_cloudwatch_log_group`.
    const KIND: &'static str;
    /// How a fixed attribute's change is made.
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    /// Whether resources of the kind that the read returns with a stack's ownership tag but
    /// that the stack no longer declares are deleted (subnets of a zone that was removed).
    /// Only for kinds whose read returns nothing else of the owner's: a read by the names
    /// the stack declares or tracks, or by an ownership tag unique to one module instance.
    const PRUNE: bool = false;
    /// How long and how often the engine polls [`ready`](Resource::ready) and
    /// [`gone`](Resource::gone), unless the declaration says otherwise
    /// ([`wait`](Resource::wait), [`Options::timeout`](crate::Options::timeout)).
    const WAIT: Wait = Wait::DEFAULT;
    /// The errors the engine retries a create or update on, until the bundle's
    /// [`Retry`](crate::Retry) is up: what passes on its own (an id just made and not yet
    /// visible, a role not yet usable). Only for kinds whose create and update can be
    /// repeated whole: one call, or calls that are idempotent (a client token, a put).
    const TRANSIENT: Transient = Transient::NONE;
    /// The errors the engine retries a delete on: the resource is still used by something
    /// on its way out ([`Transient::DEPENDENCY`]).
    const IN_USE: Transient = Transient::NONE;

    /// The fields a diff reports: an enum of the kind's attributes, which its update
    /// dispatches on.
    type Field: Field;
    /// Where to look for a resource besides its name and owner (`()` for most kinds).
    type Key: Clone + fmt::Debug + Send + Sync + 'static;
    /// What the inputs ask for, as the plan has it: attributes taken from other resources
    /// are [`Value`]s. The engine [resolves](Resolve) it before a create or update, which get
    /// every input known ([`phase`](crate::phase)).
    type Desired: Resolve + Clone + fmt::Debug + Send + Sync + 'static;
    /// What AWS has.
    type Observed: Clone + fmt::Debug + Send + Sync + 'static;
    /// What other resources and the module's outputs use.
    type Outputs: Clone + fmt::Debug + Send + Sync + 'static;

    /// The wait settings of one declaration: [`WAIT`](Resource::WAIT), unless the kind takes
    /// them from its module's inputs (a `wait` input the kind value carries, a service's
    /// `steady_state`). `desired` is `None` for a delete.
    fn wait(&self, _desired: Option<&Self::Desired>) -> Wait {
        Self::WAIT
    }

    /// Whether a resource just made (`action` is a create or a replacement) or updated has
    /// reached the state others need (a NAT gateway available, a service steady), with its
    /// outputs as they are then. The engine polls it after the create or update returned.
    async fn ready(
        &self,
        _cx: Cx<'_>,
        _desired: &DesiredAtApply<Self>,
        outputs: &Self::Outputs,
        _action: Action,
    ) -> Result<Progress<Self::Outputs>, Error> {
        Ok(Progress::Done(outputs.clone()))
    }

    /// Whether nothing holds the resource any more, so that its delete can succeed (a
    /// security group's network interfaces released by tasks and load balancer nodes). The
    /// engine polls it before the delete; "not found" is done.
    async fn unused(&self, _cx: Cx<'_>, _observed: &Self::Observed) -> Result<Progress<()>, Error> {
        Ok(Progress::Done(()))
    }

    /// Whether a deleted resource is gone as far as others care (a NAT gateway deleted, a
    /// service INACTIVE, a security group's network interfaces released). The engine polls it
    /// after the delete returned; "not found" is done.
    async fn gone(&self, _cx: Cx<'_>, _observed: &Self::Observed) -> Result<Progress<()>, Error> {
        Ok(Progress::Done(()))
    }

    /// How errors and waits name a resource of the kind: `aws_ecs_cluster "blog"`.
    fn label(name: &str) -> String
    where
        Self: Sized,
    {
        format!("{} \"{name}\"", Self::KIND)
    }

    /// Reads every resource of the kind that the stack declares, at once.
    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, Self::Key>],
    ) -> Result<Vec<Self::Observed>, Error>;

    /// The name an observed resource answers to.
    fn name<'o>(&self, observed: &'o Self::Observed) -> &'o str;

    /// Whether an observed resource is the one declared as `name` at `key` (by name, unless a
    /// kind says otherwise).
    fn matches(&self, observed: &Self::Observed, name: &str, _key: &Self::Key) -> bool {
        self.name(observed) == name
    }

    /// The observed resource's ownership tag value, if it has one.
    fn owner<'o>(&self, observed: &'o Self::Observed) -> Option<&'o str>;

    /// Its AWS id, for the plan and the error reports.
    fn id(&self, observed: &Self::Observed) -> String;

    /// The attributes a create sets, for the plan (what `terraform plan` lists under `+`).
    fn describe(&self, desired: &Self::Desired) -> Vec<Diff>;

    /// How an existing resource differs from the inputs. Pure.
    fn diff(&self, desired: &Self::Desired, observed: &Self::Observed) -> Delta<Self::Field>;

    /// Makes the resource that replaces `observed` (a fixed attribute changed). The default
    /// is [`create`](Resource::create); a kind that keeps something of the old one (a task
    /// definition's images a pipeline deployed) overrides it.
    async fn create_replacement(
        &self,
        cx: Cx<'_>,
        desired: &DesiredAtApply<Self>,
        _observed: &Self::Observed,
    ) -> Result<Self::Outputs, Error> {
        self.create(cx, desired).await
    }

    /// Why deleting an existing resource is refused, and how to lift it (a load balancer's
    /// deletion protection): destroy then deletes nothing. `None` for most.
    fn protected(&self, _observed: &Self::Observed) -> Option<String> {
        None
    }

    /// What others keep on an existing resource that would go with it ([`Holder`]): apply,
    /// plan and destroy refuse to delete it while one that the stack does not declare is
    /// there. Empty for most.
    fn holders(&self, _observed: &Self::Observed) -> Vec<Holder> {
        Vec::new()
    }

    /// Where an existing resource's tags are written. A resource that carries the value an
    /// earlier release wrote for the declaration ([`Claim::Legacy`](crate::Claim)) is
    /// re-tagged there in place by apply; a kind without one leaves such a resource alone,
    /// as any other owner's. `None` for kinds claimed by place or never made by one
    /// instance of a module among several.
    fn tag_target(&self, _observed: &Self::Observed) -> Option<TagTarget> {
        None
    }

    /// When an existing resource was made, where AWS says: of two copies of one resource
    /// (a lost answer, two runs at once) the one that fits the rest is kept, the oldest of
    /// those that fit equally. `None` where AWS does not say (the read's order decides).
    fn created(&self, _observed: &Self::Observed) -> Option<std::time::SystemTime> {
        None
    }

    /// The IAM permissions this kind's read, create, update and delete call need (and what
    /// AWS checks inside those calls: tags in the create call, `iam:PassRole`, service-linked
    /// roles), for one resource declared with `desired` (`None` for one only tracked, which
    /// is read and deleted, never made). Resources and condition values may say `{name}`,
    /// `{owner}` and `{environment}` ([`Grant`](crate::permissions::Grant)).
    /// [`Stack::policy`](crate::Stack::policy) merges them; the workspace's tests fail for a
    /// kind the examples use whose list is empty, and prove the examples' policy against an
    /// emulator that enforces IAM.
    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<crate::permissions::Grant> {
        Vec::new()
    }

    /// The outputs of an existing resource.
    fn outputs(&self, observed: &Self::Observed) -> Self::Outputs;

    /// The outputs a plan can promise for an existing resource that `delta` changes in place
    /// (known unless an update gives it a new id, like a task definition's new revision).
    fn planned_outputs(
        &self,
        observed: &Self::Observed,
        _delta: &Delta<Self::Field>,
    ) -> Value<Self::Outputs> {
        Value::Known(self.outputs(observed))
    }

    /// The id in a resource's outputs, for the progress report of one just made.
    fn output_id(&self, _outputs: &Self::Outputs) -> Option<String> {
        None
    }

    /// Makes the resource, with its tags in the create call.
    async fn create(
        &self,
        cx: Cx<'_>,
        desired: &DesiredAtApply<Self>,
    ) -> Result<Self::Outputs, Error>;

    /// Changes an existing resource in place.
    async fn update(
        &self,
        cx: Cx<'_>,
        desired: &DesiredAtApply<Self>,
        observed: &Self::Observed,
        delta: &Delta<Self::Field>,
    ) -> Result<Self::Outputs, Error>;

    /// Deletes a resource; "not found" is done.
    async fn delete(&self, cx: Cx<'_>, observed: &Self::Observed) -> Result<(), Error>;
}
