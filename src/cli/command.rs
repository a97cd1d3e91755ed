//! The command line: arguments, the run, its output and exit codes.

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::{Parser, Subcommand};
use converge::{Aws, Error, Invalid};

use super::progress::{self, Tally};
use super::render;
use super::{Deployment, Settings};
use crate::target::{connect_in, Target};

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
    /// Destroy without asking.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
}

/// The subcommands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Make everything match and print the outputs (the default).
    Apply,
    /// Show what apply would change.
    Plan,
    /// Delete everything this deployment made (asks first, unless --yes).
    Destroy,
    /// Print the outputs of what exists (it must match the inputs: there is no state file).
    Output,
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
    mut io: Io,
) -> ExitCode {
    use clap::CommandFactory;
    let matches = Args::command()
        .about(about)
        .try_get_matches_from(args)
        .and_then(|m| <Args as clap::FromArgMatches>::from_arg_matches(&m));
    let args = match matches {
        Ok(args) => args,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
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
    let subscriber = progress::subscriber(io.err.clone(), io.err_is_terminal, tally.clone());
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
    match runtime.block_on(execute::<D>(&args, &mut io, &tally)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            render::failure(&mut *lock(&err), &failure);
            ExitCode::from(failure.exit_code())
        }
    }
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
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Invalid(_) | Failure::Run(Error::Invalid(_)) => 2,
            Failure::Run(_) | Failure::Other(_) => 1,
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

async fn execute<D: Deployment>(args: &Args, io: &mut Io, tally: &Tally) -> Result<(), Failure> {
    let command = args.command.unwrap_or(Command::Apply);
    let settings = Settings {
        environment: args.environment.clone(),
        wait_steady: args.wait_steady,
        capacity_provider: args.capacity_provider,
    };
    let deployment = D::new(&settings).map_err(Failure::Invalid)?;
    if let Some(region) = &args.region {
        check_region(region)?;
    }
    if command == Command::Destroy && !args.yes {
        let question = format!(
            "Destroy every resource of environment {:?}? There is no undo.",
            settings.environment
        );
        match io.confirm.as_mut() {
            None => {
                return Err(Failure::Usage(
                    "destroy needs --yes when there is no terminal to ask".into(),
                ))
            }
            Some(confirm) => {
                if !confirm(&question) {
                    return Err(Failure::Usage("destroy cancelled".into()));
                }
            }
        }
    }

    if crate::target::resolve(args.target) == Target::Local {
        writeln!(
            lock(&io.err),
            "Waiting for the local AWS emulator at {} to start and warm up (a few seconds; the \
             first time, about a minute more to install it into .emulator/venv)",
            crate::target::emulator_url()
        )?;
    }
    let (aws, target) = connect_to(args).await?;
    writeln!(lock(&io.err), "Target: {target}")?;
    // The summary's time is the run's against AWS, without the emulator's start above.
    let started = Instant::now();
    match command {
        Command::Apply => {
            let outputs = deployment.apply(&aws).await?;
            render::outputs::<D>(&mut io.out, &outputs, args.json)?;
            let (added, changed, destroyed) = tally.summary();
            render::summary(
                &mut *lock(&io.err),
                format_args!(
                    "Apply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
                ),
                &aws,
                started,
            )?;
        }
        Command::Plan => {
            let plan = deployment.plan(&aws).await?;
            render::plan(&mut io.out, &plan, args.json)?;
            render::summary(&mut *lock(&io.err), "Plan complete.", &aws, started)?;
        }
        Command::Destroy => {
            let deleted = deployment.destroy(&aws).await?;
            render::deleted(&mut io.out, &deleted, args.json)?;
            let (_, _, destroyed) = deleted.summary();
            render::summary(
                &mut *lock(&io.err),
                format_args!("Destroy complete! Resources: {destroyed} destroyed."),
                &aws,
                started,
            )?;
        }
        Command::Output => {
            // No state file: the outputs are read from AWS, with the plan in the same read;
            // nothing is written.
            let (stack, outputs) = deployment.stack(&aws).await?;
            let read = stack.plan(&aws).await?;
            let pending = read.plan();
            if !pending.is_empty() {
                let (add, change, destroy) = pending.summary();
                return Err(Failure::Other(format!(
                    "environment {:?} does not match its inputs ({add} to add, {change} to change, {destroy} to destroy); run `plan` to see why, `apply` to converge",
                    settings.environment
                )));
            }
            let outputs = read.value(&outputs).require("the outputs")?;
            render::outputs::<D>(&mut io.out, &outputs, args.json)?;
            render::summary(&mut *lock(&io.err), "Output complete.", &aws, started)?;
        }
    }
    io.out.flush()?;
    Ok(())
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

async fn connect_to(args: &Args) -> Result<(Aws, String), Failure> {
    connect_in(args.target, args.region.as_deref())
        .await
        .map_err(|err| Failure::Other(err.to_string()))
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
    }
}
