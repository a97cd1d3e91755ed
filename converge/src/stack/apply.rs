//! Apply: carry out a plan, each resource as soon as the ones it reads are applied, and
//! check that what each resource does is what the plan said.

use futures::stream::{FuturesUnordered, StreamExt};

use super::node::{Decision, Observed};
use super::run::{Busy, Deleted, Doomed, Read};
use super::{AnyArc, Resolver, Stack};
use crate::plan::{Action, Change, Plan};
use crate::resource::{Address, Replacement};
use crate::value::{Value, AFTER_APPLY};
use crate::{events, Aws, Error};

use super::run::Resolved;

/// Whether a resource may take action `now` when the plan said `planned`: the same
/// action, or, where the plan could not know a value yet (`(known after apply)`), a
/// smaller one (an update whose unknown value turned out as AWS has it does nothing).
pub(super) fn as_planned(planned: &Change, now: Action) -> bool {
    fn rank(a: Action) -> Option<u8> {
        match a {
            Action::NoOp => Some(0),
            Action::Update => Some(1),
            Action::Replace => Some(2),
            Action::Create | Action::Delete => None,
        }
    }
    if now == planned.action {
        return true;
    }
    let unknown = planned
        .diffs
        .iter()
        .any(|d| d.after.as_deref() == Some(AFTER_APPLY));
    match (rank(planned.action), rank(now)) {
        (Some(p), Some(n)) => unknown && n < p,
        _ => false,
    }
}

/// What one resource's run gives back to the loop.
type Finished = (
    usize,
    bool,
    Change,
    Result<(AnyArc, Option<Observed>), Error>,
);

/// The state of the forward pass: which resources started and finished, their outputs and
/// what each did.
struct Forward {
    outputs: Vec<Value<AnyArc>>,
    started: Vec<bool>,
    finished: Vec<bool>,
    changes: Vec<Option<Change>>,
    /// Old resources a create-first replacement left, deleted at the end.
    doomed: Vec<Doomed>,
    report: Deleted,
}

impl Stack {
    /// Makes AWS match the declarations: one read per kind, a plan, then each resource as
    /// soon as the ones it reads are applied, then what is ours but no longer declared goes.
    /// Each resource takes the action the plan gave it (or less, where the plan could not
    /// know a value yet), else it is not changed ([`Error::NotAsPlanned`]). When a resource
    /// fails, the ones running finish their call and nothing new starts; the error
    /// ([`Error::Stopped`]) lists what was done and what remains.
    pub async fn apply(&self, aws: &Aws) -> Result<Resolved, Error> {
        self.apply_inner(aws, None).await
    }

    /// Applies `saved`, a plan made earlier (by [`plan`](Stack::plan)), exactly: when a read
    /// now plans anything else, for any resource, it changes nothing and fails with
    /// [`Error::StalePlan`] naming each difference; a resource that would then take another
    /// action than planned is not changed ([`Error::NotAsPlanned`]).
    pub async fn apply_plan(&self, aws: &Aws, saved: &Plan) -> Result<Resolved, Error> {
        self.apply_inner(aws, Some(saved)).await
    }

    async fn apply_inner(&self, aws: &Aws, saved: Option<&Plan>) -> Result<Resolved, Error> {
        let mut read = self.read(aws, false).await?;
        self.refuse_look_alikes(&read)?;
        let (planned, _) = self.decide_all(&read);
        self.refuse_held_changes(&read, &planned)?;
        if let Some(saved) = saved {
            let differences = saved.differences(&planned);
            if !differences.is_empty() {
                return Err(Error::StalePlan { differences });
            }
        }
        events::planned(&planned.changes);
        let planned = self.per_node(planned);
        let mut report = Deleted::default();
        self.delete_replaced_first(aws, &planned, &mut read, &mut report)
            .await?;
        let forward = self.forward(aws, &planned, &read.observed, report).await;
        if !forward.report.failures.is_empty() {
            let remaining = (0..self.nodes.len())
                .filter(|&i| !forward.finished[i])
                .map(|i| self.nodes[i].address(read.observed[i].as_ref()))
                .chain(read.orphans.iter().map(|(by, o)| {
                    Address::new(self.nodes[*by].kind(), &o.name, Some(o.id.clone()))
                }))
                .collect();
            return Err(self.stop(forward.report, remaining));
        }
        self.delete_after(aws, read, forward).await
    }

    /// The plan's change of each node, in node order; `None` for a tracker (it plans
    /// nothing). Leftovers' deletes are not a node's.
    fn per_node(&self, plan: Plan) -> Vec<Option<Change>> {
        let mut changes = plan.changes.into_iter();
        self.nodes
            .iter()
            .map(|n| match n.is_tracker() {
                true => None,
                false => changes.next(),
            })
            .collect()
    }

    /// Replacements whose old resource must go first go before anything is made, those
    /// that use others first.
    async fn delete_replaced_first(
        &self,
        aws: &Aws,
        planned: &[Option<Change>],
        read: &mut Read,
        report: &mut Deleted,
    ) -> Result<(), Error> {
        let first: Vec<Doomed> = planned
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.as_ref().is_some_and(|c| c.action == Action::Replace)
                    && self.nodes[*i].replacement() == Replacement::DeleteFirst
            })
            .filter_map(|(i, _)| {
                read.observed[i].take().map(|o| Doomed {
                    item: self.item(i),
                    by: i,
                    observed: o,
                })
            })
            .collect();
        if first.is_empty() {
            return Ok(());
        }
        let deleted = self.delete_in_order(aws, first, false).await;
        match self.stopped(deleted, report) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Forward: each resource once everything it reads is applied, at most the bundle's
    /// per-kind limit of calls at once; after a failure nothing new starts.
    async fn forward(
        &self,
        aws: &Aws,
        planned: &[Option<Change>],
        observed: &[Option<Observed>],
        report: Deleted,
    ) -> Forward {
        let n = self.nodes.len();
        let mut state = Forward {
            outputs: vec![Value::AfterApply; n],
            started: vec![false; n],
            finished: vec![false; n],
            changes: vec![None; n],
            doomed: Vec::new(),
            report,
        };
        let mut running = FuturesUnordered::new();
        let mut busy = Busy::new(aws);
        loop {
            if state.report.failures.is_empty() {
                for i in 0..n {
                    if let Some(run) = self.start(aws, i, planned, observed, &mut state, &mut busy)
                    {
                        running.push(run);
                    }
                }
            }
            let Some((i, calls, change, result)) = running.next().await else {
                break;
            };
            if calls {
                busy.give(self.nodes[i].kind_type());
            }
            self.finish(i, change, result, observed, &mut state);
        }
        state
    }

    /// Starts node `i` if it is ready (what it reads is applied, its kind has room): decides
    /// its change with the outputs known now and checks it against the plan.
    fn start<'a>(
        &'a self,
        aws: &'a Aws,
        i: usize,
        planned: &[Option<Change>],
        observed: &[Option<Observed>],
        state: &mut Forward,
        busy: &mut Busy,
    ) -> Option<futures::future::BoxFuture<'a, Finished>> {
        let node = &self.nodes[i];
        if state.started[i] {
            return None;
        }
        let Some(plan) = &planned[i] else {
            // A tracker makes nothing.
            state.started[i] = true;
            state.finished[i] = true;
            return None;
        };
        if !node.deps().iter().all(|&d| state.finished[d]) {
            return None;
        }
        // What makes no call takes no place of its kind.
        let calls = plan.action != Action::NoOp;
        if calls && busy.full(node.kind_type()) {
            return None;
        }
        state.started[i] = true;
        if calls {
            busy.take(node.kind_type());
        }
        let decision: Decision = node.decide(observed[i].as_ref(), &Resolver::new(&state.outputs));
        let mut change = decision.change.clone();
        if plan.action == Action::Replace {
            // The old one is already gone (or goes last): still a replacement.
            change.action = Action::Replace;
        }
        // Outputs known only now must not turn a resource's change into another.
        let diverged = (!as_planned(plan, change.action)).then(|| Error::NotAsPlanned {
            resource: Address::new(&change.kind, &change.name, change.id.clone()).to_string(),
            planned: plan.action.word().to_owned(),
            now: change.action.word().to_owned(),
        });
        let obs = observed[i].clone();
        Some(Box::pin(async move {
            let result = match diverged {
                Some(err) => Err(err),
                None => node.run(aws, decision, obs).await,
            };
            (i, calls, change, result)
        }))
    }

    /// Records what node `i`'s run gave: its outputs and change, or its failure.
    fn finish(
        &self,
        i: usize,
        mut change: Change,
        result: Result<(AnyArc, Option<Observed>), Error>,
        observed: &[Option<Observed>],
        state: &mut Forward,
    ) {
        let (out, old) = match result {
            Ok(done) => done,
            Err(err) => {
                let address = self.nodes[i].address(observed[i].as_ref());
                state.report.failures.push((address, err));
                return;
            }
        };
        if matches!(change.action, Action::Create | Action::Replace) {
            if let Some(id) = self.nodes[i].output_id(&out) {
                change.id = Some(id);
            }
            events::made(&Address::new(&change.kind, &change.name, change.id.clone()).to_string());
        }
        if change.action != Action::NoOp {
            state
                .report
                .done
                .push(Address::new(&change.kind, &change.name, change.id.clone()));
        }
        state.outputs[i] = Value::Known(out);
        state.finished[i] = true;
        state.changes[i] = Some(change);
        if let Some(old) = old {
            state.doomed.push(Doomed {
                item: self.item(i),
                by: i,
                observed: old,
            });
        }
    }

    /// What is ours but no longer declared, and old resources replaced by new ones, go
    /// last; the result lists every change made.
    async fn delete_after(
        &self,
        aws: &Aws,
        read: Read,
        forward: Forward,
    ) -> Result<Resolved, Error> {
        let Forward {
            outputs,
            changes,
            mut doomed,
            mut report,
            ..
        } = forward;
        for (by, o) in read.orphans {
            doomed.push(Doomed {
                item: self.leftover_item(by),
                by,
                observed: o,
            });
        }
        let mut plan = Plan::new();
        plan.changes = changes.into_iter().flatten().collect();
        if !doomed.is_empty() {
            let deleted = self.delete_in_order(aws, doomed, false).await;
            for a in &deleted.done {
                let mut c = Change::new(Action::Delete, &a.kind, &a.name);
                c.id = a.id.clone();
                plan.push(c);
            }
            if let Some(err) = self.stopped(deleted, &mut report) {
                return Err(err);
            }
        }
        Ok(Resolved { plan, outputs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: Action, after: &str) -> Change {
        Change::new(action, "aws_subnet", "a").diff("x", Some("1"), Some(after))
    }

    #[test]
    fn an_action_is_as_planned_when_the_same_or_less_for_want_of_a_value() {
        assert!(as_planned(&change(Action::Update, "2"), Action::Update));
        assert!(!as_planned(&change(Action::Update, "2"), Action::NoOp));
        assert!(!as_planned(&change(Action::NoOp, "2"), Action::Update));
        assert!(as_planned(
            &change(Action::Update, AFTER_APPLY),
            Action::NoOp
        ));
        assert!(as_planned(
            &change(Action::Replace, AFTER_APPLY),
            Action::Update
        ));
        assert!(!as_planned(
            &change(Action::Update, AFTER_APPLY),
            Action::Replace
        ));
        assert!(!as_planned(
            &change(Action::Create, AFTER_APPLY),
            Action::Update
        ));
    }
}
