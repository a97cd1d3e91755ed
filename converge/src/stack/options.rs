//! What a declaration says besides its inputs: Terraform's `depends_on` and `lifecycle`
//! (`ignore_changes`, `prevent_destroy`) and a time limit, per resource.

use std::fmt;
use std::time::Duration;

use super::Ref;
use crate::resource::Resource;

/// Options of one declared resource, set with [`Stack::options`](crate::Stack::options).
///
/// ```
/// use converge::kinds::{ClusterField, ClusterKind};
/// use converge::Options;
/// use std::time::Duration;
///
/// let options: Options<ClusterKind> = Options::new()
///     .ignore_changes([ClusterField::ContainerInsights])
///     .protect()
///     .timeout(Duration::from_secs(600));
/// ```
pub struct Options<R: Resource> {
    pub(super) depends_on: Vec<Ref<()>>,
    pub(super) ignore_changes: Vec<R::Field>,
    pub(super) protect: bool,
    pub(super) timeout: Option<Duration>,
}

impl<R: Resource> Default for Options<R> {
    fn default() -> Self {
        Self {
            depends_on: Vec::new(),
            ignore_changes: Vec::new(),
            protect: false,
            timeout: None,
        }
    }
}

impl<R: Resource> fmt::Debug for Options<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("depends_on", &self.depends_on.len())
            .field("ignore_changes", &self.ignore_changes)
            .field("protect", &self.protect)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<R: Resource> Options<R> {
    /// No options: the resource depends on what its inputs read, every field is converged,
    /// it may be deleted, and its calls have the bundle's time limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// The resource is made after, and deleted before, whatever `other` reads, although
    /// its inputs take nothing from it (an order AWS needs without a value passing).
    pub fn depends_on<T: Send + Sync + 'static>(mut self, other: Ref<T>) -> Self {
        self.depends_on.push(other.map(|_| ()));
        self
    }

    /// Differences in these fields are left as AWS has them: the plan says so and apply
    /// does not change them (a field someone else manages, like a desired count an
    /// autoscaler moves). A create still sets them.
    pub fn ignore_changes(mut self, fields: impl IntoIterator<Item = R::Field>) -> Self {
        self.ignore_changes.extend(fields);
        self
    }

    /// The resource may not be deleted: destroy and a replacement are refused before any
    /// change (Terraform's `prevent_destroy`). Like Terraform's, it goes with the
    /// declaration: once the inputs no longer declare the resource, nothing protects it.
    pub fn protect(mut self) -> Self {
        self.protect = true;
        self
    }

    /// Its create, update, replacement or delete, waits included, fails after `limit`
    /// ([`Error::WaitTimedOut`](crate::Error::WaitTimedOut)).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }
}

/// The refusal of a protected resource's deletion.
pub(super) const PROTECTED: &str =
    "its declaration protects it (Options::protect); remove that option to delete it";
