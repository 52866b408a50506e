#!/usr/bin/env bash
# The project's test command (the README's second set-up command).
#
# Starts the real Keystone, Neutron and Octavia API servers from Debian's
# packages on 127.0.0.1 (lab/real/up.sh: installs them on first use, as root)
# and a real three-member MariaDB Galera (lab/real/galera.sh: mariadb-server,
# galera-4, rsync; members run as `mysql`), runs every test of the workspace
# including the conformance suite against those real services and the Galera
# exec tests against the real members (features `lab/real-openstack`,
# `replay-tests/real-openstack`, `lab/real-galera`, `replay-tests/real-galera`:
# a feature of a dependency named on the command line does not turn on the
# features that forward to it), then stops them.
# Everything listens on loopback only. Fails loudly: any missing tool, any
# service that does not come up, any failing test.
#
#   bash scripts/test.sh            all tests
#   bash scripts/test.sh -p journal  extra arguments go to `cargo test`
set -Eeuo pipefail
cd "$(dirname "$0")/.."
trap 'echo "scripts/test.sh: FAILED at line $LINENO" >&2' ERR

export OSLAB_DIR=${OSLAB_DIR:-/tmp/oslab-ovn-migrate}
export GALERA_DIR=${GALERA_DIR:-/tmp/galera-ovn-migrate}

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "scripts/test.sh: installing $2 (for $1)"
        apt-get install -y -q --no-install-recommends "$2" >/dev/null
    fi
    command -v "$1" >/dev/null 2>&1 || { echo "scripts/test.sh: $1 is needed ($3)" >&2; exit 1; }
}
need strace strace "the journal's fdatasync test traces system calls"
need curl curl "the ssh-template reboot test calls the lab's reboot hook"
need openstack python3-openstackclient "lab/tests/openstack_cli.rs compares the openstack CLI on the lab and the real services"
command -v kubectl >/dev/null || { echo "scripts/test.sh: kubectl (1.32) is needed by lab/tests/kubectl.rs" >&2; exit 1; }

# lab/real/up.sh and lab/real/galera.sh install their packages when they are
# missing; a fresh machine needs apt's lists first.
for pkg in python3-neutron mariadb-server galera-4; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        [ "$(id -u)" = 0 ] || { echo "scripts/test.sh: $pkg etc. are missing; run as root once to install them" >&2; exit 1; }
        apt-get update -q >/dev/null
        break
    fi
done

stop() {
    bash lab/real/up.sh down >/dev/null 2>&1 || true
    bash lab/real/galera.sh down >/dev/null 2>&1 || true
}
trap stop EXIT
echo "scripts/test.sh: starting the real OpenStack services (lab/real/up.sh, state in $OSLAB_DIR)"
bash lab/real/up.sh
echo "scripts/test.sh: starting the real MariaDB Galera (lab/real/galera.sh, state in $GALERA_DIR)"
bash lab/real/galera.sh up

FEATURES=lab/real-openstack,replay-tests/real-openstack,lab/real-galera,replay-tests/real-galera
echo "scripts/test.sh: cargo test --workspace --features $FEATURES"
cargo test --workspace --features "$FEATURES" "$@"
