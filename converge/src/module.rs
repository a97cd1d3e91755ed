//! A module: a set of resources declared into a stack, with typed outputs.

use std::ops::Deref;

use async_trait::async_trait;

use crate::resource::Address;
use crate::stack::{Ref, Stack};
use crate::{Aws, Error, Plan};

/// What declaring a module or block into a stack gives back, in one shape for all of them:
/// references to its values (for the declarations that read them, in the same stack), its
/// outputs as one reference, and the addresses of the resources it declared (to find them in
/// a [`Plan`] without rebuilding their names).
pub trait Refs: Clone + Send + Sync + 'static {
    /// The module's outputs.
    type Outputs: Clone + Send + Sync + 'static;

    /// Every output at once, known when all are.
    fn outputs(&self) -> Ref<Self::Outputs>;

    /// The resources the module declared (and those it looks for to delete), in declaration
    /// order; their ids are not known at declaration.
    fn addresses(&self) -> &[Address];
}

/// The [`Refs`] of a module that gives nothing finer than its outputs: a composition of
/// modules (the blog's deployments), or a module of a user's own.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OutputRefs<O> {
    /// Every output at once, known when all are.
    pub outputs: Ref<O>,
    /// The addresses of the resources declared.
    pub addresses: Vec<Address>,
}

impl<O> OutputRefs<O> {
    /// The refs of a module whose outputs `outputs` gives, that declared `addresses`.
    pub fn new(outputs: Ref<O>, addresses: Vec<Address>) -> Self {
        Self { outputs, addresses }
    }
}

impl<O: Clone + Send + Sync + 'static> Refs for OutputRefs<O> {
    type Outputs = O;

    fn outputs(&self) -> Ref<O> {
        self.outputs.clone()
    }

    fn addresses(&self) -> &[Address] {
        &self.addresses
    }
}

/// What an apply did and what it gives back: the module's outputs (which it dereferences to)
/// and the changes it made, as a [`Plan`] of what ran.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Applied<O> {
    /// The outputs.
    pub outputs: O,
    /// What changed: each resource made, changed, replaced or deleted, with its fields.
    pub changes: Plan,
}

impl<O> Applied<O> {
    /// The outputs of an apply that made `changes`.
    pub fn new(outputs: O, changes: Plan) -> Self {
        Self { outputs, changes }
    }

    /// The outputs alone.
    pub fn into_outputs(self) -> O {
        self.outputs
    }
}

/// An apply's outputs equal `other`, whatever it changed: a second apply gives back what the
/// first did.
impl<O: PartialEq> PartialEq<O> for Applied<O> {
    fn eq(&self, other: &O) -> bool {
        self.outputs == *other
    }
}

impl<O> Deref for Applied<O> {
    type Target = O;

    fn deref(&self) -> &O {
        &self.outputs
    }
}

/// A module (a VPC, an ECS service, a cluster): it declares its resources into a
/// [`Stack`] and hands back its [`Refs`]. `plan`, `apply`, `destroy` and `outputs` follow,
/// each one run of the stack executor. A composition declares several modules into one
/// stack instead, so their resources overlap: every module and block is declared the same
/// way, `module.declare(&aws, &mut stack).await?`, and the builders of the others take its
/// refs (or, from another stack, its outputs).
///
/// ```no_run
/// # async fn run() -> Result<(), converge::Error> {
/// use converge::{Aws, Cluster, LogGroup, Module, Refs, Stack};
///
/// let aws = Aws::from_env().await;
/// let cluster = Cluster::builder().environment("blog").build()?;
/// let logs = LogGroup::builder().environment("blog").name("/ecs/blog").build()?;
/// let mut stack = Stack::new();
/// let cluster = cluster.declare(&aws, &mut stack).await?;
/// let logs = logs.declare(&aws, &mut stack).await?;
/// let plan = stack.plan(&aws).await?.into_plan();
/// for address in cluster.addresses().iter().chain(logs.addresses()) {
///     println!("{address}: {:?}", plan.at(address).map(|c| c.action));
/// }
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait Module: Send + Sync {
    /// What the module gives back.
    type Outputs: Clone + Send + Sync + 'static;
    /// Its references, for declarations in the same stack.
    type Refs: Refs<Outputs = Self::Outputs>;

    /// Declares the module's resources into `stack` and returns its references. May read
    /// AWS for what the declarations need (the region's availability zones), never to find
    /// the module's own resources.
    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<Self::Refs, Error>;

    /// Declares what a destroy must find: by default what [`declare`](Module::declare) does.
    /// A module overrides it when its declaration needs a read only an apply does (an AMI
    /// lookup), or when a destroy must also find what earlier inputs made. A composition
    /// orders its own deletes around the references it returns.
    async fn declare_teardown(&self, aws: &Aws, stack: &mut Stack) -> Result<Self::Refs, Error> {
        self.declare(aws, stack).await
    }

    /// The module alone in a stack.
    async fn stack(&self, aws: &Aws) -> Result<(Stack, Self::Refs), Error> {
        let mut stack = Stack::new();
        let refs = self.declare(aws, &mut stack).await?;
        Ok((stack, refs))
    }

    /// What [`apply`](Module::apply) would change, without changing anything.
    async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let (stack, _) = self.stack(aws).await?;
        Ok(stack.plan(aws).await?.into_plan())
    }

    /// Makes AWS match the inputs; returns the outputs and what changed. A second apply with
    /// the same inputs makes no mutating call (and its `changes` are empty).
    async fn apply(&self, aws: &Aws) -> Result<Applied<Self::Outputs>, Error> {
        let (stack, refs) = self.stack(aws).await?;
        let resolved = stack.apply(aws).await?;
        let outputs = resolved.value(&refs.outputs()).require("outputs")?;
        Ok(Applied::new(outputs, resolved.into_plan()))
    }

    /// Applies `saved`, a plan [`plan`](Module::plan) made earlier, exactly, or changes
    /// nothing when AWS or the inputs changed since ([`Error::StalePlan`]).
    async fn apply_plan(&self, aws: &Aws, saved: &Plan) -> Result<Applied<Self::Outputs>, Error> {
        let (stack, refs) = self.stack(aws).await?;
        let resolved = stack.apply_plan(aws, saved).await?;
        let outputs = resolved.value(&refs.outputs()).require("outputs")?;
        Ok(Applied::new(outputs, resolved.into_plan()))
    }

    /// Deletes what the module made, found by name and ownership tag; returns what went.
    async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let mut stack = Stack::new();
        self.declare_teardown(aws, &mut stack).await?;
        stack.destroy(aws).await
    }

    /// What [`destroy`](Module::destroy) would delete.
    async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let mut stack = Stack::new();
        self.declare_teardown(aws, &mut stack).await?;
        stack.plan_destroy(aws).await
    }

    /// The outputs of what exists, like `terraform output`, with no mutating call: `None`
    /// while an apply would still make something they depend on.
    async fn outputs(&self, aws: &Aws) -> Result<Option<Self::Outputs>, Error> {
        let (stack, refs) = self.stack(aws).await?;
        Ok(stack.plan(aws).await?.value(&refs.outputs()).into_known())
    }
}
