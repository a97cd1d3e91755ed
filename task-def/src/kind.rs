//! `aws_ecs_task_definition`: the latest ACTIVE revision of a family, compared in normal form.
//! A change registers a new revision (revisions are immutable) and, once the service runs it,
//! deregisters the old ones: Terraform's replacement with `create_before_destroy`.
//!
//! Where a deploy pipeline rolls out images (`aws ecs update-service` with a revision it
//! registered), the spec can keep, for named containers, the image of the revision the
//! service runs, or leave the whole definition to the pipeline once the service runs one.
//! The read then also asks ECS which revision the service runs.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::types::{TaskDefinitionField as Include, TaskDefinitionStatus};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    AwsResultExt, Cx, Delta, Diff, Error, Field, ProvideErrorMetadata, Replacement, Resource, Said,
    Value, Wanted,
};

use crate::sdk::{self, Normal};
use crate::task::TaskDefinition;

/// The task definition kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskDefinitionKind;

/// What a task definition should be: the definition, with the roles that may come from other
/// resources of the stack (`None`: the definition's own).
#[derive(Clone, Debug, PartialEq)]
pub struct TaskDefinitionSpec<P: Phase = AtPlan> {
    /// The definition.
    pub definition: TaskDefinition,
    /// The execution role's ARN, when another resource makes it.
    pub execution_role_arn: Option<P::Value<String>>,
    /// The task role's ARN, when another resource makes it.
    pub task_role_arn: Option<P::Value<String>>,
    /// Containers whose image is kept as the revision the service runs has it (the key
    /// names the service).
    pub keep_images: Vec<String>,
    /// Once the service runs a revision, the definition is the pipeline's: inputs that
    /// differ are said in the plan, not registered.
    pub left_to_ci: bool,
}

impl Resolve for TaskDefinitionSpec {
    type Output = TaskDefinitionSpec<AtApply>;

    fn resolve(&self) -> Result<TaskDefinitionSpec<AtApply>, Unknown> {
        let role =
            |v: &Option<Value<String>>, input| v.as_ref().map(|v| v.resolve(input)).transpose();
        Ok(TaskDefinitionSpec {
            definition: self.definition.clone(),
            execution_role_arn: role(&self.execution_role_arn, "execution_role_arn")?,
            task_role_arn: role(&self.task_role_arn, "task_role_arn")?,
            keep_images: self.keep_images.clone(),
            left_to_ci: self.left_to_ci,
        })
    }
}

/// The service whose running revision a spec keeps images from: the kind's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedIn {
    /// The cluster's name or ARN.
    pub cluster: String,
    /// The service's name.
    pub service: String,
}

impl TaskDefinitionSpec {
    /// A definition whose roles are all in it.
    pub fn new(definition: TaskDefinition) -> Self {
        Self {
            definition,
            execution_role_arn: None,
            task_role_arn: None,
            keep_images: Vec::new(),
            left_to_ci: false,
        }
    }
}

impl TaskDefinitionSpec<AtApply> {
    /// The definition with the roles the stack makes.
    fn resolved(&self) -> TaskDefinition {
        let mut d = self.definition.clone();
        if let Some(arn) = &self.execution_role_arn {
            d.execution_role_arn = Some(arn.clone());
        }
        if let Some(arn) = &self.task_role_arn {
            d.task_role_arn = Some(arn.clone());
        }
        d
    }
}

/// The latest ACTIVE revision of a family.
#[derive(Clone, Debug)]
pub struct FoundTaskDefinition {
    family: String,
    arn: String,
    revision: i32,
    owner: Option<String>,
    normal: Normal,
    /// The revision the service runs, when the spec keeps something of it.
    running: Option<Running>,
    /// A pipeline's revision, compared for want of one of ours: its tags are not ours.
    claimed: bool,
}

/// The revision a service runs: its ARN and its containers' images.
#[derive(Clone, Debug)]
struct Running {
    arn: String,
    images: BTreeMap<String, String>,
}

/// A task definition's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskDefinitionOutputs {
    /// The revision's ARN.
    pub arn: String,
    /// The family.
    pub family: String,
    /// The revision number.
    pub revision: i32,
}

/// DescribeTaskDefinition's answer for a family with no ACTIVE revision (a `ClientException`
/// like many others): "Unable to describe task definition."
const NO_ACTIVE_REVISION: Said = Said::new("ClientException", "Unable to describe task definition");

/// `arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>` → the family and the
/// revision.
pub(crate) fn family_of(arn: &str) -> Option<(&str, i32)> {
    let (_, rest) = arn.rsplit_once("task-definition/")?;
    let (family, revision) = rest.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

/// The latest ACTIVE revision of `family`, or `None` when there is none.
async fn latest(aws: &converge::Aws, family: &str) -> Result<Option<FoundTaskDefinition>, Error> {
    Ok(revision(aws, family)
        .await?
        .filter(|(found, active)| *active && found.family == family)
        .map(|(found, _)| found))
}

/// The revision `at` names (a family's latest, or an ARN) and whether it is ACTIVE.
async fn revision(
    aws: &converge::Aws,
    at: &str,
) -> Result<Option<(FoundTaskDefinition, bool)>, Error> {
    let described = aws
        .ecs()
        .describe_task_definition()
        .task_definition(at)
        .include(Include::Tags)
        .send()
        .await;
    let out = match described {
        Ok(out) => out,
        // ECS answers a family with no ACTIVE revision with this ClientException.
        Err(err) if NO_ACTIVE_REVISION.matches(&err) => return Ok(None),
        Err(err) => {
            return Err(err).context("DescribeTaskDefinition", TaskDefinitionKind::label(at))
        }
    };
    let Some(td) = out.task_definition() else {
        return Ok(None);
    };
    let found = FoundTaskDefinition {
        family: td.family().unwrap_or_default().to_owned(),
        arn: td.task_definition_arn().unwrap_or_default().to_owned(),
        revision: td.revision(),
        owner: converge::owner_in(out.tags().iter().map(|t| (t.key(), t.value()))),
        normal: Normal::actual(td, out.tags()),
        running: None,
        claimed: false,
    };
    Ok(Some((
        found,
        td.status() == Some(&TaskDefinitionStatus::Active),
    )))
}

/// The ARN of the revision `at`'s service runs, when the service exists.
async fn running_arn(aws: &converge::Aws, at: &DeployedIn) -> Result<Option<String>, Error> {
    let out = aws
        .ecs()
        .describe_services()
        .cluster(&at.cluster)
        .services(&at.service)
        .send()
        .await;
    let out = match out {
        Err(err) if err.code() == Some("ClusterNotFoundException") => return Ok(None),
        other => other.context(
            "DescribeServices",
            format!("aws_ecs_service \"{}\"", at.service),
        )?,
    };
    Ok(out
        .services()
        .iter()
        .find(|s| s.status() == Some("ACTIVE"))
        .and_then(|s| s.task_definition())
        .map(str::to_owned))
}

/// What a spec that keeps something of the running revision compares with: our latest
/// revision, or, when the latest is a pipeline's, the revision the service runs (claimed for
/// the comparison only: deregistering still takes our tag). Either carries the running
/// revision's images.
async fn read_deployed(
    aws: &converge::Aws,
    wanted: &Wanted<'_, Option<DeployedIn>>,
    at: &DeployedIn,
) -> Result<Option<FoundTaskDefinition>, Error> {
    let tags = wanted.tags;
    let owner = tags.owner();
    let (latest, arn) =
        futures::future::try_join(latest(aws, wanted.name), running_arn(aws, at)).await?;
    let arn = arn.filter(|arn| family_of(arn).is_some_and(|(f, _)| f == wanted.name));
    let running = match (&latest, arn) {
        (_, None) => None,
        (Some(l), Some(arn)) if l.arn == arn => Some(l.clone()),
        (_, Some(arn)) => revision(aws, &arn).await?.map(|(found, _)| found),
    };
    let base = match latest.filter(|l| tags.claim(l.owner.as_deref()).is_ours()) {
        Some(ours) => Some(ours),
        None => running.clone().map(|r| FoundTaskDefinition {
            claimed: !tags.claim(r.owner.as_deref()).is_ours(),
            owner: Some(owner.to_owned()),
            ..r
        }),
    };
    Ok(base.map(|base| FoundTaskDefinition {
        running: running.map(|r| Running {
            images: r
                .normal
                .containers
                .iter()
                .map(|c| (c.name.clone(), c.image.clone()))
                .collect(),
            arn: r.arn,
        }),
        ..base
    }))
}

/// Deregisters the ACTIVE revisions of `family` owned by `owner`, up to `revision` when
/// given (a replacement keeps the new one). Revisions registered by anything else stay.
/// Returns the ARNs deregistered.
pub(crate) async fn deregister_owned(
    aws: &converge::Aws,
    family: &str,
    owner: &converge::Tags,
    up_to: Option<i32>,
) -> Result<Vec<String>, Error> {
    let mut owned = Vec::new();
    let mut pages = aws
        .ecs()
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .into_paginator()
        .items()
        .send();
    // The SDK's paginator stops on a marker repeated at once; this bounds the items (a
    // hundred a page).
    let mut count = converge::paging::Pages::new("ListTaskDefinitions");
    let mut items = 0;
    while let Some(arn) = pages.next().await {
        items += 1;
        if items % 100 == 1 {
            count.page()?;
        }
        let arn = arn.context("ListTaskDefinitions", TaskDefinitionKind::label(family))?;
        // The prefix also matches other families (`blog` and `blog-worker`).
        match family_of(&arn) {
            Some((f, rev)) if f == family && up_to.is_none_or(|max| rev <= max) => {}
            _ => continue,
        }
        let described = aws
            .ecs()
            .describe_task_definition()
            .task_definition(&arn)
            .include(Include::Tags)
            .send()
            .await
            .context("DescribeTaskDefinition", &arn)?;
        let found = converge::owner_in(described.tags().iter().map(|t| (t.key(), t.value())));
        let ours = owner.claim(found.as_deref()).is_ours();
        if ours {
            owned.push(arn);
        }
    }
    for arn in &owned {
        aws.ecs()
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .context("DeregisterTaskDefinition", arn)?;
    }
    Ok(owned)
}

/// Registers `task` with `tags` in the call; returns the new revision's outputs.
async fn register(
    aws: &converge::Aws,
    task: &TaskDefinition,
    tags: &converge::Tags,
) -> Result<TaskDefinitionOutputs, Error> {
    let mut call = aws
        .ecs()
        .register_task_definition()
        .family(&task.family)
        .set_cpu(task.cpu.map(|c| c.to_string()))
        .set_memory(task.memory.map(|m| m.to_string()))
        .set_network_mode(task.network_mode.map(sdk::network_mode))
        .set_execution_role_arn(task.execution_role_arn.clone())
        .set_task_role_arn(task.task_role_arn.clone())
        .set_runtime_platform(
            task.runtime_platform
                .as_ref()
                .and_then(sdk::runtime_platform),
        )
        .set_ephemeral_storage(
            task.ephemeral_storage
                .map(|e| sdk::ephemeral_storage(e.size_in_gib)),
        )
        .set_tags(Some(tags.ecs(&task.family)));
    for c in &task.container_definitions {
        call = call.container_definitions(c.into());
    }
    for c in &task.requires_compatibilities {
        call = call.requires_compatibilities(sdk::compatibility(*c));
    }
    for v in &task.volumes {
        call = call.volumes(sdk::volume(v));
    }
    let out = call.send().await.context(
        "RegisterTaskDefinition",
        TaskDefinitionKind::label(&task.family),
    )?;
    let td = out.task_definition();
    Ok(TaskDefinitionOutputs {
        arn: td
            .and_then(|t| t.task_definition_arn())
            .unwrap_or_default()
            .to_owned(),
        family: task.family.clone(),
        revision: td.map(|t| t.revision()).unwrap_or_default(),
    })
}

fn container_line(c: &crate::ContainerDefinition) -> String {
    let ports: Vec<String> = c
        .port_mappings
        .iter()
        .map(|p| p.container_port.to_string())
        .collect();
    if ports.is_empty() {
        c.image.clone()
    } else {
        format!("{} ports {}", c.image, ports.join(","))
    }
}

/// A role as a create sets it: the stack's when another resource makes it, else the
/// definition's own (`None`: no role).
fn role_after(own: Option<&String>, from_stack: Option<&Value<String>>) -> Option<String> {
    match from_stack {
        Some(v) => Some(v.to_string()),
        None => own.cloned(),
    }
}

/// A task definition's fields that a plan can show changed: the API's top-level attributes
/// (a change inside one, such as a container's image, is at a place in it), and the lines of
/// a create's summary. Revisions are immutable: every change registers a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskDefinitionField {
    /// The containers (`["blog"].image` in one).
    ContainerDefinitions,
    /// Task-level CPU units.
    Cpu,
    /// Task-level memory, in MiB.
    Memory,
    /// The network mode.
    NetworkMode,
    /// The launch types it is valid for.
    RequiresCompatibilities,
    /// The role the agent uses (pulling images, writing logs, reading secrets).
    ExecutionRoleArn,
    /// The role the tasks' containers use.
    TaskRoleArn,
    /// The volumes (`["content"]` in one).
    Volumes,
    /// The CPU architecture and operating system.
    RuntimePlatform,
    /// Fargate's ephemeral storage.
    EphemeralStorage,
    /// The tags (`.Name` in them).
    Tags,
    /// A container's image and ports, in a create's summary (`.blog` in it).
    Container,
    /// An EFS volume's file system, in a create's summary (`.content` in it).
    Volume,
    /// The CPU architecture, in a create's summary.
    CpuArchitecture,
}

impl Field for TaskDefinitionField {
    fn name(&self) -> &str {
        match self {
            TaskDefinitionField::ContainerDefinitions => "container_definitions",
            TaskDefinitionField::Cpu => "cpu",
            TaskDefinitionField::Memory => "memory",
            TaskDefinitionField::NetworkMode => "network_mode",
            TaskDefinitionField::RequiresCompatibilities => "requires_compatibilities",
            TaskDefinitionField::ExecutionRoleArn => "execution_role_arn",
            TaskDefinitionField::TaskRoleArn => "task_role_arn",
            TaskDefinitionField::Volumes => "volumes",
            TaskDefinitionField::RuntimePlatform => "runtime_platform",
            TaskDefinitionField::EphemeralStorage => "ephemeral_storage",
            TaskDefinitionField::Tags => "tags",
            TaskDefinitionField::Container => "container",
            TaskDefinitionField::Volume => "volume",
            TaskDefinitionField::CpuArchitecture => "cpu_architecture",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        Some("ECS task definition revisions are immutable: a change registers a new revision")
    }
}

#[async_trait]
impl Resource for TaskDefinitionKind {
    const KIND: &'static str = "aws_ecs_task_definition";
    const REPLACEMENT: Replacement = Replacement::CreateFirst;
    type Field = TaskDefinitionField;
    type Key = Option<DeployedIn>;
    type Desired = TaskDefinitionSpec;
    type Observed = FoundTaskDefinition;
    type Outputs = TaskDefinitionOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        // iam:PassRole of its roles to ecs-tasks.amazonaws.com: the role kind grants it.
        vec![
            Grant::new([
                "ecs:DescribeTaskDefinition",
                "ecs:ListTaskDefinitions",
                "ecs:DescribeServices",
                "ecs:RegisterTaskDefinition",
                "ecs:DeregisterTaskDefinition",
            ]),
            Grant::new(["ecs:TagResource"]).when(
                "StringEquals",
                "ecs:CreateAction",
                ["RegisterTaskDefinition"],
            ),
            Grant::new(["ecs:TagResource"]).tagged(),
        ]
    }

    /// One `DescribeTaskDefinition` per family: ECS has no batch read of task definitions.
    /// A latest revision someone else registered (a deploy pipeline's) is neither ours nor a
    /// conflict: revisions share the family, so ours is registered after it. A spec that
    /// keeps images also reads the service (one `DescribeServices`, and the revision it runs
    /// when that is not the latest).
    async fn read(
        &self,
        aws: &converge::Aws,
        wanted: &[Wanted<'_, Option<DeployedIn>>],
    ) -> Result<Vec<FoundTaskDefinition>, Error> {
        let found = futures::future::try_join_all(wanted.iter().map(|w| async move {
            if let Some(at) = w.key {
                return read_deployed(aws, w, at).await;
            }
            // The latest revision, when it is ours or another stack's (a family is one name in
            // the account, so another stack's is refused as a look-alike); an untagged one (a
            // pipeline's) is left alone and ours is registered after it.
            let found = latest(aws, w.name).await?;
            Ok::<_, Error>(found.filter(|f| f.owner.is_some()))
        }))
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    fn name<'o>(&self, o: &'o FoundTaskDefinition) -> &'o str {
        &o.family
    }

    fn owner<'o>(&self, o: &'o FoundTaskDefinition) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundTaskDefinition) -> String {
        o.arn.clone()
    }

    fn tag_target(&self, o: &FoundTaskDefinition) -> Option<converge::TagTarget> {
        Some(converge::TagTarget::Ecs(o.arn.clone()))
    }

    fn describe(&self, d: &TaskDefinitionSpec) -> Vec<Diff> {
        use TaskDefinitionField as F;
        let task = &d.definition;
        let mut delta = Delta::<Self::Field>::new();
        for c in &task.container_definitions {
            delta.update_at(
                F::Container,
                format!(".{}", c.name),
                None::<String>,
                Some(container_line(c)),
            );
        }
        if let Some(cpu) = task.cpu {
            delta.update(F::Cpu, None::<String>, Some(cpu));
        }
        if let Some(memory) = task.memory {
            delta.update(F::Memory, None::<String>, Some(memory));
        }
        if let Some(mode) = task.network_mode {
            delta.update(F::NetworkMode, None::<String>, Some(mode.as_str()));
        }
        if let Some(arch) = task
            .runtime_platform
            .as_ref()
            .and_then(|p| p.cpu_architecture.as_ref())
        {
            delta.update(F::CpuArchitecture, None::<String>, Some(arch));
        }
        if let Some(storage) = task.ephemeral_storage {
            let size = format!("{} GiB", storage.size_in_gib);
            delta.update(F::EphemeralStorage, None::<String>, Some(size));
        }
        for v in &task.volumes {
            if let Some(efs) = &v.efs_volume_configuration {
                delta.update_at(
                    F::Volume,
                    format!(".{}", v.name),
                    None::<String>,
                    Some(&efs.file_system_id),
                );
            }
        }
        let roles = [
            (
                F::ExecutionRoleArn,
                task.execution_role_arn.as_ref(),
                d.execution_role_arn.as_ref(),
            ),
            (
                F::TaskRoleArn,
                task.task_role_arn.as_ref(),
                d.task_role_arn.as_ref(),
            ),
        ];
        for (field, own, from_stack) in roles {
            if let Some(arn) = role_after(own, from_stack) {
                delta.update(field, None::<String>, Some(arn));
            }
        }
        delta.described()
    }

    /// Any difference makes a new revision. A role still unknown is a difference of its own;
    /// the rest is compared with the role as it is.
    fn diff(&self, d: &TaskDefinitionSpec, o: &FoundTaskDefinition) -> Delta<TaskDefinitionField> {
        let mut delta = Delta::new();
        let mut task = d.definition.clone();
        o.keep_images(&d.keep_images, &mut task, Some(&mut delta));
        for (field, from_stack, slot) in [
            (
                TaskDefinitionField::ExecutionRoleArn,
                &d.execution_role_arn,
                &mut task.execution_role_arn,
            ),
            (
                TaskDefinitionField::TaskRoleArn,
                &d.task_role_arn,
                &mut task.task_role_arn,
            ),
        ] {
            match from_stack {
                Some(Value::Known(arn)) => *slot = Some(arn.clone()),
                Some(Value::AfterApply) => {
                    delta.update(field, o.normal_role(field), Some(converge::AFTER_APPLY));
                    *slot = o.normal_role(field).map(str::to_owned);
                }
                None => {}
            }
        }
        let mut tags: BTreeMap<String, String> = task.tags().for_resource(&task.family);
        // The value an earlier release wrote is re-tagged in place by the stack, not by a
        // new revision.
        if task.tags().claim(o.owner.as_deref()) == converge::Claim::Legacy {
            if let Some(old) = o.normal.tags.get(converge::OWNER_TAG) {
                tags.insert(converge::OWNER_TAG.to_owned(), old.clone());
            }
        }
        let want = Normal::desired(&task, tags);
        for (field, at, before, after) in want.changes(&o.normal) {
            // A pipeline registers without our tags; that alone is no reason for a revision.
            if o.claimed && field == TaskDefinitionField::Tags {
                continue;
            }
            let at = (!at.is_empty()).then_some(at);
            // A role still unknown is already there.
            if delta.changes.iter().any(|x| x.field == field && x.at == at) {
                continue;
            }
            match at {
                Some(at) => delta.update_at(field, at, before, after),
                None => delta.update(field, before, after),
            };
        }
        if d.left_to_ci {
            // The pipeline's: what differs is said, and nothing is registered.
            let fields: Vec<String> = delta.changes.drain(..).map(|x| x.label()).collect();
            let note = match fields.is_empty() {
                true => format!("{} as it is (left to CI)", o.arn),
                false => format!(
                    "{} as it is (left to CI), though the inputs differ in {}",
                    o.arn,
                    fields.join(", ")
                ),
            };
            delta.kept = vec![note];
        }
        delta
    }

    fn outputs(&self, o: &FoundTaskDefinition) -> TaskDefinitionOutputs {
        TaskDefinitionOutputs {
            arn: o.arn.clone(),
            family: o.family.clone(),
            revision: o.revision,
        }
    }

    fn output_id(&self, out: &TaskDefinitionOutputs) -> Option<String> {
        Some(out.arn.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &TaskDefinitionSpec<AtApply>,
    ) -> Result<TaskDefinitionOutputs, Error> {
        register(cx.aws, &d.resolved(), cx.tags).await
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &TaskDefinitionSpec<AtApply>,
        o: &FoundTaskDefinition,
        delta: &Delta<TaskDefinitionField>,
    ) -> Result<TaskDefinitionOutputs, Error> {
        use TaskDefinitionField as F;
        for field in delta.fields() {
            match field {
                // Forces a replacement (a new revision): never reaches an update.
                F::ContainerDefinitions
                | F::Cpu
                | F::Memory
                | F::NetworkMode
                | F::RequiresCompatibilities
                | F::ExecutionRoleArn
                | F::TaskRoleArn
                | F::Volumes
                | F::RuntimePlatform
                | F::EphemeralStorage
                | F::Tags
                | F::Container
                | F::Volume
                | F::CpuArchitecture => {}
            }
        }
        // Every difference replaces; the executor never updates a revision in place.
        self.create_replacement(cx, d, o).await
    }

    /// A new revision, with the images kept from the one the service runs.
    async fn create_replacement(
        &self,
        cx: Cx<'_>,
        d: &TaskDefinitionSpec<AtApply>,
        o: &FoundTaskDefinition,
    ) -> Result<TaskDefinitionOutputs, Error> {
        let mut task = d.resolved();
        o.keep_images(&d.keep_images, &mut task, None);
        register(cx.aws, &task, cx.tags).await
    }

    /// The replaced revision and those before it that are ours; on destroy, all of them.
    async fn delete(&self, cx: Cx<'_>, o: &FoundTaskDefinition) -> Result<(), Error> {
        deregister_owned(cx.aws, &o.family, cx.tags, Some(o.revision)).await?;
        Ok(())
    }
}

impl FoundTaskDefinition {
    /// Puts the running revision's image into each container named in `keep`, and says so
    /// in `delta` where it differs from the inputs.
    fn keep_images(
        &self,
        keep: &[String],
        task: &mut TaskDefinition,
        mut delta: Option<&mut Delta<TaskDefinitionField>>,
    ) {
        let Some(running) = &self.running else {
            return;
        };
        for c in &mut task.container_definitions {
            let kept = keep.contains(&c.name);
            let Some(image) = running.images.get(&c.name).filter(|_| kept) else {
                continue;
            };
            if *image != c.image {
                if let Some(delta) = delta.as_deref_mut() {
                    delta.keep(format!(
                        "container {:?} image {image:?} from {} (inputs: {:?})",
                        c.name, running.arn, c.image
                    ));
                }
                c.image = image.clone();
            }
        }
    }

    /// The role `field` names (the execution role's, else the task role's).
    fn normal_role(&self, field: TaskDefinitionField) -> Option<&str> {
        match field {
            TaskDefinitionField::ExecutionRoleArn => self.normal.execution_role_arn.as_deref(),
            _ => self.normal.task_role_arn.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blog(image: &str, memory: u32) -> TaskDefinition {
        TaskDefinition::builder()
            .family("blog")
            .environment("production")
            .container(
                crate::ContainerDefinition::builder()
                    .name("blog")
                    .image(image)
                    .build(),
            )
            .requires_compatibility(crate::Compatibility::Fargate)
            .network_mode(crate::NetworkMode::Awsvpc)
            .cpu(256)
            .memory(memory)
            .execution_role_arn("arn:aws:iam::1:role/blog-exec")
            .build()
            .expect("valid task definition")
    }

    /// Our latest revision of `task`, as ECS would describe it.
    fn found(task: &TaskDefinition) -> FoundTaskDefinition {
        let tags = task.tags();
        FoundTaskDefinition {
            family: task.family.clone(),
            arn: "arn:aws:ecs:us-east-1:1:task-definition/blog:3".into(),
            revision: 3,
            owner: Some(tags.owner().to_owned()),
            normal: Normal::desired(task, tags.for_resource(&task.family)),
            running: None,
            claimed: false,
        }
    }

    #[test]
    fn every_change_is_a_new_revision_at_its_place_in_a_field() {
        let kind = TaskDefinitionKind;
        let have = found(&blog("nginx:1.26", 512));
        assert!(kind
            .diff(&TaskDefinitionSpec::new(blog("nginx:1.26", 512)), &have)
            .is_empty());
        let delta = kind.diff(&TaskDefinitionSpec::new(blog("nginx:1.27", 1024)), &have);
        assert_eq!(
            delta.fields(),
            [
                TaskDefinitionField::ContainerDefinitions,
                TaskDefinitionField::Memory
            ]
        );
        let diffs = delta.diffs();
        assert_eq!(diffs[0].field, r#"container_definitions["blog"].image"#);
        assert_eq!(diffs[1].field, "memory");
        assert!(delta.replaces());
        assert_eq!(
            delta.changes[0].replaces,
            Some("ECS task definition revisions are immutable: a change registers a new revision")
        );
        // A role another resource makes anew is one difference, not two.
        let mut later = TaskDefinitionSpec::new(blog("nginx:1.26", 512));
        later.execution_role_arn = Some(Value::AfterApply);
        let delta = kind.diff(&later, &have);
        assert_eq!(delta.fields(), [TaskDefinitionField::ExecutionRoleArn]);
        assert_eq!(delta.changes.len(), 1);
        assert!(delta.changes[0].replaces.is_some());
        // A create's summary keeps its labels and replaces nothing.
        let described = kind.describe(&later);
        let labels: Vec<&str> = described.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            labels,
            [
                "container.blog",
                "cpu",
                "memory",
                "network_mode",
                "execution_role_arn"
            ]
        );
        assert_eq!(described[4].after.as_deref(), Some(converge::AFTER_APPLY));
        assert!(described.iter().all(|d| d.replaces.is_none()));
    }

    /// Each role another resource makes is known at apply, or named as the input still
    /// unknown; the revision registered carries the roles the stack made.
    #[test]
    fn resolve_names_a_role_still_unknown() {
        let known = |arn: &str| Some(Value::Known(arn.to_owned()));
        let mut d = TaskDefinitionSpec::new(blog("nginx:1.26", 512));
        d.keep_images = vec!["blog".into()];
        let own = d.resolve().unwrap();
        assert_eq!(own.resolved(), d.definition);
        assert_eq!((own.execution_role_arn, own.task_role_arn), (None, None));
        for (input, exec, task) in [
            (
                "execution_role_arn",
                Some(Value::AfterApply),
                known("arn:task"),
            ),
            ("task_role_arn", known("arn:exec"), Some(Value::AfterApply)),
        ] {
            let later = TaskDefinitionSpec {
                execution_role_arn: exec,
                task_role_arn: task,
                ..d.clone()
            };
            assert_eq!(later.resolve().unwrap_err().input, input);
        }
        let applied = TaskDefinitionSpec {
            execution_role_arn: known("arn:exec"),
            task_role_arn: known("arn:task"),
            ..d.clone()
        }
        .resolve()
        .unwrap();
        assert_eq!(applied.keep_images, ["blog"]);
        let task = applied.resolved();
        assert_eq!(task.execution_role_arn.as_deref(), Some("arn:exec"));
        assert_eq!(task.task_role_arn.as_deref(), Some("arn:task"));
        assert_eq!(
            task.container_definitions,
            d.definition.container_definitions
        );
    }

    /// ECS's message, in full, told apart by its text.
    #[test]
    fn no_active_revision_is_told_by_its_exact_message() {
        let err = |code: &str, message: &str| {
            aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code(code)
                    .message(message)
                    .build(),
            )
        };
        assert!(NO_ACTIVE_REVISION.matches(&err(
            "ClientException",
            "Unable to describe task definition."
        )));
        assert!(!NO_ACTIVE_REVISION.matches(&err(
            "ClientException",
            "Task definition family is invalid."
        )));
        assert!(!NO_ACTIVE_REVISION.matches(&err(
            "ServerException",
            "Unable to describe task definition."
        )));
    }
}
