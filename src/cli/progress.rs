//! Progress on standard error, from the modules' [`converge::events`]: each resource as an
//! apply decides on it and makes it, and long waits. On a terminal each wait under way is a
//! live spinner with its elapsed time (`indicatif`), below the lines; elsewhere a wait is a
//! plain line when it starts and when it ends, and nothing is redrawn. Logs (`RUST_LOG`,
//! default `warn`) go to standard error too, never to standard output, without colors unless
//! standard error is a terminal.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use converge::events::{kind, TARGET};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::Registry;

type Sink = Arc<Mutex<dyn Write + Send>>;

/// Warnings, but not the SDK's notes on where it looked for a region or credentials.
const DEFAULT_LOGS: &str = "warn,aws_config=error";

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The changes a run's modules announced, one per resource (the last word wins): a progress
/// line is printed only for news. Apply's summary counts what the apply returns instead
/// (`Applied::changes`); `summary` counts the same way from the announcements.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    actions: Arc<Mutex<HashMap<String, String>>>,
}

impl Tally {
    /// Records `action` for `resource`; whether that is news (a line to print).
    fn record(&self, resource: &str, action: &str) -> bool {
        lock(&self.actions)
            .insert(resource.to_owned(), action.to_owned())
            .as_deref()
            != Some(action)
    }

    /// Resources added, changed and destroyed, a replacement counting as one added and one
    /// destroyed.
    pub fn summary(&self) -> (usize, usize, usize) {
        lock(&self.actions)
            .values()
            .fold((0, 0, 0), |(a, c, d), action| match action.as_str() {
                "create" => (a + 1, c, d),
                "update" => (a, c + 1, d),
                "replace" => (a + 1, c, d + 1),
                "delete" => (a, c, d + 1),
                _ => (a, c, d),
            })
    }
}

/// The targets of the AWS SDK and its HTTP stack, whose debug and trace logs carry request and
/// response bodies and headers (environment variables, policies, user data, signatures).
const WIRE_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sigv4",
    "aws_runtime",
    "aws_sdk_",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// Whether a log of `target` at `level` is wire logging, which only `--log-wire` lets through
/// (warnings and errors always pass).
pub(crate) fn is_wire(target: &str, level: &Level) -> bool {
    let crate_name = target.split("::").next().unwrap_or(target);
    *level > Level::INFO
        && WIRE_TARGETS.iter().any(|t| match t.strip_suffix('_') {
            // A family: `aws_sdk_ecs`, `aws_sdk_iam`, ...
            Some(_) => crate_name.starts_with(t),
            None => crate_name == *t,
        })
}

/// The log layer: `filter` (`RUST_LOG`), without the progress events, and without wire
/// logging unless `wire`.
fn log_layer<S, W>(writer: W, terminal: bool, filter: EnvFilter, wire: bool) -> impl Layer<S>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(terminal)
        .with_filter(filter)
        .with_filter(filter_fn(move |meta| {
            meta.target() != TARGET && (wire || !is_wire(meta.target(), meta.level()))
        }))
}

/// The subscriber a run installs: progress events to `sink`, logs filtered by `RUST_LOG`, the
/// SDK's wire logs only when `wire` (`--log-wire`).
pub(crate) fn subscriber(
    sink: Sink,
    terminal: bool,
    tally: Tally,
    wire: bool,
) -> impl Subscriber + Send + Sync {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOGS));
    let logs = log_layer(std::io::stderr, terminal, filter, wire);
    let progress = ProgressLayer {
        sink,
        tally,
        spinners: terminal.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        waits: Mutex::new(HashMap::new()),
    }
    .with_filter(filter_fn(|meta| meta.target() == TARGET));
    Registry::default().with(logs).with(progress)
}

/// The fields of a progress event.
#[derive(Default)]
struct Fields {
    values: BTreeMap<&'static str, String>,
}

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.values.insert(field.name(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.values.insert(field.name(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.values.insert(field.name(), format!("{value:?}"));
    }
}

/// Writes progress lines, with a spinner per wait on a terminal.
struct ProgressLayer {
    sink: Sink,
    tally: Tally,
    /// On a terminal: where the spinners are drawn, below the lines.
    spinners: Option<MultiProgress>,
    /// The spinners of the waits under way, by what they wait for.
    waits: Mutex<HashMap<String, ProgressBar>>,
}

impl Drop for ProgressLayer {
    fn drop(&mut self) {
        for (_, spinner) in lock(&self.waits).drain() {
            spinner.finish_and_clear();
        }
        if let Some(spinners) = &self.spinners {
            let _ = spinners.clear();
        }
    }
}

impl ProgressLayer {
    fn line(&self, text: fmt::Arguments<'_>) {
        let write = || {
            let mut sink = lock(&self.sink);
            let _ = writeln!(sink, "{text}");
            let _ = sink.flush();
        };
        match &self.spinners {
            Some(spinners) => spinners.suspend(write),
            None => write(),
        }
    }

    fn event(&self, fields: &Fields) {
        let resource = fields.get("resource");
        match fields.get("event") {
            kind::PLANNED => {
                let action = fields.get("action");
                // A resource announced again with the same action is one line, as it is one
                // in the summary.
                if !self.tally.record(resource, action) {
                    return;
                }
                let id = match fields.get("id") {
                    "" => String::new(),
                    id => format!(" ({id})"),
                };
                match action {
                    "unchanged" => self.line(format_args!("  = {resource}{id}: unchanged")),
                    "create" => self.line(format_args!("  + {resource}: creating")),
                    "update" => self.line(format_args!("  ~ {resource}{id}: updating")),
                    "replace" => self.line(format_args!("-/+ {resource}{id}: replacing")),
                    "delete" => self.line(format_args!("  - {resource}{id}: deleting")),
                    other => self.line(format_args!("  ? {resource}{id}: {other}")),
                }
            }
            kind::MADE => self.line(format_args!("  + {resource}: created")),
            kind::WAIT_STARTED => {
                let what = fields.get("what").to_owned();
                let Some(spinners) = &self.spinners else {
                    self.line(format_args!("    waiting for {what}"));
                    return;
                };
                let spinner = spinners.add(
                    ProgressBar::new_spinner()
                        .with_style(
                            ProgressStyle::with_template(
                                "    {spinner} waiting for {msg} ({elapsed})",
                            )
                            .expect("a valid template"),
                        )
                        .with_message(what.clone()),
                );
                spinner.enable_steady_tick(Duration::from_millis(120));
                if let Some(old) = lock(&self.waits).insert(what, spinner) {
                    old.finish_and_clear();
                }
            }
            kind::WAIT_ENDED => {
                let what = fields.get("what");
                if let Some(spinner) = lock(&self.waits).remove(what) {
                    spinner.finish_and_clear();
                }
                let secs = fields.get("elapsed_ms").parse::<u64>().unwrap_or(0) as f64 / 1000.0;
                self.line(format_args!("    {what}: done after {secs:.1}s"));
            }
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for ProgressLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.event(&fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use converge::{Action, Change};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The SDK's request bodies stay out of the logs even with `RUST_LOG=trace`, unless
    /// `--log-wire`; its warnings still show.
    #[test]
    fn wire_logs_are_off_unless_asked() {
        let logged = |wire: bool| {
            let buffer = Buffer::default();
            let writer = buffer.clone();
            let layer = log_layer(move || writer.clone(), false, EnvFilter::new("trace"), wire);
            let subscriber = Registry::default().with(layer);
            tracing::subscriber::with_default(subscriber, || {
                tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "body: secret-a");
                tracing::debug!(target: "aws_sdk_ecs::operation", "secret-b");
                tracing::trace!(target: "hyper_util::client", "secret-c");
                tracing::debug!(target: "aws_sigv4::http_request", "secret-d");
                tracing::warn!(target: "aws_smithy_runtime::client", "a warning");
                tracing::trace!(target: "converge::stack", "our own trace");
            });
            let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
            text
        };
        let off = logged(false);
        assert!(!off.contains("secret"), "{off}");
        assert!(
            off.contains("a warning") && off.contains("our own trace"),
            "{off}"
        );
        let on = logged(true);
        for s in ["secret-a", "secret-b", "secret-c", "secret-d"] {
            assert!(on.contains(s), "{on}");
        }
        assert!(is_wire("aws_sdk_iam", &Level::DEBUG));
        assert!(!is_wire("aws_sdk_iam", &Level::INFO));
        assert!(!is_wire("aws_sdkx", &Level::TRACE));
        assert!(!is_wire("hyperlocal", &Level::TRACE));
    }

    #[test]
    fn lines_and_tally_from_module_events() {
        let buffer = Buffer::default();
        let tally = Tally::default();
        let sink: Sink = Arc::new(Mutex::new(buffer.clone()));
        let subscriber = subscriber(sink, false, tally.clone(), false);
        tracing::subscriber::with_default(subscriber, || {
            let vpc = Change::new(Action::Create, "aws_vpc", "blog-vpc");
            let cluster = Change::new(Action::NoOp, "aws_ecs_cluster", "blog").id("arn:c");
            let service = Change::new(Action::Update, "aws_ecs_service", "blog");
            converge::events::planned([&vpc, &cluster, &service]);
            // A block announcing its change again counts once.
            converge::events::planned([&vpc]);
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("  + aws_vpc \"blog-vpc\": creating\n"),
            "{text}"
        );
        assert!(
            text.contains("  = aws_ecs_cluster \"blog\" (arn:c): unchanged\n"),
            "{text}"
        );
        assert!(
            text.contains("  ~ aws_ecs_service \"blog\": updating\n"),
            "{text}"
        );
        assert_eq!(tally.summary(), (1, 1, 0));
        // Off a terminal: plain lines, one per resource, and no escape codes.
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.contains('\x1b'), "{text}");
    }

    #[test]
    fn waits_off_a_terminal_are_plain_lines() {
        let buffer = Buffer::default();
        let sink: Sink = Arc::new(Mutex::new(buffer.clone()));
        let subscriber = subscriber(sink, false, Tally::default(), false);
        let what = "NAT gateway nat-1 to be available";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: TARGET, event = kind::WAIT_STARTED, what);
            tracing::info!(target: TARGET, event = kind::WAIT_ENDED, what, elapsed_ms = 1500u64);
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            format!("    waiting for {what}\n    {what}: done after 1.5s\n")
        );
    }
}
