//! Where the examples and tests run: the local AWS emulator, or a real AWS account.
//!
//! The emulator is moto in server mode, installed into `.emulator/venv` and started on
//! 127.0.0.1 by `scripts/emulator`, which this module calls.

use std::path::PathBuf;
use std::process::Command;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use converge::Aws;

/// The emulator's default port (`MOTO_PORT` overrides it).
pub const DEFAULT_PORT: u16 = 5000;

/// Which AWS to talk to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// `AWS_ENDPOINT_URL` when set; a real account when credentials are configured
    /// (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, web identity); the local emulator otherwise.
    #[default]
    Auto,
    /// The local emulator, started if needed.
    Local,
    /// The SDK's default chain, as the AWS CLI would use it.
    Aws,
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Target::Auto),
            "local" => Ok(Target::Local),
            "aws" => Ok(Target::Aws),
            other => Err(format!(
                "unknown target {other:?}: expected auto, local or aws"
            )),
        }
    }
}

/// The emulator could not be started.
#[derive(Debug, thiserror::Error)]
#[error("the local AWS emulator did not start ({detail}); start it by hand with `scripts/emulator start` and see .emulator/moto-PORT.log")]
pub struct EmulatorError {
    detail: String,
}

thread_local! {
    /// The port this thread's emulator listens on, when pinned.
    static PINNED_PORT: std::cell::Cell<Option<u16>> = const { std::cell::Cell::new(None) };
}

/// Points this thread's [`emulator_url`], [`start_emulator`] and [`connect`] with
/// [`Target::Local`] at the emulator on `port`, whatever `MOTO_PORT` says. Test suites use it
/// to give each test thread an emulator of its own, so that tests do not queue on one
/// emulator process.
pub fn pin_emulator_port(port: u16) {
    PINNED_PORT.with(|p| p.set(Some(port)));
}

/// The port of this thread's emulator: the pinned one, else `MOTO_PORT`, else
/// [`DEFAULT_PORT`].
pub fn emulator_port() -> u16 {
    PINNED_PORT.with(|p| p.get()).unwrap_or_else(|| {
        std::env::var("MOTO_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(DEFAULT_PORT)
    })
}

/// The emulator's URL.
pub fn emulator_url() -> String {
    format!("http://127.0.0.1:{}", emulator_port())
}

/// Starts the local emulator, installing it on first use, or reuses the one running; either
/// way it is warmed up (see `scripts/emulator`) before this returns.
pub fn start_emulator() -> Result<String, EmulatorError> {
    start_emulator_on(emulator_port())
}

/// Starts (or reuses, warmed up) the emulator on `port`.
pub fn start_emulator_on(port: u16) -> Result<String, EmulatorError> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/emulator");
    let status = Command::new(&script)
        .arg("start")
        .env("MOTO_PORT", port.to_string())
        .status()
        .map_err(|err| EmulatorError {
            detail: format!("could not run {}: {err}", script.display()),
        })?;
    if !status.success() {
        return Err(EmulatorError {
            detail: format!("{} start exited with {status}", script.display()),
        });
    }
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Why no clients could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The local emulator could not be started.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// Real AWS, but no region anywhere in the SDK's chain.
    #[error("no AWS region: give --region or set AWS_REGION (or a region in your AWS profile)")]
    NoRegion,
}

/// Clients for the local emulator (started if needed), with static test credentials.
pub async fn emulator() -> Result<Aws, EmulatorError> {
    Ok(emulator_clients(&start_emulator()?).await)
}

/// Clients for an emulator already running at `url`, in `AWS_REGION` (default us-east-1).
pub async fn emulator_clients(url: &str) -> Aws {
    emulator_clients_in(url, None).await
}

/// Clients for an emulator already running at `url`, in `region` when given.
pub async fn emulator_clients_in(url: &str, region: Option<&str>) -> Aws {
    Aws::from_sdk_config(&emulator_config(url, region).await)
}

/// The SDK configuration for an emulator at `url`: its endpoint, test credentials, and
/// `region` (default `AWS_REGION`, else us-east-1).
pub async fn emulator_config(url: &str, region: Option<&str>) -> aws_types::SdkConfig {
    let region = region
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_owned());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "local-emulator",
        ))
        .load()
        .await
}

fn has(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// What [`Target::Auto`] means here: [`Target::Aws`] when `AWS_ENDPOINT_URL` or credentials
/// (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `AWS_WEB_IDENTITY_TOKEN_FILE`) are set, else
/// [`Target::Local`]; any other target is itself.
pub fn resolve(target: Target) -> Target {
    match target {
        Target::Auto
            if has("AWS_ENDPOINT_URL")
                || has("AWS_ACCESS_KEY_ID")
                || has("AWS_PROFILE")
                || has("AWS_WEB_IDENTITY_TOKEN_FILE") =>
        {
            Target::Aws
        }
        Target::Auto => Target::Local,
        other => other,
    }
}

/// Clients for `target`, and a sentence saying which AWS that is.
pub async fn connect(target: Target) -> Result<(Aws, String), ConnectError> {
    connect_in(target, None).await
}

/// Clients for `target` in `region` (default: the SDK's chain, or us-east-1 for the
/// emulator), and a sentence saying which AWS that is.
pub async fn connect_in(
    target: Target,
    region: Option<&str>,
) -> Result<(Aws, String), ConnectError> {
    let (config, where_) = config_in(target, region).await?;
    Ok((Aws::from_sdk_config(&config), where_))
}

/// The SDK configuration for `target` in `region`, and a sentence saying which AWS that is:
/// what [`connect_in`] makes its clients from, for callers that need more than one set (the
/// command line counts the lease's calls apart from the stack's).
pub async fn config_in(
    target: Target,
    region: Option<&str>,
) -> Result<(aws_types::SdkConfig, String), ConnectError> {
    let target = resolve(target);
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let credentials =
        has("AWS_ACCESS_KEY_ID") || has("AWS_PROFILE") || has("AWS_WEB_IDENTITY_TOKEN_FILE");
    if let (Target::Aws, Some(url), false) = (target, &endpoint, credentials) {
        // An AWS-compatible endpoint without credentials: an emulator, which takes any.
        let config = emulator_config(url, region).await;
        let where_ = format!("the endpoint {url} ({})", region_of(&config));
        return Ok((config, where_));
    }
    if target == Target::Local {
        let config = emulator_config(&start_emulator()?, region).await;
        let where_ = format!(
            "the local AWS emulator at {} ({})",
            emulator_url(),
            region_of(&config)
        );
        return Ok((config, where_));
    }
    let mut config = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        config = config.region(Region::new(region.to_owned()));
    }
    let config = config.load().await;
    if config.region().is_none() {
        return Err(ConnectError::NoRegion);
    }
    let where_ = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => format!("the endpoint {url} ({})", region_of(&config)),
        _ => format!("your AWS account, region {}", region_of(&config)),
    };
    Ok((config, where_))
}

/// The region of `config`, as [`Aws::region`] reports it.
pub(crate) fn region_of(config: &aws_types::SdkConfig) -> &str {
    config.region().map_or("us-east-1", |r| r.as_ref())
}
