//! `aws_flow_log`: the VPC's flow log, delivered to a CloudWatch log group as an IAM role
//! that VPC Flow Logs may assume. Found by the ownership tag; every attribute is fixed
//! (EC2 changes no flow log in place), so a change makes a new one.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    FlowLog, FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ec2::Found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Value, Wanted,
};

/// Which traffic a flow log records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlowLogTraffic {
    /// Accepted and rejected (the default).
    #[default]
    All,
    /// Accepted only.
    Accept,
    /// Rejected only.
    Reject,
}

impl FlowLogTraffic {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::Accept => "ACCEPT",
            Self::Reject => "REJECT",
        }
    }
}

/// The VPC's flow log to CloudWatch Logs: [`VpcBuilder::flow_logs`](crate::VpcBuilder::flow_logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLogs {
    /// How long the log group keeps them, days (default 30); one of CloudWatch's values.
    pub retention_in_days: u32,
    /// Which traffic.
    pub traffic: FlowLogTraffic,
}

impl Default for FlowLogs {
    fn default() -> Self {
        Self {
            retention_in_days: 30,
            traffic: FlowLogTraffic::All,
        }
    }
}

/// The flow log kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FlowLogKind;

/// What the inputs ask for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FlowLogDesired<P: Phase = AtPlan> {
    pub vpc_id: P::Value<String>,
    pub traffic: FlowLogTraffic,
    pub log_group: String,
    pub role_arn: P::Value<String>,
}

impl Resolve for FlowLogDesired {
    type Output = FlowLogDesired<AtApply>;

    fn resolve(&self) -> Result<FlowLogDesired<AtApply>, Unknown> {
        Ok(FlowLogDesired {
            vpc_id: self.vpc_id.resolve("vpc_id")?,
            traffic: self.traffic,
            log_group: self.log_group.clone(),
            role_arn: self.role_arn.resolve("role_arn")?,
        })
    }
}

/// A flow log we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundFlowLog {
    id: String,
    name: String,
    owner: Option<String>,
    vpc_id: String,
    traffic: String,
    log_group: String,
    role_arn: String,
}

/// Its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlowLogOut {
    pub id: String,
}

pub(crate) const KIND: &str = "aws_flow_log";

fn found(found: Found<FlowLog>) -> FoundFlowLog {
    let f = found.item;
    FoundFlowLog {
        id: f.flow_log_id().unwrap_or_default().to_owned(),
        name: found.name,
        owner: found.owner,
        vpc_id: f.resource_id().unwrap_or_default().to_owned(),
        traffic: f
            .traffic_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        log_group: f.log_group_name().unwrap_or_default().to_owned(),
        role_arn: f
            .deliver_logs_permission_arn()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// A flow log's fields that a plan can show changed; all fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowLogField {
    /// The VPC it records.
    VpcId,
    /// Which traffic it records (`ALL`, `ACCEPT`, `REJECT`).
    TrafficType,
    /// The CloudWatch log group it delivers to.
    LogGroupName,
    /// The role it delivers as.
    IamRoleArn,
}

impl Field for FlowLogField {
    fn name(&self) -> &str {
        match self {
            FlowLogField::VpcId => "vpc_id",
            FlowLogField::TrafficType => "traffic_type",
            FlowLogField::LogGroupName => "log_group_name",
            FlowLogField::IamRoleArn => "iam_role_arn",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        Some(match self {
            FlowLogField::VpcId => "a flow log cannot move to another VPC",
            FlowLogField::TrafficType => "EC2 cannot change a flow log's traffic type",
            FlowLogField::LogGroupName => "EC2 cannot change a flow log's log group",
            FlowLogField::IamRoleArn => "EC2 cannot change a flow log's delivery role",
        })
    }
}

#[async_trait]
impl Resource for FlowLogKind {
    const KIND: &'static str = KIND;
    // Turned off: the flow log goes.
    const PRUNE: bool = true;
    type Field = FlowLogField;
    type Key = ();
    type Desired = FlowLogDesired;
    type Observed = FoundFlowLog;
    type Outputs = FlowLogOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        // iam:PassRole of its role to vpc-flow-logs.amazonaws.com: the role kind grants it.
        vec![
            Grant::new(["ec2:DescribeFlowLogs", "ec2:CreateFlowLogs"]),
            ec2_tags_on_create("CreateFlowLogs"),
            Grant::new(["ec2:DeleteFlowLogs"]).owned(),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundFlowLog>, Error> {
        let logs = converge::ec2::read_owned(
            wanted,
            "DescribeFlowLogs",
            KIND,
            |owned| {
                aws.ec2()
                    .describe_flow_logs()
                    .filter(owned)
                    .into_paginator()
                    .send()
            },
            |page| page.flow_logs.unwrap_or_default(),
        )
        .await?;
        Ok(logs.into_iter().map(found).collect())
    }

    fn name<'o>(&self, o: &'o FoundFlowLog) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundFlowLog) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundFlowLog) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &FlowLogDesired) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(FlowLogField::VpcId, None::<String>, Some(&d.vpc_id))
            .update(
                FlowLogField::TrafficType,
                None::<String>,
                Some(d.traffic.as_str()),
            )
            .update(
                FlowLogField::LogGroupName,
                None::<String>,
                Some(&d.log_group),
            )
            .update(FlowLogField::IamRoleArn, None::<String>, Some(&d.role_arn));
        delta.described()
    }

    fn diff(&self, d: &FlowLogDesired, o: &FoundFlowLog) -> Delta<FlowLogField> {
        let mut delta = Delta::new();
        delta
            .compare(FlowLogField::VpcId, &o.vpc_id, &d.vpc_id)
            .compare(
                FlowLogField::TrafficType,
                &o.traffic,
                &Value::Known(d.traffic.as_str().to_owned()),
            )
            .compare(
                FlowLogField::LogGroupName,
                &o.log_group,
                &Value::Known(d.log_group.clone()),
            )
            .compare(FlowLogField::IamRoleArn, &o.role_arn, &d.role_arn);
        delta
    }

    fn outputs(&self, o: &FoundFlowLog) -> FlowLogOut {
        FlowLogOut { id: o.id.clone() }
    }
    fn output_id(&self, out: &FlowLogOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &FlowLogDesired<AtApply>) -> Result<FlowLogOut, Error> {
        // The SDK fills in no token for this call: without one, a retry after a lost answer
        // makes a second flow log.
        let token = converge::client_token(&cx, KIND, "create", converge::token::EC2);
        let out = cx
            .aws
            .ec2()
            .create_flow_logs()
            .client_token(token.as_str())
            .resource_type(FlowLogsResourceType::Vpc)
            .resource_ids(&d.vpc_id)
            .traffic_type(TrafficType::from(d.traffic.as_str()))
            .log_destination_type(LogDestinationType::CloudWatchLogs)
            .log_group_name(&d.log_group)
            .deliver_logs_permission_arn(&d.role_arn)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::VpcFlowLog, cx.name))
            .send()
            .await
            .context("CreateFlowLogs", cx.address(KIND, None))?;
        // AWS answered, so the token is spent even when the answer is a refusal in
        // `Unsuccessful`: a resend would get that refusal again.
        token.made();
        // EC2 answers a refused create with success and the refusal in `Unsuccessful`.
        if let Some(error) = out.unsuccessful().iter().find_map(|u| u.error()) {
            return Err(Error::Failed {
                resource: cx.address(KIND, None).to_string(),
                reason: format!(
                    "CreateFlowLogs: {}: {}",
                    error.code().unwrap_or_default(),
                    error.message().unwrap_or_default()
                ),
            });
        }
        let id = out.flow_log_ids().first().cloned().unwrap_or_default();
        Ok(FlowLogOut { id })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &FlowLogDesired<AtApply>,
        _o: &FoundFlowLog,
        delta: &Delta<FlowLogField>,
    ) -> Result<FlowLogOut, Error> {
        for field in delta.fields() {
            match field {
                // Every attribute is fixed: the executor replaces instead.
                FlowLogField::VpcId
                | FlowLogField::TrafficType
                | FlowLogField::LogGroupName
                | FlowLogField::IamRoleArn => {}
            }
        }
        self.create(cx, d).await
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundFlowLog) -> Result<(), Error> {
        cx.aws
            .ec2()
            .delete_flow_logs()
            .flow_log_ids(&o.id)
            .send()
            .await
            .context("DeleteFlowLogs", cx.address(KIND, Some(o.id.clone())))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_ec2::operation::create_flow_logs::CreateFlowLogsOutput;
    use aws_sdk_ec2::types::{UnsuccessfulItem, UnsuccessfulItemError};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    fn wants() -> FlowLogDesired {
        FlowLogDesired {
            vpc_id: Value::Known("vpc-1".into()),
            traffic: FlowLogTraffic::All,
            log_group: "/aws/vpc-flow-logs/blog".into(),
            role_arn: Value::Known("arn:aws:iam::123456789012:role/blog-vpc-flow-logs".into()),
        }
    }

    #[test]
    fn every_change_replaces_and_says_why() {
        let found = FoundFlowLog {
            id: "fl-1".into(),
            name: "blog-vpc-flow-logs".into(),
            owner: Some("vpc/blog".into()),
            vpc_id: "vpc-1".into(),
            traffic: "ALL".into(),
            log_group: "/aws/vpc-flow-logs/blog".into(),
            role_arn: "arn:aws:iam::123456789012:role/blog-vpc-flow-logs".into(),
        };
        assert!(FlowLogKind.diff(&wants(), &found).is_empty());
        let rejected = FlowLogDesired {
            traffic: FlowLogTraffic::Reject,
            ..wants()
        };
        let delta = FlowLogKind.diff(&rejected, &found);
        assert_eq!(delta.fields(), [FlowLogField::TrafficType]);
        assert_eq!(delta.diffs()[0].field, "traffic_type");
        assert_eq!(
            delta.changes[0].replaces,
            Some("EC2 cannot change a flow log's traffic type")
        );
        // A new one replaces nothing.
        assert!(FlowLogKind
            .describe(&wants())
            .iter()
            .all(|d| d.replaces.is_none()));
    }

    /// Clients whose `CreateFlowLogs` first refuses in its answer's `Unsuccessful`, then
    /// makes `fl-1`; each client token sent is logged in `sent`.
    fn ec2(sent: &Arc<Mutex<Vec<String>>>) -> Aws {
        let sent = Arc::clone(sent);
        let create = mock!(aws_sdk_ec2::Client::create_flow_logs)
            .match_requests(move |r| {
                sent.lock()
                    .unwrap()
                    .push(r.client_token().unwrap_or_default().to_owned());
                true
            })
            .sequence()
            .output(|| {
                CreateFlowLogsOutput::builder()
                    .unsuccessful(
                        UnsuccessfulItem::builder()
                            .error(
                                UnsuccessfulItemError::builder()
                                    .code("AccessDenied")
                                    .message("the role cannot be assumed yet")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            })
            .output(|| CreateFlowLogsOutput::builder().flow_log_ids("fl-1").build())
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &[create], |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        Aws::builder().ec2(client).build()
    }

    #[tokio::test]
    async fn a_refusal_in_the_answer_spends_the_token_and_runs_never_share_one() {
        let sent = Arc::default();
        let tags = converge::Tags::new("vpc", "blog");
        let d = wants().resolve().unwrap();
        let (one, other) = (ec2(&sent), ec2(&sent));
        let cx = |aws| Cx {
            aws,
            name: "blog-vpc-flow-logs",
            tags: &tags,
            teardown: false,
        };
        let refused = FlowLogKind.create(cx(&one), &d).await.unwrap_err();
        assert!(refused.to_string().contains("AccessDenied"), "{refused}");
        assert_eq!(FlowLogKind.create(cx(&one), &d).await.unwrap().id, "fl-1");
        FlowLogKind.create(cx(&other), &d).await.unwrap_err();
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 3);
        assert!(sent.iter().all(|t| t.len() == 32), "{sent:?}");
        // EC2 would answer a resend of the refused call with the same refusal.
        assert_ne!(sent[0], sent[1]);
        assert!(sent[2] != sent[0] && sent[2] != sent[1]);
    }
}
