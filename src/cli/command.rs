//! The command line: arguments, the run, its output and exit codes.

use std::ffi::OsString;
use std::future::Future;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_types::SdkConfig;
use clap::{Parser, Subcommand};
use converge::lease::{self, Holder, Lease, LeaseOptions};
use converge::{Aws, Error, Invalid, Plan, Refs};

use super::progress::{self, Tally};
use super::render;
use super::saved;
use super::{Deployment, Settings};
use crate::target::{config_in, region_of, Target};

/// The command line.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Args {
    /// What to do (default: apply).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The environment: the prefix of every name and the `Environment` tag, so several can
    /// live side by side.
    #[arg(long, global = true, default_value = "blog")]
    pub environment: String,
    /// The AWS region (default: the usual AWS chain: `AWS_REGION`, the profile, ...).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Where to deploy: auto (`AWS_ENDPOINT_URL` or configured credentials, else the local
    /// emulator), local, or aws.
    #[arg(long, global = true, default_value = "auto")]
    pub target: Target,
    /// Machine output on standard output: one JSON object.
    #[arg(long, global = true)]
    pub json: bool,
    /// Wait for the services to reach a steady state.
    #[arg(long, global = true)]
    pub wait_steady: bool,
    /// fargate_ec2: run the EC2 service through the instances' ECS capacity provider, which
    /// scales the instances from zero with the tasks, instead of the EC2 launch type.
    #[arg(long, global = true)]
    pub capacity_provider: bool,
    /// Deploy the blog's services with ECS's blue/green strategy: ECS moves the load
    /// balancer's traffic to a new revision at once, keeping the old one five minutes to roll
    /// back to.
    #[arg(long, global = true)]
    pub blue_green: bool,
    /// Destroy or force-unlock without asking.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// How long apply and destroy wait for another run's lease on the environment before
    /// failing (`0s`: fail at once, as Terraform's -lock-timeout), e.g. `30s`, `5m`.
    #[arg(long, global = true, default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Let `RUST_LOG` show the AWS SDK's and its HTTP stack's debug and trace logs, which
    /// carry request and response bodies: environment variables, policies, user data. Off by
    /// default, whatever `RUST_LOG` says; a warning says when it is on.
    #[arg(long, global = true, env = "ECS_MODULES_LOG_WIRE")]
    pub log_wire: bool,
}

/// The subcommands.
#[derive(Clone, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Make everything match and print the outputs (the default).
    Apply {
        /// A plan saved with `plan --out`: carry out exactly it, or change nothing when the
        /// inputs or AWS changed since it was made.
        plan: Option<PathBuf>,
    },
    /// Show what apply would change.
    Plan {
        /// Exit with 2 when there are changes, 0 when there are none and 1 on any error
        /// (Terraform's `-detailed-exitcode`), so a CI job can tell drift from failure.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Also save the plan to this file (versioned JSON), for `apply FILE` to carry out.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Delete everything this deployment made (asks first, unless --yes).
    Destroy,
    /// Print the outputs of what exists (it must match the inputs: there is no state file).
    Output,
    /// Print the IAM policy (JSON) that plan, apply and destroy of this deployment in this
    /// environment need, made from its declarations without any AWS call.
    Policy {
        /// The policy of all three examples merged (what docs/iam-policy.json holds, for
        /// the environment `blog`).
        #[arg(long)]
        all_examples: bool,
    },
    /// Break the lease LEASE_ID on the environment, left by a run that died (asks first,
    /// unless --yes). A run that is still alive would go on writing beside the next one.
    ForceUnlock {
        /// The lease's id, as the error of a locked run names it.
        lease_id: String,
    },
}

/// Asks a person a yes/no question; `true` is yes.
pub type Confirm = Box<dyn FnMut(&str) -> bool + Send>;

/// Where the command line writes, and whether a person is there to answer.
pub struct Io {
    /// Standard output: results only.
    pub out: Box<dyn Write + Send>,
    /// Standard error: progress and errors.
    pub err: Arc<Mutex<dyn Write + Send>>,
    /// Whether standard error is a terminal: spinners redraw in place, and help and errors
    /// have colors (help only when standard output is a terminal too; never with `NO_COLOR`).
    pub err_is_terminal: bool,
    /// The answer to destroy's question, when a person can give one.
    pub confirm: Option<Confirm>,
}

impl Io {
    /// The process's standard streams.
    pub fn std() -> Self {
        let interactive = io::stdin().is_terminal() && io::stderr().is_terminal();
        Self {
            out: Box::new(io::stdout()),
            err: Arc::new(Mutex::new(io::stderr())),
            err_is_terminal: io::stderr().is_terminal(),
            confirm: interactive.then(|| {
                Box::new(|question: &str| {
                    eprint!("{question} Only 'yes' will be accepted: ");
                    let mut answer = String::new();
                    io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
                }) as Confirm
            }),
        }
    }
}

/// Parses the process's arguments and runs; what an example's `main` calls.
pub fn main<D: Deployment>(about: &'static str) -> ExitCode {
    run::<D>(about, std::env::args_os(), Io::std())
}

/// Runs the command line `args` (the first is the program name) against `io`. Tests call
/// this with captured output.
pub fn run<D: Deployment>(
    about: &'static str,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    io: Io,
) -> ExitCode {
    run_inner::<D>(about, args, io, None)
}

/// [`run`] against the AWS that `config` points at, whatever `--target` says: tests hand in
/// the emulator's configuration behind the harness (slowed calls, faults).
pub fn run_against<D: Deployment>(
    about: &'static str,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    io: Io,
    config: SdkConfig,
) -> ExitCode {
    run_inner::<D>(about, args, io, Some(config))
}

fn run_inner<D: Deployment>(
    about: &'static str,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    mut io: Io,
    config: Option<SdkConfig>,
) -> ExitCode {
    use clap::CommandFactory;
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // The lease records what ran: the program by its file name, and the subcommand.
    let program = args
        .first()
        .and_then(|p| std::path::Path::new(p).file_name())
        .map_or_else(
            || "ecs-modules".to_owned(),
            |p| p.to_string_lossy().into_owned(),
        );
    let raw_args = args.clone();
    let matches = Args::command()
        .about(about)
        .try_get_matches_from(args)
        .and_then(|m| <Args as clap::FromArgMatches>::from_arg_matches(&m));
    let args = match matches {
        Ok(args) => args,
        Err(err) => {
            let detailed = raw_args.iter().any(|a| a == "--detailed-exitcode");
            let code = match (err.use_stderr(), detailed) {
                (false, _) => 0,
                (true, true) => 1,
                (true, false) => 2,
            };
            // Colors only for a person at a terminal: help redirected to a file, or errors
            // to a pipe, are plain text.
            let to_terminal = io.err_is_terminal
                && std::env::var_os("NO_COLOR").is_none()
                && (code != 0 || io::stdout().is_terminal());
            let text = if to_terminal {
                err.render().ansi().to_string()
            } else {
                err.render().to_string()
            };
            if code == 0 {
                let _ = write!(io.out, "{text}");
            } else {
                let _ = write!(lock(&io.err), "{text}");
            }
            return ExitCode::from(code);
        }
    };
    let tally = Tally::default();
    if args.log_wire {
        let _ = writeln!(
            lock(&io.err),
            "warning: --log-wire: the AWS SDK's debug and trace logs are on (as RUST_LOG asks); they carry request bodies, which can hold secrets"
        );
    }
    let subscriber = progress::subscriber(io.err.clone(), io.err_is_terminal, tally, args.log_wire);
    let _guard = tracing::subscriber::set_default(subscriber);
    // One thread: the subscriber above is this thread's, and every call is I/O bound.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            let _ = writeln!(
                lock(&io.err),
                "error: could not start the async runtime: {err}"
            );
            return ExitCode::from(1);
        }
    };
    let err = io.err.clone();
    let run = Run {
        args: &args,
        program: &program,
        config,
    };
    let detailed = matches!(
        args.command,
        Some(Command::Plan {
            detailed_exitcode: true,
            ..
        })
    );
    match runtime.block_on(execute::<D>(run, &mut io)) {
        Ok(Finished::Done) => ExitCode::SUCCESS,
        Ok(Finished::Changes) => ExitCode::from(CHANGES),
        Err(failure) => {
            render::failure(&mut *lock(&err), &failure);
            // 2 means "changes" to a detailed plan's caller: every failure is 1 there.
            ExitCode::from(if detailed { 1 } else { failure.exit_code() })
        }
    }
}

/// A detailed plan's exit code when there are changes.
const CHANGES: u8 = 2;

/// How a run that did not fail ended.
enum Finished {
    Done,
    /// `plan --detailed-exitcode` found changes.
    Changes,
}

/// Why a run failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad input or usage: exit code 2.
    Usage(String),
    /// The inputs break the modules' rules: exit code 2.
    Invalid(Invalid),
    /// AWS or the runtime failed: exit code 1.
    Run(Error),
    /// Something outside AWS failed (the emulator, writing the output): exit code 1.
    Other(String),
    /// Ctrl-C: the run stopped at its next call and released its lease; exit code 1.
    Interrupted(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Invalid(_) | Failure::Run(Error::Invalid(_)) => 2,
            Failure::Run(_) | Failure::Other(_) | Failure::Interrupted(_) => 1,
        }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure::Run(err)
    }
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Other(format!("writing the output: {err}"))
    }
}

fn lock(
    err: &Arc<Mutex<dyn Write + Send>>,
) -> std::sync::MutexGuard<'_, dyn Write + Send + 'static> {
    err.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One run: the parsed arguments, the program's name, and the AWS configuration handed in
/// (else `--target` decides).
struct Run<'a> {
    args: &'a Args,
    program: &'a str,
    config: Option<SdkConfig>,
}

async fn execute<D: Deployment>(run: Run<'_>, io: &mut Io) -> Result<Finished, Failure> {
    let args = run.args;
    let command = args
        .command
        .clone()
        .unwrap_or(Command::Apply { plan: None });
    let settings = Settings {
        environment: args.environment.clone(),
        wait_steady: args.wait_steady,
        capacity_provider: args.capacity_provider,
        blue_green: args.blue_green,
    };
    let deployment = D::new(&settings).map_err(Failure::Invalid)?;
    if let Some(region) = &args.region {
        check_region(region)?;
    }
    // A saved plan for other inputs is refused before anything connects.
    let saved_plan = match &command {
        Command::Apply { plan: Some(path) } => Some(saved::load(
            path,
            &saved::Inputs::new(run.program, &settings),
        )?),
        _ => None,
    };
    if let Command::Policy { all_examples } = command {
        let policy = if all_examples {
            super::policy::examples_policy(&settings.environment).await?
        } else {
            super::policy::deployment_policy::<D>(&settings).await?
        };
        io.out.write_all(policy.to_json_pretty().as_bytes())?;
        io.out.flush()?;
        return Ok(Finished::Done);
    }
    confirm(&command, args.yes, &settings.environment, io)?;
    let (config, target) = connect(run.config, args, io).await?;
    let aws = Aws::from_sdk_config(&config);
    // The lease's calls (its heartbeats come at any time) are counted apart: the summary's
    // are the stack's, so a second apply still reports no mutating call.
    let lease_aws = Aws::from_sdk_config(&config);
    writeln!(lock(&io.err), "Target: {target}")?;
    // The lease reports through the same stream while the subcommand writes to `io`.
    let lease_err = io.err.clone();
    let locking = Locking {
        aws: &lease_aws,
        environment: &settings.environment,
        wait: args.lock_timeout,
        holder: Holder::current(format!("{} {}", run.program, command.name())),
        err: &lease_err,
    };
    let context = Context {
        deployment: &deployment,
        aws: &aws,
        lease_aws: &lease_aws,
        locking: &locking,
        settings: &settings,
        program: run.program,
        json: args.json,
        // The summary's time is the run's against AWS, without the emulator's start above.
        started: Instant::now(),
    };
    let finished = context.run(command, saved_plan.as_ref(), io).await?;
    io.out.flush()?;
    Ok(finished)
}

/// Destroy and force-unlock ask first, unless `--yes`; with no terminal to ask, they
/// refuse.
fn confirm(command: &Command, yes: bool, environment: &str, io: &mut Io) -> Result<(), Failure> {
    let (verb, question) = match command {
        Command::Destroy => (
            "destroy",
            format!("Destroy every resource of environment {environment:?}? There is no undo."),
        ),
        Command::ForceUnlock { lease_id } => (
            "force-unlock",
            format!(
                "Break the lease {lease_id} on environment {environment:?}? If its run is still alive, two runs will write the environment at once."
            ),
        ),
        _ => return Ok(()),
    };
    if yes {
        return Ok(());
    }
    match io.confirm.as_mut() {
        None => Err(Failure::Usage(format!(
            "{verb} needs --yes when there is no terminal to ask"
        ))),
        Some(confirm) => match confirm(&question) {
            true => Ok(()),
            false => Err(Failure::Usage(format!("{verb} cancelled"))),
        },
    }
}

/// The AWS configuration handed in, or the one `--target` and `--region` choose (starting
/// the local emulator when it is the target), and where it points, for the `Target:` line.
async fn connect(
    given: Option<SdkConfig>,
    args: &Args,
    io: &mut Io,
) -> Result<(SdkConfig, String), Failure> {
    if let Some(config) = given {
        let where_ = match config.endpoint_url() {
            Some(url) => format!("the endpoint {url} ({})", region_of(&config)),
            None => format!("the AWS configuration given ({})", region_of(&config)),
        };
        return Ok((config, where_));
    }
    if crate::target::resolve(args.target) == Target::Local {
        writeln!(
            lock(&io.err),
            "Waiting for the local AWS emulator at {} to start and warm up (a few seconds; the \
             first time, about a minute more to install it into .emulator/venv)",
            crate::target::emulator_url()
        )?;
    }
    config_in(args.target, args.region.as_deref())
        .await
        .map_err(|err| Failure::Other(err.to_string()))
}

/// What a subcommand runs with, once connected.
struct Context<'a, D> {
    deployment: &'a D,
    aws: &'a Aws,
    lease_aws: &'a Aws,
    locking: &'a Locking<'a>,
    settings: &'a Settings,
    program: &'a str,
    json: bool,
    started: Instant,
}

impl<D: Deployment> Context<'_, D> {
    /// Runs `command` (any but `policy`, which needs no connection).
    async fn run(
        &self,
        command: Command,
        saved_plan: Option<&Plan>,
        io: &mut Io,
    ) -> Result<Finished, Failure> {
        let (aws, started) = (self.aws, self.started);
        match command {
            Command::Apply { .. } => {
                let applied = match saved_plan {
                    None => self.locking.run(self.deployment.apply(aws)).await?,
                    Some(plan) => {
                        self.locking
                            .run(self.deployment.apply_plan(aws, plan))
                            .await?
                    }
                };
                render::outputs::<D>(&mut io.out, &applied.outputs, self.json)?;
                // What ran, as the apply reports it (the same plan it executed).
                let (added, changed, destroyed) = applied.changes.summary();
                render::summary(
                    &mut *lock(&io.err),
                    format_args!(
                        "Apply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
                    ),
                    aws,
                    started,
                )?;
            }
            Command::Plan {
                detailed_exitcode,
                out,
            } => return self.plan(detailed_exitcode, out.as_deref(), io).await,
            Command::Destroy => {
                let deleted = self.locking.run(self.deployment.destroy(aws)).await?;
                render::deleted(&mut io.out, &deleted, self.json)?;
                let (_, _, destroyed) = deleted.summary();
                render::summary(
                    &mut *lock(&io.err),
                    format_args!("Destroy complete! Resources: {destroyed} destroyed."),
                    aws,
                    started,
                )?;
            }
            Command::Output => self.output(io).await?,
            Command::ForceUnlock { lease_id } => {
                let environment = &self.settings.environment;
                let broken = lease::force_unlock(self.lease_aws, environment, &lease_id).await?;
                render::broken(&mut io.out, &broken, self.json)?;
                render::summary(
                    &mut *lock(&io.err),
                    "Force-unlock complete! The environment is free.",
                    self.lease_aws,
                    started,
                )?;
            }
            // Printed before any AWS configuration is looked for.
            Command::Policy { .. } => {}
        }
        Ok(Finished::Done)
    }

    /// `plan`: prints it, saves it with `--out`, and with `--detailed-exitcode` says by
    /// the exit code whether it changes anything.
    async fn plan(
        &self,
        detailed_exitcode: bool,
        out: Option<&std::path::Path>,
        io: &mut Io,
    ) -> Result<Finished, Failure> {
        self.locking.note().await?;
        let plan = self.deployment.plan(self.aws).await?;
        render::plan(&mut io.out, &plan, self.json)?;
        if let Some(path) = out {
            let inputs = saved::Inputs::new(self.program, self.settings);
            saved::save(path, inputs, &plan)?;
            writeln!(
                lock(&io.err),
                "Saved the plan to {0}: `apply {0}` carries out exactly it.",
                path.display()
            )?;
        }
        render::summary(
            &mut *lock(&io.err),
            "Plan complete.",
            self.aws,
            self.started,
        )?;
        if detailed_exitcode && !plan.is_empty() {
            return Ok(Finished::Changes);
        }
        Ok(Finished::Done)
    }

    /// `output`: the outputs of what exists, read from AWS with the plan in the same read
    /// (there is no state file); refused while the environment does not match its inputs.
    async fn output(&self, io: &mut Io) -> Result<(), Failure> {
        self.locking.note().await?;
        let (stack, refs) = self.deployment.stack(self.aws).await?;
        let read = stack.plan(self.aws).await?;
        let pending = read.plan();
        if !pending.is_empty() {
            let (add, change, destroy) = pending.summary();
            return Err(Failure::Other(format!(
                "environment {:?} does not match its inputs ({add} to add, {change} to change, {destroy} to destroy); run `plan` to see why, `apply` to converge",
                self.settings.environment
            )));
        }
        let outputs = read.value(&refs.outputs()).require("the outputs")?;
        render::outputs::<D>(&mut io.out, &outputs, self.json)?;
        render::summary(
            &mut *lock(&io.err),
            "Output complete.",
            self.aws,
            self.started,
        )?;
        Ok(())
    }
}

impl Command {
    /// The subcommand as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Apply { .. } => "apply",
            Command::Plan { .. } => "plan",
            Command::Destroy => "destroy",
            Command::Output => "output",
            Command::ForceUnlock { .. } => "force-unlock",
            Command::Policy { .. } => "policy",
        }
    }
}

/// The environment's lease, for the commands that write (apply, destroy) and those that
/// only read and say who holds it (plan, output).
struct Locking<'a> {
    aws: &'a Aws,
    environment: &'a str,
    wait: Duration,
    holder: Holder,
    err: &'a Arc<Mutex<dyn Write + Send>>,
}

impl Locking<'_> {
    /// Takes the lease before `work` makes its first call, runs `work` while it holds, and
    /// releases it at the end: on success, on error, on its loss and on Ctrl-C (the work is
    /// dropped at its next call; an apply cut off so finishes when run again).
    async fn run<T>(&self, work: impl Future<Output = Result<T, Error>>) -> Result<T, Failure> {
        let options = LeaseOptions {
            wait: self.wait,
            holder: self.holder.clone(),
            ..LeaseOptions::default()
        };
        let mut interrupted = std::pin::pin!(ctrl_c());
        if !self.wait.is_zero() {
            writeln!(
                lock(self.err),
                "Acquiring the lease on environment {:?} (waiting up to {:?} for another run)...",
                self.environment,
                self.wait
            )?;
        }
        let lease = tokio::select! {
            lease = Lease::acquire(self.aws, self.environment, options) => lease?,
            () = &mut interrupted => {
                return Err(Failure::Interrupted(format!(
                    "interrupted while waiting for the lease on environment {:?}; nothing was changed",
                    self.environment
                )))
            }
        };
        writeln!(
            lock(self.err),
            "Lease {} taken on environment {:?}",
            lease.id(),
            self.environment
        )?;
        let result = tokio::select! {
            result = lease.guard(work) => result.map_err(Failure::Run),
            () = &mut interrupted => Err(Failure::Interrupted(
                "interrupted: the run stopped at its next call and released its lease; run it again to finish".to_owned(),
            )),
        };
        let id = lease.id().to_owned();
        match lease.release().await {
            Ok(()) => writeln!(lock(self.err), "Lease {id} released")?,
            Err(err) => writeln!(
                lock(self.err),
                "warning: could not release the lease {id} ({err}); it lapses by itself within {:?}",
                LeaseOptions::default().ttl
            )?,
        }
        result
    }

    /// Says on standard error who holds the lease, if anyone: a plan or output read while
    /// another run writes may be out of date when it ends. A lease that cannot be read
    /// (no `ssm:GetParameter` on it) is a warning, not a failure of the read.
    async fn note(&self) -> Result<(), Failure> {
        match lease::holder(self.aws, self.environment).await {
            Ok(None) => {}
            Ok(Some(info)) => writeln!(
                lock(self.err),
                "Note: environment {:?} is locked by a run that may change it: {info}",
                self.environment
            )?,
            Err(err) => writeln!(
                lock(self.err),
                "warning: could not read the lease on environment {:?}: {err}",
                self.environment
            )?,
        }
        Ok(())
    }
}

/// Resolves on Ctrl-C; never, when the signal cannot be watched.
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// `--lock-timeout`: a number and a unit (`ms`, `s`, `m`, `h`), or seconds alone; `1m30s`
/// too.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration such as 0s, 30s, 5m or 1h");
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(unit);
        rest = &rest[unit_len..];
    }
    if text.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// `--region` is checked like any input: AWS's form, e.g. `eu-west-1`.
fn check_region(region: &str) -> Result<(), Failure> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        let mut invalid = Invalid::new();
        invalid.push(
            "--region",
            format_args!("{region:?} is not an AWS region name such as eu-west-1"),
        );
        Err(Failure::Invalid(invalid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_checked() {
        for good in ["us-east-1", "eu-west-3", "us-gov-west-1", "ap-southeast-2"] {
            assert!(check_region(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "us-east-x",
            "useast1",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lock_timeouts_read_as_terraform_writes_them() {
        for (text, secs) in [
            ("0s", 0),
            ("0", 0),
            ("30s", 30),
            ("5m", 300),
            ("1h", 3600),
            ("1m30s", 90),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "s", "5 minutes", "-1s", "1d", "m5"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn failures_map_to_exit_codes() {
        assert_eq!(Failure::Usage("x".into()).exit_code(), 2);
        assert_eq!(Failure::Invalid(Invalid::new()).exit_code(), 2);
        assert_eq!(Failure::Run(Error::Invalid(Invalid::new())).exit_code(), 2);
        assert_eq!(
            Failure::Run(Error::Failed {
                resource: "r".into(),
                reason: "x".into()
            })
            .exit_code(),
            1
        );
        assert_eq!(Failure::Other("x".into()).exit_code(), 1);
        assert_eq!(Failure::Interrupted("x".into()).exit_code(), 1);
    }
}
