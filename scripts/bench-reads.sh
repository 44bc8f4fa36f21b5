#!/usr/bin/env bash
# Benchmark of the fleet data API's reads, side by side with nginx serving the same bytes.
#
# What it measures, in one run, on this machine, over mutual TLS (client certificate +
# Basic auth + client_id), with VEHICLES vehicles whose last HISTORY of journeys is in the
# database (written by `fleetgate simulate --history`, through the ingestion pipeline):
#   - GET .../fleets/{fid}/vehicles/{vid}/lastPosition
#   - GET .../fleets/{fid}/trips?pageSize=60 (a full page of the fleet's latest trips)
# For each: the highest rate over kept-alive connections (requests/s, p50, p99), for
# fleetgate and for nginx serving the very same bytes, and the ratio; then both servers at
# half of fleetgate's highest rate (oha -q), where the p99 latency is the figure to read.
#
# Usage: scripts/bench-reads.sh              (from anywhere; see docs/benchmarks.md)
# Knobs (environment variables), beside those of scripts/bench-gateway.sh:
#   VEHICLES=10000   vehicles of the fleet, each with its history
#   HISTORY=6h       how much history (simulated journeys up to now)
#   INTERVAL=60      seconds between two samples of a driving simulated vehicle
#   DURATION=10s     length of each measured run; WARMUP=2s before each maximal run
#   CONNECTIONS=64   concurrent connections of the oha runs
# Installs what is missing, as scripts/bench-gateway.sh does. Everything listens on
# 127.0.0.1 only and is stopped on exit.
set -euo pipefail

export VEHICLES="${VEHICLES:-10000}"
HISTORY="${HISTORY:-6h}"
INTERVAL="${INTERVAL:-60}"

# shellcheck source=scripts/bench-gateway.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-gateway.sh"

reads_usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# setup_history: the partner, its application, a fleet, and the fleet's vehicles with
# their history. Sets PASSWORD, CLIENT_ID, FLEET_ID.
setup_history() {
    log "fleetgate init in $DATA"
    fleetgate_cli init --json >"$WORK/init.json"
    PASSWORD="$(fleetgate_cli partner create "$LOGIN" --email bench@example.com --organization Bench --json | jq -er .password)"
    CLIENT_ID="$(fleetgate_cli app create "$LOGIN" --name bench --version v3 \
        --daily-limit 4000000000 --burst-limit 1000000 --json | jq -er .clientId)"
    FLEET_ID="$(fleetgate_cli fleet create "$LOGIN" --name bench-fleet --json | jq -er .id)"
    log "writing $HISTORY of journeys of $VEHICLES vehicles (one sample every ${INTERVAL}s while driving)"
    fleetgate_cli simulate --fleet "$FLEET_ID" --vehicles "$VEHICLES" --history "$HISTORY" \
        --interval "$INTERVAL" --json >"$WORK/history.json"
    log "history: $(jq -c . "$WORK/history.json")"
}

# fetch_body URL FILE: fleetgate's answer to URL, which must be a 200.
fetch_body() {
    local status
    status="$(curl -sS -o "$2" -w '%{http_code}' --cacert "$CA" --cert "$CERT" --key "$KEY" \
        -H "$AUTH_HEADER" "$1")"
    [[ "$status" == 200 ]] || { cat "$2" >&2; die "fleetgate answered $status to $1"; }
}

# measure NAME PATH: both servers on PATH (below /connectedcar/v3, with its query): the
# highest kept-alive rate, then half of fleetgate's. Appends the rows to $WORK/rows.
measure() {
    local name="$1" path="$2" query
    query="$([[ "$path" == *\?* ]] && echo '&' || echo '?')client_id=$CLIENT_ID"
    FG_URL="https://$HOST:$FG_PORT/connectedcar/v3$path$query"
    NG_URL="https://$HOST:$NG_PORT/connectedcar/v3$path$query"
    BODY="$WORK/$name.body"
    fetch_body "$FG_URL" "$BODY"
    nginx_serves "/connectedcar/v3${path%%\?*}" "$BODY"
    check_same_answers
    log "$name: $(wc -c <"$BODY") bytes"

    local server url
    for server in fleetgate nginx; do
        [[ $server == fleetgate ]] && url=$FG_URL || url=$NG_URL
        log "$name, highest rate on $server: warm-up $WARMUP, then $DURATION (load $(loadavg))"
        run_oha "$server" "$url" "$name-warmup" "$WARMUP"
        run_oha "$server" "$url" "$name-max" "$DURATION"
    done
    local fg_max half
    fg_max="$(jq '.summary.requestsPerSec' "$WORK/results/fleetgate-$name-max.json")"
    half="$(awk -v r="$fg_max" 'BEGIN { printf "%d", r / 2 }')"
    for server in fleetgate nginx; do
        [[ $server == fleetgate ]] && url=$FG_URL || url=$NG_URL
        log "$name, $half requests/s on $server for $DURATION"
        run_oha "$server" "$url" "$name-half" "$DURATION" -q "$half"
    done

    local fm nm fh nh
    IFS=$'\t' read -r -a fm < <(oha_figures fleetgate "$name-max")
    IFS=$'\t' read -r -a nm < <(oha_figures nginx "$name-max")
    IFS=$'\t' read -r -a fh < <(oha_figures fleetgate "$name-half")
    IFS=$'\t' read -r -a nh < <(oha_figures nginx "$name-half")
    {
        echo "| **$name** ($(wc -c <"$BODY") bytes) | | | |"
        row "highest rate, requests/s" "${fm[0]}" "${nm[0]}" "%.0f"
        row "at the highest rate: p50 latency (ms)" "${fm[1]}" "${nm[1]}" "%.2f"
        row "at the highest rate: p99 latency (ms)" "${fm[2]}" "${nm[2]}" "%.2f"
        row "server CPU per request (µs)" "${fm[4]}" "${nm[4]}" "%.0f"
        row "at $half requests/s: p50 latency (ms)" "${fh[1]}" "${nh[1]}" "%.2f"
        row "at $half requests/s: p99 latency (ms)" "${fh[2]}" "${nh[2]}" "%.2f"
    } >>"$WORK/rows"
}

# located_vehicle: the id of a vehicle of the first page whose last position is known
# (a vehicle whose privacy hides its position has none).
located_vehicle() {
    local base="https://$HOST:$FG_PORT/connectedcar/v3/fleets/$FLEET_ID/vehicles" id status
    fetch_body "$base?pageSize=60&client_id=$CLIENT_ID" "$WORK/vehicles.json"
    for id in $(jq -r '._embedded.vehicles[].id' "$WORK/vehicles.json"); do
        status="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" --cert "$CERT"             --key "$KEY" -H "$AUTH_HEADER" "$base/$id/lastPosition?client_id=$CLIENT_ID")"
        if [[ "$status" == 200 ]]; then echo "$id"; return; fi
    done
    die "no vehicle of the first page has a last position"
}

reads_report() {
    local fg_hwm
    fg_hwm="$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$FLEETGATE_PID/status")"
    cat <<EOF

## Reads with history: fleetgate vs nginx, mutual TLS, $(date -u '+%Y-%m-%d %H:%M UTC')

- Machine: $(machine_summary)
- Other load: load average $LOAD_AT_START at the start, $(loadavg) at the end
- Data: $VEHICLES vehicles, $HISTORY of journeys each: $(jq -r '"\(.stored) messages"' "$WORK/history.json") written in $(jq -r '.seconds | floor' "$WORK/history.json") s; database $(du -sh "$DATA" | cut -f1)
- Servers: $("$FLEETGATE_BIN" --version | head -1) (release build, SQLite) and $(nginx -v 2>&1 | sed 's/^nginx version: //') (2 workers), same certificates, client certificate ${CLIENT_KEY^^} + Basic auth, HTTP/1.1, $TLS_SUMMARY
- Load: oha $(oha --version | awk '{print $2}'), $CONNECTIONS kept-alive connections, ${DURATION} per run after a ${WARMUP} warm-up

| measure | fleetgate | nginx | fleetgate / nginx |
| --- | ---: | ---: | ---: |
EOF
    cat "$WORK/rows"
    echo
    echo "Every request was answered 200 (checked). fleetgate peak memory (RSS): $fg_hwm MiB."
}

reads_main() {
    if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then reads_usage; exit 0; fi
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    LOAD_AT_START="$(loadavg)"
    ensure_tools
    build_fleetgate
    WORK="$(mktemp -d /tmp/fleetgate-bench-reads.XXXXXX)"
    mkdir -p "$WORK/results"
    DATA="$WORK/data"
    CA="$DATA/ca/partner-ca.pem"
    CERT="$WORK/client.pem"
    KEY="$WORK/client-key.pem"

    setup_history
    start_fleetgate
    obtain_client_certificate
    AUTH_HEADER="Authorization: Basic $(printf '%s:%s' "$LOGIN" "$PASSWORD" | base64 -w0)"
    start_nginx

    local vid
    vid="$(located_vehicle)"
    measure lastPosition "/fleets/$FLEET_ID/vehicles/$vid/lastPosition"
    measure trips "/fleets/$FLEET_ID/trips?pageSize=60"
    if [[ -n "$RESULTS_FILE" ]]; then reads_report | tee -a "$RESULTS_FILE"; else reads_report; fi
}

reads_main "$@"
