//! The metric alarm kind against aws-smithy-mocks answering from a small in-memory
//! CloudWatch: the calls an alarm is made, changed and deleted with, and an alarm another
//! owner has left alone. Every call the kind makes has a rule; a call that matches none
//! panics, naming it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::operation::delete_alarms::{DeleteAlarmsError, DeleteAlarmsOutput};
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_cloudwatch::operation::put_metric_alarm::{PutMetricAlarmInput, PutMetricAlarmOutput};
use aws_sdk_cloudwatch::operation::tag_resource::TagResourceOutput;
use aws_sdk_cloudwatch::operation::untag_resource::UntagResourceOutput;
use aws_sdk_cloudwatch::types::error::ResourceNotFound;
use aws_sdk_cloudwatch::types::{MetricAlarm, Tag};
use aws_sdk_cloudwatch::Client as Cw;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use converge::phase::Resolve;
use converge::{Aws, Error, Resource, Retry, Stack, Tags, Value, OWNER_TAG};
use ecs_service::{
    AlarmMetric, AlarmSource, ComparisonOperator, MetricAlarmKind, MetricAlarmSpec, MetricMath,
    TreatMissingData,
};

const PREFIX: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:";

/// An alarm and its tags, by name.
type Alarms = Arc<Mutex<BTreeMap<String, (MetricAlarm, BTreeMap<String, String>)>>>;

/// What CloudWatch saw, in order: each mutating call and what it set.
type Seen = Arc<Mutex<Vec<String>>>;

fn tags() -> Tags {
    Tags::for_instance("ecs-service", "blog", "web")
}

/// The alarm a put makes (as `DescribeAlarms` returns it).
fn stored(r: &PutMetricAlarmInput) -> MetricAlarm {
    let name = r.alarm_name().unwrap_or_default();
    MetricAlarm::builder()
        .alarm_name(name)
        .alarm_arn(format!("{PREFIX}{name}"))
        .set_alarm_description(r.alarm_description().map(str::to_owned))
        .set_namespace(r.namespace().map(str::to_owned))
        .set_metric_name(r.metric_name().map(str::to_owned))
        .set_statistic(r.statistic().cloned())
        .set_extended_statistic(r.extended_statistic().map(str::to_owned))
        .set_dimensions(Some(r.dimensions().to_vec()))
        .set_period(r.period())
        .set_evaluation_periods(r.evaluation_periods())
        .set_datapoints_to_alarm(r.datapoints_to_alarm())
        .set_threshold(r.threshold())
        .set_comparison_operator(r.comparison_operator().cloned())
        .set_treat_missing_data(r.treat_missing_data().map(str::to_owned))
        .set_metrics(Some(r.metrics().to_vec()))
        .build()
}

fn pairs(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            let key = t.key().unwrap_or_default().to_owned();
            (key, t.value().unwrap_or_default().to_owned())
        })
        .collect()
}

/// CloudWatch, answering from `alarms` and noting every change in `seen`.
fn cloudwatch(alarms: &Alarms, seen: &Seen) -> Aws {
    let (a, s) = (alarms.clone(), seen.clone());
    let describe = mock!(Cw::describe_alarms).then_compute_output(move |r| {
        let alarms = a.lock().unwrap();
        let found =
            (r.alarm_names().iter()).filter_map(|n| alarms.get(n).map(|(alarm, _)| alarm.clone()));
        DescribeAlarmsOutput::builder()
            .set_metric_alarms(Some(found.collect()))
            .build()
    });
    let a = alarms.clone();
    let list_tags = mock!(Cw::list_tags_for_resource).then_compute_output(move |r| {
        let alarms = a.lock().unwrap();
        let name = r
            .resource_arn()
            .unwrap_or_default()
            .trim_start_matches(PREFIX);
        let tags = alarms.get(name).map(|(_, t)| t.clone()).unwrap_or_default();
        let tags = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build());
        ListTagsForResourceOutput::builder()
            .set_tags(Some(tags.collect()))
            .build()
    });
    let a = alarms.clone();
    let put = mock!(Cw::put_metric_alarm).then_compute_output(move |r| {
        let mut alarms = a.lock().unwrap();
        let name = r.alarm_name().unwrap_or_default().to_owned();
        s.lock().unwrap().push(format!(
            "PutMetricAlarm {name} threshold={} tags={}",
            r.threshold().unwrap_or_default(),
            r.tags().len()
        ));
        // AWS ignores the tags of a put that overwrites an alarm.
        let tags = match alarms.get(&name) {
            Some((_, tags)) => tags.clone(),
            None => pairs(r.tags()),
        };
        alarms.insert(name, (stored(r), tags));
        PutMetricAlarmOutput::builder().build()
    });
    let (a, s) = (alarms.clone(), seen.clone());
    let tag = mock!(Cw::tag_resource).then_compute_output(move |r| {
        let mut alarms = a.lock().unwrap();
        let name = r
            .resource_arn()
            .unwrap_or_default()
            .trim_start_matches(PREFIX);
        let set = pairs(r.tags());
        s.lock().unwrap().push(format!(
            "TagResource {name} {:?}",
            set.keys().collect::<Vec<_>>()
        ));
        alarms.get_mut(name).unwrap().1.extend(set);
        TagResourceOutput::builder().build()
    });
    let (a, s) = (alarms.clone(), seen.clone());
    let untag = mock!(Cw::untag_resource).then_compute_output(move |r| {
        let mut alarms = a.lock().unwrap();
        let name = r
            .resource_arn()
            .unwrap_or_default()
            .trim_start_matches(PREFIX);
        s.lock()
            .unwrap()
            .push(format!("UntagResource {name} {:?}", r.tag_keys()));
        let tags = &mut alarms.get_mut(name).unwrap().1;
        for key in r.tag_keys() {
            tags.remove(key);
        }
        UntagResourceOutput::builder().build()
    });
    let (a, s) = (alarms.clone(), seen.clone());
    let (gone, s2) = (alarms.clone(), seen.clone());
    let delete = mock!(Cw::delete_alarms)
        .match_requests(move |r| {
            let alarms = a.lock().unwrap();
            r.alarm_names().iter().all(|n| alarms.contains_key(n))
        })
        .then_compute_output(move |r| {
            s.lock()
                .unwrap()
                .push(format!("DeleteAlarms {:?}", r.alarm_names()));
            let mut alarms = gone.lock().unwrap();
            for name in r.alarm_names() {
                alarms.remove(name);
            }
            DeleteAlarmsOutput::builder().build()
        });
    // AWS refuses to delete an alarm that is not there.
    let missing = mock!(Cw::delete_alarms)
        .match_requests(move |r| {
            s2.lock()
                .unwrap()
                .push(format!("DeleteAlarms {:?} (not found)", r.alarm_names()));
            true
        })
        .then_error(|| {
            DeleteAlarmsError::ResourceNotFound(
                ResourceNotFound::builder()
                    .message("no such alarm")
                    .meta(
                        aws_sdk_cloudwatch::error::ErrorMetadata::builder()
                            .code("ResourceNotFound")
                            .message("no such alarm")
                            .build(),
                    )
                    .build(),
            )
        });
    let rules: Vec<Rule> = vec![describe, list_tags, put, tag, untag, delete, missing];
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &rules, |c| c
        .retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled()));
    Aws::builder()
        .cloudwatch(client)
        .retry(Retry::fast())
        .build()
}

fn rate(threshold: f64) -> MetricAlarmSpec {
    let metric = |name: &str| AlarmMetric {
        namespace: "AWS/ApplicationELB".into(),
        metric_name: name.into(),
        dimensions: vec![
            (
                "TargetGroup".into(),
                Value::Known("targetgroup/blog-web/2".into()),
            ),
            ("LoadBalancer".into(), Value::Known("app/blog/1".into())),
        ],
        statistic: "Sum".into(),
        period: 60,
    };
    MetricAlarmSpec {
        description: Some("5XX rate".into()),
        source: AlarmSource::Math(MetricMath {
            id: "e1".into(),
            expression: "100*FILL(m1,0)/m2".into(),
            label: None,
            metrics: vec![
                ("m1".into(), metric("HTTPCode_Target_5XX_Count")),
                ("m2".into(), metric("RequestCount")),
            ],
        }),
        evaluation_periods: 3,
        datapoints_to_alarm: Some(2),
        threshold,
        comparison_operator: ComparisonOperator::GreaterThanThreshold,
        treat_missing_data: TreatMissingData::NotBreaching,
        tags: BTreeMap::new(),
    }
}

fn one(spec: MetricAlarmSpec, tags: Tags) -> (Stack, converge::Handle<MetricAlarmKind>) {
    let mut stack = Stack::new();
    let handle = stack.add(MetricAlarmKind, "blog-web-5xx-rate", tags, (), move |_| {
        spec.clone()
    });
    (stack, handle)
}

#[tokio::test]
async fn an_alarm_is_put_with_its_tags_and_read_back_for_its_arn() {
    let (alarms, seen) = (Alarms::default(), Seen::default());
    let aws = cloudwatch(&alarms, &seen);
    let (stack, handle) = one(rate(5.0), tags());
    let plan = stack.plan(&aws).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (1, 0, 0), "{plan}");
    let applied = stack.apply(&aws).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["PutMetricAlarm blog-web-5xx-rate threshold=5 tags=3"]
    );
    let out = applied.get(&handle).into_known().unwrap();
    assert_eq!(out.alarm_arn, format!("{PREFIX}blog-web-5xx-rate"));
    assert_eq!(out.alarm_name, "blog-web-5xx-rate");
    // The math went as one expression returning data over two metrics that do not.
    let (alarm, tags_on_it) = alarms.lock().unwrap()["blog-web-5xx-rate"].clone();
    let queries = alarm.metrics();
    assert_eq!(queries.len(), 3);
    assert!(alarm.namespace().is_none() && alarm.statistic().is_none());
    let returned: Vec<_> = queries
        .iter()
        .filter(|q| q.return_data() == Some(true))
        .collect();
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].expression(), Some("100*FILL(m1,0)/m2"));
    assert_eq!(tags_on_it[OWNER_TAG], tags().owner());
    // A second apply changes nothing.
    aws.calls().reset();
    stack.apply(&aws).await.unwrap();
    assert_eq!(
        aws.calls().report().mutating,
        0,
        "{:#}",
        aws.calls().report()
    );
}

#[tokio::test]
async fn a_threshold_is_put_again_without_tags_and_tags_are_set_apart() {
    let (alarms, seen) = (Alarms::default(), Seen::default());
    let aws = cloudwatch(&alarms, &seen);
    one(rate(5.0), tags()).0.apply(&aws).await.unwrap();
    seen.lock().unwrap().clear();
    let (higher, _) = one(rate(10.0), tags());
    let plan = higher.plan(&aws).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    higher.apply(&aws).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["PutMetricAlarm blog-web-5xx-rate threshold=10 tags=0"]
    );
    // An extra tag on AWS goes, one asked for comes: no put.
    alarms
        .lock()
        .unwrap()
        .get_mut("blog-web-5xx-rate")
        .unwrap()
        .1
        .insert("stray".into(), "x".into());
    seen.lock().unwrap().clear();
    let team = BTreeMap::from([("team".to_owned(), "web".to_owned())]);
    let spec = MetricAlarmSpec {
        tags: team.clone(),
        ..rate(10.0)
    };
    let (tagged, _) = one(spec, tags().with_extra(team));
    tagged.apply(&aws).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "TagResource blog-web-5xx-rate [\"team\"]",
            "UntagResource blog-web-5xx-rate [\"stray\"]"
        ]
    );
    assert!(tagged.plan(&aws).await.unwrap().plan().is_empty());
}

#[tokio::test]
async fn an_alarm_no_longer_asked_for_is_deleted_and_a_missing_one_is_done() {
    let (alarms, seen) = (Alarms::default(), Seen::default());
    let aws = cloudwatch(&alarms, &seen);
    one(rate(5.0), tags()).0.apply(&aws).await.unwrap();
    seen.lock().unwrap().clear();
    // Tracked, not declared: the stack's own alarm goes.
    let mut tracked = Stack::new();
    tracked.track(MetricAlarmKind, "blog-web-5xx-rate", tags(), (), |_| {});
    tracked.apply(&aws).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["DeleteAlarms [\"blog-web-5xx-rate\"]"]
    );
    assert!(alarms.lock().unwrap().is_empty());
    // A delete of an alarm already gone is done.
    let kind = MetricAlarmKind;
    let cx = converge::Cx {
        aws: &aws,
        name: "blog-web-5xx-rate",
        tags: &tags(),
        teardown: true,
    };
    let one_made = {
        one(rate(5.0), tags()).0.apply(&aws).await.unwrap();
        let found = kind
            .read(
                &aws,
                &[converge::Wanted {
                    name: "blog-web-5xx-rate",
                    tags: &tags(),
                    key: &(),
                    teardown: true,
                }],
            )
            .await
            .unwrap();
        alarms.lock().unwrap().clear();
        found
    };
    seen.lock().unwrap().clear();
    kind.delete(cx, &one_made[0]).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["DeleteAlarms [\"blog-web-5xx-rate\"] (not found)"]
    );
}

#[tokio::test]
async fn another_owners_alarm_of_the_name_is_refused_and_left_alone() {
    let (alarms, seen) = (Alarms::default(), Seen::default());
    let aws = cloudwatch(&alarms, &seen);
    let theirs = Tags::for_instance("ecs-service", "blog", "other");
    one(rate(5.0), theirs).0.apply(&aws).await.unwrap();
    seen.lock().unwrap().clear();
    let (ours, _) = one(rate(7.0), tags());
    let err = ours.plan(&aws).await.unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err}");
    ours.destroy(&aws).await.unwrap();
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(alarms.lock().unwrap().len(), 1);
}

/// A kind's create and update get the desired state resolved.
#[tokio::test]
async fn create_takes_the_resolved_state() {
    let (alarms, seen) = (Alarms::default(), Seen::default());
    let aws = cloudwatch(&alarms, &seen);
    let cx = converge::Cx {
        aws: &aws,
        name: "blog-web-5xx-rate",
        tags: &tags(),
        teardown: false,
    };
    let out = MetricAlarmKind
        .create(cx, &rate(3.0).resolve().unwrap())
        .await
        .unwrap();
    // The ARN comes once the alarm is listed.
    assert!(out.alarm_arn.is_empty());
    assert_eq!(
        *seen.lock().unwrap(),
        ["PutMetricAlarm blog-web-5xx-rate threshold=3 tags=3"]
    );
}
