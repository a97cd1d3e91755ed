//! The bundle of SDK clients a module works with.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::region::Region;

use std::sync::Arc;

use crate::metrics::ApiCalls;
use crate::retry::Retry;
use crate::shared::SharedReads;
use crate::token::Run;
use crate::Error;

/// Every SDK client the modules use, sharing one configuration and one [`ApiCalls`] counter.
///
/// Cheap to clone: the SDK clients are reference-counted.
#[derive(Clone, Debug)]
pub struct Aws {
    appautoscaling: aws_sdk_applicationautoscaling::Client,
    autoscaling: aws_sdk_autoscaling::Client,
    ec2: aws_sdk_ec2::Client,
    ecs: aws_sdk_ecs::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    iam: aws_sdk_iam::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    route53: aws_sdk_route53::Client,
    ssm: aws_sdk_ssm::Client,
    region: String,
    calls: ApiCalls,
    retry: Retry,
    /// Within a stack's read: the reads its kinds share.
    shared: Option<SharedReads>,
    /// This bundle's run, which client tokens derive from (shared by its clones).
    run: Arc<Run>,
}

impl Aws {
    /// Clients from the SDK's default chain: `AWS_REGION`, `AWS_ENDPOINT_URL`, profiles,
    /// instance roles. With `AWS_ENDPOINT_URL` pointing at the local emulator, every module runs
    /// against it unchanged.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_sdk_config(&config)
    }

    /// Clients from an already loaded SDK configuration.
    pub fn from_sdk_config(config: &SdkConfig) -> Self {
        Self::builder().sdk_config(config).build()
    }

    /// A builder to hand in clients (mocks in tests) and tune the retry policy.
    pub fn builder() -> AwsBuilder {
        AwsBuilder::default()
    }

    /// The Application Auto Scaling client (services' task counts).
    pub fn appautoscaling(&self) -> &aws_sdk_applicationautoscaling::Client {
        &self.appautoscaling
    }
    /// The Auto Scaling client.
    pub fn autoscaling(&self) -> &aws_sdk_autoscaling::Client {
        &self.autoscaling
    }
    /// The EC2 client.
    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.ec2
    }
    /// The ECS client.
    pub fn ecs(&self) -> &aws_sdk_ecs::Client {
        &self.ecs
    }
    /// The Elastic Load Balancing v2 client.
    pub fn elbv2(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        &self.elbv2
    }
    /// The IAM client.
    pub fn iam(&self) -> &aws_sdk_iam::Client {
        &self.iam
    }
    /// The CloudWatch Logs client.
    pub fn logs(&self) -> &aws_sdk_cloudwatchlogs::Client {
        &self.logs
    }
    /// The Route 53 client.
    pub fn route53(&self) -> &aws_sdk_route53::Client {
        &self.route53
    }
    /// The SSM client.
    pub fn ssm(&self) -> &aws_sdk_ssm::Client {
        &self.ssm
    }
    /// The region the clients talk to.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The counter of every call made through these clients.
    pub fn calls(&self) -> &ApiCalls {
        &self.calls
    }
    /// The retry policy for AWS's eventual-consistency errors.
    pub fn retry(&self) -> &Retry {
        &self.retry
    }

    /// This run's id: made when the bundle is built, shared by its clones, never the same
    /// for two bundles. [`client_token`](crate::client_token)s derive from it.
    pub fn run_id(&self) -> &str {
        self.run.id()
    }

    pub(crate) fn run(&self) -> &Arc<Run> {
        &self.run
    }

    /// A read that several kinds of one stack read need, made once for all of them: `fetch`
    /// runs for the first to ask under `key`, the others get its answer. Outside a stack's
    /// read, `fetch` simply runs.
    pub async fn shared<T, F, Fut>(&self, key: &str, fetch: F) -> Result<Arc<T>, Error>
    where
        T: std::any::Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        match &self.shared {
            Some(shared) => shared.get(key, fetch).await,
            None => fetch().await.map(Arc::new),
        }
    }

    /// These clients, with reads shared for one stack read.
    pub(crate) fn for_one_read(&self) -> Aws {
        Aws {
            shared: Some(SharedReads::default()),
            ..self.clone()
        }
    }
}

/// Builds an [`Aws`]: clients not handed in are made from the SDK configuration given, or from
/// an offline one (region `us-east-1`, no credentials) when none is, which suits tests whose
/// mocks answer every call the code under test makes.
#[derive(Debug, Default)]
pub struct AwsBuilder {
    config: Option<SdkConfig>,
    appautoscaling: Option<aws_sdk_applicationautoscaling::Client>,
    autoscaling: Option<aws_sdk_autoscaling::Client>,
    ec2: Option<aws_sdk_ec2::Client>,
    ecs: Option<aws_sdk_ecs::Client>,
    elbv2: Option<aws_sdk_elasticloadbalancingv2::Client>,
    iam: Option<aws_sdk_iam::Client>,
    logs: Option<aws_sdk_cloudwatchlogs::Client>,
    route53: Option<aws_sdk_route53::Client>,
    ssm: Option<aws_sdk_ssm::Client>,
    retry: Option<Retry>,
}

// Each handed-in client is rebuilt with the call counter added to its own interceptors (a mock's
// included), so counts cover mocks and real clients alike.
macro_rules! counted {
    ($krate:ident, $given:expr, $config:expr, $calls:expr) => {{
        let conf = match $given {
            Some(client) => client.config().to_builder(),
            None => $krate::config::Builder::from($config),
        };
        $krate::Client::from_conf(conf.interceptor($calls.clone()).build())
    }};
}

macro_rules! setters {
    ($($field:ident: $krate:ident),* $(,)?) => {$(
        #[doc = concat!("Uses this `", stringify!($krate), "` client.")]
        pub fn $field(mut self, client: $krate::Client) -> Self {
            self.$field = Some(client);
            self
        }
    )*};
}

impl AwsBuilder {
    /// The configuration for clients not handed in.
    pub fn sdk_config(mut self, config: &SdkConfig) -> Self {
        self.config = Some(config.clone());
        self
    }

    setters! {
        appautoscaling: aws_sdk_applicationautoscaling,
        autoscaling: aws_sdk_autoscaling,
        ec2: aws_sdk_ec2,
        ecs: aws_sdk_ecs,
        elbv2: aws_sdk_elasticloadbalancingv2,
        iam: aws_sdk_iam,
        logs: aws_sdk_cloudwatchlogs,
        route53: aws_sdk_route53,
        ssm: aws_sdk_ssm,
    }

    /// The retry policy for eventual-consistency errors (tests shorten it).
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The bundle.
    pub fn build(self) -> Aws {
        let config = self.config.unwrap_or_else(|| {
            SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::from_static("us-east-1"))
                .build()
        });
        let calls = ApiCalls::new();
        let region = self
            .ec2
            .as_ref()
            .and_then(|c| c.config().region().map(|r| r.to_string()))
            .or_else(|| config.region().map(|r| r.to_string()))
            .unwrap_or_else(|| "us-east-1".to_owned());
        Aws {
            appautoscaling: counted!(
                aws_sdk_applicationautoscaling,
                self.appautoscaling,
                &config,
                calls
            ),
            autoscaling: counted!(aws_sdk_autoscaling, self.autoscaling, &config, calls),
            ec2: counted!(aws_sdk_ec2, self.ec2, &config, calls),
            ecs: counted!(aws_sdk_ecs, self.ecs, &config, calls),
            elbv2: counted!(aws_sdk_elasticloadbalancingv2, self.elbv2, &config, calls),
            iam: counted!(aws_sdk_iam, self.iam, &config, calls),
            logs: counted!(aws_sdk_cloudwatchlogs, self.logs, &config, calls),
            route53: counted!(aws_sdk_route53, self.route53, &config, calls),
            ssm: counted!(aws_sdk_ssm, self.ssm, &config, calls),
            region,
            calls,
            retry: self.retry.unwrap_or_default(),
            shared: None,
            run: Run::new(),
        }
    }
}
