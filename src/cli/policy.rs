//! The IAM policy a deployment needs, from its stack's declarations, without any AWS call:
//! what `policy` prints and what `docs/iam-policy.json` is made from.

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_types::SdkConfig;
use converge::{Aws, Error, Policy, Stack};

use super::{Deployment, Settings};
use crate::blog::{Fargate, FargateEc2, SharedAlb};

/// The region the policy's declarations are made in when none is given (the policy itself
/// names any region).
const REGION: &str = "us-east-1";

/// What `D`, built from `settings`, needs for plan, apply and destroy, with the lease the
/// command line takes on the environment.
pub async fn deployment_policy<D: Deployment>(settings: &Settings) -> Result<Policy, Error> {
    let deployment = D::new(settings).map_err(Error::Invalid)?;
    let aws = offline(REGION);
    let mut policy = Policy::new();
    let (stack, _) = deployment.stack(&aws).await?;
    policy.merge(&stack.policy());
    // What a destroy declares too (kinds only earlier inputs made).
    let mut teardown = Stack::new();
    deployment.declare_teardown(&aws, &mut teardown).await?;
    policy.merge(&teardown.policy());
    policy.extend(converge::lease::permissions(&settings.environment));
    Ok(policy)
}

/// The three examples' policies merged (`fargate_ec2` with and without its capacity
/// provider, each with and without `--blue-green`), for environment `environment`:
/// `docs/iam-policy.json` is this for `blog`.
pub async fn examples_policy(environment: &str) -> Result<Policy, Error> {
    let mut policy = Policy::new();
    for (capacity_provider, blue_green) in [(false, false), (true, false), (false, true)] {
        let settings = Settings {
            environment: environment.to_owned(),
            capacity_provider,
            blue_green,
            ..Settings::default()
        };
        if !capacity_provider {
            policy.merge(&deployment_policy::<Fargate>(&settings).await?);
            policy.merge(&deployment_policy::<SharedAlb>(&settings).await?);
        }
        policy.merge(&deployment_policy::<FargateEc2>(&settings).await?);
    }
    Ok(policy)
}

/// The kinds a deployment declares that say nothing of their permissions.
pub async fn kinds_without_permissions<D: Deployment>(
    settings: &Settings,
) -> Result<Vec<&'static str>, Error> {
    let deployment = D::new(settings).map_err(Error::Invalid)?;
    let aws = offline(REGION);
    let (stack, _) = deployment.stack(&aws).await?;
    let mut teardown = Stack::new();
    deployment.declare_teardown(&aws, &mut teardown).await?;
    let mut kinds = stack.kinds_without_permissions();
    kinds.extend(teardown.kinds_without_permissions());
    kinds.sort_unstable();
    kinds.dedup();
    Ok(kinds)
}

/// Clients that answer the reads a declaration makes (the region's zones, the ECS AMI's
/// parameter) from here, and refuse any other call: a policy is made before its holder
/// may call anything.
fn offline(region: &str) -> Aws {
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "offline", "offline", None, None, "policy",
            )),
        )
        .endpoint_url("http://offline.invalid")
        .http_client(SharedHttpClient::new(Offline {
            region: region.to_owned(),
        }))
        .build();
    Aws::from_sdk_config(&config)
}

#[derive(Clone, Debug)]
struct Offline {
    region: String,
}

impl HttpClient for Offline {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for Offline {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let region = &self.region;
        let (status, text, content_type) = if body.contains("Action=DescribeAvailabilityZones") {
            let zones: String = ["a", "b", "c"]
                .iter()
                .enumerate()
                .map(|(i, z)| {
                    format!(
                        "<item><zoneName>{region}{z}</zoneName><zoneState>available</zoneState>\
                         <regionName>{region}</regionName><zoneId>offline-az{}</zoneId>\
                         <zoneType>availability-zone</zoneType></item>",
                        i + 1
                    )
                })
                .collect();
            (
                200,
                format!(
                    "<DescribeAvailabilityZonesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                     <requestId>offline</requestId><availabilityZoneInfo>{zones}</availabilityZoneInfo>\
                     </DescribeAvailabilityZonesResponse>"
                ),
                "text/xml",
            )
        } else if target.ends_with(".GetParameter") {
            (
                200,
                r#"{"Parameter":{"Name":"ami","Type":"String","Value":"ami-00000000000000000","Version":1}}"#
                    .to_owned(),
                "application/x-amz-json-1.1",
            )
        } else {
            (
                400,
                format!(
                    r#"{{"__type":"Offline","message":"making a policy calls nothing but the declarations' reads (asked: {target}{})"}}"#,
                    body.split('&').next().unwrap_or_default()
                ),
                "application/x-amz-json-1.1",
            )
        };
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).expect("a valid status"),
            SdkBody::from(text),
        );
        response
            .headers_mut()
            .insert("content-type", content_type.to_owned());
        HttpConnectorFuture::ready(Ok(response))
    }
}
