//! The workflows `journal replay` and `journal reset` know, by the name
//! their journals are recorded under (`RunStarted.workflow`).
//!
//! One line per workflow in [`WORKFLOWS`]: adding a workflow to replay is
//! adding its line (`entry::<TheWorkflow>()`).

use journal::{Event, Journal, Seq};

use super::check::{Replay, ReplayError, replay};
use crate::workflow::Workflow;

/// A run's operations in plan order, each with its step: (op, step).
pub type Operations = Vec<(String, String)>;

/// What the forensic commands can do with one workflow's journals.
pub struct Entry {
    /// The workflow's name (`Workflow::NAME`).
    pub name: &'static str,
    /// Replays a journal of it, up to record `until` (all when `None`).
    pub replay: fn(&Journal, Option<Seq>) -> Result<Replay, ReplayError>,
    /// Returns a journal's operations in plan order (expansions in place),
    /// each with its step.
    pub operations: fn(&Journal) -> Result<Operations, ReplayError>,
}

/// Returns the entry of workflow `W`.
pub const fn entry<W: Workflow>() -> Entry
where
    W::Error: std::fmt::Display,
{
    Entry {
        name: W::NAME,
        replay: replay::<W>,
        operations: operations::<W>,
    }
}

fn operations<W: Workflow>(journal: &Journal) -> Result<Operations, ReplayError>
where
    W::Error: std::fmt::Display,
{
    let run = crate::workflow::load_blocking::<W>(journal.clone())
        .map_err(|e| ReplayError::Load(e.to_string()))?;
    let steps = run.steps().map_err(|e| ReplayError::Load(e.to_string()))?;
    Ok(steps
        .iter()
        .map(|s| (s.spec().op.0.clone(), s.spec().step.clone()))
        .collect())
}

/// Every workflow whose journals can be replayed, one line each.
pub const WORKFLOWS: &[Entry] = &[
    entry::<crate::kuryr::migrate::Session>(),
    entry::<crate::kuryr::cleanup::run::CleanupSession>(),
    entry::<crate::kuryr::cleanup::restore_run::RestoreSession>(),
    entry::<crate::ovs::fix::FixSession>(),
    entry::<crate::ovs::prepare::PrepareSession>(),
];

/// Returns the entry of the workflow named `name`.
pub fn find(name: &str) -> Option<&'static Entry> {
    WORKFLOWS.iter().find(|e| e.name == name)
}

/// Returns the workflow a journal records (its first record, `RunStarted`).
pub fn workflow_of(journal: &Journal) -> Result<String, ReplayError> {
    match journal.read(1)?.map(|r| r.event) {
        Some(Event::RunStarted { workflow, .. }) => Ok(workflow),
        Some(other) => Err(ReplayError::NotARun(format!(
            "its first record is {}, not RunStarted",
            other.name()
        ))),
        None => Err(ReplayError::NotARun("it has no records".into())),
    }
}

/// Returns the entry of the workflow a journal records.
pub fn entry_of(journal: &Journal) -> Result<&'static Entry, ReplayError> {
    let name = workflow_of(journal)?;
    find(&name).ok_or_else(|| ReplayError::UnknownWorkflow {
        name: name.clone(),
        known: WORKFLOWS
            .iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Replays a journal with its workflow's replayer, up to record `until`.
pub fn replay_journal(journal: &Journal, until: Option<Seq>) -> Result<Replay, ReplayError> {
    (entry_of(journal)?.replay)(journal, until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_the_migration_is_known() {
        let mut names: Vec<_> = WORKFLOWS.iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), WORKFLOWS.len());
        assert!(find(crate::kuryr::migrate::WORKFLOW).is_some());
        assert!(find("no-such-workflow").is_none());
    }
}
