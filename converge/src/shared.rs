//! Reads that several kinds of one stack need (a load balancer's listing serves the load
//! balancer kind and the listener kind): the first kind to ask makes the calls, the others
//! wait for its answer. Scoped to one stack read, so nothing is ever served stale.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::Error;

type Answer = Arc<dyn Any + Send + Sync>;

/// The answers of one stack read, by key.
#[derive(Clone, Default)]
pub(crate) struct SharedReads {
    cells: Arc<Mutex<HashMap<String, Arc<OnceCell<Answer>>>>>,
}

impl fmt::Debug for SharedReads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedReads")
    }
}

impl SharedReads {
    /// The answer for `key`: fetched once, by whoever asks first.
    pub(crate) async fn get<T, F, Fut>(&self, key: &str, fetch: F) -> Result<Arc<T>, Error>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let cell = self
            .cells
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone();
        let answer = cell
            .get_or_try_init(|| async { fetch().await.map(|v| Arc::new(v) as Answer) })
            .await?
            .clone();
        Ok(answer
            .downcast::<T>()
            .expect("one answer type per shared read key"))
    }
}
