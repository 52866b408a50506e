//! Steps behind one object-safe interface, so a plan is a list of boxed
//! steps built once ([`check`], [`wait`], [`effect`]) and the runner
//! dispatches through them, never through a match on actions.
//!
//! The erased form speaks JSON: an observation is serialised as it will be
//! journaled, and the typed decision runs on it after deserialising it back.
//! So the decision the engine makes is, by construction, the one a replay of
//! the journal recomputes from the same bytes.

use futures::future::BoxFuture;
use journal::OperationSpec;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::step::{Applied, Effect, Gate, StepError, Verdict, WaitState, Watch};

/// How the runner treats a read-only step whose condition is not met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patience {
    /// Poll until met, failed or timed out.
    Poll,
    /// Not met now means failed (prechecks).
    None,
}

/// A step as the runner sees it.
pub trait ErasedStep<Cx>: Send + Sync {
    /// Returns the operation's spec.
    fn spec(&self) -> &OperationSpec;
    /// Returns the concurrency group.
    fn group(&self) -> Option<String>;
    /// Returns the ids of the operations of its group that must be done first.
    fn after(&self) -> Vec<String>;
    /// Returns the time gate.
    fn gate(&self) -> Option<Gate>;
    /// Returns the operations planned from this step's journaled outcome.
    fn expand(&self, outcome: &Value) -> Option<Result<Vec<Value>, String>>;
    /// Observes, returning the observation as it will be journaled.
    fn observe<'a>(&'a self, cx: &'a Cx) -> BoxFuture<'a, Result<Value, StepError>>;
    /// Returns the effect side, for steps that change something.
    fn as_effect(&self) -> Option<&dyn ErasedEffect<Cx>>;
    /// Returns the condition of a read-only step (`None` for effects).
    fn watch(&self, observed: &Value) -> Result<Option<WaitState>, String>;
    /// Returns how a read-only step waits.
    fn patience(&self) -> Patience;
}

/// The effect side of an erased step.
pub trait ErasedEffect<Cx>: Send + Sync {
    /// Returns the intent's parameters, as journaled.
    fn params(&self, observed: &Value) -> Result<Value, String>;
    /// Classifies a journaled observation against the journaled intent.
    fn classify(&self, observed: &Value, intent: Option<&Value>) -> Result<Verdict, String>;
    /// Returns the condition to wait for after acting.
    fn settle(&self, observed: &Value, intent: Option<&Value>)
    -> Result<Option<WaitState>, String>;
    /// Acts with the journaled parameters.
    fn act<'a>(
        &'a self,
        cx: &'a Cx,
        params: &'a Value,
    ) -> BoxFuture<'a, Result<Applied, StepError>>;
    /// Returns the id of the operation that undoes this one.
    fn compensated_by(&self) -> Option<String>;
    /// Returns whether it may wait after acting (see [`Effect::settles`]).
    fn settles(&self) -> bool;
}

/// Returns `value` decoded as `T`, or a message naming what did not decode.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("decode the {what}: {e}"))
}

fn encode<T: Serialize>(what: &str, value: &T) -> Result<Value, StepError> {
    serde_json::to_value(value).map_err(|e| StepError::fatal(format!("encode the {what}: {e}")))
}

struct Erased<S> {
    step: S,
    spec: OperationSpec,
    patience: Patience,
}

/// Boxes a read-only step whose condition must hold at once (a precheck).
pub fn check<S: Watch>(step: S) -> Box<dyn ErasedStep<S::Cx>> {
    boxed_watch(step, Patience::None)
}

/// Boxes a read-only step whose condition is awaited.
pub fn wait<S: Watch>(step: S) -> Box<dyn ErasedStep<S::Cx>> {
    boxed_watch(step, Patience::Poll)
}

fn boxed_watch<S: Watch>(step: S, patience: Patience) -> Box<dyn ErasedStep<S::Cx>> {
    let spec = step.spec();
    Box::new(WatchBox(Erased {
        step,
        spec,
        patience,
    }))
}

/// Boxes a step that changes something.
pub fn effect<S: Effect>(step: S) -> Box<dyn ErasedStep<S::Cx>> {
    let spec = step.spec();
    Box::new(EffectBox(Erased {
        step,
        spec,
        patience: Patience::Poll,
    }))
}

struct WatchBox<S>(Erased<S>);
struct EffectBox<S>(Erased<S>);

macro_rules! common {
    () => {
        fn spec(&self) -> &OperationSpec {
            &self.0.spec
        }
        fn group(&self) -> Option<String> {
            self.0.step.group()
        }
        fn after(&self) -> Vec<String> {
            self.0.step.after()
        }
        fn gate(&self) -> Option<Gate> {
            self.0.step.gate()
        }
        fn expand(&self, outcome: &Value) -> Option<Result<Vec<Value>, String>> {
            self.0.step.expand(outcome)
        }
        fn observe<'a>(&'a self, cx: &'a S::Cx) -> BoxFuture<'a, Result<Value, StepError>> {
            Box::pin(async move {
                let o = self.0.step.observe(cx).await?;
                encode("observation", &o)
            })
        }
        fn patience(&self) -> Patience {
            self.0.patience
        }
    };
}

impl<S: Watch> ErasedStep<S::Cx> for WatchBox<S> {
    common!();
    fn as_effect(&self) -> Option<&dyn ErasedEffect<S::Cx>> {
        None
    }
    fn watch(&self, observed: &Value) -> Result<Option<WaitState>, String> {
        let o: S::Observation = decode("observation", observed)?;
        Ok(Some(self.0.step.condition(&o)))
    }
}

impl<S: Effect> ErasedStep<S::Cx> for EffectBox<S> {
    common!();
    fn as_effect(&self) -> Option<&dyn ErasedEffect<S::Cx>> {
        Some(self)
    }
    fn watch(&self, _observed: &Value) -> Result<Option<WaitState>, String> {
        Ok(None)
    }
}

/// Returns the lost records an intent written by `journal salvage` names
/// (`{"salvaged": true, "lost": "R..=W"}`), if it is one.
fn salvaged(intent: Option<&Value>) -> Option<&str> {
    let i = intent?;
    (i.get("salvaged")? == &Value::Bool(true))
        .then(|| i.get("lost").and_then(Value::as_str).unwrap_or("?"))
}

/// Decodes an intent's parameters; a salvaged intent has none of the step's.
fn intent_of<P: DeserializeOwned>(intent: Option<&Value>) -> Result<Option<P>, String> {
    if salvaged(intent).is_some() {
        return Ok(None);
    }
    intent.map(|v| decode("intent's parameters", v)).transpose()
}

impl<S: Effect> ErasedEffect<S::Cx> for EffectBox<S> {
    fn params(&self, observed: &Value) -> Result<Value, String> {
        let o: S::Observation = decode("observation", observed)?;
        serde_json::to_value(self.0.step.params(&o)).map_err(|e| e.to_string())
    }
    fn classify(&self, observed: &Value, intent: Option<&Value>) -> Result<Verdict, String> {
        let o: S::Observation = decode("observation", observed)?;
        if let Some(lost) = salvaged(intent) {
            return Ok(self.0.step.classify_salvaged(&o, lost));
        }
        let p = intent_of::<S::Params>(intent)?;
        Ok(self.0.step.classify(&o, p.as_ref()))
    }
    fn settle(
        &self,
        observed: &Value,
        intent: Option<&Value>,
    ) -> Result<Option<WaitState>, String> {
        let o: S::Observation = decode("observation", observed)?;
        let p = intent_of::<S::Params>(intent)?;
        Ok(self.0.step.settle(&o, p.as_ref()))
    }
    fn act<'a>(
        &'a self,
        cx: &'a S::Cx,
        params: &'a Value,
    ) -> BoxFuture<'a, Result<Applied, StepError>> {
        Box::pin(async move {
            let p: S::Params = decode("intent's parameters", params).map_err(StepError::fatal)?;
            self.0.step.act(cx, &p).await
        })
    }
    fn compensated_by(&self) -> Option<String> {
        self.0.step.compensated_by()
    }
    fn settles(&self) -> bool {
        self.0.step.settles()
    }
}
