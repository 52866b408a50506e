//! What the engine asks of a step: observe, classify, act, and the condition
//! that says a wait is over. Decisions (`classify`, `condition`) are pure
//! functions of an observation, so they can be tested without I/O and
//! re-derived from the journal.

use journal::OperationSpec;
use serde_json::Value;

/// How the engine treats a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Changes the cluster or cloud: intent, effect, outcome; then waits for
    /// [`Step::condition`], if it has one.
    Effect,
    /// Read-only: polls until [`Step::condition`] is met, fails or times out.
    Wait,
    /// Read-only: [`Step::condition`] must be met at once (prechecks).
    Check,
}

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

/// What an effect returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// HTTP status of the mutating call, when there was one.
    pub http_status: Option<u16>,
    /// What the call answered or what was observed after it (kept small).
    pub observed: Value,
}

/// A failed observation or effect.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// What went wrong, readable after "failed to …".
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

/// One operation of a plan, as the engine runs it.
#[allow(async_fn_in_trait)]
pub trait Step {
    /// What every step reads and acts through.
    type Cx;

    /// Returns the operation's id, step, action, target and idempotency key.
    fn spec(&self) -> OperationSpec;

    /// Returns how the engine treats it.
    fn kind(&self) -> StepKind;

    /// Returns the group it runs concurrently with (consecutive steps of one group).
    fn group(&self) -> Option<String> {
        None
    }

    /// Reads the live state the decisions need.
    async fn observe(&self, cx: &Self::Cx) -> Result<Value, StepError>;

    /// Returns what the intent records about the state just before acting
    /// (e.g. a node's bootID), for judging the effect later; `null` by default.
    fn params(&self, _live: &Value) -> Value {
        Value::Null
    }

    /// Returns whether the effect is present (effect steps); `intent` holds
    /// the parameters of the last recorded intent, if there is one.
    fn classify(&self, live: &Value, intent: Option<&Value>) -> Verdict;

    /// Performs the effect once (effect steps).
    async fn act(&self, cx: &Self::Cx) -> Result<Effect, StepError>;

    /// Returns the condition a wait or check waits for, or that an effect
    /// waits for after acting (`intent` as for [`Step::classify`]); `None`
    /// when an effect has nothing to wait for.
    fn condition(&self, live: &Value, intent: Option<&Value>) -> Option<WaitState>;
}
