//! What the command line prints: outputs, plans, summaries and failures.

use std::fmt;
use std::io::{self, Write};
use std::time::Instant;

use converge::lease::{LeaseError, LeaseInfo};
use converge::{Aws, Error, Plan};
use serde_json::Value;

use super::command::Failure;
use super::Deployment;

/// The outputs: one JSON object, or `terraform output`'s `name = value` lines with a section
/// per module, then the URLs.
pub(crate) fn outputs<D: Deployment>(
    out: &mut dyn Write,
    outputs: &D::Outputs,
    json: bool,
) -> io::Result<()> {
    let value = serde_json::to_value(outputs).map_err(io::Error::other)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &value).map_err(io::Error::other)?;
        return writeln!(out);
    }
    writeln!(out, "Outputs:")?;
    if let Value::Object(modules) = &value {
        for (name, module) in modules {
            match module {
                Value::Object(fields) => {
                    writeln!(out, "\n{name}:")?;
                    for (field, v) in fields {
                        writeln!(out, "  {field} = {}", scalar(v))?;
                    }
                }
                other => writeln!(out, "\n{name} = {}", scalar(other))?,
            }
        }
    }
    writeln!(out)?;
    for (name, url) in D::urls(outputs) {
        writeln!(out, "{name}: {url}")?;
    }
    Ok(())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".to_owned(),
        other => other.to_string(),
    }
}

/// A plan: Terraform's form, or the changes as JSON (`{"changes": [...]}`).
pub(crate) fn plan(out: &mut dyn Write, plan: &Plan, json: bool) -> io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, plan).map_err(io::Error::other)?;
        writeln!(out)
    } else {
        writeln!(out, "{plan}")
    }
}

/// What destroy deleted.
pub(crate) fn deleted(out: &mut dyn Write, deleted: &Plan, json: bool) -> io::Result<()> {
    if json {
        return plan(out, deleted, true);
    }
    for change in deleted.actions() {
        writeln!(out, "{change}")?;
    }
    Ok(())
}

/// The lease a force-unlock broke: its JSON, or a sentence.
pub(crate) fn broken(out: &mut dyn Write, lease: &LeaseInfo, json: bool) -> io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, lease).map_err(io::Error::other)?;
        return writeln!(out);
    }
    writeln!(out, "Broke the {lease}")
}

/// The closing lines: the headline, the API calls and the wall time.
pub(crate) fn summary(
    err: &mut dyn Write,
    headline: impl fmt::Display,
    aws: &Aws,
    started: Instant,
) -> io::Result<()> {
    let calls = aws.calls().report();
    tracing::info!("calls by operation: {calls:#}");
    writeln!(
        err,
        "\n{headline}\nAPI calls: {} ({} mutating, {} reads) in {:.1}s",
        calls.total,
        calls.mutating,
        calls.reads,
        started.elapsed().as_secs_f64()
    )
}

/// A failure: what failed (resource, operation, AWS code and message), why, and what was
/// left behind; never a panic or a Debug dump.
pub(crate) fn failure(err: &mut dyn Write, failure: &Failure) {
    let _ = match failure {
        Failure::Usage(text) | Failure::Other(text) | Failure::Interrupted(text) => {
            writeln!(err, "error: {text}")
        }
        Failure::Invalid(invalid) => writeln!(err, "error: {invalid}"),
        Failure::Run(run) => run_error(err, run),
    };
}

/// One of our errors in a source chain, boxed or not.
fn ours<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Error> {
    e.downcast_ref::<Error>()
        .or_else(|| e.downcast_ref::<Box<Error>>().map(|b| &**b))
}

fn run_error(err: &mut dyn Write, run: &Error) -> io::Result<()> {
    writeln!(err, "error: {run}")?;
    if let Error::Lease(LeaseError::Held { holder, .. }) = run {
        writeln!(
            err,
            "  hint: wait for it with --lock-timeout (e.g. --lock-timeout 5m); if that run is dead, break its lease with the subcommand `force-unlock {} --environment {}`",
            holder.id, holder.environment
        )?;
    }
    // Our errors carry AWS's code and message; the SDK's own text below them adds nothing.
    let mut cause = std::error::Error::source(run).and_then(ours);
    while let Some(c) = cause {
        writeln!(err, "  caused by: {c}")?;
        cause = std::error::Error::source(c).and_then(ours);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_what_failed_and_what_was_left() {
        let err = Error::Stopped {
            failed: Box::new(converge::Address::new("aws_nat_gateway", "blog-nat", None)),
            done: vec![converge::Address::new(
                "aws_vpc",
                "blog-vpc",
                Some("vpc-1".into()),
            )],
            remaining: vec![converge::Address::new("aws_ecs_service", "blog", None)],
            source: Box::new(Error::Failed {
                resource: "aws_nat_gateway \"blog-nat\"".into(),
                reason: "InsufficientFreeAddressesInSubnet".into(),
            }),
        };
        let mut text = Vec::new();
        failure(&mut text, &Failure::Run(err));
        let text = String::from_utf8(text).unwrap();
        assert_eq!(
            text,
            "error: aws_nat_gateway \"blog-nat\" failed; 1 done before it stopped, 1 not done: run again to finish\n  caused by: aws_nat_gateway \"blog-nat\" failed: InsufficientFreeAddressesInSubnet\n"
        );
    }
}
