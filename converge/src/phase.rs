//! A kind's desired state in its two phases: at plan, an input taken from another resource
//! may be known only after apply ([`Value`]); at apply, once the resources it depends on are
//! made, every input is known. The engine turns the one into the other ([`Resolve`]) before
//! it calls a kind's create or update, so kinds map values to API calls and never meet an
//! unknown one.
//!
//! A kind whose inputs include other resources' outputs writes its desired state once,
//! generic over the [`Phase`], and resolves it field by field:
//!
//! ```
//! use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
//! use converge::Value;
//!
//! #[derive(Clone, Debug, PartialEq)]
//! pub struct SubnetSpec<P: Phase = AtPlan> {
//!     pub vpc_id: P::Value<String>,
//!     pub cidr: String,
//! }
//!
//! impl Resolve for SubnetSpec {
//!     type Output = SubnetSpec<AtApply>;
//!     fn resolve(&self) -> Result<SubnetSpec<AtApply>, Unknown> {
//!         Ok(SubnetSpec {
//!             vpc_id: self.vpc_id.resolve("vpc_id")?,
//!             cidr: self.cidr.clone(),
//!         })
//!     }
//! }
//!
//! let planned = SubnetSpec { vpc_id: Value::AfterApply, cidr: "10.0.1.0/24".into() };
//! assert_eq!(planned.resolve().unwrap_err().to_string(), "its input `vpc_id` is still unknown at apply");
//! let applied = SubnetSpec { vpc_id: Value::Known("vpc-1".into()), ..planned }.resolve();
//! assert_eq!(applied.unwrap().vpc_id, "vpc-1");
//! ```
//!
//! A kind whose inputs are all its own says so with [`KnownAtPlan`]: create and update get
//! the desired state as the plan has it.

use std::fmt;

use crate::value::Value;

/// What an input's type may be.
pub trait Input: Clone + fmt::Debug + PartialEq + Send + Sync + 'static {}

impl<T: Clone + fmt::Debug + PartialEq + Send + Sync + 'static> Input for T {}

/// When a desired state is looked at: [`AtPlan`] or [`AtApply`].
pub trait Phase: Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// An input taken from another resource's outputs, in this phase.
    type Value<T: Input>: Input;

    /// An input's value where known (always, at apply): what lets a kind compute the same
    /// thing from its desired state at plan and at apply.
    fn known<T: Input>(value: &Self::Value<T>) -> Option<&T>;
}

/// At plan: an input from another resource is a [`Value`], unknown where that resource is
/// still to be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtPlan {}

/// At apply: every input is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtApply {}

impl Phase for AtPlan {
    type Value<T: Input> = Value<T>;

    fn known<T: Input>(value: &Value<T>) -> Option<&T> {
        value.known()
    }
}

impl Phase for AtApply {
    type Value<T: Input> = T;

    fn known<T: Input>(value: &T) -> Option<&T> {
        Some(value)
    }
}

/// A desired state as the plan has it, turned into the one a create or update gets.
pub trait Resolve {
    /// The desired state at apply.
    type Output: Clone + fmt::Debug + Send + Sync + 'static;

    /// Every input known, or the first that is not.
    fn resolve(&self) -> Result<Self::Output, Unknown>;
}

/// A desired state with no input from another resource: it is the same at plan and apply.
pub trait KnownAtPlan: Clone + fmt::Debug + Send + Sync + 'static {}

impl<T: KnownAtPlan> Resolve for T {
    type Output = T;

    fn resolve(&self) -> Result<T, Unknown> {
        Ok(self.clone())
    }
}

/// An input still unknown at apply. Every input is known once the resources it depends on
/// are applied, so this is a bug in a declaration (an input read only under a condition);
/// the engine reports it as an error of the resource rather than a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    /// The input, as its field is named: `vpc_id`, `awsvpc.subnets`.
    pub input: &'static str,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "its input `{}` is still unknown at apply", self.input)
    }
}

impl std::error::Error for Unknown {}

impl<T: Clone> Value<T> {
    /// The value at apply, or which `input` is still unknown.
    pub fn resolve(&self, input: &'static str) -> Result<T, Unknown> {
        self.known().cloned().ok_or(Unknown { input })
    }
}

impl KnownAtPlan for () {}
