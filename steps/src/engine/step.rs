//! What the engine asks of a step, as traits a step type implements.
//!
//! Every step is a type implementing [`Step`]: it names its operation and
//! reads the live state into a typed [`Step::Observation`], which the engine
//! journals in full before deciding on it. What it then decides depends on
//! what it is:
//!
//! * a read-only step implements [`Watch`]: a pure condition on the
//!   observation, either checked once ([`crate::engine::check`]) or awaited
//!   ([`crate::engine::wait`]);
//! * a step that changes something implements [`Effect`]: a pure
//!   classification of (observation, recorded intent) and the one `act`.
//!
//! A read-only step has no `act` to call: it does not implement [`Effect`].
//! Every decision is a pure function of values the journal holds, so it can
//! be recomputed from the journal alone (the engine decides on the
//! observation as it was journaled, after its JSON round trip).

use std::future::Future;
use std::time::Duration;

use journal::OperationSpec;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Whether an operation's effect is present in an observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The effect is there.
    Done(String),
    /// The effect is not there: act.
    NotDone(String),
    /// The effect may be on its way (e.g. a reboot in progress): look again shortly.
    Pending(String),
    /// Cannot tell: the operator decides.
    Ambiguous(String),
}

/// The state of a waited-for condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitState {
    /// Met; the text describes it.
    Met(String),
    /// Not yet; the text is the condition as it stands (journaled when it changes).
    Pending(String),
    /// Will not be met (e.g. a degraded pool); the text says why.
    Failed(String),
}

impl WaitState {
    /// Returns the text of the state.
    pub fn text(&self) -> &str {
        match self {
            WaitState::Met(s) | WaitState::Pending(s) | WaitState::Failed(s) => s,
        }
    }
}

/// What an effect returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// HTTP status of the mutating call, only when the client saw it.
    pub http_status: Option<u16>,
    /// What the call answered or what was observed after it (journaled in full).
    pub observed: Value,
}

/// A failed observation or effect.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// What went wrong, readable after "failed to …", with its causes.
    pub message: String,
    /// A retry may succeed (5xx, 409, timeouts, dropped connections).
    pub retryable: bool,
    /// HTTP status, when the server answered.
    pub http_status: Option<u16>,
}

impl StepError {
    /// Returns a permanent error.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            http_status: None,
        }
    }

    /// Returns an error worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
            http_status: None,
        }
    }
}

/// A step may run only once this long has passed since another operation's
/// successful outcome was journaled (e.g. 24 hours after a lease was taken).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// The operation whose outcome starts the clock.
    pub after: String,
    /// How long after it.
    pub wait: Duration,
}

/// One operation of a plan: its identity and its reading of the live state.
pub trait Step: Send + Sync + 'static {
    /// What every step of the workflow reads and acts through.
    type Cx: Send + Sync + 'static;
    /// What [`Step::observe`] reads; journaled in full before any decision.
    type Observation: Serialize + DeserializeOwned + Send + 'static;

    /// Returns the operation's id, step, action, target and idempotency key.
    fn spec(&self) -> OperationSpec;

    /// Returns the group it runs concurrently with (consecutive steps of one group).
    fn group(&self) -> Option<String> {
        None
    }

    /// Returns the ids of operations of its group that must be done before
    /// it starts: a group whose steps name any runs as a dependency graph in
    /// a sliding window of `Timing::concurrency`, not in fixed batches.
    fn after(&self) -> Vec<String> {
        Vec::new()
    }

    /// Returns the time gate this step waits behind, if any.
    fn gate(&self) -> Option<Gate> {
        None
    }

    /// Returns further operations (serialised, for the workflow to build)
    /// planned from this step's journaled outcome; `None` for most steps.
    fn expand(&self, _outcome: &Value) -> Option<Result<Vec<Value>, String>> {
        None
    }

    /// Reads the live state the decisions need.
    fn observe(
        &self,
        cx: &Self::Cx,
    ) -> impl Future<Output = Result<Self::Observation, StepError>> + Send;
}

/// A read-only step: a condition on what it observes.
pub trait Watch: Step {
    /// Returns whether the condition is met (pure).
    fn condition(&self, observed: &Self::Observation) -> WaitState;
}

/// A step that changes the cluster or cloud: intent, effect, outcome.
pub trait Effect: Step {
    /// What the intent records about the state just before acting (e.g. a
    /// node's bootID), for judging the effect later.
    type Params: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Returns the intent's parameters from the observation just before acting.
    fn params(&self, observed: &Self::Observation) -> Self::Params;

    /// Returns whether the effect is present (pure); `intent` holds the
    /// parameters of the last recorded intent, if there is one.
    fn classify(&self, observed: &Self::Observation, intent: Option<&Self::Params>) -> Verdict;

    /// Returns whether the effect is present when the last intent is one
    /// `journal salvage` wrote (its real records, `lost`, are gone): by
    /// default as with no intent; a step whose effect cannot be told from the
    /// live state alone (a reboot) says it is ambiguous.
    fn classify_salvaged(&self, observed: &Self::Observation, _lost: &str) -> Verdict {
        self.classify(observed, None)
    }

    /// Performs the effect once.
    fn act(
        &self,
        cx: &Self::Cx,
        params: &Self::Params,
    ) -> impl Future<Output = Result<Applied, StepError>> + Send;

    /// Returns the condition to wait for after acting (pure); `None` when
    /// there is nothing to wait for.
    fn settle(
        &self,
        _observed: &Self::Observation,
        _intent: Option<&Self::Params>,
    ) -> Option<WaitState> {
        None
    }

    /// Returns false when [`Effect::settle`] is `None` whatever it observes:
    /// the engine then does not observe again after a successful act (one
    /// read fewer per operation). True by default.
    fn settles(&self) -> bool {
        true
    }

    /// Returns the id of the later operation that undoes this one (a
    /// desync's resync): if the run stops between the two, the next execute
    /// runs that compensation first, and this operation again after it.
    fn compensated_by(&self) -> Option<String> {
        None
    }
}
