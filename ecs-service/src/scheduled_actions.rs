//! `aws_appautoscaling_scheduled_action`: a scheduled change of the service's task count
//! bounds, called `<environment>-<service_name>-<name>`. Ours by the same rule as the
//! policies ([`scaling_policies`](crate::scaling_policies)): on our service, with our prefix.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableTargetAction, ServiceNamespace};
use converge::{
    Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Transient, Value, Wanted,
};

use crate::scalable_targets::{dimension, ignore_gone, TARGET_NOT_YET};
use crate::scaling_policies::{every_attached, owner_of, AttachedKey};

/// The scheduled action kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScheduledActionKind;

/// What an action should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledActionSpec {
    /// The scalable target's resource id (the key's).
    pub resource_id: String,
    /// `at(...)`, `rate(...)` or `cron(...)`.
    pub schedule: String,
    /// The schedule's time zone (`None`: UTC).
    pub timezone: Option<String>,
    /// The new minimum.
    pub min_capacity: Option<i32>,
    /// The new maximum.
    pub max_capacity: Option<i32>,
}

/// Every input is its own: the schedule and bounds are the module's.
impl converge::phase::KnownAtPlan for ScheduledActionSpec {}

/// An action as Application Auto Scaling has it.
#[derive(Clone, Debug)]
pub struct FoundAction {
    name: String,
    resource_id: String,
    arn: String,
    schedule: String,
    timezone: Option<String>,
    min_capacity: Option<i32>,
    max_capacity: Option<i32>,
    owner: Option<String>,
}

/// An action's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScheduledActionOutputs {
    /// Its name (`PutScheduledAction` answers no ARN).
    pub name: String,
}

fn shown(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "(unset)".to_owned(), |v| v.to_string())
}

/// UTC is what an unset time zone means.
fn zone(tz: &Option<String>) -> Option<&str> {
    tz.as_deref().filter(|z| !z.is_empty() && *z != "UTC")
}

async fn read_actions(
    aws: &Aws,
    resource_id: String,
) -> Result<Vec<aws_sdk_applicationautoscaling::types::ScheduledAction>, Error> {
    let actions = converge::paging::drain(
        "DescribeScheduledActions",
        ScheduledActionKind::label(&resource_id),
        (aws.appautoscaling().describe_scheduled_actions())
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(dimension())
            .resource_id(&resource_id)
            .into_paginator()
            .send(),
        |page| page.scheduled_actions.unwrap_or_default(),
    )
    .await?;
    // Only this id's: the emulator matches ids by substring.
    Ok(actions
        .into_iter()
        .filter(|a| a.resource_id() == resource_id)
        .collect())
}

/// A scheduled action's fields that a plan can show changed; all change in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduledActionField {
    /// `at(...)`, `rate(...)` or `cron(...)`.
    Schedule,
    /// The schedule's time zone.
    Timezone,
    /// The new minimum.
    MinCapacity,
    /// The new maximum.
    MaxCapacity,
}

impl Field for ScheduledActionField {
    fn name(&self) -> &str {
        match self {
            ScheduledActionField::Schedule => "schedule",
            ScheduledActionField::Timezone => "timezone",
            ScheduledActionField::MinCapacity => "min_capacity",
            ScheduledActionField::MaxCapacity => "max_capacity",
        }
    }
}

#[async_trait]
impl Resource for ScheduledActionKind {
    const KIND: &'static str = "aws_appautoscaling_scheduled_action";
    // The scalable target just registered and not yet seen; a put is repeated whole.
    const TRANSIENT: Transient = TARGET_NOT_YET;
    // An action taken out of the inputs goes.
    const PRUNE: bool = true;
    type Field = ScheduledActionField;
    type Key = AttachedKey;
    type Desired = ScheduledActionSpec;
    type Observed = FoundAction;
    type Outputs = ScheduledActionOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        vec![Grant::new([
            "application-autoscaling:DescribeScheduledActions",
            "application-autoscaling:PutScheduledAction",
            "application-autoscaling:DeleteScheduledAction",
        ])]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, AttachedKey>],
    ) -> Result<Vec<FoundAction>, Error> {
        let reads = every_attached(wanted, |id| read_actions(aws, id)).await?;
        let mut found = Vec::new();
        for a in reads {
            let bounds = a.scalable_target_action();
            found.push(FoundAction {
                owner: owner_of(wanted, a.resource_id(), a.scheduled_action_name()),
                name: a.scheduled_action_name().to_owned(),
                resource_id: a.resource_id().to_owned(),
                arn: a.scheduled_action_arn().to_owned(),
                schedule: a.schedule().to_owned(),
                timezone: a.timezone().map(str::to_owned),
                min_capacity: bounds.and_then(|b| b.min_capacity()),
                max_capacity: bounds.and_then(|b| b.max_capacity()),
            });
        }
        Ok(found)
    }

    fn name<'o>(&self, o: &'o FoundAction) -> &'o str {
        &o.name
    }

    fn matches(&self, o: &FoundAction, name: &str, key: &AttachedKey) -> bool {
        o.name == name && o.resource_id == key.resource_id
    }

    fn owner<'o>(&self, o: &'o FoundAction) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundAction) -> String {
        o.arn.clone()
    }

    fn describe(&self, d: &ScheduledActionSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(
                ScheduledActionField::Schedule,
                None::<String>,
                Some(&d.schedule),
            )
            .update(
                ScheduledActionField::Timezone,
                None::<String>,
                Some(shown(zone(&d.timezone))),
            )
            .update(
                ScheduledActionField::MinCapacity,
                None::<String>,
                Some(shown(d.min_capacity)),
            )
            .update(
                ScheduledActionField::MaxCapacity,
                None::<String>,
                Some(shown(d.max_capacity)),
            );
        delta.diffs()
    }

    /// Every attribute changes in place: `PutScheduledAction` overwrites the action.
    fn diff(&self, d: &ScheduledActionSpec, o: &FoundAction) -> Delta<ScheduledActionField> {
        let mut delta = Delta::new();
        delta.compare(
            ScheduledActionField::Schedule,
            &o.schedule,
            &Value::Known(d.schedule.clone()),
        );
        if zone(&o.timezone) != zone(&d.timezone) {
            delta.update(
                ScheduledActionField::Timezone,
                Some(shown(zone(&o.timezone))),
                Some(shown(zone(&d.timezone))),
            );
        }
        for (field, have, want) in [
            (
                ScheduledActionField::MinCapacity,
                o.min_capacity,
                d.min_capacity,
            ),
            (
                ScheduledActionField::MaxCapacity,
                o.max_capacity,
                d.max_capacity,
            ),
        ] {
            if have != want {
                delta.update(field, Some(shown(have)), Some(shown(want)));
            }
        }
        delta
    }

    fn outputs(&self, o: &FoundAction) -> ScheduledActionOutputs {
        ScheduledActionOutputs {
            name: o.name.clone(),
        }
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &ScheduledActionSpec,
    ) -> Result<ScheduledActionOutputs, Error> {
        put(cx, d).await
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ScheduledActionSpec,
        _o: &FoundAction,
        delta: &Delta<ScheduledActionField>,
    ) -> Result<ScheduledActionOutputs, Error> {
        for field in delta.fields() {
            match field {
                // The one `PutScheduledAction` below overwrites them all.
                ScheduledActionField::Schedule
                | ScheduledActionField::Timezone
                | ScheduledActionField::MinCapacity
                | ScheduledActionField::MaxCapacity => {}
            }
        }
        put(cx, d).await
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundAction) -> Result<(), Error> {
        let result = cx
            .aws
            .appautoscaling()
            .delete_scheduled_action()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(dimension())
            .resource_id(&o.resource_id)
            .scheduled_action_name(&o.name)
            .send()
            .await
            .context("DeleteScheduledAction", ScheduledActionKind::label(&o.name));
        ignore_gone(result)
    }
}

/// Creates or overwrites the action.
async fn put(cx: Cx<'_>, d: &ScheduledActionSpec) -> Result<ScheduledActionOutputs, Error> {
    let aws = cx.aws;
    let bounds = ScalableTargetAction::builder()
        .set_min_capacity(d.min_capacity)
        .set_max_capacity(d.max_capacity)
        .build();
    aws.appautoscaling()
        .put_scheduled_action()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(dimension())
        .resource_id(&d.resource_id)
        .scheduled_action_name(cx.name)
        .schedule(&d.schedule)
        .set_timezone(d.timezone.clone())
        .scalable_target_action(bounds)
        .send()
        .await
        .context("PutScheduledAction", ScheduledActionKind::label(cx.name))?;
    Ok(ScheduledActionOutputs {
        name: cx.name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> FoundAction {
        FoundAction {
            name: "blog-web-night".into(),
            resource_id: "service/blog/web".into(),
            arn: "arn:action".into(),
            schedule: "cron(0 20 * * ? *)".into(),
            timezone: None,
            min_capacity: Some(1),
            max_capacity: Some(2),
            owner: None,
        }
    }

    fn spec() -> ScheduledActionSpec {
        ScheduledActionSpec {
            resource_id: "service/blog/web".into(),
            schedule: "cron(0 20 * * ? *)".into(),
            timezone: Some("UTC".into()),
            min_capacity: Some(1),
            max_capacity: Some(2),
        }
    }

    #[test]
    fn every_field_changes_in_place_and_utc_is_no_zone() {
        assert!(ScheduledActionKind.diff(&spec(), &found()).is_empty());
        let moved = ScheduledActionSpec {
            timezone: Some("Europe/Amsterdam".into()),
            max_capacity: None,
            ..spec()
        };
        let delta = ScheduledActionKind.diff(&moved, &found());
        assert!(!delta.replaces());
        assert_eq!(
            delta.fields(),
            [
                ScheduledActionField::Timezone,
                ScheduledActionField::MaxCapacity
            ]
        );
        assert_eq!(delta.diffs()[1].field, "max_capacity");
        assert_eq!(delta.diffs()[1].after.as_deref(), Some("(unset)"));
    }
}
