//! [`Journal`]: the only thing that appends, and the reads resume needs.
//!
//! A journal is a directory holding one sled database with one tree (layout in
//! `keys.rs`), a lock ([`crate::lock`]) and nothing else. Appends are
//! serialised by one mutex, so sequence numbers are contiguous and the chain
//! is linear; each append puts the record and its index entries in one atomic
//! sled batch. [`Journal::append`] and [`Journal::append_group`] return only
//! when the records are durable ([`crate::durable`]); buffered appends and
//! blobs become durable with the next durable append or [`Journal::sync`].

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::chain::{ChainHash, genesis};
use crate::durable::{restrict, sync_dir, sync_external_blobs};
use crate::error::{Error, Result};
use crate::event::{BlobHash, Doc, Event, Json, OpId, Seq, Text, WaitOutcome, now_ms};
use crate::format;
use crate::keys;
use crate::lock::{self, Holder, LockGuard};
use crate::open::{
    CHECKPOINT_EVERY, Mode, Store, open_parts, open_store, present, report_skipped, unopenable,
};
use crate::reader;
use crate::target::Target;
use crate::witness::{self, Witness};

/// Who started a run, and against what.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub run_id: String,
    pub workflow: String,
    pub tool_version: String,
    pub target: Target,
}

/// How to open a journal.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Name (`host:pid`) of the dead lock holder the caller expects to
    /// displace: any other holder is then refused. Not needed: a holder that
    /// died is taken over without it ([`crate::lock`]).
    pub break_lock: Option<String>,
    /// sled's page cache, in bytes (bounds memory when resuming long journals).
    pub cache_bytes: u64,
    /// The tool version recorded in the lock note.
    pub tool_version: String,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            break_lock: None,
            cache_bytes: 32 << 20,
            tool_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// What the index knows of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpState {
    /// Seq of the last intent, if any.
    pub intent: Option<Seq>,
    /// Seq of the last outcome (succeeded, failed or skipped), if any.
    pub outcome: Option<Seq>,
    /// Whether the last outcome was a success or a skip.
    pub done: bool,
    /// Intents so far.
    pub attempts: u32,
}

impl OpState {
    /// Returns true when the last intent has no outcome after it.
    pub fn in_doubt(&self) -> bool {
        match (self.intent, self.outcome) {
            (Some(i), Some(o)) => i > o,
            (Some(_), None) => true,
            _ => false,
        }
    }

    fn encode(&self) -> [u8; 21] {
        let mut v = [0u8; 21];
        v[..8].copy_from_slice(&self.intent.unwrap_or(0).to_be_bytes());
        v[8..16].copy_from_slice(&self.outcome.unwrap_or(0).to_be_bytes());
        v[16] = self.done as u8;
        v[17..].copy_from_slice(&self.attempts.to_be_bytes());
        v
    }

    fn decode(v: &[u8]) -> Self {
        let u = |r: std::ops::Range<usize>| u64::from_be_bytes(v[r].try_into().unwrap());
        let nz = |x: u64| (x != 0).then_some(x);
        OpState {
            intent: nz(u(0..8)),
            outcome: nz(u(8..16)),
            done: v[16] != 0,
            attempts: u32::from_be_bytes(v[17..21].try_into().unwrap()),
        }
    }
}

/// One record read back: its seq, format version, time, event and chain hash.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub seq: Seq,
    pub version: u16,
    /// When it was appended, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub event: Event,
    pub hash: ChainHash,
}

/// An open journal: locked for writing, or a reader's private copy
/// ([`Journal::open_read`]). Cheap to clone; every clone appends to the same chain.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    /// The journal's directory, as the caller named it.
    dir: PathBuf,
    /// Where sled's files are: `dir`, or a reader's private copy.
    db_dir: PathBuf,
    opts: OpenOptions,
    /// sled's handles; replaced wholesale by a checkpoint.
    store: RwLock<Option<Store>>,
    target: Target,
    run_id: String,
    genesis: ChainHash,
    writer: Mutex<Writer>,
    /// The writer's lock; `None` for a reader.
    lock: Option<LockGuard>,
    /// A reader's private copy of the files (removed when the journal is dropped).
    _copy: Option<tempfile::TempDir>,
    /// A reader sees records up to this seq: the witnessed durable head.
    limit: Option<Seq>,
    /// What is wrong with a journal opened by [`Journal::open_damaged`].
    damage: Option<Damage>,
}

struct Writer {
    /// Records appended since sled was last opened (and so snapshotted).
    since_checkpoint: u64,
    next: Seq,
    head: ChainHash,
    sealed: Option<Seq>,
    /// Set when a flush failed: what is in memory may not be on disk.
    poisoned: bool,
    /// The head witness the writer appends to (`None` for readers).
    witness: Option<Witness>,
    /// The last seq the witness holds.
    witnessed: Seq,
}

/// What is wrong with a damaged journal (see [`Error::Damaged`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// What was found, one sentence.
    pub reason: String,
    /// The last durable head the witness holds, if it could be read.
    pub witness: Option<(Seq, ChainHash)>,
    /// The last seq sled could read.
    pub readable: Seq,
}

impl Damage {
    pub(crate) fn into_error(self, dir: &Path) -> Error {
        Error::Damaged {
            path: dir.to_path_buf(),
            reason: self.reason,
            witness_seq: self.witness.map(|w| w.0),
            witness_hash: self.witness.map(|w| w.1.to_string()),
            readable: self.readable,
        }
    }
}

impl Journal {
    /// Creates a journal in `dir` (made 0700) and durably records `RunStarted`.
    pub fn create(dir: &Path, run: &RunInfo, opts: &OpenOptions) -> Result<Journal> {
        let journal = Self::create_bare(dir, &run.run_id, &run.target, opts)?;
        let me = Holder::me(&run.tool_version);
        journal.append(Event::RunStarted {
            run_id: run.run_id.clone(),
            workflow: run.workflow.clone(),
            tool_version: run.tool_version.clone(),
            target: run.target.clone(),
            host: me.host,
            user: me.user,
            pid: me.pid,
        })?;
        Ok(journal)
    }

    /// Creates a journal in `dir` with no record yet (its first append must be
    /// `RunStarted`; [`crate::golden`] appends one as it was recorded).
    pub(crate) fn create_bare(
        dir: &Path,
        run_id: &str,
        target: &Target,
        opts: &OpenOptions,
    ) -> Result<Journal> {
        let fresh = !dir.exists();
        std::fs::create_dir_all(dir).map_err(Error::io("create the journal directory", dir))?;
        report_skipped(restrict(dir)?);
        if dir.join("db").exists() || dir.join(witness::FILE).exists() {
            return Err(Error::AlreadyExists(dir.to_path_buf()));
        }
        let (parts, lock) = open_parts(dir, opts)?;
        let target_json = serde_json::to_vec(target).map_err(Error::Json)?;
        let mut meta = sled::Batch::default();
        meta.insert(keys::META_TARGET, target_json);
        meta.insert(keys::META_RUN, run_id.as_bytes());
        meta.insert(keys::META_WITNESS, witness::FILE.as_bytes());
        parts.tree.apply_batch(meta).map_err(Error::sled(dir))?;
        let g = genesis(run_id, &target.fingerprint());
        Witness::create(dir, &g)?;
        let journal = Self::from_parts(dir, dir, opts, parts, Some(lock), Mode::Write)?;
        report_skipped(restrict(dir)?);
        sync_dir(dir)?;
        if fresh && let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        Ok(journal)
    }

    /// Opens the journal in `dir` for `target`; refuses another target's journal.
    pub fn open(dir: &Path, target: &Target, opts: &OpenOptions) -> Result<Journal> {
        let journal = Self::open_any(dir, opts)?;
        if journal.target() != target {
            return Err(Error::TargetMismatch {
                path: dir.to_path_buf(),
                journal: Box::new(journal.target().clone()),
                given: Box::new(target.clone()),
            });
        }
        Ok(journal)
    }

    /// Opens the journal in `dir` for writing whatever its target, taking its
    /// lock. A journal whose sled database came up short of its head witness,
    /// or cannot be opened, is refused with [`Error::Damaged`].
    pub fn open_any(dir: &Path, opts: &OpenOptions) -> Result<Journal> {
        present(dir)?;
        let (parts, lock) = open_parts(dir, opts)?;
        let journal = Self::from_parts(dir, dir, opts, parts, Some(lock), Mode::Write)?;
        report_skipped(restrict(dir)?);
        if let Some(dead) = journal.broke_lock().cloned()
            && journal.sealed().is_none()
        {
            journal.append(Event::LockRecovered {
                host: dead.host,
                pid: dead.pid,
                user: dead.user,
                since: dead.since,
                tool_version: dead.tool_version,
            })?;
        }
        Ok(journal)
    }

    /// Opens the journal in `dir` to read it, writing nothing there: no lock,
    /// no permission change, no holder note, no sled recovery. sled's files
    /// are copied to a private temporary directory (the witness first, so the
    /// copy holds at least the head it names) and the copy is opened; the
    /// reader sees records up to the witnessed durable head. Works on a
    /// read-only file system, on a killed writer's journal and while a run
    /// is live. A damaged journal is [`Error::Damaged`], as for a writer.
    pub fn open_read(dir: &Path) -> Result<Journal> {
        let journal = Self::open_damaged(dir)?;
        match journal.damage() {
            Some(d) => Err(d.clone().into_error(dir)),
            None => Ok(journal),
        }
    }

    /// Opens the journal in `dir` like [`Self::open_read`], but also when its
    /// head witness says it is damaged: [`Self::damage`] then says how, and
    /// the reader sees every record sled could read. For `verify` and
    /// `salvage`. A database sled cannot open is still [`Error::Damaged`].
    pub fn open_damaged(dir: &Path) -> Result<Journal> {
        present(dir)?;
        let opts = OpenOptions::default();
        let mut last = None;
        // While a run is live its writer may move sled's pages during the
        // copy; a copy that comes up short is taken again.
        for attempt in 0..10 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let copy = reader::private_copy(dir)?;
            let at = copy.path().to_path_buf();
            let parts = open_store(&at, &opts).map_err(|e| unopenable(dir, e))?;
            let journal = Self::from_parts(dir, &at, &opts, parts, None, Mode::Read(copy))?;
            let live = lock::holder(dir).is_some_and(|h| h.alive_here());
            if journal.damage().is_none() || !live {
                return Ok(journal);
            }
            last = Some(journal);
        }
        Ok(last.expect("ten attempts"))
    }

    /// Returns what is wrong with a journal opened by [`Self::open_damaged`].
    pub fn damage(&self) -> Option<&Damage> {
        self.inner.damage.as_ref()
    }

    /// Returns true for a reader ([`Self::open_read`]): it cannot append.
    pub fn is_reader(&self) -> bool {
        self.inner.lock.is_none()
    }

    /// Reads the metadata, the tail and the witness, and builds the journal.
    fn from_parts(
        dir: &Path,
        db_dir: &Path,
        opts: &OpenOptions,
        store: Store,
        lock: Option<LockGuard>,
        mode: Mode,
    ) -> Result<Journal> {
        let tree = &store.tree;
        let not_ours = |what: &str| Error::Damaged {
            path: dir.to_path_buf(),
            reason: format!(
                "its database holds no {what}: it is not an ovn-migrate journal, or it lost its start"
            ),
            witness_seq: None,
            witness_hash: None,
            readable: 0,
        };
        let target_bytes = tree
            .get(keys::META_TARGET)
            .map_err(Error::sled(dir))?
            .ok_or_else(|| not_ours("target"))?;
        let target: Target = serde_json::from_slice(&target_bytes).map_err(Error::Json)?;
        let run_id = tree
            .get(keys::META_RUN)
            .map_err(Error::sled(dir))?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .ok_or_else(|| not_ours("run id"))?;
        let genesis = genesis(&run_id, &target.fingerprint());
        let mut writer = Writer {
            since_checkpoint: 0,
            next: 1,
            head: genesis,
            sealed: None,
            poisoned: false,
            witness: None,
            witnessed: 0,
        };
        let mut last_version = 0;
        if let Some(last) = tree
            .range(keys::EVENTS_START..=keys::EVENTS_END)
            .next_back()
        {
            let (k, v) = last.map_err(Error::sled(dir))?;
            let seq = keys::seq_of(&k).expect("event key");
            let (version, _, event, hash) =
                format::decode(&v).map_err(|reason| Error::Corrupt { seq, reason })?;
            writer.next = seq + 1;
            writer.head = hash;
            last_version = version;
            if matches!(event, Event::RunSealed { .. }) {
                writer.sealed = Some(seq);
            }
        }
        let required = last_version >= 3
            || tree
                .contains_key(keys::META_WITNESS)
                .map_err(Error::sled(dir))?;
        let sled_head = (writer.next - 1, writer.head);
        let hash_at = |seq: Seq| -> Option<ChainHash> {
            let v = tree.get(keys::event(seq)).ok()??;
            format::split(&v).ok().map(|r| r.hash)
        };
        let checked = witness::check(db_dir, &genesis, sled_head, hash_at, required);
        let (mut limit, mut damage) = (None, None);
        match (&mode, checked) {
            (Mode::Write, Err(d)) => return Err(d.into_error(dir)),
            (Mode::Write, Ok(witnessed)) => {
                writer.witness = Some(match witnessed {
                    Some(_) => Witness::open(dir)?,
                    None if !dir.join(witness::FILE).exists() => {
                        // A journal from before the witness: it gets one now.
                        let mut w = Witness::create(dir, &genesis)?;
                        w.record(sled_head.0, &sled_head.1)?;
                        tree.insert(keys::META_WITNESS, witness::FILE.as_bytes())
                            .map_err(Error::sled(dir))?;
                        w
                    }
                    None => Witness::open(dir)?,
                });
                writer.witnessed = witnessed.map_or(sled_head.0, |w| w.0);
            }
            (Mode::Read(_), Ok(witnessed)) => {
                if let Some((seq, hash)) = witnessed {
                    limit = Some(seq);
                    writer.next = seq + 1;
                    writer.head = hash;
                    if writer.sealed.is_some_and(|s| s > seq) {
                        writer.sealed = None;
                    }
                }
            }
            (Mode::Read(_), Err(d)) => damage = Some(d),
        }
        Ok(Journal {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                db_dir: db_dir.to_path_buf(),
                opts: opts.clone(),
                store: RwLock::new(Some(store)),
                target,
                run_id,
                genesis,
                writer: Mutex::new(writer),
                lock,
                _copy: match mode {
                    Mode::Read(copy) => Some(copy),
                    Mode::Write => None,
                },
                limit,
                damage,
            }),
        })
    }

    /// Returns the journal's directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Returns the target the journal belongs to.
    pub fn target(&self) -> &Target {
        &self.inner.target
    }

    /// Returns the run id.
    pub fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// Returns `h_0` of the chain.
    pub fn genesis(&self) -> ChainHash {
        self.inner.genesis
    }

    /// Returns the stale holder this process displaced on open, if any.
    pub fn broke_lock(&self) -> Option<&Holder> {
        self.inner.lock.as_ref().and_then(|l| l.broke.as_ref())
    }

    /// Returns the last seq (0 when empty) and the head of the chain.
    pub fn head(&self) -> (Seq, ChainHash) {
        let w = self.inner.writer.lock().expect("journal writer");
        (w.next - 1, w.head)
    }

    /// Returns the seq of the seal, if the run is sealed.
    pub fn sealed(&self) -> Option<Seq> {
        self.inner.writer.lock().expect("journal writer").sealed
    }

    /// Appends one event and makes it durable before returning its seq.
    pub fn append(&self, event: Event) -> Result<Seq> {
        let seqs = self.append_inner(std::slice::from_ref(&event), true, None)?;
        Ok(*seqs.start())
    }

    /// Appends events and makes them all durable with one flush and one
    /// `fdatasync` (group commit); returns their seqs.
    pub fn append_group(&self, events: &[Event]) -> Result<RangeInclusive<Seq>> {
        self.append_inner(events, true, None)
    }

    /// Appends events read from another journal with the times they were
    /// first recorded at, buffered (for [`crate::salvage`] only).
    pub(crate) fn append_as_recorded(&self, events: &[(i64, Event)]) -> Result<()> {
        let (times, events): (Vec<i64>, Vec<Event>) = events.iter().cloned().unzip();
        self.append_inner(&events, false, Some(&times)).map(|_| ())
    }

    /// Appends an event without waiting for durability (bulk writes such as
    /// snapshots); it is durable after the next durable append or [`Self::sync`].
    pub fn append_buffered(&self, event: Event) -> Result<Seq> {
        let seqs = self.append_inner(std::slice::from_ref(&event), false, None)?;
        Ok(*seqs.start())
    }

    /// Makes everything appended so far durable.
    pub fn sync(&self) -> Result<()> {
        let mut w = self.inner.writer.lock().expect("journal writer");
        self.writable(&w)?;
        let _copy_lock = w.witness.as_ref().map(|x| x.lock_for_write()).transpose()?;
        self.make_durable(&mut w)
    }

    /// Refuses to write through a reader or a poisoned journal.
    fn writable(&self, w: &Writer) -> Result<()> {
        if self.is_reader() {
            return Err(Error::ReadOnly(self.inner.dir.clone()));
        }
        if w.poisoned {
            return Err(Error::Io {
                what: "write to the journal: an earlier flush failed; reopen it",
                path: self.inner.dir.clone(),
                source: std::io::Error::other("journal poisoned"),
            });
        }
        Ok(())
    }

    /// Flushes sled, `fdatasync`s its file, then appends the new head to the
    /// witness and `fdatasync`s that; a failure poisons the journal.
    fn make_durable(&self, w: &mut Writer) -> Result<()> {
        let dir = &self.inner.db_dir;
        let res = self.with_store(|st| {
            st.db.flush().map_err(Error::sled(dir))?;
            sync_external_blobs(dir)?;
            st.dbfile.sync()
        });
        let head = w.next - 1;
        let res = res.and_then(|_| match w.witness.as_mut() {
            Some(wit) if head > w.witnessed => {
                wit.record(head, &w.head)?;
                w.witnessed = head;
                Ok(())
            }
            _ => Ok(()),
        });
        if res.is_err() {
            w.poisoned = true;
        }
        res
    }

    /// Closes and reopens sled so that it writes a fresh snapshot: a later
    /// open then replays only the log written since. sled 0.34.7 writes
    /// snapshots only while recovering, so without this a journal that was
    /// never reopened replays its whole log (about 1.2 s at 1,000,000 events).
    /// Appends call it every [`CHECKPOINT_EVERY`] records.
    pub fn checkpoint(&self) -> Result<()> {
        let mut w = self.inner.writer.lock().expect("journal writer");
        self.writable(&w)?;
        let _copy_lock = w.witness.as_ref().map(|x| x.lock_for_write()).transpose()?;
        self.make_durable(&mut w)?;
        self.checkpoint_locked(&mut w)
    }

    fn checkpoint_locked(&self, w: &mut Writer) -> Result<()> {
        let dir = &self.inner.db_dir;
        let mut slot = self.inner.store.write().expect("journal store");
        if let Some(old) = slot.take() {
            old.db.flush().map_err(Error::sled(dir))?;
            drop(old); // releases sled's file lock before it is reopened
        }
        match open_store(dir, &self.inner.opts) {
            Ok(st) => {
                *slot = Some(st);
                w.since_checkpoint = 0;
                Ok(())
            }
            Err(e) => {
                w.poisoned = true;
                Err(e)
            }
        }
    }

    /// Runs `f` on sled's handles (shared with other readers, not with a checkpoint).
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let guard = self.inner.store.read().expect("journal store");
        match guard.as_ref() {
            Some(st) => f(st),
            None => Err(Error::Io {
                what: "use the journal: a checkpoint failed to reopen it; reopen the journal",
                path: self.inner.dir.clone(),
                source: std::io::Error::other("journal closed"),
            }),
        }
    }

    /// The one function that appends: stamps the time (now, or for a
    /// salvage the times given), chains, indexes, and makes durable.
    fn append_inner(
        &self,
        events: &[Event],
        durable: bool,
        times: Option<&[i64]>,
    ) -> Result<RangeInclusive<Seq>> {
        let dir = &self.inner.dir;
        let mut w = self.inner.writer.lock().expect("journal writer");
        self.writable(&w)?;
        if let Some(at) = w.sealed {
            return Err(Error::Sealed(at));
        }
        let first = w.next;
        let mut batch = sled::Batch::default();
        let mut ops: std::collections::BTreeMap<OpId, OpState> = Default::default();
        let (mut seq, mut head) = (w.next, w.head);
        let mut sealed = None;
        let now = now_ms();
        for (i, event) in events.iter().enumerate() {
            check_identifiers(event, dir)?;
            let at_ms = times.and_then(|t| t.get(i).copied()).unwrap_or(now);
            let (rec, hash) = format::encode(event, at_ms, seq, &head)?;
            if rec.len() > keys::MAX_RECORD {
                return Err(Error::TooLarge {
                    what: format!("record {seq} ({})", event.name()),
                    size: rec.len(),
                    limit: keys::MAX_RECORD,
                    path: dir.clone(),
                });
            }
            batch.insert(&keys::event(seq), rec);
            if let Some(op) = event.op() {
                let state = match ops.get(op) {
                    Some(s) => *s,
                    None => self.op_state(op)?.unwrap_or_default(),
                };
                let state = index(state, event, seq);
                let doubt_key = keys::prefixed(b'd', op.0.as_bytes());
                if state.in_doubt() {
                    batch.insert(doubt_key, &seq.to_be_bytes());
                } else {
                    batch.remove(doubt_key);
                }
                ops.insert(op.clone(), state);
            }
            if let Event::WaitFinished {
                wait,
                outcome: WaitOutcome::Met,
                ..
            } = event
            {
                batch.insert(keys::prefixed(b'w', wait.as_bytes()), &seq.to_be_bytes());
            }
            // A reset's epoch redoes this operation: its index forgets the
            // intent, the outcome and the wait met (see `crate::epoch`).
            if let Event::ObservationRecorded { key, .. } = event
                && let Some(redo) = crate::epoch::redone(key)
            {
                let op = OpId(redo.to_string());
                let before = match ops.get(&op) {
                    Some(s) => *s,
                    None => self.op_state(&op)?.unwrap_or_default(),
                };
                let state = OpState {
                    attempts: before.attempts,
                    ..OpState::default()
                };
                batch.remove(keys::prefixed(b'd', op.0.as_bytes()));
                batch.remove(keys::prefixed(b'w', op.0.as_bytes()));
                ops.insert(op, state);
            }
            if matches!(event, Event::RunSealed { .. }) {
                sealed = Some(seq);
            }
            head = hash;
            seq += 1;
        }
        for (op, state) in &ops {
            batch.insert(keys::prefixed(b'o', op.0.as_bytes()), &state.encode());
        }
        let _copy_lock = w.witness.as_ref().map(|x| x.lock_for_write()).transpose()?;
        self.with_store(|st| st.tree.apply_batch(batch).map_err(Error::sled(dir)))?;
        // The batch is in sled's memory now: move the writer on whatever the flush does.
        w.since_checkpoint += seq - w.next;
        w.next = seq;
        w.head = head;
        w.sealed = sealed.or(w.sealed);
        if durable || w.since_checkpoint >= CHECKPOINT_EVERY {
            self.make_durable(&mut w)?;
        }
        if w.since_checkpoint >= CHECKPOINT_EVERY {
            self.checkpoint_locked(&mut w)?;
        }
        Ok(first..=seq - 1)
    }

    /// Returns what the index knows of an operation.
    pub fn op_state(&self, op: &OpId) -> Result<Option<OpState>> {
        let key = keys::prefixed(b'o', op.0.as_bytes());
        let v = self.with_store(|st| st.tree.get(key).map_err(Error::sled(&self.inner.dir)))?;
        Ok(v.map(|v| OpState::decode(&v)))
    }

    /// Returns the seq of the `WaitFinished { Met }` of `wait`, if it was ever met.
    pub fn wait_met(&self, wait: &str) -> Result<Option<Seq>> {
        let key = keys::prefixed(b'w', wait.as_bytes());
        let v = self.with_store(|st| st.tree.get(key).map_err(Error::sled(&self.inner.dir)))?;
        Ok(v.map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8]))))
    }

    /// Returns the operations whose last intent has no outcome, with that intent's seq.
    pub fn in_doubt(&self) -> Result<Vec<(OpId, Seq)>> {
        self.with_store(|st| {
            let mut out = Vec::new();
            for kv in st.tree.scan_prefix(b"d") {
                let (k, v) = kv.map_err(Error::sled(&self.inner.dir))?;
                let op = OpId(String::from_utf8_lossy(&k[1..]).into_owned());
                out.push((
                    op,
                    u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
                ));
            }
            Ok(out)
        })
    }

    /// Reads record `seq`.
    pub fn read(&self, seq: Seq) -> Result<Option<Recorded>> {
        if self.inner.limit.is_some_and(|l| seq > l) {
            return Ok(None);
        }
        let v = self.with_store(|st| {
            st.tree
                .get(keys::event(seq))
                .map_err(Error::sled(&self.inner.dir))
        })?;
        v.map(|v| decode_record(seq, &v)).transpose()
    }

    /// Iterates over the records from `from` on, in order.
    pub fn iter(&self, from: Seq) -> impl Iterator<Item = Result<Recorded>> + '_ {
        self.raw_records(from).map(|kv| {
            let (k, v) = kv?;
            decode_record(keys::seq_of(&k).expect("event key"), &v)
        })
    }

    /// Iterates over the raw stored records (key, value) from `from` on, a page
    /// at a time, so no reader holds sled's handles across a checkpoint.
    pub fn raw_records(
        &self,
        from: Seq,
    ) -> impl Iterator<Item = Result<(Vec<u8>, sled::IVec)>> + '_ {
        let mut next = Some(from);
        let end = keys::event(self.inner.limit.unwrap_or(u64::MAX));
        let mut page: std::collections::VecDeque<Result<(Vec<u8>, sled::IVec)>> =
            Default::default();
        std::iter::from_fn(move || {
            if page.is_empty() {
                let start = next?;
                let read = self.with_store(|st| {
                    let mut out = Vec::with_capacity(1024);
                    for kv in st.tree.range(keys::event(start)..=end).take(1024) {
                        let (k, v) = kv.map_err(Error::sled(&self.inner.dir))?;
                        out.push((k.to_vec(), v));
                    }
                    Ok(out)
                });
                match read {
                    Ok(rows) => {
                        next = match rows.last() {
                            Some((k, _)) if rows.len() == 1024 => keys::seq_of(k).map(|s| s + 1),
                            _ => None,
                        };
                        page.extend(rows.into_iter().map(Ok));
                    }
                    Err(e) => {
                        next = None;
                        page.push_back(Err(e));
                    }
                }
            }
            page.pop_front()
        })
    }

    /// Returns `s` bounded for an event: whole when short, else cut with its
    /// full form in the blob store (buffered, like [`Self::put_blob`]).
    pub fn text(&self, s: &str) -> Result<Text> {
        Text::new(s, |b| self.put_blob(b))
    }

    /// Returns `value` as a bounded document for an event: inline when small,
    /// else in the blob store with a preview inline.
    pub fn doc<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<Doc> {
        self.doc_json(Json::of(value)?)
    }

    /// Returns JSON text as a bounded document (see [`Self::doc`]).
    pub fn doc_json(&self, json: Json) -> Result<Doc> {
        Doc::new(json, |b| self.put_blob(b))
    }

    /// Returns the full text of `text`, reading its blob when it was cut.
    pub fn full_text(&self, text: &Text) -> Result<String> {
        match text.full_blob() {
            None => Ok(text.inline().to_string()),
            Some(h) => {
                let bytes = self.get_blob(&h)?.ok_or_else(|| missing_blob(h))?;
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
        }
    }

    /// Returns the whole document, reading its blob when it is not inline.
    pub fn load_doc(&self, doc: &Doc) -> Result<Json> {
        match (doc.json(), doc.full_blob()) {
            (Some(j), _) => Ok(j),
            (None, Some(h)) => {
                let bytes = self.get_blob(&h)?.ok_or_else(|| missing_blob(h))?;
                Ok(Json(String::from_utf8_lossy(&bytes).into_owned()))
            }
            (None, None) => Ok(Json::null()),
        }
    }

    /// Stores a blob (deduplicated by its blake3 hash) and returns its address.
    /// Buffered: durable with the next durable append, which should be the
    /// `SnapshotRecorded` event that references it.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<BlobHash> {
        if self.is_reader() {
            return Err(Error::ReadOnly(self.inner.dir.clone()));
        }
        let hash = BlobHash::of(bytes);
        let dir = &self.inner.dir;
        let manifest_key = keys::prefixed(b'B', &hash.0);
        if self.with_store(|st| {
            st.tree
                .contains_key(&manifest_key)
                .map_err(Error::sled(dir))
        })? {
            return Ok(hash);
        }
        let mut batch = sled::Batch::default();
        let chunks = bytes.chunks(keys::BLOB_CHUNK);
        let count = chunks.len() as u32;
        for (i, chunk) in chunks.enumerate() {
            batch.insert(keys::chunk(&hash.0, i as u32), chunk);
        }
        let mut manifest = (bytes.len() as u64).to_be_bytes().to_vec();
        manifest.extend_from_slice(&count.to_be_bytes());
        batch.insert(manifest_key, manifest);
        let w = self.inner.writer.lock().expect("journal writer");
        let _copy_lock = w.witness.as_ref().map(|x| x.lock_for_write()).transpose()?;
        self.with_store(|st| st.tree.apply_batch(batch).map_err(Error::sled(dir)))?;
        Ok(hash)
    }

    /// Returns the addresses of every blob in the store.
    pub(crate) fn blob_hashes(&self) -> Result<Vec<BlobHash>> {
        self.with_store(|st| {
            let mut out = Vec::new();
            for kv in st.tree.scan_prefix(b"B") {
                let (k, _) = kv.map_err(Error::sled(&self.inner.dir))?;
                if let Ok(h) = <[u8; 32]>::try_from(&k[1..]) {
                    out.push(BlobHash(h));
                }
            }
            Ok(out)
        })
    }

    /// Returns a blob's bytes, checking them against their address.
    pub fn get_blob(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>> {
        let dir = &self.inner.dir;
        let bytes = self.with_store(|st| {
            let Some(manifest) = st
                .tree
                .get(keys::prefixed(b'B', &hash.0))
                .map_err(Error::sled(dir))?
            else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(manifest[..8].try_into().unwrap()) as usize;
            let count = u32::from_be_bytes(manifest[8..12].try_into().unwrap());
            let mut bytes = Vec::with_capacity(len);
            for i in 0..count {
                let chunk = st
                    .tree
                    .get(keys::chunk(&hash.0, i))
                    .map_err(Error::sled(dir))?;
                bytes.extend_from_slice(&chunk.unwrap_or_default());
            }
            Ok(Some(bytes))
        })?;
        let Some(bytes) = bytes else { return Ok(None) };
        if BlobHash::of(&bytes) != *hash {
            return Err(Error::Corrupt {
                seq: 0,
                reason: format!("blob {hash} does not match its hash"),
            });
        }
        Ok(Some(bytes))
    }
}

fn missing_blob(h: BlobHash) -> Error {
    Error::Corrupt {
        seq: 0,
        reason: format!("blob {h} that a record references is missing"),
    }
}

/// Longest identifier (step, action, target, key, wait, label…) in an event, in bytes.
pub const MAX_IDENTIFIER: usize = 256;

/// Refuses an event whose identifiers are over their bounds, as
/// [`Error::TooLarge`] (nothing in it is free text: that is bounded already).
fn check_identifiers(event: &Event, dir: &Path) -> Result<()> {
    let too_large = |what: &str, size: usize, limit: usize| Error::TooLarge {
        what: format!("{} ({what})", event.name()),
        size,
        limit,
        path: dir.to_path_buf(),
    };
    if let Some(op) = event.op()
        && op.0.len() > keys::MAX_OP_ID
    {
        return Err(too_large("its operation id", op.0.len(), keys::MAX_OP_ID));
    }
    let ids: Vec<&str> = match event {
        Event::OperationIntended {
            step,
            action,
            target,
            idempotency_key,
            ..
        } => vec![step, action, target, idempotency_key],
        Event::WaitStarted { wait, step } => vec![wait, step],
        Event::ConditionObserved { wait, .. } | Event::WaitFinished { wait, .. } => vec![wait],
        Event::ObservationRecorded { key, .. } => vec![key],
        Event::SnapshotRecorded { label, .. } => vec![label],
        _ => vec![],
    };
    for id in ids {
        if id.len() > MAX_IDENTIFIER {
            return Err(too_large("an identifier", id.len(), MAX_IDENTIFIER));
        }
    }
    Ok(())
}

/// Returns the index state after `event` (an operation event) at `seq`.
fn index(mut s: OpState, event: &Event, seq: Seq) -> OpState {
    match event {
        Event::OperationIntended { .. } => {
            s.intent = Some(seq);
            s.attempts += 1;
        }
        Event::OperationSucceeded { .. } | Event::OperationSkipped { .. } => {
            s.outcome = Some(seq);
            s.done = true;
        }
        Event::OperationFailed { .. } => {
            s.outcome = Some(seq);
            s.done = false;
        }
        _ => {}
    }
    s
}

fn decode_record(seq: Seq, v: &[u8]) -> Result<Recorded> {
    let (version, at_ms, event, hash) =
        format::decode(v).map_err(|reason| Error::Corrupt { seq, reason })?;
    Ok(Recorded {
        seq,
        version,
        at_ms,
        event,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_and_checkpoint_honour_the_poisoned_flag() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunInfo {
            run_id: "r".into(),
            workflow: "w".into(),
            tool_version: "t".into(),
            target: Target {
                cluster_id: "c".into(),
                api_server: "a".into(),
                openstack_auth_url: "o".into(),
                openstack_project: "p".into(),
            },
        };
        let j = Journal::create(tmp.path(), &run, &OpenOptions::default()).unwrap();
        j.sync().unwrap();
        j.inner.writer.lock().unwrap().poisoned = true;
        for (what, res) in [("sync", j.sync()), ("checkpoint", j.checkpoint())] {
            let err = res.expect_err(what);
            assert!(
                err.to_string().contains("earlier flush failed"),
                "{what}: {err}"
            );
        }
        assert!(
            j.append(Event::WaitStarted {
                wait: "w".into(),
                step: "s".into()
            })
            .is_err()
        );
    }
}
