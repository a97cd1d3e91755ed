//! The bundle of SDK clients a module works with.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::region::Region;

use std::sync::Arc;
use std::time::Duration;

use crate::metrics::ApiCalls;
use crate::retry::Retry;
use crate::shared::SharedReads;
use crate::throttling::Throttling;
use crate::token::Run;
use crate::Error;

/// Every SDK client the modules use, sharing one configuration and one [`ApiCalls`] counter.
///
/// Cheap to clone: the SDK clients are reference-counted.
#[derive(Clone, Debug)]
pub struct Aws {
    appautoscaling: aws_sdk_applicationautoscaling::Client,
    autoscaling: aws_sdk_autoscaling::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
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
    timeouts: Timeouts,
    throttling: Throttling,
    /// Within a stack's read: the reads its kinds share.
    shared: Option<SharedReads>,
    /// This bundle's run, which client tokens derive from (shared by its clones).
    run: Arc<Run>,
}

impl Aws {
    /// Clients from the SDK's default chain: `AWS_REGION`, `AWS_ENDPOINT_URL`, profiles,
    /// instance roles. With `AWS_ENDPOINT_URL` pointing at the local emulator, every module runs
    /// against it unchanged. Their [`Timeouts`] are the defaults, or what
    /// [`Timeouts::from_env`] reads.
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
    /// The CloudWatch client (metric alarms).
    pub fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        &self.cloudwatch
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
    /// The connect, attempt and operation timeouts every client has.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
    /// How these clients and the stacks that use them meet AWS's throttling.
    pub fn throttling(&self) -> Throttling {
        self.throttling
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
    cloudwatch: Option<aws_sdk_cloudwatch::Client>,
    ec2: Option<aws_sdk_ec2::Client>,
    ecs: Option<aws_sdk_ecs::Client>,
    elbv2: Option<aws_sdk_elasticloadbalancingv2::Client>,
    iam: Option<aws_sdk_iam::Client>,
    logs: Option<aws_sdk_cloudwatchlogs::Client>,
    route53: Option<aws_sdk_route53::Client>,
    ssm: Option<aws_sdk_ssm::Client>,
    retry: Option<Retry>,
    timeouts: Option<Timeouts>,
    throttling: Option<Throttling>,
}

// Each handed-in client is rebuilt with the call counter added to its own interceptors (a mock's
// included), so counts cover mocks and real clients alike, and with the bundle's timeouts. A
// client made here also gets the bundle's attempts and its own retry partition (a handed-in
// one keeps its retry settings: mocks turn retries off).
macro_rules! counted {
    ($krate:ident, $given:expr, $config:expr, $calls:expr, $timeouts:expr, $throttling:expr, $run:expr) => {{
        let conf = match $given {
            Some(client) => client.config().to_builder(),
            None => $krate::config::Builder::from($config)
                .retry_config(retry_config($config, &$throttling))
                .retry_partition(
                    $krate::config::retry::RetryPartition::custom(format!(
                        "{}-{}",
                        stringify!($krate),
                        $run.id()
                    ))
                    // The quota stops retries against a failing service; a throttled call
                    // is AWS asking for a pause, which the backoff gives, and under a big
                    // stack's load hundreds of them would drain the quota for good.
                    .token_bucket(
                        $krate::config::retry::TokenBucket::builder()
                            .throttling_retry_cost(0)
                            .build(),
                    )
                    .build(),
                ),
        };
        $krate::Client::from_conf(
            conf.interceptor($calls.clone())
                .timeout_config($timeouts.config())
                .build(),
        )
    }};
}

/// The configuration's retry settings with the bundle's attempts; a configuration that
/// turned retries off keeps them off, and more attempts asked for (`AWS_MAX_ATTEMPTS`) stay.
fn retry_config(config: &SdkConfig, throttling: &Throttling) -> RetryConfig {
    let base = config
        .retry_config()
        .cloned()
        .unwrap_or_else(RetryConfig::standard);
    if base.max_attempts() <= 1 {
        return base;
    }
    let attempts = base.max_attempts().max(throttling.max_attempts);
    base.with_max_attempts(attempts)
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
        cloudwatch: aws_sdk_cloudwatch,
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

    /// The connect, attempt and operation timeouts of every client, handed-in ones included
    /// (default: [`Timeouts::from_env`]). They replace any the SDK configuration carries.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// How the clients and stacks meet AWS's throttling (default: [`Throttling::default`]).
    pub fn throttling(mut self, throttling: Throttling) -> Self {
        self.throttling = Some(throttling);
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
        let timeouts = self.timeouts.unwrap_or_else(Timeouts::from_env);
        let throttling = self.throttling.unwrap_or_default();
        let run = Run::new();
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
                calls,
                timeouts,
                throttling,
                run
            ),
            autoscaling: counted!(
                aws_sdk_autoscaling,
                self.autoscaling,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            cloudwatch: counted!(
                aws_sdk_cloudwatch,
                self.cloudwatch,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            ec2: counted!(
                aws_sdk_ec2,
                self.ec2,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            ecs: counted!(
                aws_sdk_ecs,
                self.ecs,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            elbv2: counted!(
                aws_sdk_elasticloadbalancingv2,
                self.elbv2,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            iam: counted!(
                aws_sdk_iam,
                self.iam,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            logs: counted!(
                aws_sdk_cloudwatchlogs,
                self.logs,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            route53: counted!(
                aws_sdk_route53,
                self.route53,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            ssm: counted!(
                aws_sdk_ssm,
                self.ssm,
                &config,
                calls,
                timeouts,
                throttling,
                run
            ),
            region,
            calls,
            retry: self.retry.unwrap_or_default(),
            timeouts,
            throttling,
            shared: None,
            run,
        }
    }
}

/// How long a call may take, on every client of an [`Aws`]: so a stalled connection or an
/// unanswered call fails, naming its operation, instead of holding a run forever.
///
/// The defaults suit every call the modules make: the slowest (CreateLoadBalancer,
/// CreateNatGateway, IAM's writes) answer within seconds, as every long change on AWS is
/// asynchronous and waited for by polling, and a [`Wait`](crate::Wait) holds its own
/// deadline. An operation covers the SDK's retries of its attempts (three, standard mode).
/// The environment can change them: `ECS_MODULES_CONNECT_TIMEOUT`,
/// `ECS_MODULES_ATTEMPT_TIMEOUT` and `ECS_MODULES_OPERATION_TIMEOUT`, in seconds (e.g. `2.5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// To open a connection (TCP and TLS): 5 s.
    pub connect: Duration,
    /// For one attempt, from sending the request to reading the whole answer: 30 s.
    pub attempt: Duration,
    /// For an operation, all its attempts and the pauses between them: 120 s.
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(30),
            operation: Duration::from_secs(120),
        }
    }
}

impl Timeouts {
    /// The environment variables that change the defaults.
    pub const ENV: [&'static str; 3] = [
        "ECS_MODULES_CONNECT_TIMEOUT",
        "ECS_MODULES_ATTEMPT_TIMEOUT",
        "ECS_MODULES_OPERATION_TIMEOUT",
    ];

    /// The defaults, changed by the environment variables in [`ENV`](Self::ENV) that are set;
    /// one that is not a positive number of seconds is ignored, with a warning.
    pub fn from_env() -> Self {
        Self::from_vars(|var| std::env::var(var).ok())
    }

    fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut timeouts = Self::default();
        let fields = [
            &mut timeouts.connect,
            &mut timeouts.attempt,
            &mut timeouts.operation,
        ];
        for (var, field) in Self::ENV.into_iter().zip(fields) {
            let Some(text) = get(var) else { continue };
            match text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
            {
                Some(value) => *field = value,
                None => tracing::warn!(var, text, "not a positive number of seconds; ignored"),
            }
        }
        timeouts
    }

    /// The SDK's form.
    pub fn config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

    use crate::AwsResultExt;

    /// An HTTP client whose calls never answer, as a stalled connection.
    #[derive(Debug)]
    struct Stalled;
    impl HttpConnector for Stalled {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::new(std::future::pending())
        }
    }
    impl HttpClient for Stalled {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(Stalled)
        }
    }

    #[test]
    fn timeouts_default_and_read_the_environment() {
        assert_eq!(
            Timeouts::from_vars(|_| None),
            Timeouts {
                connect: Duration::from_secs(5),
                attempt: Duration::from_secs(30),
                operation: Duration::from_secs(120),
            }
        );
        let got = Timeouts::from_vars(|var| match var {
            "ECS_MODULES_CONNECT_TIMEOUT" => Some("2.5".into()),
            "ECS_MODULES_ATTEMPT_TIMEOUT" => Some("-1".into()),
            "ECS_MODULES_OPERATION_TIMEOUT" => Some("soon".into()),
            _ => None,
        });
        assert_eq!(got.connect, Duration::from_millis(2500));
        assert_eq!(got.attempt, Duration::from_secs(30));
        assert_eq!(got.operation, Duration::from_secs(120));
        let aws = Aws::builder().timeouts(got).build();
        assert_eq!(aws.timeouts(), got);
        assert_eq!(
            aws.ecs()
                .config()
                .timeout_config()
                .and_then(|t| t.connect_timeout()),
            Some(Duration::from_millis(2500))
        );
    }

    #[test]
    fn clients_made_here_get_the_bundles_attempts_and_handed_in_ones_keep_theirs() {
        let attempts =
            |c: &aws_sdk_ecs::Client| c.config().retry_config().map(|r| r.max_attempts());
        let aws = Aws::builder().build();
        assert_eq!(attempts(aws.ecs()), Some(10));
        let fewer = Aws::builder().throttling(Throttling::sdk_default()).build();
        assert_eq!(attempts(fewer.ecs()), Some(3));
        let off = aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::from_static("us-east-1"))
                .retry_config(RetryConfig::disabled())
                .build(),
        );
        assert_eq!(attempts(Aws::builder().ecs(off).build().ecs()), Some(1));
        // Each bundle retries from its own quota.
        let partition = |a: &Aws| a.ecs().config().retry_partition().map(|p| p.to_string());
        assert_ne!(partition(&aws), partition(&fewer));
    }

    /// A call that never answers fails with a timeout naming its operation, within the
    /// operation timeout, though the SDK retries the attempts that time out.
    #[tokio::test]
    async fn a_stalled_call_times_out_naming_its_operation() {
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::from_static("us-east-1"))
                .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                    "a", "b", None, None, "test",
                ))
                .http_client(Stalled)
                .build(),
        );
        let aws = Aws::builder()
            .ec2(ec2)
            .timeouts(Timeouts {
                connect: Duration::from_millis(100),
                attempt: Duration::from_millis(100),
                operation: Duration::from_millis(400),
            })
            .build();
        let start = std::time::Instant::now();
        let err = aws
            .ec2()
            .describe_vpcs()
            .send()
            .await
            .context("DescribeVpcs", "aws_vpc \"blog-vpc\"")
            .unwrap_err();
        let took = start.elapsed();
        let text = err.to_string();
        assert!(
            text.starts_with("DescribeVpcs on aws_vpc \"blog-vpc\" failed: ")
                && text.contains("timed out"),
            "{text}"
        );
        assert!(took >= Duration::from_millis(400), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
}
