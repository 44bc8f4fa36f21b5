#!/usr/bin/env bash
# Benchmark of the vehicle channel's ingestion, end to end, on this machine.
#
# What it measures, with the embedded defaults (the MQTT endpoint of `fleetgate serve`,
# SQLite with WAL and synchronous=FULL):
#   VEHICLES simulated vehicles (`fleetgate simulate --load-rate`), each an MQTT client over
#   TLS with its own device certificate, publish RATE telemetry samples per second with
#   QoS 1 for DURATION; every sample is stamped with the real time when it is made.
#   - sustained ingestion: messages committed per second, counted in the database over the
#     steady part of the run (after every vehicle is connected);
#   - the delay from publish (the sample's time) to committed, p50 and p99, measured by the
#     server for every message;
#   - the server's memory (peak RSS) and CPU time; the load generator's CPU time.
#
# Usage: scripts/bench-ingest.sh           (see docs/benchmarks.md)
# Knobs (environment variables):
#   VEHICLES=10000   simulated vehicles
#   RATE=2           samples per vehicle per second
#   DURATION=60      seconds of load after the vehicles start
#   CONNECT_RATE=500 new vehicle connections per second
#   FLEETGATE_BIN    use this binary instead of building one with cargo --release
#   KEEP_WORKDIR=1   keep the temporary directory (data dir, logs)
#   SERVER_RUST_LOG  the server's log filter (default warn,fleetgate::commands=info)
# Installs what is missing: sqlite3, jq. Everything listens on 127.0.0.1 only.
set -euo pipefail

VEHICLES="${VEHICLES:-10000}"
RATE="${RATE:-2}"
DURATION="${DURATION:-60}"
CONNECT_RATE="${CONNECT_RATE:-500}"
FLEETGATE_BIN="${FLEETGATE_BIN:-}"
KEEP_WORKDIR="${KEEP_WORKDIR:-0}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOGIN="MZP900002"
WORK=""
SERVER_PID=""

log() { printf '[bench-ingest %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[bench-ingest] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
fi

cleanup() {
    local status=$?
    [[ -n "$SERVER_PID" ]] && kill -KILL "$SERVER_PID" 2>/dev/null || true
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ "$KEEP_WORKDIR" == 1 || $status -ne 0 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$status"
}
trap cleanup EXIT

ensure_tools() {
    local missing=()
    command -v sqlite3 >/dev/null || missing+=(sqlite3)
    command -v jq >/dev/null || missing+=(jq)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null; apt-get install -y -qq "${missing[@]}" >/dev/null; }
    fi
}

build() {
    if [[ -z "$FLEETGATE_BIN" ]]; then
        log "building fleetgate (cargo build --release -p fleetgate)"
        (cd "$REPO_ROOT" && cargo build --release -p fleetgate --quiet)
        FLEETGATE_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/fleetgate"
    fi
    [[ -x "$FLEETGATE_BIN" ]] || die "no fleetgate binary at $FLEETGATE_BIN"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cli() { RUST_LOG=warn "$FLEETGATE_BIN" --data-dir "$DATA" "$@"; }
count() { sqlite3 "$DATA/fleetgate.db" 'SELECT COUNT(*) FROM vehicle_messages;'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }

main() {
    LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
    ensure_tools
    build
    WORK="$(mktemp -d /tmp/fleetgate-bench-ingest.XXXXXX)"
    DATA="$WORK/data"
    local hz; hz="$(getconf CLK_TCK)"

    cli init --json >/dev/null
    cli partner create "$LOGIN" --email bench@example.com --organization Bench --json >/dev/null
    local fleet; fleet="$(cli fleet create "$LOGIN" --name bench --json | jq -er .id)"

    local mqtt_port https_port
    mqtt_port="$(free_port)"; https_port="$(free_port)"
    NO_COLOR=1 RUST_LOG="${SERVER_RUST_LOG:-warn,fleetgate::commands=info}" "$FLEETGATE_BIN" --data-dir "$DATA" serve \
        --listen "127.0.0.1:$https_port" --mqtt-listen "127.0.0.1:$mqtt_port" \
        >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do grep -q 'listening on https' "$WORK/server.log" && break; sleep 0.1; done
    grep -q 'listening on https' "$WORK/server.log" || { cat "$WORK/server.log" >&2; die "server did not start"; }

    log "provisioning $VEHICLES vehicles, then $VEHICLES x $RATE msg/s for ${DURATION}s"
    local ramp; ramp="$(awk -v n="$VEHICLES" -v r="$CONNECT_RATE" 'BEGIN { printf "%d", n / r + 5 }')"
    RUST_LOG=warn "$FLEETGATE_BIN" --data-dir "$DATA" simulate --fleet "$fleet" \
        --vehicles "$VEHICLES" --load-rate "$RATE" \
        --duration "$((DURATION + ramp))s" --connect-rate "$CONNECT_RATE" \
        --broker "127.0.0.1:$mqtt_port" --quiet --json >"$WORK/load.json" 2>"$WORK/load.log" &
    local load_pid=$!

    # Provisioning first (no message yet), then the ramp while vehicles connect.
    while kill -0 "$load_pid" 2>/dev/null && ! grep -q 'Simulating' "$WORK/load.log"; do sleep 1; done
    log "vehicles provisioned; connecting at $CONNECT_RATE/s (ramp ${ramp}s)"
    sleep "$ramp"

    local c0 t0 s0 l0 peak=0 rss
    c0="$(count)"; t0="$(date +%s.%N)"; s0="$(ticks "$SERVER_PID")"; l0="$(ticks "$load_pid")"
    local end=$((SECONDS + DURATION - 5))
    while ((SECONDS < end)); do
        rss="$(rss_mib "$SERVER_PID")"; ((rss > peak)) && peak=$rss
        sleep 1
    done
    local c1 t1 s1 l1
    c1="$(count)"; t1="$(date +%s.%N)"; s1="$(ticks "$SERVER_PID")"; l1="$(ticks "$load_pid")"

    wait "$load_pid" || die "the load generator failed: $(tail -5 "$WORK/load.log")"
    sleep 1
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
    local stats; stats="$(grep 'vehicle channel stopped' "$WORK/server.log" | tail -1)"
    local hwm; hwm="$(grep -o 'VmHWM[^,]*' "$WORK/server.log" || true)"

    local window rate_db server_cpu load_cpu
    window="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
    rate_db="$(awk -v a="$c0" -v b="$c1" -v w="$window" 'BEGIN { printf "%.0f", (b - a) / w }')"
    server_cpu="$(awk -v a="$s0" -v b="$s1" -v w="$window" -v hz="$hz" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / w }')"
    load_cpu="$(awk -v a="$l0" -v b="$l1" -v w="$window" -v hz="$hz" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / w }')"

    cat <<REPORT

## Vehicle ingestion, $(date -u '+%Y-%m-%d %H:%M UTC')

- Machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
- Other load at the start: $LOAD_AT_START (load average)
- Load: $VEHICLES vehicles over TLS (device certificates), $RATE samples/s each, QoS 1, load generator on the same machine
- Server: $("$FLEETGATE_BIN" --version), embedded MQTT endpoint, SQLite (WAL, synchronous=FULL)

| measure | value |
| --- | ---: |
| offered load (messages/s) | $(awk -v n="$VEHICLES" -v r="$RATE" 'BEGIN { printf "%.0f", n * r }') |
| sustained ingestion, committed rows/s (steady ${window} s window) | $rate_db |
| server CPU over the window (% of one core) | $server_cpu |
| load generator CPU over the window (% of one core) | $load_cpu |
| server peak RSS over the window (MiB) | $peak |

Load generator: $(jq -c . "$WORK/load.json")
Server at shutdown: ${stats#*stats=}
REPORT
}

main "$@"
