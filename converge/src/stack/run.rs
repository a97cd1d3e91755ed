//! The executor: one batched read per kind, then plan, apply or destroy over the graph.

use std::any::TypeId;
use std::collections::HashMap;

use futures::stream::{FuturesUnordered, StreamExt};

use super::node::{LookAlike, Observed};
use super::schedule::{self, Item};
use super::{AnyArc, Handle, Ref, Resolver, Stack};
use crate::plan::{Action, Change, Plan};
use crate::resource::{Address, Resource};
use crate::value::Value;
use crate::{Aws, Error};

/// What a plan or an apply of a stack resolved: the changes, and every resource's outputs
/// (known after an apply; known where nothing is made, in a plan).
pub struct Resolved {
    pub(super) plan: Plan,
    pub(super) outputs: Vec<Value<AnyArc>>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl Resolved {
    /// The changes: what a plan would do, or what an apply did (no-ops included).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The changes, owned.
    pub fn into_plan(self) -> Plan {
        self.plan
    }

    /// A value read from the outputs.
    pub fn value<T>(&self, r: &Ref<T>) -> Value<T> {
        Resolver::new(&self.outputs).value(r)
    }

    /// A resource's outputs.
    pub fn get<R: Resource>(&self, handle: &Handle<R>) -> Value<R::Outputs> {
        Resolver::new(&self.outputs).get(handle).map(Clone::clone)
    }
}

/// What the read found, per declared resource.
pub(super) struct Read {
    pub(super) observed: Vec<Option<Observed>>,
    /// Further copies of a declared resource, until [`Stack::settle`] picks one.
    pub(super) copies: Vec<Vec<Observed>>,
    /// Ours but not declared, with the node whose kind deletes them.
    pub(super) orphans: Vec<(usize, Observed)>,
    pub(super) look_alikes: Vec<(usize, LookAlike)>,
}

/// Something the reverse scheduler deletes.
pub(super) struct Doomed {
    pub(super) item: Item,
    /// The node whose kind deletes it.
    pub(super) by: usize,
    pub(super) observed: Observed,
}

/// How many creates, changes or deletes of each kind are running, against the bundle's
/// [`per_kind`](crate::Throttling::per_kind) limit: AWS throttles each API family, and a
/// hundred resources of one kind started at once would all meet the same bucket.
pub(super) struct Busy {
    limit: Option<usize>,
    running: HashMap<TypeId, usize>,
}

impl Busy {
    pub(super) fn new(aws: &Aws) -> Self {
        Self {
            // A limit of 0 would start nothing.
            limit: aws.throttling().per_kind.map(|n| n.max(1)),
            running: HashMap::new(),
        }
    }

    pub(super) fn full(&self, kind: TypeId) -> bool {
        let running = self.running.get(&kind).copied().unwrap_or(0);
        self.limit.is_some_and(|l| running >= l)
    }

    pub(super) fn take(&mut self, kind: TypeId) {
        *self.running.entry(kind).or_default() += 1;
    }

    pub(super) fn give(&mut self, kind: TypeId) {
        if let Some(n) = self.running.get_mut(&kind) {
            *n = n.saturating_sub(1);
        }
    }
}

/// What a run of deletes got done.
#[derive(Default)]
pub(super) struct Deleted {
    pub(super) done: Vec<Address>,
    pub(super) remaining: Vec<Address>,
    pub(super) failures: Vec<(Address, Error)>,
}

impl Stack {
    /// `teardown` when the read is for a destroy.
    pub(super) async fn read(&self, aws: &Aws, teardown: bool) -> Result<Read, Error> {
        let aws = &aws.for_one_read();
        let mut groups: Vec<(TypeId, Vec<usize>)> = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            match groups.iter_mut().find(|(k, _)| *k == node.kind_type()) {
                Some((_, members)) => members.push(i),
                None => groups.push((node.kind_type(), vec![i])),
            }
        }
        let reads = futures::future::try_join_all(groups.iter().map(|(_, members)| {
            let list = members
                .iter()
                .map(|&i| (i, self.nodes[i].as_ref()))
                .collect();
            self.nodes[members[0]].read_group(aws, list, teardown)
        }))
        .await?;
        let mut read = Read {
            observed: vec![None; self.nodes.len()],
            copies: vec![Vec::new(); self.nodes.len()],
            orphans: Vec::new(),
            look_alikes: Vec::new(),
        };
        for group in reads {
            for (i, mut found) in group.found {
                if !found.is_empty() {
                    read.observed[i] = Some(found.remove(0));
                    read.copies[i] = found;
                }
            }
            read.orphans.extend(group.orphans);
            read.look_alikes.extend(group.look_alikes);
        }
        self.settle(&mut read);
        Ok(read)
    }

    /// Where a read found two or more copies of one resource, keeps the one that fits what
    /// is kept of the resources it reads (the subnet in the kept VPC, the NAT gateway in the
    /// kept subnet), the oldest of those that fit equally; the others go as leftovers. In
    /// declaration order, which is a dependency order, so each choice sees the ones before.
    fn settle(&self, read: &mut Read) {
        if read.copies.iter().all(Vec::is_empty) {
            return;
        }
        let mut outputs: Vec<Value<AnyArc>> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            if node.is_tracker() {
                outputs.push(Value::AfterApply);
                continue;
            }
            let copies = std::mem::take(&mut read.copies[i]);
            let resolver = Resolver::new(&outputs);
            let cost = |o: &Observed| match node.decide(Some(o), &resolver).change.action {
                Action::NoOp => 0,
                Action::Update => 1,
                _ => 2,
            };
            let mut all: Vec<Observed> = read.observed[i].take().into_iter().collect();
            all.extend(copies);
            // Stable: among equals, the oldest (the read's order) stays first.
            let costs: Vec<usize> = all.iter().map(&cost).collect();
            let best = (0..all.len()).min_by_key(|&k| costs[k]);
            if let Some(best) = best {
                let kept = all.remove(best);
                for mut copy in all {
                    copy.duplicate_of = Some(kept.id.clone());
                    read.orphans.push((i, copy));
                }
                read.observed[i] = Some(kept);
            }
            outputs.push(node.decide(read.observed[i].as_ref(), &resolver).outputs);
        }
    }

    /// Plan and apply must not adopt a same-named resource that is not ours.
    pub(super) fn refuse_look_alikes(&self, read: &Read) -> Result<(), Error> {
        match read.look_alikes.first() {
            None => Ok(()),
            Some((i, found)) => {
                let node = &self.nodes[*i];
                Err(Error::NotOwned {
                    kind: node.kind().to_owned(),
                    id: format!("{} (\"{}\")", found.id, node.name()),
                    owner: node.owner().to_owned(),
                    found: found.owner.clone(),
                })
            }
        }
    }

    /// Nothing is deleted while another stack keeps something on it ([`Resource::holders`]):
    /// what this stack declares goes first, so only the others' holders count.
    fn refuse_held<'o>(
        &self,
        doomed: impl IntoIterator<Item = (usize, &'o Observed)>,
    ) -> Result<(), Error> {
        for (by, o) in doomed {
            let held: Vec<&str> = o
                .holders
                .iter()
                .filter(|h| {
                    !h.owner
                        .as_deref()
                        .is_some_and(|owner| self.nodes.iter().any(|n| n.claims(owner)))
                })
                .map(|h| h.what.as_str())
                .collect();
            if !held.is_empty() {
                return Err(Error::Protected {
                    resource: format!("{} \"{}\" ({})", self.nodes[by].kind(), o.name, o.id),
                    how: format!(
                        "other stacks still have {} on it, which would go with it: {}; destroy or move them first",
                        if held.len() == 1 { "this" } else { "these" },
                        held.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// What plan and apply would delete: what is ours but no longer declared, and what a
    /// change replaces. A leftover protected from deletion is refused here too, before
    /// anything changes, rather than at its delete, after everything else.
    pub(super) fn refuse_held_changes(&self, read: &Read, plan: &Plan) -> Result<(), Error> {
        if let Some((by, o)) = read.orphans.iter().find(|(_, o)| o.protected.is_some()) {
            return Err(Error::Protected {
                resource: format!("{} \"{}\" ({})", self.nodes[*by].kind(), o.name, o.id),
                how: format!(
                    "the inputs no longer declare it, so apply would delete it: {}",
                    o.protected.clone().unwrap_or_default()
                ),
            });
        }
        let mut changes = plan.changes.iter();
        let replaced = self.nodes.iter().enumerate().filter_map(|(i, n)| {
            if n.is_tracker() {
                return None;
            }
            let change = changes.next()?;
            (change.action == Action::Replace)
                .then(|| read.observed[i].as_ref().map(|o| (i, o)))
                .flatten()
        });
        let replaced: Vec<(usize, &Observed)> = replaced.collect();
        if let Some((by, o)) = replaced.iter().find(|(_, o)| o.protected.is_some()) {
            return Err(Error::Protected {
                resource: format!("{} \"{}\" ({})", self.nodes[*by].kind(), o.name, o.id),
                how: format!(
                    "the change replaces it, which deletes it: {}",
                    o.protected.clone().unwrap_or_default()
                ),
            });
        }
        self.refuse_held(read.orphans.iter().map(|(by, o)| (*by, o)).chain(replaced))
    }

    /// Every resource's change and promised outputs, in declaration order (which is a
    /// dependency order: a handle exists only once its resource is declared).
    pub(super) fn decide_all(&self, read: &Read) -> (Plan, Vec<Value<AnyArc>>) {
        let mut outputs: Vec<Value<AnyArc>> = Vec::with_capacity(self.nodes.len());
        let mut plan = Plan::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if node.is_tracker() {
                outputs.push(Value::AfterApply);
                continue;
            }
            let decision = node.decide(read.observed[i].as_ref(), &Resolver::new(&outputs));
            outputs.push(decision.outputs);
            plan.push(decision.change);
        }
        for (by, o) in &read.orphans {
            let mut change =
                Change::new(Action::Delete, self.nodes[*by].kind(), &o.name).id(o.id.clone());
            if let Some(kept) = &o.duplicate_of {
                change.kept.push(format!(
                    "a second copy: {kept} is kept, which fits the rest and is the oldest"
                ));
            }
            plan.push(change);
        }
        (plan, outputs)
    }

    /// What [`apply`](Stack::apply) would do, and the outputs known now.
    pub async fn plan(&self, aws: &Aws) -> Result<Resolved, Error> {
        let read = self.read(aws, false).await?;
        self.refuse_look_alikes(&read)?;
        let (plan, outputs) = self.decide_all(&read);
        self.refuse_held_changes(&read, &plan)?;
        Ok(Resolved { plan, outputs })
    }

    /// Deletes every declared resource that exists and is ours, and whatever else carries a
    /// declared owner of a pruned kind, each once nothing that uses it is left. Needs no
    /// outputs: everything is found by name and ownership tag. Returns what was deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let doomed = self.doomed(self.read(aws, true).await?);
        // Before any delete, so a protected or held resource leaves the stack whole.
        self.refuse_held(doomed.iter().map(|d| (d.by, &d.observed)))?;
        if let Some(d) = doomed.iter().find(|d| d.observed.protected.is_some()) {
            return Err(Error::Protected {
                resource: format!(
                    "{} \"{}\" ({})",
                    self.nodes[d.by].kind(),
                    d.observed.name,
                    d.observed.id
                ),
                how: d.observed.protected.clone().unwrap_or_default(),
            });
        }
        let deleted = self.delete_in_order(aws, doomed, true).await;
        let mut plan = Plan::new();
        for a in &deleted.done {
            let mut c = Change::new(Action::Delete, &a.kind, &a.name);
            c.id = a.id.clone();
            plan.push(c);
        }
        let mut report = Deleted::default();
        match self.stopped(deleted, &mut report) {
            Some(err) => Err(err),
            None => Ok(plan),
        }
    }

    /// What [`destroy`](Stack::destroy) would delete, in an order it could.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let doomed = self.doomed(self.read(aws, true).await?);
        self.refuse_held(doomed.iter().map(|d| (d.by, &d.observed)))?;
        let items: Vec<Item> = doomed.iter().map(|d| d.item.clone()).collect();
        let blockers = schedule::blockers(&items, &self.shape());
        let mut order = Vec::new();
        let mut placed = vec![false; doomed.len()];
        while order.len() < doomed.len() {
            let before = order.len();
            for i in 0..doomed.len() {
                if !placed[i] && blockers[i].iter().all(|&b| placed[b]) {
                    placed[i] = true;
                    order.push(i);
                }
            }
            if order.len() == before {
                order.extend((0..doomed.len()).filter(|&i| !placed[i]));
                break;
            }
        }
        let mut plan = Plan::new();
        for i in order {
            let d = &doomed[i];
            plan.push(
                Change::new(Action::Delete, self.nodes[d.by].kind(), &d.observed.name)
                    .id(d.observed.id.clone()),
            );
        }
        Ok(plan)
    }

    fn doomed(&self, read: Read) -> Vec<Doomed> {
        for (i, found) in &read.look_alikes {
            tracing::warn!(
                kind = self.nodes[*i].kind(),
                name = self.nodes[*i].name(),
                id = found.id.as_str(),
                owner = found.owner.as_deref().unwrap_or("none"),
                "not tagged as ours: left alone"
            );
        }
        let mut doomed: Vec<Doomed> = read
            .observed
            .into_iter()
            .enumerate()
            .filter_map(|(i, o)| {
                o.map(|observed| Doomed {
                    item: self.item(i),
                    by: i,
                    observed,
                })
            })
            .collect();
        for (by, observed) in read.orphans {
            doomed.push(Doomed {
                item: self.leftover_item(by),
                by,
                observed,
            });
        }
        doomed
    }

    pub(super) fn item(&self, i: usize) -> Item {
        Item {
            kind: self.nodes[i].kind_type(),
            deps: self.nodes[i].deps().to_vec(),
            node: Some(i),
        }
    }

    /// A leftover of `by`'s kind uses what any declared resource of that kind uses.
    pub(super) fn leftover_item(&self, by: usize) -> Item {
        let kind = self.nodes[by].kind_type();
        let mut deps: Vec<usize> = self
            .nodes
            .iter()
            .filter(|n| n.kind_type() == kind)
            .flat_map(|n| n.deps().iter().copied())
            .collect();
        deps.sort_unstable();
        deps.dedup();
        Item {
            kind,
            deps,
            node: None,
        }
    }

    fn shape(&self) -> Vec<(TypeId, Vec<usize>)> {
        self.nodes
            .iter()
            .map(|n| (n.kind_type(), n.deps().to_vec()))
            .collect()
    }

    /// Deletes `doomed`, each once what uses it is gone, as many at a time as can go;
    /// `teardown` when the whole stack goes (nothing deleted is made again).
    pub(super) async fn delete_in_order(
        &self,
        aws: &Aws,
        doomed: Vec<Doomed>,
        teardown: bool,
    ) -> Deleted {
        let items: Vec<Item> = doomed.iter().map(|d| d.item.clone()).collect();
        let blockers = schedule::blockers(&items, &self.shape());
        let address = |d: &Doomed| {
            Address::new(
                self.nodes[d.by].kind(),
                &d.observed.name,
                Some(d.observed.id.clone()),
            )
        };
        let count = doomed.len();
        let mut started = vec![false; count];
        let mut gone = vec![false; count];
        let mut out = Deleted::default();
        let mut running = FuturesUnordered::new();
        let mut busy = Busy::new(aws);
        loop {
            if out.failures.is_empty() {
                let mut ready: Vec<usize> = (0..count)
                    .filter(|&i| !started[i] && blockers[i].iter().all(|&b| gone[b]))
                    .collect();
                if ready.is_empty() && running.is_empty() {
                    // A cycle among leftovers: let AWS's own dependency errors order them.
                    ready = (0..count).filter(|&i| !started[i]).collect();
                }
                for i in ready {
                    let d = &doomed[i];
                    let node = &self.nodes[d.by];
                    if busy.full(node.kind_type()) {
                        continue;
                    }
                    busy.take(node.kind_type());
                    started[i] = true;
                    running.push(async move { (i, node.delete(aws, &d.observed, teardown).await) });
                }
            }
            let Some((i, result)) = running.next().await else {
                break;
            };
            busy.give(self.nodes[doomed[i].by].kind_type());
            match result {
                Ok(()) => {
                    gone[i] = true;
                    out.done.push(address(&doomed[i]));
                }
                Err(err) => out.failures.push((address(&doomed[i]), err)),
            }
        }
        out.remaining = (0..count)
            .filter(|&i| !gone[i])
            .map(|i| address(&doomed[i]))
            .collect();
        out
    }

    /// Folds a run of deletes into the report; the error when one failed.
    pub(super) fn stopped(&self, deleted: Deleted, report: &mut Deleted) -> Option<Error> {
        report.done.extend(deleted.done);
        report.failures.extend(deleted.failures);
        if report.failures.is_empty() {
            return None;
        }
        Some(self.stop(std::mem::take(report), deleted.remaining))
    }

    pub(super) fn stop(&self, report: Deleted, remaining: Vec<Address>) -> Error {
        let mut failures = report.failures.into_iter();
        let (failed, source) = failures.next().expect("a stop has a failure");
        for (address, err) in failures {
            tracing::warn!(%address, error = %err, "also failed");
        }
        Error::Stopped {
            failed: Box::new(failed),
            done: report.done,
            remaining,
            source: Box::new(source),
        }
    }
}
