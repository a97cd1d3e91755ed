//! `aws_cloudwatch_metric_alarm`: a CloudWatch alarm on one metric, or on a metric math
//! expression over several (a target group's 5XX rate: `100 * 5XX count / request count`).
//!
//! Alarm names are unique per account and region: the read asks `DescribeAlarms` for the
//! declared and tracked names, a hundred a call, every page, and each alarm's tags with
//! `ListTagsForResource`; the ownership tag says which are ours. `PutMetricAlarm` makes an
//! alarm, with its tags, and overwrites the whole of one that exists: an update puts it
//! again, without tags (AWS ignores them there), and changes the tags that differ with
//! `TagResource` and `UntagResource`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, Statistic, Tag,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Action, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Progress, Resource,
    Value, Wait, Wanted, AFTER_APPLY, ENVIRONMENT_TAG, NAME_TAG, OWNER_TAG,
};
use serde::{Deserialize, Serialize};

/// The metric alarm kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricAlarmKind;

/// How the value is compared with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ComparisonOperator {
    /// `>`.
    GreaterThanThreshold,
    /// `>=`.
    GreaterThanOrEqualToThreshold,
    /// `<`.
    LessThanThreshold,
    /// `<=`.
    LessThanOrEqualToThreshold,
}

impl ComparisonOperator {
    /// As CloudWatch names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GreaterThanThreshold => "GreaterThanThreshold",
            Self::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Self::LessThanThreshold => "LessThanThreshold",
            Self::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }
}

/// What a period without data counts as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TreatMissingData {
    /// Neither good nor bad: the alarm looks further back (CloudWatch's default).
    #[default]
    Missing,
    /// Good: a target group without traffic reports no 5XX count.
    NotBreaching,
    /// Bad.
    Breaching,
    /// The alarm keeps its state.
    Ignore,
}

impl TreatMissingData {
    /// As CloudWatch names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotBreaching => "notBreaching",
            Self::Breaching => "breaching",
            Self::Ignore => "ignore",
        }
    }
}

/// One metric and how it is summed up over each period. A dimension's value may come from
/// another resource (a target group's ARN).
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmMetric<P: Phase = AtPlan> {
    /// `AWS/ApplicationELB`, `AWS/ECS`.
    pub namespace: String,
    /// `HTTPCode_Target_5XX_Count`, `CPUUtilization`.
    pub metric_name: String,
    /// Name and value of each dimension (`TargetGroup`, `targetgroup/<name>/<id>`).
    pub dimensions: Vec<(String, P::Value<String>)>,
    /// `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount`, or a percentile (`p99`).
    pub statistic: String,
    /// Seconds of each period: 10, 30, or a multiple of 60.
    pub period: i32,
}

/// A metric math expression over metrics: the alarm watches the expression's value.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricMath<P: Phase = AtPlan> {
    /// The expression's id (`e1`), lowercase first.
    pub id: String,
    /// The expression over the metrics' ids: `100*FILL(m1,0)/m2`.
    pub expression: String,
    /// What the expression is called in the console.
    pub label: Option<String>,
    /// The metrics it reads, by id (`m1`); none of them is the alarm's value itself.
    pub metrics: Vec<(String, AlarmMetric<P>)>,
}

/// What an alarm watches.
#[derive(Clone, Debug, PartialEq)]
pub enum AlarmSource<P: Phase = AtPlan> {
    /// One metric.
    Metric(AlarmMetric<P>),
    /// A metric math expression.
    Math(MetricMath<P>),
}

/// What an alarm should be.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricAlarmSpec<P: Phase = AtPlan> {
    /// Its description.
    pub description: Option<String>,
    /// What it watches.
    pub source: AlarmSource<P>,
    /// The periods looked at each time.
    pub evaluation_periods: i32,
    /// Of those, how many must breach (default: all of them).
    pub datapoints_to_alarm: Option<i32>,
    /// The value compared with.
    pub threshold: f64,
    /// How.
    pub comparison_operator: ComparisonOperator,
    /// What a period without data counts as.
    pub treat_missing_data: TreatMissingData,
    /// Tags besides `Name`, `Environment` and the ownership tag (the stack's extra tags).
    pub tags: BTreeMap<String, String>,
}

fn resolve_dimensions(
    dimensions: &[(String, Value<String>)],
    input: &'static str,
) -> Result<Vec<(String, String)>, Unknown> {
    dimensions
        .iter()
        .map(|(name, value)| Ok((name.clone(), value.resolve(input)?)))
        .collect()
}

impl AlarmMetric {
    fn resolve(&self, input: &'static str) -> Result<AlarmMetric<AtApply>, Unknown> {
        Ok(AlarmMetric {
            namespace: self.namespace.clone(),
            metric_name: self.metric_name.clone(),
            dimensions: resolve_dimensions(&self.dimensions, input)?,
            statistic: self.statistic.clone(),
            period: self.period,
        })
    }
}

impl Resolve for MetricAlarmSpec {
    type Output = MetricAlarmSpec<AtApply>;

    fn resolve(&self) -> Result<MetricAlarmSpec<AtApply>, Unknown> {
        let source = match &self.source {
            AlarmSource::Metric(m) => AlarmSource::Metric(m.resolve("source.dimensions")?),
            AlarmSource::Math(math) => AlarmSource::Math(MetricMath {
                id: math.id.clone(),
                expression: math.expression.clone(),
                label: math.label.clone(),
                metrics: (math.metrics.iter())
                    .map(|(id, m)| Ok((id.clone(), m.resolve("source.metrics.dimensions")?)))
                    .collect::<Result<_, Unknown>>()?,
            }),
        };
        Ok(MetricAlarmSpec {
            description: self.description.clone(),
            source,
            evaluation_periods: self.evaluation_periods,
            datapoints_to_alarm: self.datapoints_to_alarm,
            threshold: self.threshold,
            comparison_operator: self.comparison_operator,
            treat_missing_data: self.treat_missing_data,
            tags: self.tags.clone(),
        })
    }
}

/// An alarm as CloudWatch has it.
#[derive(Clone, Debug)]
pub struct FoundAlarm {
    name: String,
    arn: String,
    owner: Option<String>,
    description: Option<String>,
    /// `None` for a shape this kind does not make (several expressions, an anomaly band).
    source: Option<AlarmSource<AtApply>>,
    evaluation_periods: i32,
    datapoints_to_alarm: Option<i32>,
    threshold: Option<f64>,
    comparison_operator: String,
    treat_missing_data: Option<String>,
    /// Every tag, ours included.
    tags: BTreeMap<String, String>,
}

/// An alarm's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricAlarmOutputs {
    /// Its name: what an ECS service's deployment alarms list.
    pub alarm_name: String,
    /// Its ARN.
    pub alarm_arn: String,
}

/// An alarm's fields that a plan can show changed; `PutMetricAlarm` changes them all in
/// place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricAlarmField {
    /// The description.
    Description,
    /// The metric's namespace.
    Namespace,
    /// The metric's name.
    MetricName,
    /// The metric's dimensions.
    Dimensions,
    /// How each period is summed up.
    Statistic,
    /// The period's seconds.
    Period,
    /// The metric math expression and its metrics (or a move between one metric and math).
    Metrics,
    /// The periods looked at.
    EvaluationPeriods,
    /// How many of them must breach.
    DatapointsToAlarm,
    /// The threshold.
    Threshold,
    /// How the value is compared with it.
    ComparisonOperator,
    /// What a period without data counts as.
    TreatMissingData,
    /// The tags besides `Name`, `Environment` and the ownership tag.
    Tags,
}

impl Field for MetricAlarmField {
    fn name(&self) -> &str {
        match self {
            Self::Description => "alarm_description",
            Self::Namespace => "namespace",
            Self::MetricName => "metric_name",
            Self::Dimensions => "dimensions",
            Self::Statistic => "statistic",
            Self::Period => "period",
            Self::Metrics => "metric_query",
            Self::EvaluationPeriods => "evaluation_periods",
            Self::DatapointsToAlarm => "datapoints_to_alarm",
            Self::Threshold => "threshold",
            Self::ComparisonOperator => "comparison_operator",
            Self::TreatMissingData => "treat_missing_data",
            Self::Tags => "tags",
        }
    }
}

/// `Name=value,...` sorted by name, with unknown values as the plan shows them; and whether
/// every value is known.
fn dimensions_text<P: Phase>(dimensions: &[(String, P::Value<String>)]) -> (String, bool) {
    let mut known = true;
    let mut pairs: Vec<String> = dimensions
        .iter()
        .map(|(name, value)| match P::known(value) {
            Some(v) => format!("{name}={v}"),
            None => {
                known = false;
                format!("{name}={AFTER_APPLY}")
            }
        })
        .collect();
    pairs.sort();
    (pairs.join(","), known)
}

/// One metric as the plan shows it: `AWS/ECS CPUUtilization Average 60s {ClusterName=blog}`.
fn metric_text<P: Phase>(m: &AlarmMetric<P>) -> (String, bool) {
    let (dims, known) = dimensions_text::<P>(&m.dimensions);
    let text = format!(
        "{} {} {} {}s {{{dims}}}",
        m.namespace, m.metric_name, m.statistic, m.period
    );
    (text, known)
}

/// What an alarm watches as the plan shows it, and whether every input of it is known.
fn source_text<P: Phase>(source: &AlarmSource<P>) -> (String, bool) {
    match source {
        AlarmSource::Metric(m) => metric_text(m),
        AlarmSource::Math(math) => {
            let mut known = true;
            let mut parts = vec![format!("{} = {}", math.id, math.expression)];
            if let Some(label) = &math.label {
                parts[0].push_str(&format!(" ({label})"));
            }
            let mut metrics: Vec<String> = (math.metrics.iter())
                .map(|(id, m)| {
                    let (text, k) = metric_text(m);
                    known &= k;
                    format!("{id} = {text}")
                })
                .collect();
            metrics.sort();
            parts.extend(metrics);
            (parts.join("; "), known)
        }
    }
}

/// The tags that are not the stack's identity: what the inputs' extra tags are compared with.
fn extra_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(k, _)| ![NAME_TAG, ENVIRONMENT_TAG, OWNER_TAG].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// How a CloudWatch metric alarm's single metric or query list reads back.
fn found_source(alarm: &MetricAlarm) -> Option<AlarmSource<AtApply>> {
    let dims = |dimensions: &[Dimension]| {
        (dimensions.iter())
            .map(|d| {
                let name = d.name().unwrap_or_default().to_owned();
                (name, d.value().unwrap_or_default().to_owned())
            })
            .collect()
    };
    let queries = alarm.metrics();
    if queries.is_empty() {
        let statistic = (alarm.statistic().map(|s| s.as_str()))
            .or(alarm.extended_statistic())
            .unwrap_or_default();
        return Some(AlarmSource::Metric(AlarmMetric {
            namespace: alarm.namespace()?.to_owned(),
            metric_name: alarm.metric_name()?.to_owned(),
            dimensions: dims(alarm.dimensions()),
            statistic: statistic.to_owned(),
            period: alarm.period().unwrap_or_default(),
        }));
    }
    let mut expressions = queries.iter().filter(|q| q.expression().is_some());
    let expression = expressions.next()?;
    if expressions.next().is_some() {
        return None;
    }
    let mut metrics = Vec::new();
    for q in queries.iter().filter(|q| q.expression().is_none()) {
        let stat = q.metric_stat()?;
        let metric = stat.metric()?;
        metrics.push((
            q.id()?.to_owned(),
            AlarmMetric {
                namespace: metric.namespace().unwrap_or_default().to_owned(),
                metric_name: metric.metric_name().unwrap_or_default().to_owned(),
                dimensions: dims(metric.dimensions()),
                statistic: stat.stat().unwrap_or_default().to_owned(),
                period: stat.period().unwrap_or_default(),
            },
        ));
    }
    Some(AlarmSource::Math(MetricMath {
        id: expression.id()?.to_owned(),
        expression: expression.expression()?.to_owned(),
        label: expression.label().map(str::to_owned),
        metrics,
    }))
}

/// The metric alarms of `names` (one `DescribeAlarms` per hundred names, every page).
async fn describe(aws: &Aws, names: &[&str]) -> Result<Vec<MetricAlarm>, Error> {
    let mut found = Vec::new();
    // AWS takes at most 100 names a call.
    for batch in names.chunks(100) {
        let label = MetricAlarmKind::label(batch[0]);
        let pages = (aws.cloudwatch().describe_alarms())
            .set_alarm_names(Some(batch.iter().map(|n| (*n).to_owned()).collect()))
            .alarm_types(AlarmType::MetricAlarm)
            .into_paginator()
            .send();
        let alarms = converge::paging::drain("DescribeAlarms", label, pages, |p| {
            p.metric_alarms.unwrap_or_default()
        })
        .await?;
        // Only the names asked for.
        found.extend(
            alarms
                .into_iter()
                .filter(|a| a.alarm_name().is_some_and(|n| batch.contains(&n))),
        );
    }
    Ok(found)
}

/// An alarm with its tags; `None` when it went between the two reads.
async fn with_tags(aws: &Aws, alarm: MetricAlarm) -> Result<Option<FoundAlarm>, Error> {
    let name = alarm.alarm_name().unwrap_or_default().to_owned();
    let Some(arn) = alarm.alarm_arn().map(str::to_owned) else {
        return Err(Error::Failed {
            resource: MetricAlarmKind::label(&name),
            reason: "DescribeAlarms returned it without an ARN".to_owned(),
        });
    };
    let listed = aws
        .cloudwatch()
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .context("ListTagsForResource", MetricAlarmKind::label(&name));
    let tags: BTreeMap<String, String> = match listed {
        Ok(out) => (out.tags().iter())
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let owner = converge::owner_in(
        tags.iter()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
    );
    Ok(Some(FoundAlarm {
        source: found_source(&alarm),
        description: alarm.alarm_description().map(str::to_owned),
        evaluation_periods: alarm.evaluation_periods().unwrap_or_default(),
        datapoints_to_alarm: alarm.datapoints_to_alarm(),
        threshold: alarm.threshold(),
        comparison_operator: (alarm.comparison_operator())
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        treat_missing_data: alarm.treat_missing_data().map(str::to_owned),
        name,
        arn,
        owner,
        tags,
    }))
}

fn dimensions(dims: &[(String, String)]) -> Vec<Dimension> {
    dims.iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect()
}

fn metric_stat(m: &AlarmMetric<AtApply>) -> MetricStat {
    MetricStat::builder()
        .metric(
            Metric::builder()
                .namespace(&m.namespace)
                .metric_name(&m.metric_name)
                .set_dimensions(Some(dimensions(&m.dimensions)))
                .build(),
        )
        .period(m.period)
        .stat(&m.statistic)
        .build()
}

/// The five statistics `Statistic` takes; any other (a percentile) is an extended one.
const STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// Makes the alarm, or overwrites the whole of it; `tags` only when it is made.
async fn put(
    cx: Cx<'_>,
    d: &MetricAlarmSpec<AtApply>,
    tags: Option<Vec<Tag>>,
) -> Result<(), Error> {
    let mut put = (cx.aws.cloudwatch().put_metric_alarm())
        .alarm_name(cx.name)
        .set_alarm_description(d.description.clone())
        .evaluation_periods(d.evaluation_periods)
        .set_datapoints_to_alarm(d.datapoints_to_alarm)
        .threshold(d.threshold)
        .comparison_operator(d.comparison_operator.as_str().into())
        .treat_missing_data(d.treat_missing_data.as_str())
        .set_tags(tags);
    put = match &d.source {
        AlarmSource::Metric(m) => {
            let put = (put.namespace(&m.namespace))
                .metric_name(&m.metric_name)
                .set_dimensions(Some(dimensions(&m.dimensions)))
                .period(m.period);
            if STATISTICS.contains(&m.statistic.as_str()) {
                put.statistic(Statistic::from(m.statistic.as_str()))
            } else {
                put.extended_statistic(&m.statistic)
            }
        }
        AlarmSource::Math(math) => {
            let mut queries: Vec<MetricDataQuery> = (math.metrics.iter())
                .map(|(id, m)| {
                    MetricDataQuery::builder()
                        .id(id)
                        .metric_stat(metric_stat(m))
                        .return_data(false)
                        .build()
                })
                .collect();
            queries.push(
                MetricDataQuery::builder()
                    .id(&math.id)
                    .expression(&math.expression)
                    .set_label(math.label.clone())
                    .return_data(true)
                    .build(),
            );
            put.set_metrics(Some(queries))
        }
    };
    put.send()
        .await
        .context("PutMetricAlarm", MetricAlarmKind::label(cx.name))?;
    Ok(())
}

/// Sets the tags the inputs give and removes the others that are not the stack's identity.
async fn retag(cx: Cx<'_>, o: &FoundAlarm) -> Result<(), Error> {
    let want = cx.tags.for_resource(cx.name);
    let set: Vec<Tag> = (want.iter())
        .filter(|(k, v)| o.tags.get(*k) != Some(v))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let label = MetricAlarmKind::label(cx.name);
    if !set.is_empty() {
        (cx.aws.cloudwatch().tag_resource())
            .resource_arn(&o.arn)
            .set_tags(Some(set))
            .send()
            .await
            .context("TagResource", &label)?;
    }
    let gone: Vec<String> = (extra_tags(&o.tags).into_keys())
        .filter(|k| !want.contains_key(k))
        .collect();
    if !gone.is_empty() {
        (cx.aws.cloudwatch().untag_resource())
            .resource_arn(&o.arn)
            .set_tag_keys(Some(gone))
            .send()
            .await
            .context("UntagResource", &label)?;
    }
    Ok(())
}

impl MetricAlarmKind {
    /// Compares one metric's parts, field by field.
    fn diff_metric(
        delta: &mut Delta<MetricAlarmField>,
        have: &AlarmMetric<AtApply>,
        want: &AlarmMetric,
    ) {
        use MetricAlarmField as F;
        for (field, h, w) in [
            (F::Namespace, &have.namespace, &want.namespace),
            (F::MetricName, &have.metric_name, &want.metric_name),
            (F::Statistic, &have.statistic, &want.statistic),
        ] {
            if h != w {
                delta.update(field, Some(h), Some(w));
            }
        }
        if have.period != want.period {
            delta.update(F::Period, Some(have.period), Some(want.period));
        }
        let (h, _) = dimensions_text::<AtApply>(&have.dimensions);
        let (w, known) = dimensions_text::<AtPlan>(&want.dimensions);
        if !known || h != w {
            delta.update(F::Dimensions, Some(h), Some(w));
        }
    }
}

impl fmt::Display for ComparisonOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[async_trait]
impl Resource for MetricAlarmKind {
    const KIND: &'static str = "aws_cloudwatch_metric_alarm";
    // Read by the names declared or tracked: an alarm of the stack's no longer asked for goes.
    const PRUNE: bool = true;
    // How long an alarm just put may take to be listed.
    const WAIT: Wait = Wait::new(
        Duration::from_secs(30),
        Duration::from_millis(200),
        Duration::from_secs(2),
    );
    type Field = MetricAlarmField;
    type Key = ();
    type Desired = MetricAlarmSpec;
    type Observed = FoundAlarm;
    type Outputs = MetricAlarmOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        // PutMetricAlarm with tags needs TagResource too.
        vec![
            Grant::new(["cloudwatch:DescribeAlarms"]),
            Grant::new([
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ])
            .on("arn:aws:cloudwatch:*:*:alarm:{name}"),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundAlarm>, Error> {
        let mut names: Vec<&str> = wanted.iter().map(|w| w.name).collect();
        names.sort_unstable();
        names.dedup();
        let alarms = describe(aws, &names).await?;
        let found = futures::future::try_join_all(alarms.into_iter().map(|a| with_tags(aws, a)));
        Ok(found.await?.into_iter().flatten().collect())
    }

    fn name<'o>(&self, o: &'o FoundAlarm) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundAlarm) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundAlarm) -> String {
        o.arn.clone()
    }

    fn tag_target(&self, o: &FoundAlarm) -> Option<converge::TagTarget> {
        Some(converge::TagTarget::CloudWatch(o.arn.clone()))
    }

    fn describe(&self, d: &MetricAlarmSpec) -> Vec<Diff> {
        use MetricAlarmField as F;
        let mut delta = Delta::<F>::new();
        let none = None::<String>;
        if let Some(text) = &d.description {
            delta.update(F::Description, none.clone(), Some(text));
        }
        match &d.source {
            AlarmSource::Metric(m) => {
                delta
                    .update(F::Namespace, none.clone(), Some(&m.namespace))
                    .update(F::MetricName, none.clone(), Some(&m.metric_name))
                    .update(F::Statistic, none.clone(), Some(&m.statistic))
                    .update(F::Period, none.clone(), Some(m.period))
                    .update(
                        F::Dimensions,
                        none.clone(),
                        Some(dimensions_text::<AtPlan>(&m.dimensions).0),
                    );
            }
            AlarmSource::Math(_) => {
                delta.update(F::Metrics, none.clone(), Some(source_text(&d.source).0));
            }
        }
        delta
            .update(
                F::EvaluationPeriods,
                none.clone(),
                Some(d.evaluation_periods),
            )
            .update(
                F::DatapointsToAlarm,
                none.clone(),
                Some(d.datapoints_to_alarm.unwrap_or(d.evaluation_periods)),
            )
            .update(F::Threshold, none.clone(), Some(d.threshold))
            .update(
                F::ComparisonOperator,
                none.clone(),
                Some(d.comparison_operator),
            )
            .update(
                F::TreatMissingData,
                none.clone(),
                Some(d.treat_missing_data.as_str()),
            );
        if !d.tags.is_empty() {
            delta.update(F::Tags, none, Some(tags_text(&d.tags)));
        }
        delta.diffs()
    }

    /// Every field changes in place: `PutMetricAlarm` overwrites the alarm.
    fn diff(&self, d: &MetricAlarmSpec, o: &FoundAlarm) -> Delta<MetricAlarmField> {
        use MetricAlarmField as F;
        let mut delta = Delta::new();
        if o.description != d.description {
            delta.update(
                F::Description,
                o.description.as_ref(),
                d.description.as_ref(),
            );
        }
        match (&o.source, &d.source) {
            (Some(AlarmSource::Metric(have)), AlarmSource::Metric(want)) => {
                Self::diff_metric(&mut delta, have, want);
            }
            (have, want) => {
                let before = have.as_ref().map_or_else(
                    || "(a query this kind does not make)".to_owned(),
                    |h| source_text(h).0,
                );
                let (after, known) = source_text(want);
                if !known || before != after {
                    delta.update(F::Metrics, Some(before), Some(after));
                }
            }
        }
        // Unset, AWS evaluates every period.
        let have_points = o.datapoints_to_alarm.unwrap_or(o.evaluation_periods);
        let want_points = d.datapoints_to_alarm.unwrap_or(d.evaluation_periods);
        for (field, have, want) in [
            (
                F::EvaluationPeriods,
                o.evaluation_periods,
                d.evaluation_periods,
            ),
            (F::DatapointsToAlarm, have_points, want_points),
        ] {
            if have != want {
                delta.update(field, Some(have), Some(want));
            }
        }
        if o.threshold != Some(d.threshold) {
            delta.update(F::Threshold, o.threshold, Some(d.threshold));
        }
        if o.comparison_operator != d.comparison_operator.as_str() {
            delta.update(
                F::ComparisonOperator,
                Some(&o.comparison_operator),
                Some(d.comparison_operator),
            );
        }
        // Unset is `missing`.
        let missing = o.treat_missing_data.as_deref().unwrap_or("missing");
        if missing != d.treat_missing_data.as_str() {
            delta.update(
                F::TreatMissingData,
                Some(missing),
                Some(d.treat_missing_data.as_str()),
            );
        }
        let have_tags = extra_tags(&o.tags);
        if have_tags != d.tags {
            delta.update(
                F::Tags,
                Some(tags_text(&have_tags)),
                Some(tags_text(&d.tags)),
            );
        }
        delta
    }

    fn outputs(&self, o: &FoundAlarm) -> MetricAlarmOutputs {
        MetricAlarmOutputs {
            alarm_name: o.name.clone(),
            alarm_arn: o.arn.clone(),
        }
    }

    fn output_id(&self, out: &MetricAlarmOutputs) -> Option<String> {
        (!out.alarm_arn.is_empty()).then(|| out.alarm_arn.clone())
    }

    /// `PutMetricAlarm` answers nothing: the ARN is read back once the alarm is listed
    /// ([`ready`](Resource::ready)).
    async fn create(
        &self,
        cx: Cx<'_>,
        d: &MetricAlarmSpec<AtApply>,
    ) -> Result<MetricAlarmOutputs, Error> {
        put(cx, d, Some(cx.tags.cloudwatch(cx.name))).await?;
        Ok(MetricAlarmOutputs {
            alarm_name: cx.name.to_owned(),
            alarm_arn: String::new(),
        })
    }

    async fn ready(
        &self,
        cx: Cx<'_>,
        _d: &MetricAlarmSpec<AtApply>,
        out: &MetricAlarmOutputs,
        action: Action,
    ) -> Result<Progress<MetricAlarmOutputs>, Error> {
        if !out.alarm_arn.is_empty() || action == Action::Update {
            return Ok(Progress::Done(out.clone()));
        }
        let listed = describe(cx.aws, &[cx.name]).await?;
        match listed.first().and_then(|a| a.alarm_arn()) {
            Some(arn) => Ok(Progress::Done(MetricAlarmOutputs {
                alarm_arn: arn.to_owned(),
                ..out.clone()
            })),
            None => Ok(Progress::pending(format!(
                "{} to be listed",
                MetricAlarmKind::label(cx.name)
            ))),
        }
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &MetricAlarmSpec<AtApply>,
        o: &FoundAlarm,
        delta: &Delta<MetricAlarmField>,
    ) -> Result<MetricAlarmOutputs, Error> {
        use MetricAlarmField as F;
        let mut put_again = false;
        let mut tags = false;
        for field in delta.fields() {
            match field {
                // One put overwrites the whole alarm (its tags aside).
                F::Description
                | F::Namespace
                | F::MetricName
                | F::Dimensions
                | F::Statistic
                | F::Period
                | F::Metrics
                | F::EvaluationPeriods
                | F::DatapointsToAlarm
                | F::Threshold
                | F::ComparisonOperator
                | F::TreatMissingData => put_again = true,
                // AWS ignores the tags of a put that overwrites an alarm.
                F::Tags => tags = true,
            }
        }
        if put_again {
            put(cx, d, None).await?;
        }
        if tags {
            retag(cx, o).await?;
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundAlarm) -> Result<(), Error> {
        let result = (cx.aws.cloudwatch().delete_alarms())
            .alarm_names(&o.name)
            .send()
            .await
            .context("DeleteAlarms", MetricAlarmKind::label(&o.name));
        ignore_not_found(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu() -> AlarmMetric {
        AlarmMetric {
            namespace: "AWS/ECS".into(),
            metric_name: "CPUUtilization".into(),
            dimensions: vec![
                ("ServiceName".into(), Value::Known("web".into())),
                ("ClusterName".into(), Value::Known("blog".into())),
            ],
            statistic: "Average".into(),
            period: 60,
        }
    }

    fn spec(source: AlarmSource) -> MetricAlarmSpec {
        MetricAlarmSpec {
            description: None,
            source,
            evaluation_periods: 3,
            datapoints_to_alarm: None,
            threshold: 80.0,
            comparison_operator: ComparisonOperator::GreaterThanThreshold,
            treat_missing_data: TreatMissingData::NotBreaching,
            tags: BTreeMap::new(),
        }
    }

    fn rate(tg: Value<String>) -> AlarmSource {
        let metric = |name: &str| AlarmMetric {
            namespace: "AWS/ApplicationELB".into(),
            metric_name: name.into(),
            dimensions: vec![
                ("TargetGroup".into(), tg.clone()),
                ("LoadBalancer".into(), Value::Known("app/lb/1".into())),
            ],
            statistic: "Sum".into(),
            period: 60,
        };
        AlarmSource::Math(MetricMath {
            id: "e1".into(),
            expression: "100*FILL(m1,0)/m2".into(),
            label: Some("5XX rate".into()),
            metrics: vec![
                ("m1".into(), metric("HTTPCode_Target_5XX_Count")),
                ("m2".into(), metric("RequestCount")),
            ],
        })
    }

    /// What AWS has for a desired state whose inputs are all known.
    fn found(d: &MetricAlarmSpec) -> FoundAlarm {
        let d = d.resolve().unwrap();
        let mut tags = d.tags.clone();
        tags.insert(OWNER_TAG.into(), "ecs-service/blog/web".into());
        tags.insert(NAME_TAG.into(), "blog-web-cpu".into());
        FoundAlarm {
            name: "blog-web-cpu".into(),
            arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:blog-web-cpu".into(),
            owner: Some("ecs-service/blog/web".into()),
            description: d.description.clone(),
            source: Some(d.source.clone()),
            evaluation_periods: d.evaluation_periods,
            datapoints_to_alarm: d.datapoints_to_alarm,
            threshold: Some(d.threshold),
            comparison_operator: d.comparison_operator.as_str().into(),
            treat_missing_data: Some(d.treat_missing_data.as_str().into()),
            tags,
        }
    }

    #[test]
    fn what_aws_has_for_the_inputs_is_no_change() {
        for d in [
            spec(AlarmSource::Metric(cpu())),
            spec(rate(Value::Known("targetgroup/tg/2".into()))),
        ] {
            assert!(MetricAlarmKind.diff(&d, &found(&d)).is_empty());
        }
        // AWS leaves out what was not set: datapoints are all the periods, missing data is
        // `missing`; dimensions come back in any order.
        let d = MetricAlarmSpec {
            treat_missing_data: TreatMissingData::Missing,
            datapoints_to_alarm: Some(3),
            ..spec(AlarmSource::Metric(cpu()))
        };
        let mut o = found(&d);
        (o.datapoints_to_alarm, o.treat_missing_data) = (None, None);
        if let Some(AlarmSource::Metric(m)) = &mut o.source {
            m.dimensions.reverse();
        }
        assert!(MetricAlarmKind.diff(&d, &o).is_empty());
    }

    #[test]
    fn every_field_changes_in_place() {
        let before = spec(AlarmSource::Metric(cpu()));
        let mut metric = cpu();
        metric.statistic = "Maximum".into();
        metric.period = 300;
        metric.dimensions[0].1 = Value::Known("api".into());
        let mut tags = BTreeMap::new();
        tags.insert("team".to_owned(), "web".to_owned());
        let after = MetricAlarmSpec {
            description: Some("CPU".into()),
            threshold: 90.0,
            datapoints_to_alarm: Some(2),
            comparison_operator: ComparisonOperator::GreaterThanOrEqualToThreshold,
            treat_missing_data: TreatMissingData::Breaching,
            tags,
            ..spec(AlarmSource::Metric(metric))
        };
        let delta = MetricAlarmKind.diff(&after, &found(&before));
        assert!(!delta.replaces());
        use MetricAlarmField as F;
        assert_eq!(
            delta.fields(),
            [
                F::Description,
                F::Statistic,
                F::Period,
                F::Dimensions,
                F::DatapointsToAlarm,
                F::Threshold,
                F::ComparisonOperator,
                F::TreatMissingData,
                F::Tags
            ]
        );
        let diffs = delta.diffs();
        let threshold = diffs.iter().find(|d| d.field == "threshold").unwrap();
        assert_eq!(
            (threshold.before.as_deref(), threshold.after.as_deref()),
            (Some("80"), Some("90"))
        );
        let dims = diffs.iter().find(|d| d.field == "dimensions").unwrap();
        assert_eq!(
            dims.after.as_deref(),
            Some("ClusterName=blog,ServiceName=api")
        );
        let tags = diffs.iter().find(|d| d.field == "tags").unwrap();
        assert_eq!(
            (tags.before.as_deref(), tags.after.as_deref()),
            (Some(""), Some("team=web"))
        );
    }

    #[test]
    fn an_unknown_dimension_differs_and_shows_as_known_after_apply() {
        let known = spec(rate(Value::Known("targetgroup/tg/2".into())));
        let unknown = spec(rate(Value::AfterApply));
        let delta = MetricAlarmKind.diff(&unknown, &found(&known));
        assert_eq!(delta.fields(), [MetricAlarmField::Metrics]);
        let after = delta.diffs()[0].after.clone().unwrap();
        assert!(after.contains("TargetGroup=(known after apply)"), "{after}");
        assert!(after.starts_with("e1 = 100*FILL(m1,0)/m2 (5XX rate); m1 = "));
        // One metric where AWS has math, or a query list this kind does not make.
        let delta = MetricAlarmKind.diff(&spec(AlarmSource::Metric(cpu())), &found(&known));
        assert_eq!(delta.fields(), [MetricAlarmField::Metrics]);
        let other = FoundAlarm {
            source: None,
            ..found(&known)
        };
        assert_eq!(
            MetricAlarmKind.diff(&known, &other).diffs()[0]
                .before
                .as_deref(),
            Some("(a query this kind does not make)")
        );
    }

    #[test]
    fn a_create_shows_what_it_sets() {
        let d = spec(AlarmSource::Metric(cpu()));
        let diffs = MetricAlarmKind.describe(&d);
        let fields: Vec<&str> = diffs.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "namespace",
                "metric_name",
                "statistic",
                "period",
                "dimensions",
                "evaluation_periods",
                "datapoints_to_alarm",
                "threshold",
                "comparison_operator",
                "treat_missing_data"
            ]
        );
        let math = MetricAlarmKind.describe(&spec(rate(Value::AfterApply)));
        assert_eq!(math[0].field, "metric_query");
    }

    #[test]
    fn resolve_names_the_input_still_unknown() {
        let single = MetricAlarmSpec {
            source: AlarmSource::Metric(AlarmMetric {
                dimensions: vec![("ClusterName".into(), Value::AfterApply)],
                ..cpu()
            }),
            ..spec(AlarmSource::Metric(cpu()))
        };
        assert_eq!(single.resolve().unwrap_err().input, "source.dimensions");
        let math = spec(rate(Value::AfterApply));
        assert_eq!(
            math.resolve().unwrap_err().input,
            "source.metrics.dimensions"
        );
        let known = spec(rate(Value::Known("targetgroup/tg/2".into())))
            .resolve()
            .unwrap();
        let AlarmSource::Math(m) = known.source else {
            panic!("math stays math")
        };
        assert_eq!(
            m.metrics[0].1.dimensions[0],
            ("TargetGroup".to_owned(), "targetgroup/tg/2".to_owned())
        );
    }

    #[test]
    fn found_alarms_read_back_as_one_metric_or_math() {
        let single = MetricAlarm::builder()
            .alarm_name("a")
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .statistic(Statistic::Average)
            .period(60)
            .dimensions(
                Dimension::builder()
                    .name("ClusterName")
                    .value("blog")
                    .build(),
            )
            .build();
        let Some(AlarmSource::Metric(m)) = found_source(&single) else {
            panic!("one metric")
        };
        assert_eq!((m.statistic.as_str(), m.period), ("Average", 60));
        let p99 = MetricAlarm::builder()
            .namespace("AWS/ApplicationELB")
            .metric_name("TargetResponseTime")
            .extended_statistic("p99")
            .build();
        let Some(AlarmSource::Metric(m)) = found_source(&p99) else {
            panic!("one metric")
        };
        assert_eq!(m.statistic, "p99");
        let expression = |id: &str| {
            MetricDataQuery::builder()
                .id(id)
                .expression("m1")
                .return_data(true)
                .build()
        };
        let two = MetricAlarm::builder()
            .metrics(expression("e1"))
            .metrics(expression("e2"))
            .build();
        assert!(found_source(&two).is_none());
    }
}
