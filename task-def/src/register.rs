//! Registration on the resource model: a new revision only when the desired definition
//! differs from the latest ACTIVE one; deregistration of the revisions this module made.

use converge::{Aws, Error, Handle, Plan, Stack, Tags};

use crate::kind::{deregister_owned, TaskDefinitionKind, TaskDefinitionSpec};
use crate::task::TaskDefinition;

impl TaskDefinition {
    /// The tags every revision carries: its identity (`task-def/<environment>/<family>`).
    pub fn tags(&self) -> Tags {
        let environment = self.environment.as_deref().unwrap_or(&self.family);
        Tags::for_instance("task-def", environment, &self.family).with_extra(self.tags.clone())
    }

    /// Declares the definition into `stack`, with its roles as they are in it.
    pub fn declare(&self, stack: &mut Stack) -> Handle<TaskDefinitionKind> {
        let spec = TaskDefinitionSpec::new(self.clone());
        stack.add(
            TaskDefinitionKind,
            self.family(),
            self.tags(),
            None,
            move |_| spec.clone(),
        )
    }

    fn stack(&self) -> (Stack, Handle<TaskDefinitionKind>) {
        let mut stack = Stack::new();
        let handle = self.declare(&mut stack);
        (stack, handle)
    }

    /// Whether registering would make a new revision, and which fields differ.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let (stack, _) = self.stack();
        Ok(stack.plan(aws).await?.into_plan())
    }

    /// Registers the definition and returns the ARN of the revision that matches it: the
    /// latest ACTIVE revision when it already does (no mutating call), else a new one, after
    /// which the older revisions of ours are deregistered.
    pub async fn register(&self, aws: &Aws) -> Result<String, Error> {
        let (stack, handle) = self.stack();
        let done = stack.apply(aws).await?;
        Ok(done.get(&handle).require("the task definition")?.arn)
    }

    /// Deregisters every ACTIVE revision of the family that carries this module's ownership
    /// tag; revisions registered by anything else are left alone. Returns the ARNs
    /// deregistered.
    pub async fn deregister(&self, aws: &Aws) -> Result<Vec<String>, Error> {
        deregister_owned(aws, &self.family, &self.tags(), None).await
    }
}

#[cfg(test)]
mod tests {
    use crate::kind::family_of;

    #[test]
    fn family_from_arn() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/blog:3"),
            Some(("blog", 3))
        );
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/blog-worker:1"),
            Some(("blog-worker", 1))
        );
        assert_eq!(family_of("nonsense"), None);
    }
}
