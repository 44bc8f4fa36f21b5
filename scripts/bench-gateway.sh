#!/usr/bin/env bash
# Benchmark of the fleetgate API gateway, side by side with nginx as the practical ceiling.
#
# What it measures, in one run, on this machine, over mutual TLS (client certificate +
# Basic auth + client_id, exactly as a partner calls the platform):
#   1. GET /connectedcar/v3/fleets/{fid}/vehicles over kept-alive connections:
#      requests per second, p50 and p99 latency, for fleetgate and for nginx serving the
#      very same response bytes with the same server certificate and client-CA check;
#   2. new full mutual-TLS handshakes per second (openssl s_time -new: no resumption);
#   3. requests per second with a new connection for every request (oha --disable-keepalive;
#      the client may resume TLS sessions, as a real HTTP client does).
# and prints the ratios fleetgate/nginx, the load of the machine and fleetgate's memory.
#
# Usage: scripts/bench-gateway.sh            (from anywhere; see docs/benchmarks.md)
# Knobs (environment variables):
#   DURATION=10s          length of each measured keep-alive / new-connection run (oha -z)
#   WARMUP=2s             discarded run before each measured keep-alive run
#   CONNECTIONS=64        concurrent connections of the oha runs
#   HANDSHAKE_SECONDS=10  length of each handshake run (openssl s_time -time)
#   HANDSHAKE_CLIENTS=4   openssl s_time processes run in parallel (each is sequential)
#   VEHICLES=60           vehicles in the fleet (60 = one full default page)
#   CLIENT_KEY=ec         client key: ec (ECDSA P-256) or rsa (RSA 2048)
#   FLEETGATE_BIN=path    use this binary instead of building one with cargo --release
#   CARGO_TARGET_DIR=dir  where cargo builds (default: <repo>/target)
#   KEEP_WORKDIR=1        keep the temporary directory (data dir, nginx config, raw results)
#   RESULTS_FILE=path     also append the results table (Markdown) to this file
#
# Installs what is missing: nginx (Debian nginx-light), oha (cargo install), openssl, curl, jq.
# Everything it starts (fleetgate, nginx) listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONNECTIONS="${CONNECTIONS:-64}"
HANDSHAKE_SECONDS="${HANDSHAKE_SECONDS:-10}"
HANDSHAKE_CLIENTS="${HANDSHAKE_CLIENTS:-4}"
VEHICLES="${VEHICLES:-60}"
CLIENT_KEY="${CLIENT_KEY:-ec}"
FLEETGATE_BIN="${FLEETGATE_BIN:-}"
KEEP_WORKDIR="${KEEP_WORKDIR:-0}"
RESULTS_FILE="${RESULTS_FILE:-}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOGIN="MZP900001"
HOST="127.0.0.1"

WORK=""           # temporary directory, made in main
FLEETGATE_PID=""  # the fleetgate serve process
NGINX_PID=""      # the nginx master process

# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------

# log MESSAGE...: progress on stderr, so that stdout holds only the results.
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# die MESSAGE...: stop with an error (the EXIT trap still cleans up).
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

# usage: print the header comment of this file.
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# free_port: print a TCP port free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
        || shuf -i 20000-60000 -n 1
}

# loadavg: the 1/5/15-minute load averages of the machine.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# busy_processes: the processes using more than 5 % of a core right now (over one second),
# as "name %cpu, ...": other builds or services that compete with the benchmark.
busy_processes() {
    top -b -n 2 -d 1 -w 200 2>/dev/null \
        | awk '/^top -/ { n++ } n == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 > 5 { printf "%s%s %.0f%%", sep, $12, $9; sep = ", " }'
    echo
}

# machine_summary: cores, CPU model, memory, kernel and distribution, on one line.
machine_summary() {
    local cpu hypervisor="" distribution
    cpu="$(awk -F': ' '/^model name/ { m = $2 } /^cpu family/ { f = $2 } /^cpu MHz/ { h = $2 }
        END { printf "%s (family %s, %.0f MHz)", m, f, h }' /proc/cpuinfo)"
    if grep -q '^flags.* hypervisor' /proc/cpuinfo; then hypervisor=", virtual machine"; fi
    distribution="$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null || true)"
    printf '%s cores, %s%s, %s, Linux %s, %s\n' "$(nproc)" "$cpu" "$hypervisor" \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)" "$(uname -r)" \
        "$distribution"
}

# cpu_ticks PID...: user+system CPU clock ticks used so far by these processes.
cpu_ticks() {
    local total=0 pid fields
    for pid in "$@"; do
        # Fields after the ")" of the command name: utime is the 12th, stime the 13th.
        fields="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null)" || continue
        total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
    done
    echo "$total"
}

# cpu_seconds TICKS: clock ticks as seconds.
cpu_seconds() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", t / hz }'; }

# server_pids NAME: the processes doing the serving (fleetgate, or nginx master + workers).
server_pids() {
    case "$1" in
        fleetgate) echo "$FLEETGATE_PID" ;;
        nginx) echo "$NGINX_PID" "$(pgrep -P "$NGINX_PID" | paste -sd" " -)" ;;
    esac
}

# seconds DURATION: "10s" / "1m" / "10" as a number of seconds.
seconds() {
    case "$1" in
        *ms) awk -v v="${1%ms}" 'BEGIN { print v / 1000 }' ;;
        *s) echo "${1%s}" ;;
        *m) echo $(( ${1%m} * 60 )) ;;
        *) echo "$1" ;;
    esac
}

# ---------------------------------------------------------------------------------------
# Tools, build, cleanup
# ---------------------------------------------------------------------------------------

# apt_install PACKAGE...: install Debian packages, refreshing the lists if one is unknown.
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq "$@" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        apt-get install -y -qq "$@" >/dev/null
    fi
}

# ensure_tools: install nginx, oha, openssl, curl and jq when missing.
ensure_tools() {
    local missing=()
    command -v openssl >/dev/null || missing+=(openssl)
    command -v curl >/dev/null || missing+=(curl)
    command -v jq >/dev/null || missing+=(jq)
    command -v python3 >/dev/null || missing+=(python3)
    command -v top >/dev/null && command -v pgrep >/dev/null || missing+=(procps)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi
    if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
        log "installing nginx (nginx-light)"
        # The package's service is not started: there is no init system to start it here,
        # and where there is one we only use our own instance on our own port.
        apt_install nginx-light || apt_install nginx
    fi
    export PATH="$PATH:/usr/sbin:$HOME/.cargo/bin"
    if ! command -v oha >/dev/null || ! oha --help | grep -q -- '--cert <CERT>'; then
        log "installing oha (cargo install oha --locked; takes a few minutes)"
        cargo install oha --locked
    fi
}

# build_fleetgate: set FLEETGATE_BIN, building the release binary unless one was given.
build_fleetgate() {
    if [[ -n "$FLEETGATE_BIN" ]]; then
        [[ -x "$FLEETGATE_BIN" ]] || die "FLEETGATE_BIN=$FLEETGATE_BIN is not executable"
        return
    fi
    log "building fleetgate (cargo build --release -p fleetgate)"
    (cd "$REPO_ROOT" && cargo build --release -p fleetgate --quiet)
    FLEETGATE_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/fleetgate"
    [[ -x "$FLEETGATE_BIN" ]] || die "no binary at $FLEETGATE_BIN after the build"
}

# stop_process PID: TERM, wait up to 10 s, then KILL.
stop_process() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# cleanup: stop every server started here and remove the temporary directory (EXIT trap).
cleanup() {
    local status=$?
    [[ -n "$NGINX_PID" ]] && stop_process "$NGINX_PID"
    [[ -n "$FLEETGATE_PID" ]] && stop_process "$FLEETGATE_PID"
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ "$KEEP_WORKDIR" == 1 || $status -ne 0 ]]; then
            log "kept $WORK (logs: fleetgate.log, nginx/error.log; raw results: results/)"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$status"
}

# ---------------------------------------------------------------------------------------
# The platform: data dir, partner, application, fleet, vehicles, client certificate
# ---------------------------------------------------------------------------------------

# fleetgate_cli ARGS...: run the fleetgate command line on the benchmark's data dir.
fleetgate_cli() { RUST_LOG="${RUST_LOG:-warn}" "$FLEETGATE_BIN" --data-dir "$DATA" "$@"; }

# vins COUNT: print COUNT valid, distinct VINs (17 characters, no I, O or Q).
vins() {
    local i
    for ((i = 1; i <= $1; i++)); do printf 'VF3BENCH%09d\n' "$i"; done
}

# setup_platform: init the data dir and create the partner, its application, a fleet and
# its vehicles. Sets PASSWORD, CLIENT_ID, FLEET_ID.
setup_platform() {
    log "fleetgate init in $DATA"
    fleetgate_cli init --json >"$WORK/init.json"
    PASSWORD="$(fleetgate_cli partner create "$LOGIN" --email bench@example.com --organization Bench --json | jq -er .password)"
    CLIENT_ID="$(fleetgate_cli app create "$LOGIN" --name bench --version v3 \
        --daily-limit 4000000000 --burst-limit 1000000 --json | jq -er .clientId)"
    FLEET_ID="$(fleetgate_cli fleet create "$LOGIN" --name bench-fleet --json | jq -er .id)"
    local added
    # shellcheck disable=SC2046  # one argument per VIN
    added="$(fleetgate_cli vehicle add "$FLEET_ID" $(vins "$VEHICLES") --json | jq -er .added)"
    [[ "$added" == "$VEHICLES" ]] || die "vehicle add added $added vehicles, expected $VEHICLES"
    log "partner $LOGIN, client_id $CLIENT_ID, fleet $FLEET_ID with $added vehicles"
}

# start_fleetgate: serve the data dir on a free port (release build, RUST_LOG=warn) and
# wait until it answers. Sets FG_PORT and FLEETGATE_PID.
start_fleetgate() {
    FG_PORT="$(free_port)"
    RUST_LOG="${RUST_LOG:-warn}" "$FLEETGATE_BIN" --data-dir "$DATA" serve --listen "$HOST:$FG_PORT" \
        >"$WORK/fleetgate.log" 2>&1 &
    FLEETGATE_PID=$!
    wait_https "$FG_PORT" /onboarding/v1/ca.pem "$FLEETGATE_PID" "$WORK/fleetgate.log"
    log "$("$FLEETGATE_BIN" --version 2>/dev/null | head -1) serving on $HOST:$FG_PORT (pid $FLEETGATE_PID)"
}

# wait_https PORT PATH PID LOG: wait up to 30 s for any HTTPS answer on PORT.
wait_https() {
    local port="$1" path="$2" pid="$3" logfile="$4" i
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2 || true; die "the server exited at start"; }
        if curl -s -o /dev/null --cacert "$CA" "https://$HOST:$port$path"; then return 0; fi
        sleep 0.1
    done
    cat "$logfile" >&2 || true
    die "no answer on $HOST:$port after 30 s"
}

# obtain_client_certificate: make a key and CSR, submit it over the onboarding API, approve
# it as the operator, and download the certificate. Writes $CERT and $KEY.
obtain_client_certificate() {
    local subject="/C=FR/ST=Ile de France/L=Paris/O=Bench/OU=Programs Partners/CN=$LOGIN/emailAddress=bench@example.com"
    local newkey
    case "$CLIENT_KEY" in
        ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
        rsa) newkey=(-newkey rsa:2048) ;;
        *) die "CLIENT_KEY must be ec or rsa" ;;
    esac
    openssl req -new "${newkey[@]}" -nodes -keyout "$KEY" -out "$WORK/client.csr" -subj "$subject" 2>/dev/null

    local answer csr_id
    answer="$(curl -sS --fail-with-body --cacert "$CA" -u "$LOGIN:$PASSWORD" \
        -H 'Content-Type: application/pkcs10' --data-binary @"$WORK/client.csr" \
        "https://$HOST:$FG_PORT/onboarding/v1/csr")" || die "CSR refused: $answer"
    csr_id="$(jq -er .id <<<"$answer")"
    if [[ "$(jq -r .status <<<"$answer")" != issued ]]; then
        fleetgate_cli csr approve "$csr_id" --json >/dev/null
    fi
    curl -sS --fail-with-body --cacert "$CA" -u "$LOGIN:$PASSWORD" \
        "https://$HOST:$FG_PORT/onboarding/v1/csr/$csr_id" | jq -er .certificate >"$CERT"
    log "client certificate issued: $(openssl x509 -in "$CERT" -noout -subject -nameopt compat)"
}

# fetch_reference_body: GET the vehicles once from fleetgate; its exact bytes are what
# nginx will serve. Dies unless the answer is a 200.
fetch_reference_body() {
    local status
    status="$(curl -sS -o "$BODY" -w '%{http_code}' --cacert "$CA" --cert "$CERT" --key "$KEY" \
        -H "$AUTH_HEADER" "$FG_URL")"
    [[ "$status" == 200 ]] || { cat "$BODY" >&2; die "fleetgate answered $status to $FG_URL"; }
    local count
    count="$(jq '[.. | strings | select(test("^VF3BENCH"))] | unique | length' "$BODY")"
    log "reference body: $(wc -c <"$BODY") bytes, $count VINs"
    [[ "$count" == "$VEHICLES" ]] || die "the body lists $count of the $VEHICLES VINs"
}

# ---------------------------------------------------------------------------------------
# nginx: the practical ceiling, serving the same bytes with the same TLS set-up
# ---------------------------------------------------------------------------------------

# start_nginx: write a private nginx configuration (own prefix, 2 workers, keep-alive,
# client certificate required and checked against the partner CA, fleetgate's own server
# certificate) serving $BODY at the gateway's path, and start it. Sets NG_PORT, NGINX_PID.
start_nginx() {
    local prefix="$WORK/nginx"
    NG_PORT="$(free_port)"
    mkdir -p "$prefix/www" "$prefix/tmp"
    local user_line=""
    # Workers of an nginx started by root run as nobody, who cannot read a 0700 temp dir.
    [[ $EUID -eq 0 ]] && user_line="user root;"

    cat >"$prefix/nginx.conf" <<EOF
# Generated by scripts/bench-gateway.sh: the same bytes, certificate and client check as fleetgate.
$user_line
daemon off;
master_process on;
worker_processes 2;               # fleetgate runs on the machine's 2 cores as well
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    keepalive_timeout 75s;
    keepalive_requests 100000000; # hyper does not cap requests per connection either
    open_file_cache max=16 inactive=60s;
    types { }
    default_type application/hal+json;
    server {
        listen $HOST:$NG_PORT ssl;
        ssl_certificate $DATA/tls/server.pem;
        ssl_certificate_key $DATA/tls/server-key.pem;
        ssl_client_certificate $CA;
        ssl_verify_client on;
        ssl_protocols TLSv1.2 TLSv1.3; # what fleetgate (rustls safe defaults) accepts
        root $prefix/www;
    }
}
EOF
    nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" -t -q \
        || die "nginx refused its configuration ($prefix/nginx.conf)"
    nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" &
    NGINX_PID=$!
    wait_https "$NG_PORT" / "$NGINX_PID" "$prefix/error.log"
    log "$(nginx -v 2>&1) serving on $HOST:$NG_PORT (pid $NGINX_PID)"
}

# nginx_serves URL_PATH FILE: nginx answers GET URL_PATH (any query) with FILE's bytes.
nginx_serves() {
    local target="$WORK/nginx/www$1"
    mkdir -p "$(dirname "$target")"
    cp "$2" "$target"
}

# check_same_answers: nginx must answer 200 with the same bytes, and refuse a client
# without certificate, or the comparison would be meaningless.
check_same_answers() {
    local status
    status="$(curl -sS -o "$WORK/nginx-body" -w '%{http_code}' --cacert "$CA" --cert "$CERT" \
        --key "$KEY" -H "$AUTH_HEADER" "$NG_URL")"
    [[ "$status" == 200 ]] || die "nginx answered $status to $NG_URL"
    cmp -s "$BODY" "$WORK/nginx-body" || die "nginx does not serve the same bytes as fleetgate"
    if curl -s -o /dev/null --cacert "$CA" "$NG_URL" -w '%{http_code}' | grep -q '^200$'; then
        die "nginx served a client without certificate"
    fi
    local name port tls
    for name in fleetgate nginx; do
        [[ $name == fleetgate ]] && port=$FG_PORT || port=$NG_PORT
        tls="$(openssl s_client -connect "$HOST:$port" -CAfile "$CA" -cert "$CERT" -key "$KEY" -brief \
            </dev/null 2>&1 | awk -F': ' '/Protocol version|Ciphersuite|Server Temp Key/ { printf "%s%s", sep, $2; sep = " " }')"
        log "TLS with $name: $tls"
        [[ $name == fleetgate ]] && TLS_SUMMARY="$tls"
    done
    [[ "$tls" == "$TLS_SUMMARY" ]] || log "WARNING: fleetgate and nginx negotiate different TLS parameters"
}

# ---------------------------------------------------------------------------------------
# Load runs
# ---------------------------------------------------------------------------------------

# run_oha NAME URL LABEL DURATION [OHA_ARGS...]: one oha run against a server, JSON results
# in results/NAME-LABEL.json and the CPU seconds the server used meanwhile in
# results/NAME-LABEL.cpu. Dies unless every request got a 200 and no request failed.
run_oha() {
    local name="$1" url="$2" label="$3" duration="$4"
    shift 4
    local out="$WORK/results/$name-$label.json" before after
    # shellcheck disable=SC2046  # several pids for nginx
    before="$(cpu_ticks $(server_pids "$name"))"
    oha --no-tui --output-format json -o "$out" -w -z "$duration" -c "$CONNECTIONS" \
        --cacert "$CA" --cert "$CERT" --key "$KEY" -H "$AUTH_HEADER" "$@" "$url"
    # shellcheck disable=SC2046
    after="$(cpu_ticks $(server_pids "$name"))"
    cpu_seconds $((after - before)) >"${out%.json}.cpu"

    local ok total errors
    ok="$(jq '.statusCodeDistribution["200"] // 0' "$out")"
    total="$(jq '[.statusCodeDistribution[]] | add // 0' "$out")"
    errors="$(jq '[.errorDistribution[]] | add // 0' "$out")"
    if [[ "$ok" -eq 0 || "$ok" -ne "$total" || "$errors" -ne 0 ]]; then
        jq '{statusCodeDistribution, errorDistribution}' "$out" >&2
        die "$name $label: $((total - ok)) non-200 answers and $errors errors out of $total (see above)"
    fi
}

# keepalive_runs: warm-up then measured keep-alive load, fleetgate first, then nginx.
keepalive_runs() {
    local name url
    for name in fleetgate nginx; do
        [[ $name == fleetgate ]] && url=$FG_URL || url=$NG_URL
        log "keep-alive on $name: warm-up $WARMUP, then $DURATION with $CONNECTIONS connections (load $(loadavg))"
        run_oha "$name" "$url" warmup "$WARMUP"
        run_oha "$name" "$url" keepalive "$DURATION"
    done
}

# new_connection_runs: a new TCP+TLS connection for every request (the client may resume
# TLS sessions), fleetgate then nginx.
new_connection_runs() {
    local name url
    for name in fleetgate nginx; do
        [[ $name == fleetgate ]] && url=$FG_URL || url=$NG_URL
        log "new connection per request on $name: $DURATION with $CONNECTIONS connections (load $(loadavg))"
        run_oha "$name" "$url" newconn "$DURATION" --disable-keepalive
    done
}

# handshake_run NAME PORT: HANDSHAKE_CLIENTS parallel `openssl s_time -new` (a full
# handshake with client certificate per connection, no session resumption), for
# HANDSHAKE_SECONDS. Writes the handshakes done, the seconds taken and the server's CPU
# seconds to results/NAME-handshakes.{count,elapsed,cpu}.
handshake_run() {
    local name="$1" port="$2" i pids=() cpu_before cpu_after started ended
    # shellcheck disable=SC2046
    cpu_before="$(cpu_ticks $(server_pids "$name"))"
    started="$(date +%s.%N)"
    for ((i = 1; i <= HANDSHAKE_CLIENTS; i++)); do
        openssl s_time -connect "$HOST:$port" -CAfile "$CA" -cert "$CERT" -key "$KEY" \
            -new -time "$HANDSHAKE_SECONDS" >"$WORK/results/$name-s_time-$i.txt" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || die "openssl s_time against $name failed"; done
    ended="$(date +%s.%N)"
    # shellcheck disable=SC2046
    cpu_after="$(cpu_ticks $(server_pids "$name"))"

    local connections
    connections="$(cat "$WORK"/results/"$name"-s_time-*.txt \
        | awk '/connections in .* real seconds/ { n += $1 } END { print n + 0 }')"
    [[ "$connections" -gt 0 ]] || { cat "$WORK"/results/"$name"-s_time-1.txt >&2; die "no handshake with $name"; }
    if grep -qi error "$WORK"/results/"$name"-s_time-*.txt; then
        grep -hi error "$WORK"/results/"$name"-s_time-*.txt | sort | uniq -c >&2
        die "openssl s_time reported errors against $name"
    fi
    # s_time stops at the first whole second past -time; the wall clock is measured here.
    echo "$connections" >"$WORK/results/$name-handshakes.count"
    awk -v s="$started" -v e="$ended" 'BEGIN { printf "%.3f\n", e - s }' >"$WORK/results/$name-handshakes.elapsed"
    cpu_seconds $((cpu_after - cpu_before)) >"$WORK/results/$name-handshakes.cpu"
}

# handshake_runs: full handshakes per second on fleetgate, then nginx.
handshake_runs() {
    log "new mutual-TLS handshakes on fleetgate: ${HANDSHAKE_SECONDS}s, $HANDSHAKE_CLIENTS s_time clients (load $(loadavg))"
    handshake_run fleetgate "$FG_PORT"
    log "new mutual-TLS handshakes on nginx: ${HANDSHAKE_SECONDS}s, $HANDSHAKE_CLIENTS s_time clients (load $(loadavg))"
    handshake_run nginx "$NG_PORT"
}

# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

# calc FORMAT EXPRESSION: evaluate an awk arithmetic expression and print it with FORMAT.
calc() { awk "BEGIN { v = $2; printf \"$1\", v }"; }

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# oha_figures NAME LABEL: "rps p50_ms p99_ms cpu_percent cpu_us_per_request requests".
oha_figures() {
    local cpu
    cpu="$(cat "$WORK/results/$1-$2.cpu")"
    jq -r --argjson cpu "$cpu" '[.summary.requestsPerSec, .latencyPercentiles.p50 * 1000,
        .latencyPercentiles.p99 * 1000, 100 * $cpu / .summary.total,
        1e6 * $cpu / .statusCodeDistribution["200"], .statusCodeDistribution["200"]] | @tsv' \
        "$WORK/results/$1-$2.json"
}

# handshake_figures NAME: "handshakes_per_s cpu_percent cpu_us_per_handshake handshakes".
handshake_figures() {
    local r="$WORK/results/$1-handshakes"
    awk -v n="$(cat "$r.count")" -v e="$(cat "$r.elapsed")" -v c="$(cat "$r.cpu")" \
        'BEGIN { printf "%s\t%s\t%s\t%d\n", n / e, 100 * c / e, 1e6 * c / n, n }'
}

# row LABEL FLEETGATE NGINX FORMAT [RATIO]: one table row, figures printed with FORMAT,
# the ratio fleetgate/nginx unless given.
row() {
    printf '| %s | %s | %s | %s |\n' "$1" "$(calc "$4" "$2")" "$(calc "$4" "$3")" "${5:-$(ratio "$2" "$3")}"
}

# report: the results table (Markdown, ready to paste into docs/benchmarks.md).
report() {
    local fk nk fn nn fh nh fg_rss fg_hwm
    IFS=$'\t' read -r -a fk < <(oha_figures fleetgate keepalive)
    IFS=$'\t' read -r -a nk < <(oha_figures nginx keepalive)
    IFS=$'\t' read -r -a fn < <(oha_figures fleetgate newconn)
    IFS=$'\t' read -r -a nn < <(oha_figures nginx newconn)
    IFS=$'\t' read -r -a fh < <(handshake_figures fleetgate)
    IFS=$'\t' read -r -a nh < <(handshake_figures nginx)
    fg_rss="$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$FLEETGATE_PID/status")"
    fg_hwm="$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$FLEETGATE_PID/status")"

    cat <<EOF

## fleetgate vs nginx, mutual TLS, $(date -u '+%Y-%m-%d %H:%M UTC')

- Machine: $(machine_summary)
- Other load: load average $LOAD_AT_START at the start, $(loadavg) at the end; busy at the start: ${BUSY_AT_START:-nothing}
- Request: GET /connectedcar/v3/fleets/{fid}/vehicles?client_id=... ($(wc -c <"$BODY") bytes of HAL+JSON, $VEHICLES vehicles), client certificate ${CLIENT_KEY^^} + Basic auth, HTTP/1.1, $TLS_SUMMARY
- Servers: $("$FLEETGATE_BIN" --version | head -1) (release build) and $(nginx -v 2>&1 | sed 's/^nginx version: //') (2 workers), same server certificate, same partner CA
- Load: oha $(oha --version | awk '{print $2}'), $CONNECTIONS connections, ${DURATION} per run after a ${WARMUP} warm-up; handshakes: $HANDSHAKE_CLIENTS parallel openssl s_time -new, ${HANDSHAKE_SECONDS}s

| measure | fleetgate | nginx | fleetgate / nginx |
| --- | ---: | ---: | ---: |
EOF
    row "kept-alive requests/s" "${fk[0]}" "${nk[0]}" "%.0f"
    row "kept-alive p50 latency (ms)" "${fk[1]}" "${nk[1]}" "%.2f"
    row "kept-alive p99 latency (ms)" "${fk[2]}" "${nk[2]}" "%.2f"
    row "kept-alive: server CPU (% of one core)" "${fk[3]}" "${nk[3]}" "%.0f" " "
    row "kept-alive: server CPU per request (µs)" "${fk[4]}" "${nk[4]}" "%.0f"
    row "new full mTLS handshakes/s (s_time -new)" "${fh[0]}" "${nh[0]}" "%.0f"
    row "handshakes: server CPU (% of one core)" "${fh[1]}" "${nh[1]}" "%.0f" " "
    row "handshakes: server CPU per handshake (µs)" "${fh[2]}" "${nh[2]}" "%.0f"
    row "requests/s, a new connection each (oha --disable-keepalive)" "${fn[0]}" "${nn[0]}" "%.0f"
    row "new connection each: p50 latency (ms)" "${fn[1]}" "${nn[1]}" "%.2f"
    row "new connection each: p99 latency (ms)" "${fn[2]}" "${nn[2]}" "%.2f"
    cat <<EOF

Every request was answered 200 (checked): fleetgate ${fk[5]} kept-alive + ${fn[5]} new-connection, nginx ${nk[5]} + ${nn[5]}; full handshakes: fleetgate ${fh[3]}, nginx ${nh[3]}.
fleetgate memory (RSS): $FG_RSS_IDLE MiB idle before the runs, $fg_rss MiB after them, peak $fg_hwm MiB.
EOF
}

# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------

main() {
    if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then usage; exit 0; fi
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    LOAD_AT_START="$(loadavg)"
    BUSY_AT_START="$(busy_processes)"
    log "load average at start: $LOAD_AT_START on $(nproc) cores; busy: ${BUSY_AT_START:-nothing}"
    if awk -v l="${LOAD_AT_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
        log "WARNING: the machine is busy: the figures will be lower and noisier than on a quiet one"
    fi
    ensure_tools
    build_fleetgate

    WORK="$(mktemp -d /tmp/fleetgate-bench.XXXXXX)"
    mkdir -p "$WORK/results"
    DATA="$WORK/data"
    CA="$DATA/ca/partner-ca.pem"
    CERT="$WORK/client.pem"
    KEY="$WORK/client-key.pem"
    BODY="$WORK/vehicles.json"

    setup_platform
    start_fleetgate
    obtain_client_certificate
    FG_RSS_IDLE="$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$FLEETGATE_PID/status")"
    AUTH_HEADER="Authorization: Basic $(printf '%s:%s' "$LOGIN" "$PASSWORD" | base64 -w0)"
    local path="/connectedcar/v3/fleets/$FLEET_ID/vehicles?client_id=$CLIENT_ID"
    FG_URL="https://$HOST:$FG_PORT$path"
    fetch_reference_body
    nginx_serves "/connectedcar/v3/fleets/$FLEET_ID/vehicles" "$BODY"
    start_nginx
    NG_URL="https://$HOST:$NG_PORT$path"
    # For poking at a kept work dir by hand: source it, then curl/oha with the same values.
    declare -p LOGIN PASSWORD CLIENT_ID FLEET_ID CA CERT KEY AUTH_HEADER FG_URL NG_URL >"$WORK/bench.env"
    check_same_answers

    keepalive_runs
    handshake_runs
    new_connection_runs
    if [[ -n "$RESULTS_FILE" ]]; then report | tee -a "$RESULTS_FILE"; else report; fi
}

# Sourced by the other benchmark scripts for its helpers; run, it benchmarks the gateway.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
