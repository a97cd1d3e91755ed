//! Progress on standard error, from the modules' [`converge::events`]: each resource as an
//! apply decides on it and makes it, and a spinner with the elapsed time during long waits.
//! Logs (`RUST_LOG`, default `warn`) go to standard error too, never to standard output.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use converge::events::{kind, TARGET};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::Registry;

type Sink = Arc<Mutex<dyn Write + Send>>;

/// Warnings, but not the SDK's notes on where it looked for a region or credentials.
const DEFAULT_LOGS: &str = "warn,aws_config=error";

/// The changes a run's modules announced, one per resource (the last word wins), so the
/// summary counts like Terraform's.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    actions: Arc<Mutex<HashMap<String, String>>>,
}

impl Tally {
    fn record(&self, resource: &str, action: &str) {
        self.actions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(resource.to_owned(), action.to_owned());
    }

    /// Resources added, changed and destroyed, a replacement counting as one added and one
    /// destroyed.
    pub fn summary(&self) -> (usize, usize, usize) {
        let actions = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        actions
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

/// The subscriber a run installs: progress events to `sink`, logs filtered by `RUST_LOG`.
pub(crate) fn subscriber(
    sink: Sink,
    terminal: bool,
    tally: Tally,
) -> impl Subscriber + Send + Sync {
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOGS)),
        )
        .with_filter(filter_fn(|meta| meta.target() != TARGET));
    let progress = ProgressLayer::new(sink, terminal, tally)
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

/// Writes progress lines, and redraws the spinner line on a terminal.
struct ProgressLayer {
    shared: Arc<Shared>,
}

struct Shared {
    sink: Sink,
    terminal: bool,
    tally: Tally,
    /// The waits under way, with when they began.
    waits: Mutex<Vec<(String, Instant)>>,
    /// Whether the spinner's line is on screen and must be cleared before other text.
    drawn: AtomicBool,
    stop: AtomicBool,
}

impl ProgressLayer {
    fn new(sink: Sink, terminal: bool, tally: Tally) -> Self {
        let shared = Arc::new(Shared {
            sink,
            terminal,
            tally,
            waits: Mutex::new(Vec::new()),
            drawn: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        if terminal {
            let spinner = Arc::clone(&shared);
            std::thread::spawn(move || spinner.spin());
        }
        Self { shared }
    }
}

impl Drop for ProgressLayer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.clear();
    }
}

impl Shared {
    fn line(&self, text: fmt::Arguments<'_>) {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if self.drawn.swap(false, Ordering::Relaxed) {
            let _ = write!(sink, "\r\x1b[2K");
        }
        let _ = writeln!(sink, "{text}");
    }

    fn clear(&self) {
        if self.drawn.swap(false, Ordering::Relaxed) {
            let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
            let _ = write!(sink, "\r\x1b[2K");
            let _ = sink.flush();
        }
    }

    fn spin(&self) {
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let mut frame = 0;
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(120));
            let waits = self.waits.lock().unwrap_or_else(|p| p.into_inner());
            let Some((what, since)) = waits.first() else {
                drop(waits);
                self.clear();
                continue;
            };
            let more = match waits.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            let text = format!(
                "{} waiting for {what}{more} ({}s)",
                FRAMES[frame % FRAMES.len()],
                since.elapsed().as_secs()
            );
            drop(waits);
            frame += 1;
            let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
            let _ = write!(sink, "\r\x1b[2K{text}");
            let _ = sink.flush();
            self.drawn.store(true, Ordering::Relaxed);
        }
    }

    fn event(&self, fields: &Fields) {
        let resource = fields.get("resource");
        match fields.get("event") {
            kind::PLANNED => {
                let action = fields.get("action");
                self.tally.record(resource, action);
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
                if !self.terminal {
                    self.line(format_args!("    waiting for {what}"));
                }
                self.waits
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((what, Instant::now()));
            }
            kind::WAIT_ENDED => {
                let what = fields.get("what");
                self.waits
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .retain(|(w, _)| w != what);
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
        self.shared.event(&fields);
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

    #[test]
    fn lines_and_tally_from_module_events() {
        let buffer = Buffer::default();
        let tally = Tally::default();
        let sink: Sink = Arc::new(Mutex::new(buffer.clone()));
        let subscriber = subscriber(sink, false, tally.clone());
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
    }
}
