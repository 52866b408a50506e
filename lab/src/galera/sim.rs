//! The simulated backend: an in-process model of a Galera cluster's wsrep
//! state, answering the `mariadb` and `mariadb-dump` argvs the backup uses,
//! for machines without MariaDB (`demo ovs`). Chosen explicitly, never a
//! fallback for a real cluster that is missing.
//!
//! What it models, calibrated on the real cluster of `lab/real/galera.sh`
//! (MariaDB 10.11, Galera 4): each member is Synced (`wsrep_local_state`
//! 4) until `SET GLOBAL wsrep_desync = ON` makes it `Donor/Desynced` (2,
//! `wsrep_desync_count` 1); `OFF` passes through `Joined` (3) for
//! [`SimGalera::set_resync_delay`] before `Synced` again. Setting the value
//! it already has is a warning, not an error, as in MariaDB. `SHOW [GLOBAL]
//! STATUS|VARIABLES [LIKE 'pat']` print `name<TAB>value` rows (a
//! `Variable_name<TAB>Value` header unless `-N`/`-s`), `SELECT
//! @@[GLOBAL.]wsrep_desync` prints 0/1. Anything else is `ERROR 1064` with
//! the list of what it understands. A member can be stopped
//! ([`SimGalera::stop`]: `ERROR 2002`, the others see a cluster of two) and
//! any status value overridden ([`SimGalera::override_status`]), to test
//! the backup's refusals. `mariadb-dump` writes a small deterministic dump
//! of `neutron` (unknown databases fail with 1049 as in MariaDB) to its
//! result file or stdout, and records each dump ([`SimGalera::dumps`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::files::{POD_DIR, PodFiles};
use crate::k8s::exec::{ExecEnd, ExecIo};

/// The state of one simulated member.
#[derive(Clone, Debug, Default)]
struct Member {
    desync: bool,
    joined_until: Option<Instant>,
    stopped: bool,
    desync_count: u32,
    overrides: BTreeMap<String, String>,
}

/// One dump a simulated member wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimDump {
    /// The member's pod ordinal (0-based).
    pub ordinal: usize,
    /// The databases dumped.
    pub databases: Vec<String>,
    /// Whether `--single-transaction` was given.
    pub single_transaction: bool,
    /// The result file as the pod names it (`None`: stdout).
    pub result_file: Option<String>,
    /// Whether the member was desynced while it dumped.
    pub desynced: bool,
}

#[derive(Debug)]
struct State {
    members: Vec<Member>,
    resync_delay: Duration,
    dumps: Vec<SimDump>,
}

/// A simulated Galera cluster (cheap to clone; clones share the state).
#[derive(Clone, Debug)]
pub struct SimGalera {
    state: Arc<Mutex<State>>,
}

/// The cluster's state UUID (fixed: the model has one history).
const CLUSTER_UUID: &str = "5b8ab7c4-0d6f-11f1-9a1e-6a1b2c3d4e5f";

/// What the simulated client understands, for its syntax errors.
const KNOWN: &str = "SHOW [GLOBAL|SESSION] STATUS|VARIABLES [LIKE 'pattern'], \
                     SET GLOBAL wsrep_desync = ON|OFF, SELECT @@[GLOBAL.]wsrep_desync, SELECT 1, USE db";

impl SimGalera {
    /// Returns a cluster of `members`, all Synced.
    pub fn new(members: usize) -> Self {
        SimGalera {
            state: Arc::new(Mutex::new(State {
                members: vec![Member::default(); members],
                resync_delay: Duration::from_millis(200),
                dumps: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets how long a member stays `Joined` after its desync is turned off.
    pub fn set_resync_delay(&self, d: Duration) {
        self.lock().resync_delay = d;
    }

    /// Stops (true) or starts (false) a member.
    pub fn stop(&self, ordinal: usize, stopped: bool) {
        if let Some(m) = self.lock().members.get_mut(ordinal) {
            m.stopped = stopped;
        }
    }

    /// Makes a member report `value` for the status variable `name` (e.g.
    /// `wsrep_cluster_status` = `non-Primary`); `None` removes the override.
    pub fn override_status(&self, ordinal: usize, name: &str, value: Option<&str>) {
        if let Some(m) = self.lock().members.get_mut(ordinal) {
            match value {
                Some(v) => m.overrides.insert(name.to_string(), v.to_string()),
                None => m.overrides.remove(name),
            };
        }
    }

    /// Returns whether a member's `wsrep_desync` is ON.
    pub fn desynced(&self, ordinal: usize) -> bool {
        self.lock().members.get(ordinal).is_some_and(|m| m.desync)
    }

    /// Returns every dump written so far, in order.
    pub fn dumps(&self) -> Vec<SimDump> {
        self.lock().dumps.clone()
    }

    /// Returns a member's status variables, in the real server's order.
    pub fn status(&self, ordinal: usize) -> Vec<(String, String)> {
        let st = self.lock();
        let up = st.members.iter().filter(|m| !m.stopped).count();
        let m = &st.members[ordinal];
        let (state, comment) = if m.desync {
            (2, "Donor/Desynced")
        } else if m.joined_until.is_some_and(|t| Instant::now() < t) {
            (3, "Joined")
        } else {
            (4, "Synced")
        };
        let addresses: Vec<String> = (0..st.members.len())
            .map(|i| format!("127.0.0.1:{}", 3311 + i))
            .collect();
        let mut rows: Vec<(String, String)> = [
            ("wsrep_local_state_uuid", CLUSTER_UUID.to_string()),
            ("wsrep_protocol_version", "11".into()),
            ("wsrep_last_committed", "8".into()),
            ("wsrep_local_send_queue", "0".into()),
            ("wsrep_local_recv_queue", "0".into()),
            ("wsrep_flow_control_paused", "0".into()),
            ("wsrep_flow_control_active", "false".into()),
            ("wsrep_local_state", state.to_string()),
            ("wsrep_local_state_comment", comment.into()),
            ("wsrep_incoming_addresses", addresses.join(",")),
            ("wsrep_cluster_weight", up.to_string()),
            ("wsrep_desync_count", m.desync_count.to_string()),
            ("wsrep_evs_state", "OPERATIONAL".into()),
            ("wsrep_cluster_conf_id", "3".into()),
            ("wsrep_cluster_size", up.to_string()),
            ("wsrep_cluster_state_uuid", CLUSTER_UUID.into()),
            ("wsrep_cluster_status", "Primary".into()),
            ("wsrep_connected", "ON".into()),
            ("wsrep_local_index", ordinal.to_string()),
            ("wsrep_provider_name", "Galera".into()),
            (
                "wsrep_provider_vendor",
                "Codership Oy <info@codership.com> (simulated by the ovn-migrate lab)".into(),
            ),
            ("wsrep_provider_version", "4.23(simulated)".into()),
            ("wsrep_ready", "ON".into()),
            ("wsrep_thread_count", "2".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in &m.overrides {
            match rows.iter_mut().find(|(name, _)| name == k) {
                Some(row) => row.1 = v.clone(),
                None => rows.push((k.clone(), v.clone())),
            }
        }
        rows
    }

    fn variables(&self, ordinal: usize) -> Vec<(String, String)> {
        let st = self.lock();
        let m = &st.members[ordinal];
        [
            (
                "wsrep_cluster_address",
                "gcomm://127.0.0.1:4571,127.0.0.1:4572,127.0.0.1:4573".to_string(),
            ),
            ("wsrep_cluster_name", "ovn-migrate-lab".into()),
            ("wsrep_desync", if m.desync { "ON" } else { "OFF" }.into()),
            ("wsrep_node_name", format!("member-{}", ordinal + 1)),
            ("wsrep_on", "ON".into()),
            ("wsrep_sst_method", "rsync".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Sets a member's desync; returns the warning when it already had that value.
    fn set_desync(&self, ordinal: usize, on: bool) -> Option<String> {
        let mut st = self.lock();
        let delay = st.resync_delay;
        let m = &mut st.members[ordinal];
        if m.desync == on {
            return Some(format!(
                "'wsrep_desync' is already {}.",
                if on { "ON" } else { "OFF" }
            ));
        }
        m.desync = on;
        if on {
            m.desync_count += 1;
        } else {
            m.desync_count = m.desync_count.saturating_sub(1);
            m.joined_until = Some(Instant::now() + delay);
        }
        None
    }

    fn is_stopped(&self, ordinal: usize) -> bool {
        self.lock().members.get(ordinal).is_none_or(|m| m.stopped)
    }

    /// Runs a `mariadb`/`mysql` argv on a member.
    pub async fn client(&self, ordinal: usize, argv: &[String], mut io: ExecIo) -> ExecEnd {
        if let Some(msg) = missing_defaults_file(&argv[1..]) {
            io.out.stderr(msg).await;
            return ExecEnd::Exited(1);
        }
        let opts = match ClientArgs::parse(&argv[1..]) {
            Ok(o) => o,
            Err(msg) => {
                io.out.stderr(format!("{}: {msg}\n", argv[0])).await;
                return ExecEnd::Exited(1);
            }
        };
        if self.is_stopped(ordinal) {
            io.out
                .stderr(
                    "ERROR 2002 (HY000): Can't connect to local server through socket \
                     '/run/mysqld/mysqld.sock' (111)\n",
                )
                .await;
            return ExecEnd::Exited(1);
        }
        let sql = match opts.execute {
            Some(s) => s,
            None => {
                let mut text = Vec::new();
                if let Some(stdin) = io.stdin.as_mut() {
                    while let Some(chunk) = stdin.recv().await {
                        text.extend_from_slice(&chunk);
                    }
                }
                String::from_utf8_lossy(&text).into_owned()
            }
        };
        for (line, stmt) in split_statements(&sql).into_iter().enumerate() {
            match self.statement(ordinal, &stmt) {
                Ok(None) => {}
                Ok(Some((header, rows))) => {
                    let mut text = String::new();
                    if !opts.skip_column_names {
                        text.push_str(&header.join("\t"));
                        text.push('\n');
                    }
                    for r in rows {
                        text.push_str(&r.join("\t"));
                        text.push('\n');
                    }
                    io.out.stdout(text).await;
                }
                Err(msg) => {
                    io.out
                        .stderr(format!("ERROR 1064 (42000) at line {}: {msg}\n", line + 1))
                        .await;
                    return ExecEnd::Exited(1);
                }
            }
        }
        ExecEnd::Exited(0)
    }

    /// Runs one statement: `Ok(None)` for no result set, rows otherwise.
    #[allow(clippy::type_complexity)]
    fn statement(
        &self,
        ordinal: usize,
        stmt: &str,
    ) -> Result<Option<(Vec<String>, Vec<Vec<String>>)>, String> {
        let words: Vec<String> = stmt.split_whitespace().map(str::to_string).collect();
        let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
        let u: Vec<&str> = upper.iter().map(String::as_str).collect();
        let pair = |rows: Vec<(String, String)>, filter: &Filter| {
            let rows = rows
                .into_iter()
                .filter(|(k, _)| match filter {
                    Filter::All => true,
                    Filter::Like(p) => like(p, k),
                    Filter::Names(names) => names.iter().any(|n| n.eq_ignore_ascii_case(k)),
                })
                .map(|(k, v)| vec![k, v])
                .collect();
            Some((vec!["Variable_name".to_string(), "Value".to_string()], rows))
        };
        match u.as_slice() {
            ["SHOW", rest @ ..] => {
                let rest = match rest {
                    ["GLOBAL" | "SESSION", r @ ..] => r,
                    r => r,
                };
                let filter = match rest.get(1..) {
                    Some([]) | None => Filter::All,
                    Some(["LIKE", ..]) => {
                        Filter::Like(quoted(stmt).into_iter().next().ok_or_else(|| {
                            format!("LIKE needs a quoted pattern near '{stmt}'; it knows {KNOWN}")
                        })?)
                    }
                    // `WHERE Variable_name IN ('a','b')` or `= 'a'`.
                    Some(["WHERE", "VARIABLE_NAME", "IN" | "=", ..])
                    | Some(["WHERE", "VARIABLE_NAME", "IN(", ..]) => Filter::Names(quoted(stmt)),
                    Some([w, ..]) if w.starts_with("WHERE") => {
                        let names = quoted(stmt);
                        if names.is_empty() || !upper.join(" ").contains("VARIABLE_NAME") {
                            return Err(unknown(stmt));
                        }
                        Filter::Names(names)
                    }
                    _ => return Err(unknown(stmt)),
                };
                match rest.first() {
                    Some(&"STATUS") => Ok(pair(self.status(ordinal), &filter)),
                    Some(&"VARIABLES") => Ok(pair(self.variables(ordinal), &filter)),
                    Some(&"DATABASES") => Ok(Some((
                        vec!["Database".into()],
                        [
                            "information_schema",
                            "mysql",
                            "neutron",
                            "performance_schema",
                            "sys",
                        ]
                        .iter()
                        .map(|d| vec![d.to_string()])
                        .collect(),
                    ))),
                    _ => Err(unknown(stmt)),
                }
            }
            ["SET", ..] => {
                let compact: String = upper[1..].concat();
                let value = compact
                    .strip_prefix("GLOBALWSREP_DESYNC=")
                    .or_else(|| compact.strip_prefix("@@GLOBAL.WSREP_DESYNC="))
                    .ok_or_else(|| unknown(stmt))?;
                let on = match value {
                    "ON" | "1" | "TRUE" => true,
                    "OFF" | "0" | "FALSE" => false,
                    _ => {
                        return Err(format!(
                            "Variable 'wsrep_desync' can't be set to the value of '{value}'"
                        ));
                    }
                };
                // MariaDB answers an unchanged value with a warning (1231), not an error.
                let _warning = self.set_desync(ordinal, on);
                Ok(None)
            }
            ["SELECT", "1"] => Ok(Some((vec!["1".into()], vec![vec!["1".into()]]))),
            ["SELECT", v]
                if v.trim_start_matches("@@").trim_start_matches("GLOBAL.") == "WSREP_DESYNC" =>
            {
                let on = self.lock().members[ordinal].desync;
                Ok(Some((
                    vec![words[1].clone()],
                    vec![vec![if on { "1" } else { "0" }.to_string()]],
                )))
            }
            ["USE", _] => Ok(None),
            _ => Err(unknown(stmt)),
        }
    }

    /// Runs a `mariadb-dump`/`mysqldump` argv on a member.
    pub async fn dump(
        &self,
        ordinal: usize,
        files: &PodFiles,
        argv: &[String],
        io: ExecIo,
    ) -> ExecEnd {
        let d = DumpArgs::parse(&argv[1..]);
        if self.is_stopped(ordinal) {
            io.out
                .stderr(format!(
                    "{}: Got error: 2002: \"Can't connect to local server through socket \
                     '/run/mysqld/mysqld.sock' (111)\" when trying to connect\n",
                    argv[0]
                ))
                .await;
            return ExecEnd::Exited(2);
        }
        if d.databases.is_empty() {
            io.out
                .stderr(format!(
                    "Usage: {} [OPTIONS] database [tables]\nOR     {0} [OPTIONS] --databases DB1 [DB2 DB3...]\n",
                    argv[0]
                ))
                .await;
            return ExecEnd::Exited(1);
        }
        if let Some(db) = d.databases.iter().find(|db| db.as_str() != "neutron") {
            io.out
                .stderr(format!(
                    "{}: Got error: 1049: \"Unknown database '{db}'\" when selecting the database\n",
                    argv[0]
                ))
                .await;
            return ExecEnd::Exited(2);
        }
        let text = dump_text();
        if let Some(path) = &d.result_file {
            let host = if path.starts_with('/') {
                files.host_path(path)
            } else if path.split('/').any(|c| c == "..") {
                None
            } else {
                Some(files.root().join(path))
            };
            let Some(host) = host else {
                io.out
                    .stderr(format!(
                        "{}: result file {path}: only {POD_DIR}/ is this pod's filesystem in the lab\n",
                        argv[0]
                    ))
                    .await;
                return ExecEnd::Exited(2);
            };
            if let Err(e) = std::fs::write(&host, &text) {
                io.out
                    .stderr(format!(
                        "{}: Can't create/write to file '{path}' ({e})\n",
                        argv[0]
                    ))
                    .await;
                return ExecEnd::Exited(2);
            }
        } else {
            io.out.stdout(text).await;
        }
        let desynced = self.desynced(ordinal);
        self.lock().dumps.push(SimDump {
            ordinal,
            databases: d.databases,
            single_transaction: d.single_transaction,
            result_file: d.result_file,
            desynced,
        });
        ExecEnd::Exited(0)
    }
}

fn unknown(stmt: &str) -> String {
    format!(
        "You have an error in your SQL syntax near '{stmt}': the lab's simulated MariaDB \
         understands only {KNOWN}"
    )
}

/// Which rows a `SHOW … STATUS|VARIABLES` prints.
enum Filter {
    All,
    Like(String),
    Names(Vec<String>),
}

/// Returns every single- or double-quoted string in `s`, in order.
fn quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find(['\'', '"']) {
        let q = &rest[start..start + 1];
        let after = &rest[start + 1..];
        let Some(end) = after.find(q) else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Returns MariaDB's complaint when `args` start with a defaults file the
/// pod does not have (only [`super::ADMIN_CNF`] is there).
fn missing_defaults_file(args: &[String]) -> Option<String> {
    let v = args.first()?.strip_prefix("--defaults-file=")?;
    (v != super::ADMIN_CNF).then(|| {
        format!("Could not open required defaults file: {v}\nFatal error in defaults handling. Program aborted\n")
    })
}

/// Returns true when `name` matches the SQL LIKE `pattern` (`%`, `_`, case-insensitive).
pub fn like(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('_', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                !n.is_empty() && n[0].eq_ignore_ascii_case(&rest[0]) && go(&rest[1..], &n[1..])
            }
            Some((c, rest)) => !n.is_empty() && n[0].eq_ignore_ascii_case(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// Splits SQL on `;` outside quotes; empty statements are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (None, ';') => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            (None, '\'' | '"' | '`') => quote = Some(c),
            (Some(q), c) if q == c => quote = None,
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The options of the simulated client that change its answers.
#[derive(Debug, Default, PartialEq)]
struct ClientArgs {
    execute: Option<String>,
    skip_column_names: bool,
}

impl ClientArgs {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut c = ClientArgs::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "-e" | "--execute" => {
                    c.execute = Some(it.next().ok_or("option '-e' requires an argument")?.clone())
                }
                "-N" | "--skip-column-names" | "-s" | "--silent" => c.skip_column_names = true,
                // The value-taking options the backup might pass; their values are skipped.
                "-u" | "--user" | "-h" | "--host" | "-P" | "--port" | "-S" | "--socket" | "-D"
                | "--database" => {
                    it.next();
                }
                s if s.starts_with("--execute=") => c.execute = Some(s[10..].to_string()),
                s if s.starts_with("-e") && s.len() > 2 => c.execute = Some(s[2..].to_string()),
                s if s.starts_with("-Ns") || s.starts_with("-sN") || s == "-NB" || s == "-BN" => {
                    c.skip_column_names = true
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

/// The options of the simulated dump.
#[derive(Debug, Default, PartialEq)]
struct DumpArgs {
    databases: Vec<String>,
    single_transaction: bool,
    result_file: Option<String>,
}

impl DumpArgs {
    fn parse(args: &[String]) -> Self {
        let mut d = DumpArgs::default();
        let mut it = args.iter();
        let mut positional = Vec::new();
        let mut databases_flag = false;
        while let Some(a) = it.next() {
            match a.as_str() {
                "--single-transaction" => d.single_transaction = true,
                "--databases" | "-B" => databases_flag = true,
                "-r" | "--result-file" => d.result_file = it.next().cloned(),
                "-u" | "--user" | "-h" | "--host" | "-P" | "--port" | "-S" | "--socket" => {
                    it.next();
                }
                s if s.starts_with("--result-file=") => d.result_file = Some(s[14..].to_string()),
                s if s.starts_with('-') => {}
                s => positional.push(s.to_string()),
            }
        }
        // Without --databases, the first name is the database and the rest are tables.
        d.databases = if databases_flag {
            positional
        } else {
            positional.into_iter().take(1).collect()
        };
        d
    }
}

/// Returns the simulated dump of `neutron` (deterministic).
fn dump_text() -> String {
    let mut s = String::from(
        "-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB (simulated by the ovn-migrate lab)\n\
         --\n-- Host: localhost    Database: neutron\n\
         -- ------------------------------------------------------\n\n\
         CREATE DATABASE /*!32312 IF NOT EXISTS*/ `neutron`;\nUSE `neutron`;\n\n\
         CREATE TABLE `networks` (\n  `id` char(36) NOT NULL,\n  `name` varchar(255) DEFAULT NULL,\n  \
         `mtu` int(11) DEFAULT NULL,\n  `network_type` varchar(32) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n\
         ) ENGINE=InnoDB;\n\nINSERT INTO `networks` VALUES ",
    );
    let rows: Vec<String> = (1..=20)
        .map(|i| {
            format!(
                "('00000000-0000-4000-8000-{i:012}','net-{i}',{},'vxlan')",
                if i % 3 == 0 { 1450 } else { 1442 }
            )
        })
        .collect();
    s.push_str(&rows.join(","));
    s.push_str(";\n\n-- Dump completed\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_as_sql_does() {
        assert!(like("wsrep%", "wsrep_ready"));
        assert!(like("WSREP_READY", "wsrep_ready"));
        assert!(like("wsrep_local_state%", "wsrep_local_state_comment"));
        assert!(!like("wsrep_ready", "wsrep_ready_x"));
        assert!(like("wsrep_r_ady", "wsrep_ready"));
        assert!(like("wsrep\\_ready", "wsrep_ready"));
        assert!(!like("wsrep\\_ready", "wsrepXready"));
    }

    #[test]
    fn statements_split_outside_quotes() {
        assert_eq!(
            split_statements("SET GLOBAL wsrep_desync = ON; SELECT ';' ;;"),
            ["SET GLOBAL wsrep_desync = ON", "SELECT ';'"]
        );
    }

    #[test]
    fn desync_moves_through_the_real_states() {
        let g = SimGalera::new(3);
        g.set_resync_delay(Duration::from_secs(3600));
        let comment = |g: &SimGalera, i| {
            g.status(i)
                .into_iter()
                .find(|(k, _)| k == "wsrep_local_state_comment")
                .unwrap()
                .1
        };
        assert_eq!(comment(&g, 2), "Synced");
        g.statement(2, "SET GLOBAL wsrep_desync = ON").unwrap();
        assert_eq!(comment(&g, 2), "Donor/Desynced");
        assert_eq!(comment(&g, 1), "Synced");
        // Already ON: a warning in MariaDB, not an error.
        g.statement(2, "set global wsrep_desync=1").unwrap();
        let (_, rows) = g
            .statement(2, "SELECT @@GLOBAL.wsrep_desync")
            .unwrap()
            .unwrap();
        assert_eq!(rows, [["1"]]);
        g.statement(2, "SET GLOBAL wsrep_desync = OFF").unwrap();
        assert_eq!(comment(&g, 2), "Joined");
        g.set_resync_delay(Duration::ZERO);
        g.statement(2, "SET GLOBAL wsrep_desync = ON").unwrap();
        g.statement(2, "SET GLOBAL wsrep_desync = OFF").unwrap();
        assert_eq!(comment(&g, 2), "Synced");
        assert!(g.statement(2, "SET GLOBAL wsrep_desync = maybe").is_err());
        assert!(g.statement(2, "DROP DATABASE neutron").is_err());
    }

    #[test]
    fn show_filters_with_like_and_a_stopped_member_shrinks_the_cluster() {
        let g = SimGalera::new(3);
        let (header, rows) = g
            .statement(0, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_s%'")
            .unwrap()
            .unwrap();
        assert_eq!(header, ["Variable_name", "Value"]);
        assert_eq!(
            rows,
            [
                ["wsrep_cluster_size", "3"],
                ["wsrep_cluster_state_uuid", CLUSTER_UUID],
                ["wsrep_cluster_status", "Primary"]
            ]
        );
        g.stop(1, true);
        let (_, rows) = g
            .statement(0, "SHOW STATUS LIKE 'wsrep_cluster_size'")
            .unwrap()
            .unwrap();
        assert_eq!(rows, [["wsrep_cluster_size", "2"]]);
        g.override_status(0, "wsrep_cluster_status", Some("non-Primary"));
        let (_, rows) = g
            .statement(0, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'")
            .unwrap()
            .unwrap();
        assert_eq!(rows, [["wsrep_cluster_status", "non-Primary"]]);
        let (_, rows) = g
            .statement(
                0,
                "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready','wsrep_cluster_size')",
            )
            .unwrap()
            .unwrap();
        assert_eq!(rows, [["wsrep_cluster_size", "2"], ["wsrep_ready", "ON"]]);
        let (_, rows) = g
            .statement(0, "SHOW STATUS WHERE Variable_name = 'wsrep_ready'")
            .unwrap()
            .unwrap();
        assert_eq!(rows, [["wsrep_ready", "ON"]]);
        assert!(
            missing_defaults_file(&["--defaults-file=/etc/mysql/admin_user.cnf".to_string()])
                .is_none()
        );
        assert!(missing_defaults_file(&["--defaults-file=/root/.my.cnf".to_string()]).is_some());
        let (_, rows) = g
            .statement(0, "SHOW GLOBAL VARIABLES LIKE 'wsrep_desync'")
            .unwrap()
            .unwrap();
        assert_eq!(rows, [["wsrep_desync", "OFF"]]);
    }

    #[test]
    fn client_and_dump_arguments_are_read_as_mariadb_reads_them() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = ClientArgs::parse(&a(&["-u", "root", "-N", "-B", "-e", "SELECT 1"])).unwrap();
        assert_eq!(c.execute.as_deref(), Some("SELECT 1"));
        assert!(c.skip_column_names);
        let c = ClientArgs::parse(&a(&["--execute=SHOW STATUS"])).unwrap();
        assert!(!c.skip_column_names);
        assert!(ClientArgs::parse(&a(&["-e"])).is_err());
        let d = DumpArgs::parse(&a(&[
            "--single-transaction",
            "--databases",
            "neutron",
            "--result-file=/var/lib/mysql/x.sql",
        ]));
        assert_eq!(d.databases, ["neutron"]);
        assert!(d.single_transaction);
        assert_eq!(d.result_file.as_deref(), Some("/var/lib/mysql/x.sql"));
        let d = DumpArgs::parse(&a(&["neutron", "networks"]));
        assert_eq!(d.databases, ["neutron"]);
        assert!(!d.single_transaction);
    }
}
