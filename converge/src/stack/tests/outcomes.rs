//! The engine's one retry loop and one wait loop, around a kind that fails on cue and takes
//! its time to be ready and to be gone.

use super::*;
use crate::phase::AtApply;
use crate::resource::Progress;
use crate::{Retry, Transient, Wait};

/// What the flaky kind is told to do, and what it saw.
#[derive(Default)]
struct Script {
    /// Error codes its next creates answer, in order, before one succeeds.
    create_errors: Vec<&'static str>,
    /// Error codes its next deletes answer, in order.
    delete_errors: Vec<&'static str>,
    /// How many `ready` polls say pending before one says done.
    not_ready: u32,
    /// How many `gone` polls say pending before one says done.
    not_gone: u32,
    creates: u32,
    deletes: u32,
    ready_polls: u32,
    gone_polls: u32,
}

/// [`Fake`] with transient errors, a readiness and a going to wait for.
#[derive(Clone)]
struct Flaky {
    fake: Fake,
    script: Arc<Mutex<Script>>,
    /// The declaration's wait, as a module's `wait` input gives it.
    wait: Wait,
}

impl Flaky {
    fn new(wait: Wait) -> Self {
        Self {
            fake: Fake::default(),
            script: Arc::default(),
            wait,
        }
    }
    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }
}

fn aws_error(operation: &'static str, name: &str, code: &str) -> Error {
    Error::Aws {
        operation,
        resource: format!("fake_flaky \"{name}\""),
        code: Some(code.to_owned()),
        message: None,
        source: "refused".into(),
    }
}

/// Takes the next scripted error, if any.
fn next(errors: &mut Vec<&'static str>) -> Option<&'static str> {
    (!errors.is_empty()).then(|| errors.remove(0))
}

#[async_trait]
impl Resource for Flaky {
    const KIND: &'static str = "fake_flaky";
    // An hour: a test that relies on it would hang, so the declaration's wait must win.
    const WAIT: Wait = Wait::new(
        Duration::from_secs(3600),
        Duration::from_millis(1),
        Duration::from_millis(2),
    );
    const TRANSIENT: Transient = Transient::codes(&["NotYetVisible"]);
    const IN_USE: Transient = Transient::DEPENDENCY;
    type Field = FakeField;
    type Key = ();
    type Desired = Want;
    type Observed = Thing;
    type Outputs = Out;

    async fn read(&self, aws: &Aws, w: &[Wanted<'_, ()>]) -> Result<Vec<Thing>, Error> {
        self.fake.read(aws, w).await
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
        self.fake.describe(d)
    }
    fn diff(&self, d: &Want, o: &Thing) -> Delta<FakeField> {
        self.fake.diff(d, o)
    }
    fn outputs(&self, o: &Thing) -> Out {
        self.fake.outputs(o)
    }
    fn wait(&self, _desired: Option<&Want>) -> Wait {
        self.wait
    }
    async fn create(&self, cx: Cx<'_>, d: &Want<AtApply>) -> Result<Out, Error> {
        let failed = {
            let mut script = self.script();
            script.creates += 1;
            next(&mut script.create_errors)
        };
        match failed {
            Some(code) => Err(aws_error("CreateThing", cx.name, code)),
            None => self.fake.create(cx, d).await,
        }
    }
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &Want<AtApply>,
        o: &Thing,
        x: &Delta<FakeField>,
    ) -> Result<Out, Error> {
        self.fake.update(cx, d, o, x).await
    }
    async fn delete(&self, cx: Cx<'_>, o: &Thing) -> Result<(), Error> {
        let failed = {
            let mut script = self.script();
            script.deletes += 1;
            next(&mut script.delete_errors)
        };
        match failed {
            Some(code) => Err(aws_error("DeleteThing", cx.name, code)),
            None => self.fake.delete(cx, o).await,
        }
    }
    async fn ready(
        &self,
        cx: Cx<'_>,
        _d: &Want<AtApply>,
        out: &Out,
        _action: Action,
    ) -> Result<Progress<Out>, Error> {
        let mut script = self.script();
        script.ready_polls += 1;
        if script.not_ready == 0 {
            return Ok(Progress::Done(out.clone()));
        }
        script.not_ready -= 1;
        Ok(Progress::pending(format!(
            "fake thing {} ({}) to be ready",
            cx.name, out.id
        )))
    }
    async fn gone(&self, cx: Cx<'_>, o: &Thing) -> Result<Progress<()>, Error> {
        let mut script = self.script();
        script.gone_polls += 1;
        if script.not_gone == 0 {
            return Ok(Progress::Done(()));
        }
        script.not_gone -= 1;
        Ok(Progress::Pending {
            what: format!("fake thing {} ({}) to be gone", cx.name, o.id),
            after: Some(Duration::from_millis(1)),
            lately: None,
        })
    }
}

fn fast_wait() -> Wait {
    Wait::new(
        Duration::from_secs(5),
        Duration::from_millis(1),
        Duration::from_millis(2),
    )
}

fn fast_aws() -> Aws {
    Aws::builder().retry(Retry::fast()).build()
}

fn one(kind: &Flaky) -> (Stack, crate::Handle<Flaky>) {
    let mut stack = Stack::new();
    let handle = stack.add(kind.clone(), "one", tags(), (), |_| Want {
        size: 1,
        parent: Value::Known(None),
    });
    (stack, handle)
}

/// The failure under a stopped run.
fn cause(err: Error) -> Error {
    match err {
        Error::Stopped { source, .. } => *source,
        other => other,
    }
}

#[tokio::test]
async fn a_transient_create_error_is_retried_and_makes_one_resource() {
    let kind = Flaky::new(fast_wait());
    kind.script().create_errors = vec!["NotYetVisible", "NotYetVisible"];
    let (stack, _) = one(&kind);
    stack.apply(&fast_aws()).await.unwrap();
    assert_eq!(kind.script().creates, 3);
    assert_eq!(kind.fake.names(), ["one"]);
}

#[tokio::test]
async fn another_error_is_not_retried() {
    let kind = Flaky::new(fast_wait());
    kind.script().create_errors = vec!["AccessDenied", "NotYetVisible"];
    let (stack, _) = one(&kind);
    let err = cause(stack.apply(&fast_aws()).await.unwrap_err());
    assert_eq!(err.code(), Some("AccessDenied"), "{err}");
    assert_eq!(kind.script().creates, 1);
    assert!(kind.fake.names().is_empty());
}

#[tokio::test]
async fn a_delete_is_retried_while_in_use_then_its_going_is_polled() {
    let kind = Flaky::new(fast_wait());
    let (stack, _) = one(&kind);
    stack.apply(&fast_aws()).await.unwrap();
    {
        let mut script = kind.script();
        script.delete_errors = vec!["DependencyViolation"];
        script.not_gone = 2;
    }
    stack.destroy(&fast_aws()).await.unwrap();
    let script = kind.script();
    assert_eq!((script.deletes, script.gone_polls), (2, 3));
    assert!(kind.fake.names().is_empty());
}

#[tokio::test]
async fn a_pending_resource_is_polled_until_it_is_ready() {
    let kind = Flaky::new(fast_wait());
    kind.script().not_ready = 3;
    let (stack, _) = one(&kind);
    let applied = stack.apply(&fast_aws()).await.unwrap();
    assert_eq!(applied.plan().summary(), (1, 0, 0));
    assert_eq!(kind.script().ready_polls, 4);
}

#[tokio::test]
async fn a_wait_that_times_out_names_the_resource() {
    let kind = Flaky::new(Wait::new(
        Duration::from_millis(30),
        Duration::from_millis(1),
        Duration::from_millis(2),
    ));
    kind.script().not_ready = u32::MAX;
    let (stack, _) = one(&kind);
    let err = cause(stack.apply(&fast_aws()).await.unwrap_err());
    let Error::WaitTimedOut { what, waited } = &err else {
        panic!("{err:?}");
    };
    assert!(
        what.starts_with("fake thing one (id-") && what.ends_with(") to be ready"),
        "{what}"
    );
    assert!(*waited >= Duration::from_millis(30), "{waited:?}");
    assert!(kind.script().ready_polls > 1);
}

#[tokio::test]
async fn a_declaration_s_time_limit_overrides_the_kind_s_wait() {
    // The kind's wait would last an hour; the declaration allows 50 ms in all.
    let kind = Flaky::new(Flaky::WAIT);
    kind.script().not_ready = u32::MAX;
    let (mut stack, handle) = one(&kind);
    stack.options(
        handle,
        crate::Options::new().timeout(Duration::from_millis(50)),
    );
    let start = Instant::now();
    let err = cause(stack.apply(&fast_aws()).await.unwrap_err());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let Error::WaitTimedOut { what, .. } = &err else {
        panic!("{err:?}");
    };
    // The wait's own report, not the call's: the limit reached the wait loop.
    assert!(what.ends_with(") to be ready"), "{what}");
}
