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
#[error("the local AWS emulator did not start ({detail}); start it by hand with `scripts/emulator start` and see .emulator/moto.log")]
pub struct EmulatorError {
    detail: String,
}

/// The emulator's URL.
pub fn emulator_url() -> String {
    let port = std::env::var("MOTO_PORT").unwrap_or_else(|_| DEFAULT_PORT.to_string());
    format!("http://127.0.0.1:{port}")
}

/// Starts the local emulator, installing it on first use, or reuses the one running.
pub fn start_emulator() -> Result<String, EmulatorError> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/emulator");
    let status = Command::new(&script)
        .arg("start")
        .status()
        .map_err(|err| EmulatorError {
            detail: format!("could not run {}: {err}", script.display()),
        })?;
    if !status.success() {
        return Err(EmulatorError {
            detail: format!("{} start exited with {status}", script.display()),
        });
    }
    Ok(emulator_url())
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
    let has = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    let target = match target {
        Target::Auto if has("AWS_ENDPOINT_URL") => Target::Aws,
        Target::Auto
            if has("AWS_ACCESS_KEY_ID")
                || has("AWS_PROFILE")
                || has("AWS_WEB_IDENTITY_TOKEN_FILE") =>
        {
            Target::Aws
        }
        Target::Auto => Target::Local,
        other => other,
    };
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let credentials =
        has("AWS_ACCESS_KEY_ID") || has("AWS_PROFILE") || has("AWS_WEB_IDENTITY_TOKEN_FILE");
    if let (Target::Aws, Some(url), false) = (target, &endpoint, credentials) {
        // An AWS-compatible endpoint without credentials: an emulator, which takes any.
        let aws = emulator_clients_in(url, region).await;
        let where_ = format!("the endpoint {url} ({})", aws.region());
        return Ok((aws, where_));
    }
    if target == Target::Local {
        let aws = emulator_clients_in(&start_emulator()?, region).await;
        let where_ = format!(
            "the local AWS emulator at {} ({})",
            emulator_url(),
            aws.region()
        );
        return Ok((aws, where_));
    }
    let mut config = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        config = config.region(Region::new(region.to_owned()));
    }
    let config = config.load().await;
    if config.region().is_none() {
        return Err(ConnectError::NoRegion);
    }
    let aws = Aws::from_sdk_config(&config);
    let where_ = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => format!("the endpoint {url} ({})", aws.region()),
        _ => format!("your AWS account, region {}", aws.region()),
    };
    Ok((aws, where_))
}
