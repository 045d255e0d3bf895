#!/usr/bin/env bash
# Socket-path throughput of lbdns against NSD, measured with dnsperf.
#
#   sudo bench/socket.sh            # needs root (network namespaces), nsd and dnsperf
#
# Both servers answer the same zone (zones/example.com.zone) on the same address of a
# private server namespace, one after the other, and dnsperf loads each from a client
# namespace over a veth pair: the traffic never leaves this machine and only
# 198.18.0.0/15 (RFC 2544 benchmarking) addresses are used. lbdns runs as `lbdns serve`,
# which answers from its UDP/TCP sockets (no XDP program is attached), so this measures
# the socket path only.
#
# The script builds nothing: it needs target/release/lbdns (`cargo xtask build --release`).
# Every step is bounded in time, and the namespaces, servers and temp files are removed on
# exit, error or Ctrl-C.
#
# Tunables (environment): DURATION (seconds per run, default 10), CLIENTS (dnsperf -c,
# default 4), THREADS (-T, default 2), OUTSTANDING (-q, default 200), QUERIES (lines in the
# query file, default 10000), NSD_SERVERS (NSD server-count, default: number of CPUs, so
# that NSD may use the machine as fully as lbdns's multi-threaded runtime does).
set -euo pipefail

DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
THREADS=${THREADS:-2}
OUTSTANDING=${OUTSTANDING:-200}
QUERIES=${QUERIES:-10000}
NSD_SERVERS=${NSD_SERVERS:-$(nproc)}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LBDNS=$ROOT/target/release/lbdns
ZONE=$ROOT/zones/example.com.zone
ORIGIN=example.com

SRV_NS=lbdns-bench-srv-$$
CLI_NS=lbdns-bench-cli-$$
SRV_IP=198.18.0.1
CLI_IP=198.18.0.2
PORT=53

die() { echo "socket.sh: $*" >&2; exit 1; }

# --- Preconditions: say what is missing instead of measuring something else ---------------
[[ $EUID -eq 0 ]] || die "must run as root (it creates network namespaces)"
[[ -x $LBDNS ]] || die "$LBDNS not found; build it first with: cargo xtask build --release"
for tool in ip nsd dnsperf dig timeout; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed"
done
[[ -f $ZONE ]] || die "zone file $ZONE missing"

WORK=$(mktemp -d /tmp/lbdns-bench.XXXXXX)
SERVER_PID=
LOAD_PID=

# Stops the load generator and the server started last (by their pids), then deletes the
# namespaces, which also removes the veth pair and ends anything still running inside them.
cleanup() {
    trap - EXIT INT TERM
    # timeout passes the TERM on to dnsperf.
    [[ -z $LOAD_PID ]] || kill -TERM "$LOAD_PID" 2>/dev/null || true
    stop_server
    ip netns pids "$SRV_NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$CLI_NS" 2>/dev/null || true
    ip netns del "$SRV_NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "socket.sh: interrupted" >&2; exit 130' INT TERM

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    # Bounded wait: 5 s, then SIGKILL.
    for _ in $(seq 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# --- Topology --------------------------------------------------------------------------------
ip netns add "$SRV_NS"
ip netns add "$CLI_NS"
ip -n "$SRV_NS" link add veth-srv type veth peer name veth-cli netns "$CLI_NS"
ip -n "$SRV_NS" addr add "$SRV_IP/24" dev veth-srv
ip -n "$CLI_NS" addr add "$CLI_IP/24" dev veth-cli
for ns in "$SRV_NS" "$CLI_NS"; do
    ip -n "$ns" link set lo up
done
ip -n "$SRV_NS" link set veth-srv up
ip -n "$CLI_NS" link set veth-cli up

# --- Query file --------------------------------------------------------------------------------
# Hot A/AAAA names of the example zone, weighted towards the load-balanced www and api
# RRsets. The order comes from a fixed-seed linear congruential generator in integer
# arithmetic, so every run (and every awk) produces the same file.
QUERY_FILE=$WORK/queries.txt
awk -v n="$QUERIES" -v origin="$ORIGIN" 'BEGIN {
    split("www A|www A|www A|www AAAA|www AAAA|api A|api A|api A|mail A|ns1 A|ns2 A|ns2 AAAA", pool, "|")
    size = length(pool); x = 12345
    for (i = 0; i < n; i++) {
        x = (x * 75 + 74) % 65537
        split(pool[(x % size) + 1], q, " ")
        printf "%s.%s %s\n", q[1], origin, q[2]
    }
}' >"$QUERY_FILE"

# --- Servers -----------------------------------------------------------------------------------
# Waits (at most 15 s) until the server answers an SOA query from the client namespace.
wait_ready() {
    local name=$1
    for _ in $(seq 150); do
        kill -0 "$SERVER_PID" 2>/dev/null || die "$name exited during start-up: $(cat "$WORK/$name.log")"
        if ip netns exec "$CLI_NS" timeout 2 dig +tries=1 +time=1 +short -p "$PORT" "@$SRV_IP" \
            "$ORIGIN" SOA 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    die "$name did not answer within 15 s: $(cat "$WORK/$name.log")"
}

start_lbdns() {
    RUST_LOG=warn ip netns exec "$SRV_NS" "$LBDNS" serve --zone "$ZONE" \
        --listen "$SRV_IP:$PORT" >"$WORK/lbdns.log" 2>&1 &
    SERVER_PID=$!
    wait_ready lbdns
}

start_nsd() {
    cat >"$WORK/nsd.conf" <<EOF
server:
  ip-address: $SRV_IP@$PORT
  port: $PORT
  server-count: $NSD_SERVERS
  reuseport: yes
  zonesdir: ""
  database: ""
  username: ""
  chroot: ""
  pidfile: "$WORK/nsd.pid"
  xfrdfile: "$WORK/xfrd.state"
  zonelistfile: "$WORK/zone.list"
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: "$ORIGIN"
  zonefile: "$ZONE"
EOF
    ip netns exec "$SRV_NS" nsd -d -c "$WORK/nsd.conf" >"$WORK/nsd.log" 2>&1 &
    SERVER_PID=$!
    wait_ready nsd
}

# --- Measurement -----------------------------------------------------------------------------
# Runs dnsperf against the server that is up and sets QPS, LAT_MS, LOST and SENT.
#
# dnsperf runs in the background and the shell waits for it with `wait`, which a trapped
# signal interrupts at once; a foreground command would hold Ctrl-C back until it ended.
measure() {
    local name=$1 out=$WORK/$1.dnsperf
    # dnsperf stops itself after DURATION s; the timeout only catches a hang.
    ip netns exec "$CLI_NS" timeout $((DURATION + 30)) dnsperf -s "$SRV_IP" -p "$PORT" \
        -d "$QUERY_FILE" -c "$CLIENTS" -T "$THREADS" -q "$OUTSTANDING" -l "$DURATION" \
        >"$out" 2>&1 &
    LOAD_PID=$!
    wait "$LOAD_PID" || die "dnsperf against $name failed: $(cat "$out")"
    LOAD_PID=
    read -r QPS LAT_MS LOST SENT < <(awk '
        /Queries sent:/          { sent = $3 }
        /Queries lost:/          { lost = $3 }
        /Queries per second:/    { qps = $4 }
        /Average Latency \(s\):/ { lat = $4 * 1000 }
        END { if (qps != "") printf "%s %.3f %s %s\n", qps, lat, lost, sent }' "$out") ||
        die "could not read dnsperf output for $name: $(cat "$out")"
}

echo "dnsperf -c $CLIENTS -T $THREADS -q $OUTSTANDING -l $DURATION, $QUERIES-line query file," \
    "zone $ORIGIN, $(nproc) CPUs, NSD server-count $NSD_SERVERS"

start_lbdns
measure lbdns
L_QPS=$QPS L_LAT=$LAT_MS L_LOST=$LOST L_SENT=$SENT
stop_server

start_nsd
measure nsd
N_QPS=$QPS N_LAT=$LAT_MS N_LOST=$LOST N_SENT=$SENT
stop_server

printf '%-8s %12s %16s %10s %12s\n' target qps "avg latency ms" lost sent
printf '%-8s %12.0f %16.3f %10s %12s\n' lbdns "$L_QPS" "$L_LAT" "$L_LOST" "$L_SENT"
printf '%-8s %12.0f %16.3f %10s %12s\n' nsd "$N_QPS" "$N_LAT" "$N_LOST" "$N_SENT"
awk -v l="$L_QPS" -v n="$N_QPS" 'BEGIN { printf "lbdns/NSD qps ratio: %.2f\n", (n > 0 ? l / n : 0) }'
