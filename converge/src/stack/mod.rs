//! A stack: resources of any kinds declared into one dependency graph, planned, applied and
//! destroyed by one executor.
//!
//! A resource's inputs are read from other resources' outputs through typed [`Handle`]s and
//! [`Ref`]s; a value is [`Value::Known`] or [`Value::AfterApply`]. Declaring a resource calls
//! its input closure once with every output unknown, which records what it reads: those are
//! its dependencies. So the graph cannot disagree with the inputs, and apply starts each
//! resource as soon as the ones it reads exist, across module boundaries.

mod apply;
mod node;
mod options;
mod run;
mod schedule;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::resource::Resource;
use crate::value::Value;
use crate::Tags;

pub use options::Options;
pub use run::Resolved;

use node::{Node, ResourceNode};

type AnyArc = Arc<dyn Any + Send + Sync>;

/// A declared resource of kind `R`, whose outputs other resources can read.
pub struct Handle<R> {
    index: usize,
    _kind: PhantomData<fn() -> R>,
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Handle<R> {}

impl<R> fmt::Debug for Handle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({})", self.index)
    }
}

impl<R: Resource> Handle<R> {
    /// The handle of the `index`th declaration, for tests that find one by name.
    #[cfg(test)]
    pub(crate) fn at(index: usize) -> Self {
        Self {
            index,
            _kind: PhantomData,
        }
    }

    /// A value computed from this resource's outputs.
    pub fn output<T: 'static>(
        self,
        f: impl Fn(&R::Outputs) -> T + Send + Sync + 'static,
    ) -> Ref<T> {
        Ref::new(move |r| r.get(&self).map(&f))
    }

    /// Nothing read, but whatever takes this waits for the resource (an order AWS needs
    /// without a value passing between them).
    pub fn done(self) -> Ref<()> {
        Ref::new(move |r| r.get(&self).map(|_| ()))
    }
}

/// A value that other declarations can read: known now, or after some resources are
/// applied. Cheap to clone.
pub struct Ref<T> {
    f: Arc<ReadFn<T>>,
}

type ReadFn<T> = dyn Fn(&Resolver<'_>) -> Value<T> + Send + Sync;

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        Self { f: self.f.clone() }
    }
}

impl<T> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ref(..)")
    }
}

impl<T: 'static> Ref<T> {
    /// A value computed by `f` from other values.
    pub fn new(f: impl Fn(&Resolver<'_>) -> Value<T> + Send + Sync + 'static) -> Self {
        Self { f: Arc::new(f) }
    }

    /// A value known now.
    pub fn known(value: T) -> Self
    where
        T: Clone + Send + Sync,
    {
        Self::new(move |_| Value::Known(value.clone()))
    }

    /// This value changed by `f`.
    pub fn map<U: 'static>(self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Ref<U>
    where
        T: Send + Sync,
    {
        Ref::new(move |r| r.value(&self).map(&f))
    }

    /// Every value of a list, known when all are.
    pub fn all(refs: impl IntoIterator<Item = Ref<T>>) -> Ref<Vec<T>>
    where
        T: Send + Sync,
    {
        let refs: Vec<Ref<T>> = refs.into_iter().collect();
        Ref::new(move |r| refs.iter().map(|x| r.value(x)).collect())
    }

    /// This value and `other`'s together, known when both are: an input made of two
    /// resources' outputs (a listener's load balancer and its certificate).
    pub fn join<U>(self, other: Ref<U>) -> Ref<(T, U)>
    where
        T: Send + Sync,
        U: Send + Sync + 'static,
    {
        Ref::new(move |r| r.value(&self).zip(r.value(&other)))
    }

    /// This value, once `other` is known too (an ordering without a value).
    pub fn after<U>(self, other: Ref<U>) -> Ref<T>
    where
        T: Send + Sync,
        U: Send + Sync + 'static,
    {
        Ref::new(move |r| {
            let done = r.value(&other);
            r.value(&self).zip(done).map(|(v, _)| v)
        })
    }
}

/// What a declaration's input closure reads outputs through.
pub struct Resolver<'a> {
    outputs: &'a [Value<AnyArc>],
    reads: RefCell<Vec<usize>>,
}

impl<'a> Resolver<'a> {
    fn new(outputs: &'a [Value<AnyArc>]) -> Self {
        Self {
            outputs,
            reads: RefCell::new(Vec::new()),
        }
    }

    /// The outputs of a declared resource.
    pub fn get<R: Resource>(&self, handle: &Handle<R>) -> Value<&'a R::Outputs> {
        self.reads.borrow_mut().push(handle.index);
        match self.outputs.get(handle.index) {
            Some(Value::Known(any)) => Value::Known(
                any.downcast_ref::<R::Outputs>()
                    .expect("a handle's outputs are of its kind"),
            ),
            _ => Value::AfterApply,
        }
    }

    /// A value.
    pub fn value<T>(&self, r: &Ref<T>) -> Value<T> {
        (r.f)(self)
    }
}

/// Resources of any kinds, with their dependencies.
#[derive(Default)]
pub struct Stack {
    nodes: Vec<Box<dyn Node>>,
    /// What the declarations call outside any kind ([`Stack::require`]).
    required: Vec<crate::permissions::Grant>,
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for n in &self.nodes {
            list.entry(&format_args!("{} \"{}\"", n.kind(), n.name()));
        }
        list.finish()
    }
}

impl Stack {
    /// An empty stack.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many resources are declared.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Declares a resource of kind `kind` called `name`, tagged `tags`, found at `key`, whose
    /// inputs `desired` computes from other resources' outputs. `desired` must read every
    /// handle it uses on every call (it is called once now, with everything unknown, to learn
    /// its dependencies).
    pub fn add<R: Resource>(
        &mut self,
        kind: R,
        name: impl Into<String>,
        tags: Tags,
        key: R::Key,
        desired: impl Fn(&Resolver<'_>) -> R::Desired + Send + Sync + 'static,
    ) -> Handle<R> {
        let deps = self.reads_of(|r| {
            let _ = desired(r);
        });
        self.push(ResourceNode {
            kind: Arc::new(kind),
            name: name.into(),
            tags,
            key,
            desired: Some(Arc::new(desired)),
            deps,
            options: Options::new(),
        })
    }

    /// Declares that resources of kind `kind` tagged `tags` may exist although none is
    /// declared now (a NAT gateway after `NatGateways::None`): the kind is still read, so what
    /// is left of it is deleted by apply and destroy (kinds with `PRUNE`), after the
    /// resources `uses` reads would be. `name` is what the kind's read looks for; nothing is
    /// planned or made for it.
    pub fn track<R: Resource>(
        &mut self,
        kind: R,
        name: impl Into<String>,
        tags: Tags,
        key: R::Key,
        uses: impl Fn(&Resolver<'_>) + Send + Sync + 'static,
    ) -> Handle<R> {
        let deps = self.reads_of(&uses);
        self.push(ResourceNode {
            kind: Arc::new(kind),
            name: name.into(),
            tags,
            key,
            desired: None,
            deps,
            options: Options::new(),
        })
    }

    /// Sets what `handle`'s declaration says besides its inputs ([`Options`]): what else it
    /// depends on, the fields left as AWS has them, protection from deletion, a time limit.
    /// Replaces options set before.
    pub fn options<R: Resource>(&mut self, handle: Handle<R>, options: Options<R>) {
        let mut deps = self.reads_of(|r| {
            for d in &options.depends_on {
                r.value(d);
            }
        });
        let node = self.nodes[handle.index]
            .as_any_mut()
            .downcast_mut::<ResourceNode<R>>()
            .expect("a handle is of its node's kind");
        // A handle exists only once its resource is declared: an earlier one can never
        // depend on this one, so no cycle.
        deps.retain(|&d| d != handle.index);
        node.deps.extend(deps);
        node.deps.sort_unstable();
        node.deps.dedup();
        node.options = options;
    }

    /// The declared resources `f` reads: it is called with every output unknown.
    fn reads_of(&self, f: impl FnOnce(&Resolver<'_>)) -> Vec<usize> {
        let unknown = vec![Value::AfterApply; self.nodes.len()];
        let resolver = Resolver::new(&unknown);
        f(&resolver);
        let mut deps = resolver.reads.into_inner();
        deps.sort_unstable();
        deps.dedup();
        deps
    }

    fn push<R: Resource>(&mut self, node: ResourceNode<R>) -> Handle<R> {
        let index = self.nodes.len();
        self.nodes.push(Box::new(node));
        Handle {
            index,
            _kind: PhantomData,
        }
    }

    /// Records permissions the stack's run needs outside any resource kind: what a
    /// module's declaration reads (the region's zones, the AMI's parameter).
    pub fn require(&mut self, grants: impl IntoIterator<Item = crate::permissions::Grant>) {
        self.required.extend(grants);
    }

    /// The IAM policy plan, apply and destroy of this stack need: every declared resource's
    /// kind's [`permissions`](Resource::permissions), with its name and owner filled in, and
    /// what the declarations [`require`](Stack::require)d. A run's lease is apart
    /// ([`lease::permissions`](crate::lease::permissions)).
    pub fn policy(&self) -> crate::permissions::Policy {
        let mut policy = crate::permissions::Policy::new();
        policy.extend(self.required.iter().cloned());
        for node in &self.nodes {
            policy.extend(node.permissions());
        }
        policy
    }

    /// The kinds declared whose [`Resource::permissions`] are empty: a kind that forgot to
    /// say what it calls. Tests assert there are none.
    pub fn kinds_without_permissions(&self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self
            .nodes
            .iter()
            .filter(|n| n.permissions().is_empty())
            .map(|n| n.kind())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// The declared resources' kinds and names, in declaration order.
    pub fn resources(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.nodes.iter().map(|n| (n.kind(), n.name()))
    }

    /// The addresses of the resources declared (or tracked) from the `start`th on: what a
    /// module declared, when `start` was [`len`](Stack::len) before it began.
    pub fn addresses_from(&self, start: usize) -> Vec<crate::Address> {
        self.nodes
            .iter()
            .skip(start)
            .map(|n| crate::Address::new(n.kind(), n.name(), None))
            .collect()
    }

    /// The kinds and names of the resources that `name` of `kind` reads, for tests of a
    /// declaration.
    pub fn dependencies(&self, kind: &str, name: &str) -> Vec<(&'static str, &str)> {
        self.nodes
            .iter()
            .find(|n| n.kind() == kind && n.name() == name)
            .map(|n| {
                n.deps()
                    .iter()
                    .map(|&d| (self.nodes[d].kind(), self.nodes[d].name()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
