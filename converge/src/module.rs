//! A module: a set of resources declared into a stack, with typed outputs.

use async_trait::async_trait;

use crate::stack::{Ref, Stack};
use crate::{Aws, Error, Plan};

/// A module (a VPC, an ECS service, a cluster): it declares its resources into a
/// [`Stack`] and says how its outputs are read from theirs. `plan`, `apply`, `destroy` and
/// `outputs` follow, each one run of the stack executor. A composition declares several
/// modules into one stack instead, so their resources overlap.
#[async_trait]
pub trait Module: Send + Sync {
    /// What the module gives back.
    type Outputs: Clone + Send + Sync + 'static;

    /// Declares the module's resources into `stack` and returns how to read its outputs.
    /// May read AWS for what the declarations need (the region's availability zones), never
    /// to find the module's own resources.
    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<Ref<Self::Outputs>, Error>;

    /// Declares what a destroy must find: by default what [`declare`](Module::declare) does.
    /// A module overrides it when its declaration needs a read only an apply does (an AMI
    /// lookup), or when a destroy must also find what earlier inputs made.
    async fn declare_teardown(&self, aws: &Aws, stack: &mut Stack) -> Result<(), Error> {
        self.declare(aws, stack).await.map(|_| ())
    }

    /// The module alone in a stack.
    async fn stack(&self, aws: &Aws) -> Result<(Stack, Ref<Self::Outputs>), Error> {
        let mut stack = Stack::new();
        let outputs = self.declare(aws, &mut stack).await?;
        Ok((stack, outputs))
    }

    /// What [`apply`](Module::apply) would change, without changing anything.
    async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let (stack, _) = self.stack(aws).await?;
        Ok(stack.plan(aws).await?.into_plan())
    }

    /// Makes AWS match the inputs and returns the outputs. A second apply with the same
    /// inputs makes no mutating call.
    async fn apply(&self, aws: &Aws) -> Result<Self::Outputs, Error> {
        let (stack, outputs) = self.stack(aws).await?;
        stack.apply(aws).await?.value(&outputs).require("outputs")
    }

    /// Applies `saved`, a plan [`plan`](Module::plan) made earlier, exactly, or changes
    /// nothing when AWS or the inputs changed since ([`Error::StalePlan`]).
    async fn apply_plan(&self, aws: &Aws, saved: &Plan) -> Result<Self::Outputs, Error> {
        let (stack, outputs) = self.stack(aws).await?;
        stack
            .apply_plan(aws, saved)
            .await?
            .value(&outputs)
            .require("outputs")
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
        let (stack, outputs) = self.stack(aws).await?;
        Ok(stack.plan(aws).await?.value(&outputs).into_known())
    }
}
