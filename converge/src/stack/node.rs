//! One declared resource, with its kind erased so a stack can hold any mix of kinds.

use std::any::{Any, TypeId};
use std::sync::Arc;

use futures::future::BoxFuture;

use super::{AnyArc, Resolver};
use crate::plan::{Action, Change};
use crate::resource::{Address, Cx, Delta, Holder, Replacement, Resource, Wanted};
use crate::value::Value;
use crate::{Aws, Error, Tags};

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
}

/// What one read of a kind found for the stack's resources of that kind.
pub(crate) struct GroupRead {
    /// Per member (by node index): the resource that is ours.
    pub found: Vec<(usize, Option<Observed>)>,
    /// Members whose name is taken by a resource without our ownership tag: (node, its id).
    pub look_alikes: Vec<(usize, String)>,
    /// Ours, but not declared (or a duplicate): deleted by apply and destroy. With the node
    /// that deletes them (any of the kind).
    pub orphans: Vec<(usize, Observed)>,
}

/// What apply will do with one resource, decided by the kind's pure diff.
pub(crate) struct Decision {
    pub change: Change,
    /// The outputs a plan can promise.
    pub outputs: Value<AnyArc>,
    pub desired: Box<dyn Any + Send + Sync>,
    pub delta: Delta,
}

pub(crate) trait Node: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn kind_type(&self) -> TypeId;
    fn kind(&self) -> &'static str;
    fn name(&self) -> &str;
    fn deps(&self) -> &[usize];
    fn replacement(&self) -> Replacement;
    /// Whether the node only keeps its kind read (see `Stack::track`).
    fn is_tracker(&self) -> bool;
    fn owner(&self) -> &str;
    /// The id of a resource just made, from its outputs.
    fn output_id(&self, outputs: &AnyArc) -> Option<String>;
    fn address(&self, observed: Option<&Observed>) -> Address {
        Address::new(self.kind(), self.name(), observed.map(|o| o.id.clone()))
    }

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
            protected: self.kind.protected(o),
            holders: self.kind.holders(o),
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
    fn output_id(&self, outputs: &AnyArc) -> Option<String> {
        self.kind.output_id(downcast(outputs))
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
                    read.found.push((*index, None));
                    continue;
                }
                let mut mine = None;
                let mut stranger = None;
                for (j, o) in all.iter().enumerate() {
                    if claimed[j] || !self.kind.matches(o, &node.name, &node.key) {
                        continue;
                    }
                    if self.kind.owner(o) == Some(node.tags.owner()) {
                        claimed[j] = true;
                        match mine {
                            None => mine = Some(node.observed(o)),
                            // A second one of ours (a create whose answer was lost): it goes.
                            Some(_) => read.orphans.push((*index, node.observed(o))),
                        }
                    } else if stranger.is_none() {
                        stranger = Some(self.kind.id(o));
                    }
                }
                if let (None, Some(id)) = (&mine, stranger) {
                    read.look_alikes.push((*index, id));
                }
                read.found.push((*index, mine));
            }
            if R::PRUNE {
                for (j, o) in all.iter().enumerate() {
                    let owner = self.kind.owner(o);
                    let ours = members.iter().find(|(_, n)| owner == Some(n.tags.owner()));
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
                delta: Delta::new(),
            };
        };
        let desired = desired(resolver);
        let mut change = Change::new(Action::Create, R::KIND, &self.name);
        let (delta, outputs) = match observed {
            None => {
                change.diffs = self.kind.describe(&desired);
                (Delta::new(), Value::AfterApply)
            }
            Some(o) => {
                let found: &R::Observed = downcast(&o.any);
                let delta = self.kind.diff(&desired, found);
                change.id = Some(o.id.clone());
                change.diffs = delta.diffs.clone();
                change.kept = delta.kept.clone();
                change.action = if delta.replace {
                    Action::Replace
                } else if delta.is_empty() {
                    Action::NoOp
                } else {
                    Action::Update
                };
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
            desired: Box::new(desired),
            delta,
        }
    }

    fn run<'a>(
        &'a self,
        aws: &'a Aws,
        decision: Decision,
        observed: Option<Observed>,
    ) -> BoxFuture<'a, Result<(AnyArc, Option<Observed>), Error>> {
        Box::pin(async move {
            let desired: &R::Desired = decision
                .desired
                .downcast_ref()
                .expect("a decision is of its node's kind");
            let cx = self.cx(aws);
            let found = observed.as_ref().map(|o| downcast::<R::Observed>(&o.any));
            let (outputs, old) = match (decision.change.action, found) {
                (Action::NoOp, Some(found)) => (self.kind.outputs(found), None),
                (Action::Update, Some(found)) => (
                    self.kind
                        .update(cx, desired, found, &decision.delta)
                        .await?,
                    None,
                ),
                (Action::Replace, Some(found)) => match R::REPLACEMENT {
                    Replacement::CreateFirst => (
                        self.kind.create_replacement(cx, desired, found).await?,
                        observed.clone(),
                    ),
                    Replacement::DeleteFirst => {
                        self.kind.delete(cx, found).await?;
                        (
                            self.kind.create_replacement(cx, desired, found).await?,
                            None,
                        )
                    }
                },
                _ => (self.kind.create(cx, desired).await?, None),
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
            crate::ignore_not_found(self.kind.delete(cx, found).await)
        })
    }
}
