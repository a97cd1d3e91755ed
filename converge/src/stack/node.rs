//! One declared resource, with its kind erased so a stack can hold any mix of kinds.

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::{AnyArc, Resolver};
use crate::delta::Delta;
use crate::phase::Resolve;
use crate::plan::Diff;
use crate::plan::{Action, Change};
use crate::resource::{
    Address, Cx, DesiredAtApply, Holder, Progress, Replacement, Resource, TagTarget, Wanted,
};
use crate::tags::Claim;
use crate::value::Value;
use crate::{Aws, Error, Tags, Wait};

/// An existing resource, as a read found it.
#[derive(Clone)]
pub(crate) struct Observed {
    pub any: AnyArc,
    pub id: String,
    pub name: String,
    /// Why it may not be deleted ([`Resource::protected`]).
    pub protected: Option<String>,
    /// What others keep on it ([`Resource::holders`]).
    pub holders: Vec<Holder>,
    /// It carries the ownership value an earlier release wrote: apply re-tags it in place.
    pub retag: Option<TagTarget>,
    /// When it was made, where AWS says ([`Resource::created`]).
    pub created: Option<std::time::SystemTime>,
    /// The id of the copy kept instead of this one, when this is a duplicate.
    pub duplicate_of: Option<String>,
}

/// What one read of a kind found for the stack's resources of that kind.
pub(crate) struct GroupRead {
    /// Per member (by node index): the resources that are ours, oldest first; more than one
    /// when a create's answer was lost or two runs made one each.
    pub found: Vec<(usize, Vec<Observed>)>,
    /// Members whose name is taken by a resource without our ownership tag.
    pub look_alikes: Vec<(usize, LookAlike)>,
    /// Ours, but not declared (or a duplicate): deleted by apply and destroy. With the node
    /// that deletes them (any of the kind).
    pub orphans: Vec<(usize, Observed)>,
}

/// A resource that has a declared resource's name but not its owner.
#[derive(Clone, Debug)]
pub(crate) struct LookAlike {
    pub id: String,
    /// Its ownership, canonical ([`crate::owner_in`]).
    pub owner: Option<String>,
}

/// What apply will do with one resource, decided by the kind's pure diff.
pub(crate) struct Decision {
    pub change: Change,
    /// The outputs a plan can promise.
    pub outputs: Value<AnyArc>,
    /// The inputs and how the resource differs from them: `(R::Desired, Delta<R::Field>)`.
    pub desired: Box<dyn Any + Send + Sync>,
}

impl Decision {
    fn work<R: Resource>(&self) -> &(R::Desired, Delta<R::Field>) {
        self.desired
            .downcast_ref()
            .expect("a decision is of its node's kind")
    }
}

pub(crate) trait Node: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn kind_type(&self) -> TypeId;
    fn kind(&self) -> &'static str;
    fn name(&self) -> &str;
    fn deps(&self) -> &[usize];
    fn replacement(&self) -> Replacement;
    /// Whether the node only keeps its kind read (see `Stack::track`).
    fn is_tracker(&self) -> bool;
    fn owner(&self) -> &str;
    /// Whether an ownership value read back (canonical) is this node's, in either form.
    fn claims(&self, owner: &str) -> bool;
    /// The id of a resource just made, from its outputs.
    fn output_id(&self, outputs: &AnyArc) -> Option<String>;
    fn address(&self, observed: Option<&Observed>) -> Address {
        Address::new(self.kind(), self.name(), observed.map(|o| o.id.clone()))
    }

    /// The IAM permissions this resource needs, placeholders filled in.
    fn permissions(&self) -> Vec<crate::permissions::Grant>;

    /// Reads this node's kind for every member of the group (nodes of the same kind).
    fn read_group<'a>(
        &'a self,
        aws: &'a Aws,
        members: Vec<(usize, &'a dyn Node)>,
        teardown: bool,
    ) -> BoxFuture<'a, Result<GroupRead, Error>>;

    fn decide(&self, observed: Option<&Observed>, resolver: &Resolver<'_>) -> Decision;

    /// Carries out a decision; returns the outputs, and the old resource when a replacement
    /// made the new one first (it is deleted once nothing uses it).
    fn run<'a>(
        &'a self,
        aws: &'a Aws,
        decision: Decision,
        observed: Option<Observed>,
    ) -> BoxFuture<'a, Result<(AnyArc, Option<Observed>), Error>>;

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        observed: &'a Observed,
        teardown: bool,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

pub(crate) struct ResourceNode<R: Resource> {
    pub kind: Arc<R>,
    pub name: String,
    pub tags: Tags,
    pub key: R::Key,
    /// `None` for a tracker.
    #[allow(clippy::type_complexity)]
    pub desired: Option<Arc<dyn Fn(&Resolver<'_>) -> R::Desired + Send + Sync>>,
    pub deps: Vec<usize>,
    pub options: super::Options<R>,
}

impl<R: Resource> ResourceNode<R> {
    fn cx<'a>(&'a self, aws: &'a Aws) -> Cx<'a> {
        Cx {
            aws,
            name: &self.name,
            tags: &self.tags,
            teardown: false,
        }
    }

    fn observed(&self, o: &R::Observed) -> Observed {
        Observed {
            any: Arc::new(o.clone()),
            id: self.kind.id(o),
            name: self.kind.name(o).to_owned(),
            protected: self.kind.protected(o).or_else(|| {
                self.options
                    .protect
                    .then(|| super::options::PROTECTED.to_owned())
            }),
            holders: self.kind.holders(o),
            retag: None,
            created: self.kind.created(o),
            duplicate_of: None,
        }
    }

    /// How this node's tags claim an observed resource. One an earlier release tagged is
    /// ours only where the kind can re-tag it; else it is left alone like any other's.
    fn claim(&self, o: &R::Observed) -> (Claim, Option<TagTarget>) {
        match self.tags.claim(self.kind.owner(o)) {
            Claim::Legacy => match self.kind.tag_target(o) {
                Some(target) => (Claim::Legacy, Some(target)),
                None => (Claim::Foreign, None),
            },
            claim => (claim, None),
        }
    }

    /// The declaration's wait: the kind's, with what is left of the declaration's time limit
    /// instead of the kind's timeout.
    fn wait(&self, desired: Option<&R::Desired>, deadline: Option<Deadline>) -> Wait {
        let mut wait = self.kind.wait(desired);
        if let Some(d) = deadline {
            wait.timeout = d.at.saturating_duration_since(Instant::now());
        }
        wait
    }

    /// Makes the resource (replacing `old`, when given): the kind's create, retried on its
    /// transient errors, then its readiness polled.
    async fn create(
        &self,
        cx: Cx<'_>,
        (desired, applied): (&R::Desired, &DesiredAtApply<R>),
        old: Option<&R::Observed>,
        action: Action,
        deadline: Option<Deadline>,
    ) -> Result<R::Outputs, Error> {
        let what = format!("{} of {}", action.word(), self.address(None));
        let made = within(deadline, &what, async {
            cx.aws
                .retry()
                .run_while(
                    &what,
                    |e| R::TRANSIENT.matches_error(e),
                    || match old {
                        Some(old) => self.kind.create_replacement(cx, applied, old),
                        None => self.kind.create(cx, applied),
                    },
                )
                .await
        })
        .await?;
        self.ready(cx, (desired, applied), made, action, deadline)
            .await
    }

    /// Changes the resource in place: the kind's update, retried on its transient errors,
    /// then its readiness polled.
    async fn update(
        &self,
        cx: Cx<'_>,
        (desired, delta): &(R::Desired, Delta<R::Field>),
        applied: &DesiredAtApply<R>,
        found: &R::Observed,
        deadline: Option<Deadline>,
    ) -> Result<R::Outputs, Error> {
        let what = format!("update of {}", self.address(None));
        let updated = within(deadline, &what, async {
            cx.aws
                .retry()
                .run_while(
                    &what,
                    |e| R::TRANSIENT.matches_error(e),
                    || self.kind.update(cx, applied, found, delta),
                )
                .await
        })
        .await?;
        self.ready(cx, (desired, applied), updated, Action::Update, deadline)
            .await
    }

    /// Polls the kind's [`Resource::ready`] until it is done or the wait times out.
    async fn ready(
        &self,
        cx: Cx<'_>,
        (desired, applied): (&R::Desired, &DesiredAtApply<R>),
        outputs: R::Outputs,
        action: Action,
        deadline: Option<Deadline>,
    ) -> Result<R::Outputs, Error> {
        let what = format!("{} to be ready", self.address(None));
        self.wait(Some(desired), deadline)
            .poll(&what, || self.kind.ready(cx, applied, &outputs, action))
            .await
    }

    /// The desired state with every input known, as create and update get it. An input
    /// still unknown here was read only under a condition in its declaration.
    fn resolve(&self, desired: &R::Desired) -> Result<DesiredAtApply<R>, Error> {
        desired.resolve().map_err(|unknown| Error::Failed {
            resource: self.address(None).to_string(),
            reason: format!("{unknown} (read every input unconditionally in its declaration)"),
        })
    }

    /// Deletes the resource: once the kind says nothing holds it, the kind's delete, retried
    /// while it is in use, then its going polled. "Not found" is an error only where `strict` (a replacement's delete).
    async fn remove(
        &self,
        cx: Cx<'_>,
        found: &R::Observed,
        id: &str,
        strict: bool,
        deadline: Option<Deadline>,
    ) -> Result<(), Error> {
        // A leftover has its own name, which `cx` carries.
        let address = Address::new(R::KIND, cx.name, Some(id.to_owned()));
        let what = format!("{address} to be unused");
        self.wait(None, deadline)
            .poll(&what, || async {
                match self.kind.unused(cx, found).await {
                    Err(err) if err.is_not_found() => Ok(Progress::Done(())),
                    polled => polled,
                }
            })
            .await?;
        let what = format!("delete of {address}");
        let deleted = within(deadline, &what, async {
            cx.aws
                .retry()
                .run_while(
                    &what,
                    |e| R::IN_USE.matches_error(e),
                    || self.kind.delete(cx, found),
                )
                .await
        })
        .await;
        if strict {
            deleted?;
        } else {
            crate::ignore_not_found(deleted)?;
        }
        let what = format!("{address} to be gone");
        self.wait(None, deadline)
            .poll(&what, || async {
                match self.kind.gone(cx, found).await {
                    Err(err) if err.is_not_found() => Ok(Progress::Done(())),
                    polled => polled,
                }
            })
            .await
    }

    /// The observation of a resource this node claims.
    fn claimed(&self, o: &R::Observed, retag: Option<TagTarget>) -> Observed {
        Observed {
            retag,
            ..self.observed(o)
        }
    }
}

/// A declaration's time limit ([`timeout`](super::Options::timeout)), from the start of its
/// create, update, replacement or delete: its calls, retries and waits all fit in it.
#[derive(Clone, Copy)]
struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    fn start(limit: Option<Duration>) -> Option<Self> {
        limit.map(|limit| Self {
            at: Instant::now() + limit,
            limit,
        })
    }
}

/// `work`, failing with [`Error::WaitTimedOut`] naming `what` at the deadline.
async fn within<T>(
    deadline: Option<Deadline>,
    what: &str,
    work: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match deadline {
        None => work.await,
        Some(d) => {
            let left = d.at.saturating_duration_since(Instant::now());
            tokio::time::timeout(left, work).await.unwrap_or_else(|_| {
                Err(Error::WaitTimedOut {
                    what: what.to_owned(),
                    waited: d.limit,
                })
            })
        }
    }
}

fn downcast<T: 'static>(any: &AnyArc) -> &T {
    any.downcast_ref::<T>()
        .expect("an observation is of its node's kind")
}

impl<R: Resource> Node for ResourceNode<R> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn kind_type(&self) -> TypeId {
        TypeId::of::<R>()
    }
    fn kind(&self) -> &'static str {
        R::KIND
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn deps(&self) -> &[usize] {
        &self.deps
    }
    fn replacement(&self) -> Replacement {
        R::REPLACEMENT
    }
    fn is_tracker(&self) -> bool {
        self.desired.is_none()
    }
    fn owner(&self) -> &str {
        self.tags.owner()
    }
    fn claims(&self, owner: &str) -> bool {
        self.tags.claim(Some(owner)).is_ours()
    }
    fn output_id(&self, outputs: &AnyArc) -> Option<String> {
        self.kind.output_id(downcast(outputs))
    }
    fn permissions(&self) -> Vec<crate::permissions::Grant> {
        // The inputs with every other resource's outputs unknown: what a kind needs to know
        // is in its own inputs (a role's trusted services and managed policies).
        let desired = self.desired.as_ref().map(|f| f(&Resolver::new(&[])));
        let env = self.tags.environment();
        let mut owners: Vec<String> = Vec::new();
        for value in self.tags.owner_values() {
            owners.push(value.to_owned());
            if value != self.tags.owner() {
                // An earlier release's value, as it may be written (`<value>|<environment>`).
                owners.push(format!("{value}|{env}"));
            }
        }
        let owners: Vec<&str> = owners.iter().map(String::as_str).collect();
        self.kind
            .permissions(&self.key, desired.as_ref())
            .iter()
            .map(|g| g.fill(&self.name, env, &owners))
            .collect()
    }

    fn read_group<'a>(
        &'a self,
        aws: &'a Aws,
        members: Vec<(usize, &'a dyn Node)>,
        teardown: bool,
    ) -> BoxFuture<'a, Result<GroupRead, Error>> {
        Box::pin(async move {
            let members: Vec<(usize, &ResourceNode<R>)> = members
                .into_iter()
                .map(|(i, n)| {
                    let n = n
                        .as_any()
                        .downcast_ref::<ResourceNode<R>>()
                        .expect("a group holds one kind");
                    (i, n)
                })
                .collect();
            let wanted: Vec<Wanted<'_, R::Key>> = members
                .iter()
                .map(|(_, n)| Wanted {
                    name: &n.name,
                    tags: &n.tags,
                    key: &n.key,
                    teardown,
                })
                .collect();
            let all = self.kind.read(aws, &wanted).await?;
            let mut claimed = vec![false; all.len()];
            let mut read = GroupRead {
                found: Vec::new(),
                look_alikes: Vec::new(),
                orphans: Vec::new(),
            };
            for (index, node) in &members {
                if node.is_tracker() {
                    read.found.push((*index, Vec::new()));
                    continue;
                }
                let mut mine: Vec<Observed> = Vec::new();
                let mut stranger = None;
                for (j, o) in all.iter().enumerate() {
                    if claimed[j] || !self.kind.matches(o, &node.name, &node.key) {
                        continue;
                    }
                    match node.claim(o) {
                        (Claim::Foreign, _) => {
                            if stranger.is_none() {
                                stranger = Some(LookAlike {
                                    id: self.kind.id(o),
                                    owner: self.kind.owner(o).map(str::to_owned),
                                });
                            }
                        }
                        (_, retag) => {
                            claimed[j] = true;
                            mine.push(node.claimed(o, retag));
                        }
                    }
                }
                if let (true, Some(found)) = (mine.is_empty(), stranger) {
                    read.look_alikes.push((*index, found));
                }
                // Oldest first where AWS says when; else as the read listed them.
                mine.sort_by(|a, b| match (a.created, b.created) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                });
                read.found.push((*index, mine));
            }
            if R::PRUNE {
                for (j, o) in all.iter().enumerate() {
                    let ours = members.iter().find(|(_, n)| n.claim(o).0.is_ours());
                    if let (false, Some((index, node))) = (claimed[j], ours) {
                        read.orphans.push((*index, node.observed(o)));
                    }
                }
            }
            Ok(read)
        })
    }

    fn decide(&self, observed: Option<&Observed>, resolver: &Resolver<'_>) -> Decision {
        let Some(desired) = &self.desired else {
            // A tracker: nothing to plan or make (the executor never asks).
            return Decision {
                change: Change::new(Action::NoOp, R::KIND, &self.name),
                outputs: Value::AfterApply,
                desired: Box::new(()),
            };
        };
        let desired = desired(resolver);
        let mut change = Change::new(Action::Create, R::KIND, &self.name);
        let (delta, outputs) = match observed {
            None => {
                change.diffs = self.kind.describe(&desired);
                // A create replaces nothing, whatever its fields would force on a change.
                for d in &mut change.diffs {
                    d.replaces = None;
                }
                (Delta::new(), Value::AfterApply)
            }
            Some(o) => {
                let found: &R::Observed = downcast(&o.any);
                let mut delta = self.kind.diff(&desired, found);
                for c in &delta.changes {
                    if self.options.ignore_changes.contains(&c.field) {
                        change
                            .kept
                            .push(format!("{} as AWS has it (ignore_changes)", c.label()));
                    }
                }
                delta.ignore(&self.options.ignore_changes);
                change.id = Some(o.id.clone());
                change.diffs = delta.diffs();
                change.kept.extend(delta.kept.iter().cloned());
                change.action = if delta.replaces() {
                    Action::Replace
                } else if delta.is_empty() && o.retag.is_none() {
                    Action::NoOp
                } else {
                    Action::Update
                };
                if o.retag.is_some() && change.action == Action::Update {
                    change.diffs.push(Diff {
                        field: format!("tags.{}", crate::OWNER_TAG),
                        before: self.kind.owner(found).map(crate::tags::display_owner),
                        after: Some(self.tags.owner().to_owned()),
                        replaces: None,
                    });
                }
                let outputs = match change.action {
                    Action::Replace => Value::AfterApply,
                    _ => self
                        .kind
                        .planned_outputs(found, &delta)
                        .map(|out| Arc::new(out) as AnyArc),
                };
                (delta, outputs)
            }
        };
        Decision {
            change,
            outputs,
            desired: Box::new((desired, delta)),
        }
    }

    fn run<'a>(
        &'a self,
        aws: &'a Aws,
        decision: Decision,
        observed: Option<Observed>,
    ) -> BoxFuture<'a, Result<(AnyArc, Option<Observed>), Error>> {
        Box::pin(async move {
            let deadline = Deadline::start(self.options.timeout);
            let work = decision.work::<R>();
            let desired = &work.0;
            let cx = self.cx(aws);
            let found = observed.as_ref().map(|o| downcast::<R::Observed>(&o.any));
            let action = decision.change.action;
            // Every input known before this resource's first write (a replacement that
            // deletes first has deleted already), so an unknown one makes nothing.
            let applied = match action {
                Action::NoOp => None,
                Action::Update if work.1.is_empty() => None,
                _ => Some(self.resolve(desired)?),
            };
            // A resource an earlier release tagged takes this release's identity first, in
            // place; then whatever else differs is updated.
            if let (Action::Update, Some(o)) = (action, &observed) {
                if let Some(target) = &o.retag {
                    let what = format!("update of {}", self.address(Some(o)));
                    let retag = crate::tags::retag(aws, target, self.tags.owner());
                    within(deadline, &what, retag).await?;
                }
            }
            let (outputs, old) = match (action, found, &observed) {
                (Action::NoOp, Some(found), _) => (self.kind.outputs(found), None),
                (Action::Update, Some(found), _) if work.1.is_empty() => {
                    (self.kind.outputs(found), None)
                }
                (Action::Update, Some(found), _) => {
                    let applied = applied.as_ref().expect("resolved for an update");
                    (self.update(cx, work, applied, found, deadline).await?, None)
                }
                (Action::Replace, Some(found), Some(o)) => {
                    let applied = applied.as_ref().expect("resolved for a replacement");
                    let old = match R::REPLACEMENT {
                        Replacement::CreateFirst => observed.clone(),
                        Replacement::DeleteFirst => {
                            self.remove(cx, found, &o.id, true, deadline).await?;
                            None
                        }
                    };
                    let made = self.create(cx, (desired, applied), Some(found), action, deadline);
                    (made.await?, old)
                }
                _ => {
                    let applied = applied.as_ref().expect("resolved for a create");
                    let made = self.create(cx, (desired, applied), None, Action::Create, deadline);
                    (made.await?, None)
                }
            };
            Ok((Arc::new(outputs) as AnyArc, old))
        })
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        observed: &'a Observed,
        teardown: bool,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let found: &R::Observed = downcast(&observed.any);
            let cx = Cx {
                aws,
                name: &observed.name,
                tags: &self.tags,
                teardown,
            };
            let deadline = Deadline::start(self.options.timeout);
            self.remove(cx, found, &observed.id, false, deadline).await
        })
    }
}
