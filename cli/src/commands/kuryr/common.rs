//! What `kuryr status` reads of a running run: its status file and where it
//! lives. (The other shared pieces have their own homes: [`super::connect`],
//! [`super::errors`], [`super::workflow`], and the run driver in
//! [`crate::driver`].)

pub use crate::run_progress::StatusFile;
pub use steps::workflow::beside;
