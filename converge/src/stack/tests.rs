//! The executor against an in-memory cloud: order, overlap, agreement of plan and apply,
//! leftovers, look-alikes and what a failure reports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::delta::Delta;
use crate::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use crate::plan::{Action, Diff};
use crate::resource::{Cx, Holder, Replacement, Resource, Wanted};
use crate::{Aws, Error, Stack, Tags, Value};

#[derive(Clone, Debug)]
struct Thing {
    label: &'static str,
    id: String,
    name: String,
    owner: String,
    size: u32,
    parent: Option<String>,
}

#[derive(Default)]
struct Cloud {
    things: BTreeMap<String, Thing>,
    next: u32,
    /// (operation, name), in order.
    log: Vec<(&'static str, String)>,
    slow: BTreeMap<String, Duration>,
    failing: Vec<String>,
    /// What others keep on a thing, by its name.
    holders: BTreeMap<String, Vec<Holder>>,
    /// Why a thing may not be deleted, by its name.
    protected: BTreeMap<String, String>,
    /// Slow calls under way, and the most at once.
    running: usize,
    peak: usize,
}

/// A kind whose resources live in `cloud`: `size` changes in place, `parent` only by
/// replacement.
#[derive(Clone, Default)]
struct Fake {
    cloud: Arc<Mutex<Cloud>>,
    /// Which of the fake kinds this is (they share one cloud).
    label: &'static str,
}

#[derive(Clone, Debug)]
struct Want<P: Phase = AtPlan> {
    size: u32,
    parent: P::Value<Option<String>>,
}

impl Resolve for Want {
    type Output = Want<AtApply>;
    fn resolve(&self) -> Result<Want<AtApply>, Unknown> {
        Ok(Want {
            size: self.size,
            parent: self.parent.resolve("parent")?,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Out {
    id: String,
    size: u32,
}

/// The fake kinds' fields: `size` changes in place, `parent` forces a replacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FakeField {
    Size,
    Parent,
}

impl crate::Field for FakeField {
    fn name(&self) -> &str {
        match self {
            FakeField::Size => "size",
            FakeField::Parent => "parent",
        }
    }
    fn replaces(&self) -> Option<&'static str> {
        match self {
            FakeField::Size => None,
            FakeField::Parent => Some("a thing cannot move to another parent"),
        }
    }
}

impl Fake {
    fn log(&self) -> Vec<(&'static str, String)> {
        self.cloud.lock().unwrap().log.clone()
    }
    fn mutations(&self) -> usize {
        self.log().iter().filter(|(op, _)| *op != "read").count()
    }
    fn names(&self) -> Vec<String> {
        let cloud = self.cloud.lock().unwrap();
        cloud.things.values().map(|t| t.name.clone()).collect()
    }
    fn slow(&self, name: &str, ms: u64) {
        let mut cloud = self.cloud.lock().unwrap();
        cloud.slow.insert(name.into(), Duration::from_millis(ms));
    }
    async fn pause(&self, name: &str) {
        let delay = self.cloud.lock().unwrap().slow.get(name).copied();
        if let Some(d) = delay {
            {
                let mut cloud = self.cloud.lock().unwrap();
                cloud.running += 1;
                cloud.peak = cloud.peak.max(cloud.running);
            }
            tokio::time::sleep(d).await;
            self.cloud.lock().unwrap().running -= 1;
        }
    }
    fn record(&self, op: &'static str, name: &str) -> Result<(), Error> {
        let mut cloud = self.cloud.lock().unwrap();
        cloud.log.push((op, name.to_owned()));
        if op != "read" && cloud.failing.iter().any(|f| f == name) {
            return Err(Error::Failed {
                resource: name.to_owned(),
                reason: "refused".into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for Fake {
    const KIND: &'static str = "fake_thing";
    const PRUNE: bool = true;
    type Field = FakeField;
    type Key = ();
    type Desired = Want;
    type Observed = Thing;
    type Outputs = Out;

    async fn read(&self, _aws: &Aws, _wanted: &[Wanted<'_, ()>]) -> Result<Vec<Thing>, Error> {
        self.record("read", "*")?;
        let cloud = self.cloud.lock().unwrap();
        Ok(cloud
            .things
            .values()
            .filter(|t| t.label == self.label)
            .cloned()
            .collect())
    }
    fn name<'o>(&self, o: &'o Thing) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o Thing) -> Option<&'o str> {
        Some(&o.owner)
    }
    fn id(&self, o: &Thing) -> String {
        o.id.clone()
    }
    fn describe(&self, d: &Want) -> Vec<Diff> {
        vec![Diff {
            field: "parent".into(),
            before: None,
            after: Some(match &d.parent {
                Value::Known(p) => p.clone().unwrap_or_default(),
                Value::AfterApply => crate::AFTER_APPLY.into(),
            }),
            replaces: None,
        }]
    }
    fn diff(&self, d: &Want, o: &Thing) -> Delta<FakeField> {
        let mut delta = Delta::new();
        delta.compare(FakeField::Size, &o.size, &Value::Known(d.size));
        let parent = d.parent.clone().map(|p| p.unwrap_or_default());
        delta.compare(
            FakeField::Parent,
            &o.parent.clone().unwrap_or_default(),
            &parent,
        );
        delta
    }
    fn protected(&self, o: &Thing) -> Option<String> {
        let cloud = self.cloud.lock().unwrap();
        cloud.protected.get(&o.name).cloned()
    }
    fn holders(&self, o: &Thing) -> Vec<Holder> {
        let cloud = self.cloud.lock().unwrap();
        cloud.holders.get(&o.name).cloned().unwrap_or_default()
    }
    fn outputs(&self, o: &Thing) -> Out {
        Out {
            id: o.id.clone(),
            size: o.size,
        }
    }
    fn output_id(&self, out: &Out) -> Option<String> {
        Some(out.id.clone())
    }
    async fn create(&self, cx: Cx<'_>, d: &Want<AtApply>) -> Result<Out, Error> {
        self.record("create", cx.name)?;
        self.pause(cx.name).await;
        let mut cloud = self.cloud.lock().unwrap();
        cloud.next += 1;
        let id = format!("id-{}", cloud.next);
        let thing = Thing {
            label: self.label,
            id: id.clone(),
            name: cx.name.to_owned(),
            owner: cx.tags.owner().to_owned(),
            size: d.size,
            parent: d.parent.clone(),
        };
        cloud.things.insert(id.clone(), thing);
        Ok(Out { id, size: d.size })
    }
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &Want<AtApply>,
        o: &Thing,
        delta: &Delta<FakeField>,
    ) -> Result<Out, Error> {
        for field in delta.fields() {
            match field {
                FakeField::Size => {
                    self.record("update", cx.name)?;
                    self.pause(cx.name).await;
                    let mut cloud = self.cloud.lock().unwrap();
                    cloud.things.get_mut(&o.id).unwrap().size = d.size;
                }
                // The engine replaces instead.
                FakeField::Parent => {}
            }
        }
        Ok(Out {
            id: o.id.clone(),
            size: d.size,
        })
    }
    async fn delete(&self, cx: Cx<'_>, o: &Thing) -> Result<(), Error> {
        self.record("delete", cx.name)?;
        self.pause(cx.name).await;
        // As a real kind retries DependencyViolation for a bounded time.
        for _ in 0..50 {
            {
                let mut cloud = self.cloud.lock().unwrap();
                let used = cloud
                    .things
                    .values()
                    .any(|t| t.parent.as_deref() == Some(&o.id));
                if !used {
                    cloud.things.remove(&o.id);
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(Error::Failed {
            resource: cx.name.to_owned(),
            reason: "DependencyViolation".into(),
        })
    }
}

/// A kind that makes its new resource before deleting the old one.
#[derive(Clone, Default)]
struct FakeFirst(Fake);

#[async_trait]
impl Resource for FakeFirst {
    const KIND: &'static str = "fake_first";
    const REPLACEMENT: Replacement = Replacement::CreateFirst;
    type Field = FakeField;
    type Key = ();
    type Desired = Want;
    type Observed = Thing;
    type Outputs = Out;
    async fn read(&self, aws: &Aws, w: &[Wanted<'_, ()>]) -> Result<Vec<Thing>, Error> {
        self.0.read(aws, w).await
    }
    fn name<'o>(&self, o: &'o Thing) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o Thing) -> Option<&'o str> {
        Some(&o.owner)
    }
    fn id(&self, o: &Thing) -> String {
        o.id.clone()
    }
    fn describe(&self, d: &Want) -> Vec<Diff> {
        self.0.describe(d)
    }
    fn diff(&self, d: &Want, o: &Thing) -> Delta<FakeField> {
        self.0.diff(d, o)
    }
    fn outputs(&self, o: &Thing) -> Out {
        self.0.outputs(o)
    }
    async fn create(&self, cx: Cx<'_>, d: &Want<AtApply>) -> Result<Out, Error> {
        self.0.create(cx, d).await
    }
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &Want<AtApply>,
        o: &Thing,
        x: &Delta<FakeField>,
    ) -> Result<Out, Error> {
        self.0.update(cx, d, o, x).await
    }
    async fn delete(&self, cx: Cx<'_>, o: &Thing) -> Result<(), Error> {
        self.0.delete(cx, o).await
    }
}

fn tags() -> Tags {
    Tags::new("test", "env")
}

/// `root` (size `root_size`), `a` and `b` in it, `c` in `a`.
fn declare(fake: &Fake, root_size: u32) -> Stack {
    let mut stack = Stack::new();
    let root = stack.add(fake.clone(), "root", tags(), (), move |_| Want {
        size: root_size,
        parent: Value::Known(None),
    });
    let in_root = move |r: &crate::Resolver<'_>| Want {
        size: 1,
        parent: r.get(&root).map(|o| Some(o.id.clone())),
    };
    let a = stack.add(fake.clone(), "a", tags(), (), in_root);
    stack.add(fake.clone(), "b", tags(), (), in_root);
    stack.add(fake.clone(), "c", tags(), (), move |r| Want {
        size: 1,
        parent: r.get(&a).map(|o| Some(o.id.clone())),
    });
    stack
}

fn aws() -> Aws {
    Aws::builder().build()
}

#[tokio::test]
async fn a_plan_from_nothing_shows_unknown_inputs_and_apply_does_it_then_nothing() {
    let fake = Fake::default();
    let stack = declare(&fake, 1);
    assert_eq!(stack.dependencies("fake_thing", "c"), [("fake_thing", "a")]);
    let plan = stack.plan(&aws()).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (4, 0, 0));
    let c = plan.find("fake_thing", "c").unwrap();
    assert_eq!(c.diffs[0].after.as_deref(), Some(crate::AFTER_APPLY));

    let applied = stack.apply(&aws()).await.unwrap();
    assert_eq!(applied.plan().summary(), (4, 0, 0));
    assert_eq!(fake.mutations(), 4);

    let again = stack.plan(&aws()).await.unwrap();
    assert!(again.plan().is_empty(), "{}", again.plan());
    stack.apply(&aws()).await.unwrap();
    assert_eq!(fake.mutations(), 4, "a second apply changes nothing");
}

#[tokio::test]
async fn plan_and_apply_agree_on_an_update_and_on_a_replacement() {
    let fake = Fake::default();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    let before = fake.mutations();

    let changed = declare(&fake, 2);
    let plan = changed.plan(&aws()).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (0, 1, 0));
    changed.apply(&aws()).await.unwrap();
    assert_eq!(fake.mutations(), before + 1);
    assert!(changed.plan(&aws()).await.unwrap().plan().is_empty());

    // Out of band, `c` moves to `b`: its fixed parent differs, so it is replaced.
    {
        let mut cloud = fake.cloud.lock().unwrap();
        let b = cloud
            .things
            .values()
            .find(|t| t.name == "b")
            .unwrap()
            .id
            .clone();
        let c = cloud.things.values_mut().find(|t| t.name == "c").unwrap();
        c.parent = Some(b);
    }
    let plan = changed.plan(&aws()).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (1, 0, 1), "{plan}");
    changed.apply(&aws()).await.unwrap();
    assert!(changed.plan(&aws()).await.unwrap().plan().is_empty());
    assert_eq!(fake.names().len(), 4);
}

#[tokio::test]
async fn an_input_unknown_at_apply_fails_its_resource_before_any_write() {
    let fake = Fake::default();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    let before = fake.mutations();

    // `d` gives its parent as unknown even at apply, as a declaration that reads an input
    // only under a condition would: its create fails before any call, naming the input.
    let mut stack = declare(&fake, 1);
    stack.add(fake.clone(), "d", tags(), (), |_| Want {
        size: 1,
        parent: Value::AfterApply,
    });
    let err = stack.apply(&aws()).await.unwrap_err();
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(
        cause.as_deref(),
        Some(
            "fake_thing \"d\" failed: its input `parent` is still unknown at apply \
             (read every input unconditionally in its declaration)"
        ),
        "{err}"
    );
    assert!(!fake.names().contains(&"d".to_owned()));
    assert_eq!(fake.mutations(), before, "nothing was written");
}

#[tokio::test]
async fn a_saved_plan_is_carried_out_as_planned_or_refused_before_any_write() {
    let fake = Fake::default();
    let stack = declare(&fake, 1);
    let saved = stack.plan(&aws()).await.unwrap().into_plan();
    let applied = stack.apply_plan(&aws(), &saved).await.unwrap();
    assert_eq!(applied.plan().summary(), saved.summary());
    assert_eq!(fake.mutations(), 4);

    // A plan made before the world moved: the same inputs, but `root` was resized since.
    let changed = declare(&fake, 2);
    let before_resize = changed.plan(&aws()).await.unwrap().into_plan();
    assert_eq!(before_resize.summary(), (0, 1, 0));
    changed.apply(&aws()).await.unwrap();
    let mutations = fake.mutations();
    let Err(Error::StalePlan { differences }) = changed.apply_plan(&aws(), &before_resize).await
    else {
        panic!("a stale plan was applied");
    };
    assert_eq!(
        differences,
        ["fake_thing \"root\": planned ~ 1 attribute(s), now no change"]
    );
    assert_eq!(fake.mutations(), mutations, "nothing written");
}

#[tokio::test]
async fn at_most_the_per_kind_limit_of_one_kind_runs_at_once() {
    let fake = Fake::default();
    let mut stack = Stack::new();
    for i in 0..6 {
        let name = format!("t{i}");
        fake.slow(&name, 50);
        stack.add(fake.clone(), &name, tags(), (), |_| Want {
            size: 1,
            parent: Value::Known(None),
        });
    }
    let limited = |per_kind| {
        Aws::builder()
            .throttling(crate::Throttling {
                per_kind,
                ..crate::Throttling::default()
            })
            .build()
    };
    stack.apply(&limited(Some(2))).await.unwrap();
    assert_eq!(fake.cloud.lock().unwrap().peak, 2, "creates");
    fake.cloud.lock().unwrap().peak = 0;
    stack.destroy(&limited(Some(2))).await.unwrap();
    assert_eq!(fake.cloud.lock().unwrap().peak, 2, "deletes");
    assert!(fake.names().is_empty());

    fake.cloud.lock().unwrap().peak = 0;
    stack.apply(&limited(None)).await.unwrap();
    assert_eq!(fake.cloud.lock().unwrap().peak, 6, "without a limit");
}

#[tokio::test]
async fn independent_resources_overlap_and_dependents_start_as_soon_as_they_can() {
    let fake = Fake::default();
    fake.slow("a", 150);
    fake.slow("b", 300);
    fake.slow("c", 150);
    let start = Instant::now();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    let took = start.elapsed();
    // root, then a and b at once; c starts when a is done, not when b is: 300 ms, not 450.
    assert!(took < Duration::from_millis(420), "{took:?}");
}

#[tokio::test]
async fn destroy_goes_in_reverse_and_needs_no_outputs() {
    let fake = Fake::default();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    let plan = declare(&fake, 1).plan_destroy(&aws()).await.unwrap();
    assert_eq!(plan.summary(), (0, 0, 4));
    let deleted = declare(&fake, 1).destroy(&aws()).await.unwrap();
    assert_eq!(deleted.summary(), (0, 0, 4));
    assert!(fake.names().is_empty());
    let log = fake.log();
    let at = |name: &str| {
        log.iter()
            .position(|(o, n)| *o == "delete" && n == name)
            .unwrap()
    };
    assert!(at("c") < at("a") && at("a") < at("root") && at("b") < at("root"));
    // Nothing left: destroy again is a no-op.
    assert!(declare(&fake, 1).destroy(&aws()).await.unwrap().is_empty());
}

#[tokio::test]
async fn what_another_stack_keeps_on_a_resource_stops_its_deletion_before_any_delete() {
    let fake = Fake::default();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    let hold = |owner: Option<&str>| {
        let mut cloud = fake.cloud.lock().unwrap();
        cloud.holders.insert(
            "a".into(),
            vec![Holder {
                owner: owner.map(str::to_owned),
                what: "rule \"other\"".into(),
            }],
        );
    };
    // Another stack's, or nobody's: destroy, its plan, and a prune all refuse, naming it.
    for owner in [Some("someone-else"), None] {
        hold(owner);
        let before = fake.mutations();
        let err = declare(&fake, 1).destroy(&aws()).await.unwrap_err();
        assert!(matches!(err, Error::Protected { .. }), "{err}");
        assert!(err.to_string().contains("rule \"other\""), "{err}");
        assert!(declare(&fake, 1).plan_destroy(&aws()).await.is_err());
        let mut without_a = Stack::new();
        without_a.add(fake.clone(), "root", tags(), (), |_| Want {
            size: 1,
            parent: Value::Known(None),
        });
        assert!(without_a.plan(&aws()).await.is_err());
        assert!(without_a.apply(&aws()).await.is_err());
        assert_eq!(fake.mutations(), before, "nothing deleted");
        assert_eq!(fake.names().len(), 4);
    }
    // The stack's own goes first, so it does not hold anything back.
    hold(Some(tags().owner()));
    declare(&fake, 1).destroy(&aws()).await.unwrap();
    assert!(fake.names().is_empty());
}

#[tokio::test]
async fn a_protected_leftover_is_refused_before_anything_changes() {
    let fake = Fake::default();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    fake.cloud
        .lock()
        .unwrap()
        .protected
        .insert("c".into(), "turn it off".into());
    // `root` grows and `c` is no longer declared: neither happens.
    let mut without_c = Stack::new();
    let root = without_c.add(fake.clone(), "root", tags(), (), |_| Want {
        size: 2,
        parent: Value::Known(None),
    });
    for name in ["a", "b"] {
        without_c.add(fake.clone(), name, tags(), (), move |r| Want {
            size: 1,
            parent: r.get(&root).map(|o| Some(o.id.clone())),
        });
    }
    let before = fake.mutations();
    for err in [
        without_c.plan(&aws()).await.unwrap_err(),
        without_c.apply(&aws()).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::Protected { .. }), "{err}");
        assert!(err.to_string().contains("no longer declare"), "{err}");
    }
    assert_eq!(fake.mutations(), before);
}

#[tokio::test]
async fn what_is_ours_but_no_longer_declared_goes() {
    let fake = Fake::default();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    let mut smaller = Stack::new();
    smaller.add(fake.clone(), "root", tags(), (), |_| Want {
        size: 1,
        parent: Value::Known(None),
    });
    let plan = smaller.plan(&aws()).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (0, 0, 3), "{plan}");
    smaller.apply(&aws()).await.unwrap();
    assert_eq!(fake.names(), ["root"]);
}

#[tokio::test]
async fn a_look_alike_is_refused_by_plan_and_apply_and_left_alone_by_destroy() {
    let fake = Fake::default();
    fake.cloud.lock().unwrap().things.insert(
        "x-1".into(),
        Thing {
            label: "",
            id: "x-1".into(),
            name: "root".into(),
            owner: "someone/else".into(),
            size: 1,
            parent: None,
        },
    );
    let stack = declare(&fake, 1);
    let err = stack.plan(&aws()).await.unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err}");
    assert!(err.to_string().contains("x-1"), "{err}");
    assert!(stack.apply(&aws()).await.is_err());
    stack.destroy(&aws()).await.unwrap();
    assert_eq!(fake.names(), ["root"]);
    assert_eq!(fake.mutations(), 0);
}

#[tokio::test]
async fn a_failure_lets_running_branches_finish_and_lists_what_was_done_and_what_remains() {
    let fake = Fake::default();
    fake.cloud.lock().unwrap().failing.push("b".into());
    fake.slow("a", 100);
    let err = declare(&fake, 1).apply(&aws()).await.unwrap_err();
    let Error::Stopped {
        failed,
        done,
        remaining,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(failed.name, "b");
    let names = |list: &[crate::Address]| list.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    // `a` was running when `b` failed: it finished; `c` never started.
    assert_eq!(names(done), ["root", "a"]);
    assert_eq!(names(remaining), ["b", "c"]);
    assert!(
        !err.to_string().contains("refused"),
        "Display leaves the source out: {err}"
    );
    // Applying again (with `b` fixed) finishes the job with one of each.
    fake.cloud.lock().unwrap().failing.clear();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    assert_eq!(fake.names().len(), 4);
}

#[tokio::test]
async fn create_first_replacement_deletes_the_old_one_after_its_users_moved() {
    let fake = Fake::default();
    let first = FakeFirst(Fake {
        cloud: fake.cloud.clone(),
        label: "first",
    });
    let build = |parent_of_leaf: &'static str| {
        let mut stack = Stack::new();
        let p1 = stack.add(fake.clone(), "p1", tags(), (), |_| Want {
            size: 1,
            parent: Value::Known(None),
        });
        let p2 = stack.add(fake.clone(), "p2", tags(), (), |_| Want {
            size: 1,
            parent: Value::Known(None),
        });
        let mid = stack.add(first.clone(), "mid", tags(), (), move |r| Want {
            size: 1,
            parent: if parent_of_leaf == "p1" {
                r.get(&p1).map(|o| Some(o.id.clone()))
            } else {
                r.get(&p2).map(|o| Some(o.id.clone()))
            },
        });
        stack.add(fake.clone(), "leaf", tags(), (), move |r| Want {
            size: 1,
            parent: r.get(&mid).map(|o| Some(o.id.clone())),
        });
        stack
    };
    build("p1").apply(&aws()).await.unwrap();
    let moved = build("p2");
    let plan = moved.plan(&aws()).await.unwrap().into_plan();
    assert_eq!(
        plan.find("fake_first", "mid").unwrap().action,
        Action::Replace
    );
    assert_eq!(
        plan.find("fake_thing", "leaf").unwrap().action,
        Action::Replace
    );
    moved.apply(&aws()).await.unwrap();
    assert!(moved.plan(&aws()).await.unwrap().plan().is_empty());
    assert_eq!(fake.names().len(), 4);
}

#[tokio::test]
async fn a_tracked_kind_with_nothing_declared_still_loses_its_leftovers() {
    let fake = Fake::default();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    // Nothing of the kind declared: without a tracker the kind is not even read.
    assert!(Stack::new().plan(&aws()).await.unwrap().plan().is_empty());
    let mut tracked = Stack::new();
    tracked.track(fake.clone(), "", tags(), (), |_| {});
    let plan = tracked.plan(&aws()).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (0, 0, 4), "{plan}");
    assert_eq!(plan.changes.len(), 4, "a tracker plans nothing for itself");
    tracked.apply(&aws()).await.unwrap();
    assert!(fake.names().is_empty());
    assert!(tracked.plan(&aws()).await.unwrap().plan().is_empty());
}

#[tokio::test]
async fn ignored_fields_are_said_and_left_as_aws_has_them() {
    let fake = Fake::default();
    declare(&fake, 1).apply(&aws()).await.unwrap();
    let before = fake.mutations();
    // `root` is asked to grow, but its size is someone else's to move.
    let mut stack = declare(&fake, 2);
    let root = stack.resources().position(|(_, n)| n == "root").unwrap();
    stack.options(
        crate::Handle::<Fake>::at(root),
        crate::Options::new().ignore_changes([FakeField::Size]),
    );
    let plan = stack.plan(&aws()).await.unwrap().into_plan();
    assert!(plan.is_empty(), "{plan}");
    let root = plan.find("fake_thing", "root").unwrap();
    assert_eq!(root.kept, ["size as AWS has it (ignore_changes)"]);
    assert!(
        plan.to_string().contains("# keeps size as AWS has it"),
        "{plan}"
    );
    stack.apply(&aws()).await.unwrap();
    assert_eq!(fake.mutations(), before, "nothing written");
}

#[tokio::test]
async fn a_protected_declaration_is_neither_destroyed_nor_replaced() {
    let fake = Fake::default();
    let protected = |root_size| {
        let mut stack = declare(&fake, root_size);
        let a = stack.resources().position(|(_, n)| n == "a").unwrap();
        stack.options(
            crate::Handle::<Fake>::at(a),
            crate::Options::new().protect(),
        );
        stack
    };
    protected(1).apply(&aws()).await.unwrap();
    let before = fake.mutations();
    let err = protected(1).destroy(&aws()).await.unwrap_err();
    assert!(
        err.to_string().contains("Options::protect"),
        "names the option: {err}"
    );
    assert_eq!(fake.mutations(), before, "nothing deleted");

    // Out of band, `a` moves under `b`: putting it back would replace it.
    {
        let mut cloud = fake.cloud.lock().unwrap();
        let b = cloud
            .things
            .values()
            .find(|t| t.name == "b")
            .unwrap()
            .id
            .clone();
        cloud
            .things
            .values_mut()
            .find(|t| t.name == "a")
            .unwrap()
            .parent = Some(b);
    }
    for err in [
        protected(1).plan(&aws()).await.unwrap_err(),
        protected(1).apply(&aws()).await.unwrap_err(),
    ] {
        assert!(err.to_string().contains("replaces it"), "{err}");
    }
    assert_eq!(fake.mutations(), before, "nothing changed");
}

#[tokio::test]
async fn depends_on_orders_what_no_value_links() {
    let fake = Fake::default();
    let mut stack = Stack::new();
    let first = stack.add(fake.clone(), "first", tags(), (), |_| Want {
        size: 1,
        parent: Value::Known(None),
    });
    let second = stack.add(fake.clone(), "second", tags(), (), |_| Want {
        size: 1,
        parent: Value::Known(None),
    });
    stack.options(second, crate::Options::new().depends_on(first.done()));
    assert_eq!(
        stack.dependencies("fake_thing", "second"),
        [("fake_thing", "first")]
    );
    fake.slow("first", 50);
    stack.apply(&aws()).await.unwrap();
    let order: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|(op, _)| *op == "create")
        .map(|(_, n)| n)
        .collect();
    assert_eq!(order, ["first", "second"]);
    stack.destroy(&aws()).await.unwrap();
    let deletes: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|(op, _)| *op == "delete")
        .map(|(_, n)| n)
        .collect();
    assert_eq!(deletes, ["second", "first"]);
}

#[tokio::test]
async fn a_declaration_s_time_limit_stops_its_call() {
    let fake = Fake::default();
    let mut stack = Stack::new();
    let slow = stack.add(fake.clone(), "slow", tags(), (), |_| Want {
        size: 1,
        parent: Value::Known(None),
    });
    stack.options(
        slow,
        crate::Options::new().timeout(Duration::from_millis(20)),
    );
    fake.slow("slow", 500);
    let err = stack.apply(&aws()).await.unwrap_err();
    let Error::Stopped { source, .. } = &err else {
        panic!("{err:?}");
    };
    let Error::WaitTimedOut { what, waited } = source.as_ref() else {
        panic!("{source:?}");
    };
    assert_eq!(what, "create of fake_thing \"slow\"");
    assert_eq!(*waited, Duration::from_millis(20));
}

#[tokio::test]
async fn apply_refuses_a_change_the_plan_did_not_show() {
    // `child` takes its size from `root`'s outputs. The fake kind promises, as the default
    // `planned_outputs` does, that an update keeps its outputs; but its update returns the
    // new size, so `child` would change unplanned: apply refuses it.
    let fake = Fake::default();
    let build = |root_size: u32| {
        let mut stack = Stack::new();
        let root = stack.add(fake.clone(), "root", tags(), (), move |_| Want {
            size: root_size,
            parent: Value::Known(None),
        });
        stack.add(fake.clone(), "child", tags(), (), move |r| Want {
            size: r.get(&root).known().map_or(0, |o| o.size),
            parent: Value::Known(None),
        });
        stack
    };
    build(1).apply(&aws()).await.unwrap();
    let stack = build(2);
    let plan = stack.plan(&aws()).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    let err = stack.apply(&aws()).await.unwrap_err();
    let Error::Stopped { source, done, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        matches!(source.as_ref(), Error::NotAsPlanned { planned, now, .. } if planned == "no_op" && now == "update"),
        "{source:?}"
    );
    assert_eq!(done.len(), 1, "only root changed: {err}");
    let updates = fake.log().iter().filter(|(op, _)| *op == "update").count();
    assert_eq!(updates, 1);
}

#[tokio::test]
async fn joined_refs_are_known_when_both_are_and_depend_on_both() {
    let fake = Fake::default();
    let mut stack = Stack::new();
    let one = stack.add(fake.clone(), "one", tags(), (), |_| Want {
        size: 1,
        parent: Value::Known(None),
    });
    let two = stack.add(fake.clone(), "two", tags(), (), |_| Want {
        size: 2,
        parent: Value::Known(None),
    });
    let both = one.output(|o| o.size).join(two.output(|o| o.size));
    let sum = both.clone().map(|(a, b)| a + b);
    stack.add(fake.clone(), "sum", tags(), (), move |r| Want {
        size: r.value(&sum).known().copied().unwrap_or(0),
        parent: Value::Known(None),
    });
    let mut deps = stack.dependencies("fake_thing", "sum");
    deps.sort_unstable();
    assert_eq!(deps, [("fake_thing", "one"), ("fake_thing", "two")]);
    let planned = stack.plan(&aws()).await.unwrap();
    assert!(
        planned.value(&both).known().is_none(),
        "unknown before apply"
    );
    let applied = stack.apply(&aws()).await.unwrap();
    assert_eq!(applied.value(&both).known(), Some(&(1, 2)));
}

mod outcomes;
