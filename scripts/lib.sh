# Shared by start.sh and test.sh: make sure PostgreSQL and NATS (JetStream) run on this machine,
# installing them from Debian's packages when they are missing. Sourced, not run.

RELANCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $*"; fi
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  local port=$1 what=$2 i
  for i in $(seq 1 100); do port_open "$port" && return 0; sleep 0.2; done
  die "$what did not come up on port $port"
}

ensure_toolchain() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null; then
    log "installing PostgreSQL (Debian package)"
    apt_install postgresql postgresql-client
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  [ -n "$version" ] || die "no PostgreSQL cluster under /etc/postgresql"
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  local i
  for i in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL is not accepting connections on 127.0.0.1:5432"
  # A fresh Debian cluster asks for a password over TCP; Relance's development defaults connect
  # as `postgres` without one, so trust that user on loopback (development machines only).
  if ! psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
    log "allowing the postgres user on 127.0.0.1 without a password (development setup)"
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    sleep 0.5
    psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null \
      || die "cannot connect to PostgreSQL as postgres on 127.0.0.1"
  fi
}

# The machine's own nats-server is the one on :4222. Tests run private ones (other ports) at
# the same time: starting or stopping by executable alone would see or kill those instead
# (start-stop-daemon --exec matches every nats-server), so the system one is tracked by its
# own pidfile and stopped by its port.
NATS_PIDFILE=/run/relance-nats-server.pid

start_system_nats() {
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$NATS_PIDFILE" \
    --exec "$1" -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for_port 4222 "nats-server"
}

# The pids of nats-server processes serving port 4222 (read from /proc: no ss or fuser needed).
system_nats_pids() {
  local proc
  for proc in /proc/[0-9]*; do
    case "$(readlink "$proc/exe" 2>/dev/null)" in
      */nats-server) tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q -- '-p 4222 ' && echo "${proc#/proc/}" ;;
    esac
  done
}

stop_system_nats() {
  local pid waited
  for pid in $(system_nats_pids); do as_root kill "$pid" 2>/dev/null || true; done
  for waited in $(seq 1 40); do
    port_open 4222 || return 0
    sleep 0.25
  done
  for pid in $(system_nats_pids); do as_root kill -9 "$pid" 2>/dev/null || true; done
}

ensure_nats() {
  local server
  server=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null || true)
  if [ -z "$server" ]; then
    log "installing nats-server (Debian package)"
    apt_install nats-server
    server=$(command -v nats-server || echo /usr/sbin/nats-server)
  fi
  if ! port_open 4222; then
    log "starting nats-server with JetStream"
    start_system_nats "$server"
  fi
  # A server that hit a disk error keeps its port open with JetStream disabled, and every
  # stream request then times out: restart it (once the disk has room) rather than test on it.
  command -v python3 >/dev/null || apt_install python3
  local probe="$RELANCE_ROOT/tools/checks/jetstream_probe.py" why attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    why=$(python3 "$probe" 127.0.0.1 4222) && return 0
    [ "$attempt" = 1 ] || { sleep 1; continue; }
    log "NATS on :4222 is up but JetStream does not answer ($why); restarting nats-server"
    local free_kb
    free_kb=$(df -Pk /var/lib/nats-server 2>/dev/null | awk 'NR == 2 { print $4 }')
    [ -z "$free_kb" ] || [ "$free_kb" -gt 1048576 ] \
      || die "less than 1 GiB free under /var/lib/nats-server: JetStream cannot store; free some disk"
    stop_system_nats
    start_system_nats "$server"
  done
  die "JetStream on 127.0.0.1:4222 still does not answer after a restart: $why (see /var/log/nats-server.log)"
}

psql_admin() { psql -w -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }

# The demo data as a CRM would feed it: the directory (scripts/demo/*.json) through the inbox's
# directory API at $1 with bearer $2, then the demo follow-ups with relance-migrate --demo ($3,
# the binary) on database $4.
load_demo() {
  local base=$1 token=$2 migrate=$3 database=$4 kind
  for kind in teams users organisations people; do
    curl -fsS -X PUT "$base/api/v1/directory/$kind" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' --data-binary "@$RELANCE_ROOT/scripts/demo/$kind.json" >/dev/null \
      || die "loading the demo $kind through the directory API failed"
  done
  RELANCE__DATABASE__URL=$database "$migrate" --demo >/dev/null || die "loading the demo follow-ups failed"
}

# sqlx-cli (`cargo sqlx prepare`), the version of the sqlx crate in Cargo.lock.
# The tests' SMTP server (tools/smtp-sink/smtp_sink.py) runs on aiosmtpd, from PyPI, in a venv
# of its own; exports RELANCE_TEST_SMTP_PYTHON, the Python the tests start it with.
ensure_smtp_sink() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/relance/smtp/venv"
  if ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    log "installing aiosmtpd (the tests' SMTP server) in $venv"
    command -v python3 >/dev/null || apt_install python3
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q "aiosmtpd==1.4.6"
  fi
  export RELANCE_TEST_SMTP_PYTHON="$venv/bin/python"
}

ensure_sqlx_cli() {
  local want
  want=$(sed -n '/^name = "sqlx"$/{n;s/version = "\(.*\)"/\1/p;}' "$RELANCE_ROOT/Cargo.lock")
  if ! cargo sqlx --version 2>/dev/null | grep -q " $want\$"; then
    log "installing sqlx-cli $want (cargo install)"
    cargo install sqlx-cli --version "$want" --locked --no-default-features --features postgres,rustls
  fi
}

# Node.js (>= 20.19, what Vite 8 needs) comes with the machine; its version is checked here.
ensure_node() {
  command -v node >/dev/null || die "Node.js >= 20.19 is needed for web/ (https://nodejs.org)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js >= 20.19 is needed for web/, found $(node --version)"
}

# Debian's Chromium, driven by playwright-core in the browser tests.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/truetype/noto ] && return
  log "installing chromium and an emoji font (browser tests, screenshots)"
  apt_install chromium fonts-noto-color-emoji
}
