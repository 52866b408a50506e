//! `ovn-migrate journal export`: a journal as an audit bundle (JSONL, CADF or
//! OTLP/JSON, with a manifest), and `journal verify` on such a bundle.
//!
//! The format logic is in [`journal::export`]; this file resolves the journal
//! ([`super::resolve`]), maps export errors to the CLI's kinds and exit codes,
//! and prints what was written and how to check it.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::verify::VerifyDoc;
use crate::context::Context;
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;
use journal::export::bundle::{self, ExportOptions};
use journal::export::{self, Format, Manifest};

/// Export a journal as an audit bundle: one record per event, and a manifest.
///
/// `jsonl` is the record of truth (every field of every event); `cadf` is
/// DMTF CADF for OpenStack audit pipelines; `otlp` is OpenTelemetry logs in
/// OTLP/JSON. Every record carries its seq, chain hash and the stored journal
/// record, so `ovn-migrate journal verify DIR` checks the bundle offline.
/// The journal is only read. No secret is ever in a journal, so none is in a
/// bundle.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The journal directory (`<state-dir>/<cluster-id>/<run-id>`).
    #[arg(value_name = "JOURNAL")]
    pub journal: Option<PathBuf>,
    /// The run to export, looked up under the state directory.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// The records' format: jsonl, cadf or otlp.
    #[arg(long, value_parser = parse_format)]
    pub format: Format,
    /// Where to write the bundle (created; it must be empty if it exists).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also copy every blob the records reference into `DIR/blobs/`.
    #[arg(long)]
    pub with_blobs: bool,
}

fn parse_format(s: &str) -> std::result::Result<Format, String> {
    s.parse()
}

/// Returns the CLI error for an export error.
pub fn export_error(e: export::Error) -> CliError {
    match e {
        export::Error::Journal(j) => CliError::from(j),
        export::Error::NotEmpty(path) => CliError::usage(format!(
            "failed to export to {}: the directory is not empty",
            path.display()
        ))
        .with_hint("choose a new directory for the bundle; an export never overwrites files"),
        export::Error::Broken { seq, reason } => CliError::new(
            ErrorKind::User,
            ExitCode::JOURNAL_CORRUPT,
            format!("failed to export the journal: record {seq} does not verify ({reason})"),
        )
        .with_hint(
            "run `ovn-migrate journal verify` on it, and keep a copy of the directory before \
             anything else",
        ),
        export::Error::BadManifest { path, reason } => CliError::new(
            ErrorKind::User,
            ExitCode::JOURNAL_CORRUPT,
            format!("failed to read the bundle at {}: {reason}", path.display()),
        ),
        e @ export::Error::Io { .. } => CliError::new(
            ErrorKind::User,
            ExitCode::FAILURE,
            format!("failed to {}", crate::error::chain(&e)),
        )
        .with_hint("check that the output directory is writable and has space"),
    }
}

/// The JSON document of `journal export`.
#[derive(Debug, Serialize)]
pub struct ExportDoc {
    pub journal: PathBuf,
    pub out: PathBuf,
    pub manifest: Manifest,
}

impl ExportDoc {
    /// Returns the result as text for people.
    pub fn human(&self) -> String {
        let m = &self.manifest;
        let chain = match &m.seal {
            Some(s) => format!("sealed at record {} ({})", s.seq, s.outcome),
            None => "not sealed (the run is in progress or was interrupted)".into(),
        };
        let blobs = match &m.blobs {
            Some(b) if b.missing.is_empty() => format!("{} blobs in blobs/", b.count),
            Some(b) => format!(
                "{} blobs in blobs/; {} referenced blobs were not in the journal",
                b.count,
                b.missing.len()
            ),
            None => "no blobs (add --with-blobs to include them)".into(),
        };
        format!(
            "exported {} records of run {} as {}\n  journal:  {}\n  bundle:   {}\n  records:  {}\n  \
             chain:    {chain}, head {}\n  blobs:    {blobs}\ncheck it with: ovn-migrate journal verify {}",
            m.records,
            m.run_id,
            m.format,
            self.journal.display(),
            self.out.display(),
            m.records_file,
            m.head,
            self.out.display()
        )
    }
}

/// Runs `journal export`.
pub fn run(args: ExportArgs, ctx: &Context) -> Result<i32> {
    let dir = super::resolve::journal_dir(ctx, args.journal.as_deref(), args.run.as_deref())?;
    let out = std::path::absolute(&args.out).unwrap_or(args.out);
    if out.starts_with(&dir) {
        return Err(CliError::usage(format!(
            "failed to export to {}: it is inside the journal directory {}",
            out.display(),
            dir.display()
        ))
        .with_hint("choose a directory outside the journal; readers never write into it"));
    }
    let opened = super::resolve::open(&dir)?;
    let opts = ExportOptions {
        format: args.format,
        with_blobs: args.with_blobs,
        exported_by: env!("CARGO_PKG_VERSION").into(),
    };
    let manifest = bundle::export(&opened, &out, &opts).map_err(export_error)?;
    drop(opened);
    let doc = ExportDoc {
        journal: dir,
        out,
        manifest,
    };
    ctx.output.print(&doc, || doc.human())?;
    Ok(ExitCode::OK)
}

/// The JSON document of `journal verify` on a bundle: the journal's verify
/// document, and what is particular to a bundle.
#[derive(Debug, Serialize)]
pub struct BundleVerifyDoc {
    #[serde(flatten)]
    pub verify: VerifyDoc,
    /// Always true: this is a bundle, not a journal.
    pub bundle: bool,
    pub format: Format,
    pub blobs_checked: u64,
    /// What is wrong with blob files, if anything.
    pub blob_problems: Vec<String>,
}

/// Runs `journal verify` on the bundle in `dir` (the manifest is there).
pub fn verify_bundle(dir: &Path, ctx: &Context) -> Result<i32> {
    let report = bundle::verify(dir).map_err(export_error)?;
    let whole = report.is_whole();
    let verify = VerifyDoc::new(
        dir.to_path_buf(),
        report.manifest.target.cluster_id.clone(),
        report.manifest.run_id.clone(),
        report.report,
    );
    let doc = BundleVerifyDoc {
        verify,
        bundle: true,
        format: report.manifest.format,
        blobs_checked: report.blobs_checked,
        blob_problems: report.blob_problems,
    };
    ctx.output.print(&doc, || {
        let mut text = doc
            .verify
            .human()
            .replacen("journal:", "bundle: ", 1)
            .replacen("\nchain:", &format!("\nformat:  {}\nchain:", doc.format), 1);
        for p in &doc.blob_problems {
            text.push_str(&format!("\nBLOB:    {p}"));
        }
        if doc.blob_problems.is_empty() && doc.blobs_checked > 0 {
            text.push_str(&format!(
                "\nblobs:   {} checked against their hashes",
                doc.blobs_checked
            ));
        }
        text
    })?;
    if !whole && !ctx.output.is_json() {
        ctx.output.note(
            "hint: this bundle was altered or cut after it was exported; export it again from \
             the journal, and keep this copy as evidence",
        );
    }
    Ok(if whole {
        ExitCode::OK
    } else {
        ExitCode::JOURNAL_CORRUPT
    })
}
