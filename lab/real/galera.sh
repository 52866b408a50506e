#!/bin/bash
# galera.sh - a real three-member MariaDB Galera cluster on 127.0.0.1, from Debian 12's
# packages, as the fixture of the `ovs prepare` database backup (scripts/test.sh starts it
# for the tests with the `lab/real-galera` feature; the lab's mariadb-server pods run their
# exec commands against these members: pod N-1 <-> member N).
#
#   bash galera.sh up       install (if needed, as root), wipe state, bootstrap member 1
#                           with --wsrep-new-cluster, join 2 and 3 (rsync SST), seed `neutron`.
#                           Idempotent: when all three members already run, are Synced in a
#                           Primary cluster of 3 and hold `neutron`, it says so and changes
#                           nothing (members left desynced are resynced first); anything
#                           else (some members down, another cluster size) is torn down and
#                           rebuilt. `up --fresh` always rebuilds.
#   bash galera.sh status   each member's wsrep_* state
#   bash galera.sh down     stop the members this script started (by their PID files)
#
# Members N=1..3: client port 331N, socket $GALERA_DIR/nN/mysqld.sock, gmcast 127.0.0.1:457N,
# IST 127.0.0.1:458N, SST 127.0.0.1:459N. They run as the `mysql` user and their directories
# are owned by it: started as root, the rsync state transfer fails with "Permission denied"
# and the joiners abort. Connect with: mariadb -S $GALERA_DIR/n1/mysqld.sock (root, unix socket).
# State lives in $GALERA_DIR (default /tmp/galera-ovn-migrate).
set -Eeuo pipefail
trap 'echo "[galera.sh] FAILED at line $LINENO (logs: $DIR/n*/error.log)" >&2' ERR

DIR=${GALERA_DIR:-/tmp/galera-ovn-migrate}
PKGS="mariadb-server mariadb-client galera-4 rsync"
MEMBERS="1 2 3"
CLUSTER="gcomm://127.0.0.1:4571,127.0.0.1:4572,127.0.0.1:4573"

log() { echo "[galera.sh] $*"; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
sql() { mariadb -S "$DIR/n$1/mysqld.sock" -u root -N -B -e "$2"; }
state() { sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | awk '{print $2}'; }

stop_all() {
    local n pid
    for n in $MEMBERS; do
        [ -f "$DIR/n$n/mysqld.pid" ] || continue
        pid=$(cat "$DIR/n$n/mysqld.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && { log "member $n (pid $pid) did not stop: KILL"; kill -KILL "$pid"; }
            log "stopped member $n (pid $pid)"
        fi
        rm -f "$DIR/n$n/mysqld.pid"
    done
}

status() {
    local n v
    for n in $MEMBERS; do
        if [ ! -S "$DIR/n$n/mysqld.sock" ]; then echo "member $n: not running"; continue; fi
        printf 'member %s (port 331%s):' "$n" "$n"
        for v in wsrep_ready wsrep_connected wsrep_cluster_status wsrep_cluster_size wsrep_local_state_comment wsrep_desync_count; do
            printf ' %s=%s' "$v" "$(state "$n" "$v" || echo '?')"
        done
        printf ' wsrep_desync=%s\n' "$(sql "$n" "SELECT @@GLOBAL.wsrep_desync" 2>/dev/null || echo '?')"
    done
}

wait_synced() {  # wait_synced N START
    local i
    for i in $(seq 1 1200); do
        if ! kill -0 "$(cat "$DIR/n$1/mysqld.pid" 2>/dev/null || echo 0)" 2>/dev/null && [ "$i" -gt 50 ]; then
            log "member $1 is not running; tail of $DIR/n$1/error.log:"; tail -30 "$DIR/n$1/error.log"; exit 1
        fi
        if [ "$(state "$1" wsrep_local_state_comment)" = Synced ]; then
            log "member $1 Synced after $(since "$2") s (cluster size $(state "$1" wsrep_cluster_size))"; return 0
        fi
        sleep 0.1
    done
    log "member $1 did not reach Synced in 120 s; tail of $DIR/n$1/error.log:"; tail -30 "$DIR/n$1/error.log"; exit 1
}

config() {  # config N
    cat > "$DIR/n$1/my.cnf" <<CNF
[mysqld]
user = mysql
datadir = $DIR/n$1/data
socket = $DIR/n$1/mysqld.sock
pid-file = $DIR/n$1/mysqld.pid
log-error = $DIR/n$1/error.log
port = 331$1
bind-address = 127.0.0.1
skip-name-resolve
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
innodb_buffer_pool_size = 64M
innodb_log_file_size = 16M
wsrep_on = ON
wsrep_provider = /usr/lib/galera/libgalera_smm.so
wsrep_cluster_name = ovn-migrate-lab
wsrep_cluster_address = $CLUSTER
wsrep_node_name = member-$1
wsrep_node_address = 127.0.0.1:457$1
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:457$1;ist.recv_addr=127.0.0.1:458$1;gcache.size=32M"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:459$1
CNF
}

start_member() {  # start_member N [extra args]
    local n=$1; shift
    # runuser: the member must run as mysql from its first instruction (see the header).
    setsid runuser -u mysql -- mariadbd --defaults-file="$DIR/n$n/my.cnf" "$@" \
        > "$DIR/n$n/stdout.log" 2>&1 < /dev/null &
    for _ in $(seq 1 100); do [ -s "$DIR/n$n/mysqld.pid" ] && break; sleep 0.1; done
    [ -s "$DIR/n$n/mysqld.pid" ] || { log "member $n wrote no PID file"; tail -30 "$DIR/n$n/error.log" "$DIR/n$n/stdout.log"; exit 1; }
    log "started member $n (pid $(cat "$DIR/n$n/mysqld.pid"))${1:+ with $*}"
}

case "${1:-}" in
    down) stop_all; exit 0 ;;
    status) status; exit 0 ;;
    up) ;;
    *) echo "usage: bash galera.sh up|status|down" >&2; exit 2 ;;
esac

MISSING=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"; done)
if [ -n "$MISSING" ]; then
    [ "$(id -u)" = 0 ] || { echo "[galera.sh] $MISSING missing; run once as root to install" >&2; exit 1; }
    log "installing $MISSING"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $MISSING > /tmp/galera-apt.log 2>&1 \
        || { tail -20 /tmp/galera-apt.log; exit 1; }
fi
[ "$(id -u)" = 0 ] || { echo "[galera.sh] up needs root (to run the members as mysql)" >&2; exit 1; }

healthy() {  # all members running, Synced, Primary, size 3, neutron present
    local n
    for n in $MEMBERS; do
        [ -S "$DIR/n$n/mysqld.sock" ] || return 1
        kill -0 "$(cat "$DIR/n$n/mysqld.pid" 2>/dev/null || echo 0)" 2>/dev/null || return 1
        [ "$(state "$n" wsrep_cluster_status)" = Primary ] || return 1
        [ "$(state "$n" wsrep_cluster_size)" = 3 ] || return 1
    done
    [ "$(sql 1 "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'neutron'" 2>/dev/null)" = 1 ]
}

if [ "${2:-}" != "--fresh" ] && healthy; then
    for n in $MEMBERS; do
        if [ "$(sql "$n" "SELECT @@GLOBAL.wsrep_desync" 2>/dev/null)" = 1 ]; then
            log "member $n was left desynced: SET GLOBAL wsrep_desync = OFF"
            sql "$n" "SET GLOBAL wsrep_desync = OFF"
        fi
        wait_synced "$n" "$(now)"
    done
    log "already up: 3 members Synced in a Primary cluster of 3 under $DIR (use 'up --fresh' to rebuild)"
    status
    exit 0
fi

T_ALL=$(now)
stop_all
rm -rf "$DIR"
for n in $MEMBERS; do
    mkdir -p "$DIR/n$n/data"
    config "$n"
    mariadb-install-db --defaults-file="$DIR/n$n/my.cnf" --user=mysql --skip-test-db \
        > "$DIR/n$n/install.log" 2>&1 || { tail -20 "$DIR/n$n/install.log"; exit 1; }
done
chown -R mysql:mysql "$DIR"
chmod 0755 "$DIR"

T=$(now)
start_member 1 --wsrep-new-cluster
wait_synced 1 "$T"
for n in 2 3; do
    T=$(now)
    start_member "$n"
    wait_synced "$n" "$T"
done
log "cluster of $(state 1 wsrep_cluster_size) formed in $(since "$T_ALL") s"

sql 1 "CREATE DATABASE neutron;
USE neutron;
CREATE TABLE networks (id CHAR(36) PRIMARY KEY, name VARCHAR(255), mtu INT, network_type VARCHAR(32));
INSERT INTO networks SELECT UUID(), CONCAT('net-', seq), IF(seq % 3 = 0, 1450, 1442), 'vxlan' FROM seq_1_to_200;
CREATE TABLE ports (id CHAR(36) PRIMARY KEY, network_id CHAR(36), device_owner VARCHAR(255));
INSERT INTO ports SELECT UUID(), n.id, 'compute:nova' FROM networks n, seq_1_to_5;"
# wsrep_sync_wait: a read on another member right after the commit may not see it yet
# (Galera applies asynchronously); waiting for causality makes the count exact.
log "seeded neutron: $(sql 3 'SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM neutron.networks') networks, $(sql 3 'SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM neutron.ports') ports (read on member 3)"
status
