#!/usr/bin/env bash
# Measures every server of BENCHMARKS.md in one run, the same way, on 127.0.0.1.
#
#   bench/run.sh [LABEL]          # results in bench/results/LABEL/ (default: the commit)
#   BEFORE_SERVER=path/to/an/older/bench-server bench/run.sh LABEL
#                                 # also measures every login-runtime row with that binary
#                                 # (rows `before:…`), in the same run, against the same peers
#
# For each row: start the server (one worker), log in, check that the cookie gives 200 "42"
# and no cookie 401, then
#   1. load: wrk (1 thread, $CONNS connections, $DURATION s) with the server pinned to CPU 0
#      and wrk to CPU 1: req/s, p50/p99, and server CPU µs per request from /proc/PID/stat;
#   2. instructions: the server under callgrind, once with $N1 and once with $N2 requests on
#      one keep-alive connection, the same cookie in both (fixed keys: BENCH_FIXED_KEYS=1);
#      (Ir2 - Ir1) / (N2 - N1) is the user-space instructions per request, start-up and login
#      cancelling out.
# Ratios are to the bare actix-web row and to actix-identity on the same store, from this run.
#
# Needs: cargo, python3 (with venv), valgrind, wrk (installed with apt-get when missing), a
# Redis on $REDIS_URL for the Redis rows, PostgreSQL on $PG_ADMIN_URL for the PostgreSQL row
# (psql; the script creates the database bench_login), redis-server and redis-cli for the
# Redis Cluster row (the script starts a cluster of three primaries on free loopback ports and
# stops it at exit). Creates bench/.venv from PyPI for Flask-Login.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

LABEL=${1:-$(git rev-parse --short HEAD)}
OUT=$ROOT/bench/results/$LABEL
N1=${N1:-300}
N2=${N2:-1300}
DURATION=${DURATION:-10}
CONNS=${CONNS:-8}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
# Built binaries: cargo's target directory ($CARGO_TARGET_DIR when set).
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PORT=${PORT:-18080}
ROWS=${ROWS:-}      # a space-separated subset of the row names, for a quick look
NO_LOAD=${NO_LOAD:-} # set: instructions only, no wrk (a quick look, not for BENCHMARKS.md)
AGENT="bench/1"
mkdir -p "$OUT"

say() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'bench FAILED: %s\n' "$*" >&2; exit 1; }

say "tools"
command -v valgrind >/dev/null || fail "valgrind is missing (apt-get install -y valgrind)"
if ! command -v wrk >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ ! -x bench/.venv/bin/gunicorn ] && { [ -z "$ROWS" ] || [[ " $ROWS " == *" flask"* ]]; }; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install -q -r bench/flask/requirements.txt
fi

say "build (release)"
cargo build --release -p examples --bin bench-server
# The peer has its own lock file; it shares the target dir so common crates build once.
cargo build --release --manifest-path bench/identity-peer/Cargo.toml --target-dir "$TARGET"
OURS=$TARGET/release/bench-server
PEER=$TARGET/release/identity-peer
GUNICORN="$ROOT/bench/.venv/bin/gunicorn -w 1 --chdir $ROOT/bench/flask app:app -b"

client() { python3 "$ROOT/bench/client.py" "$@"; }

wait_port() { # bounded: 120 s (valgrind start-up is slow)
    for _ in $(seq 1 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.2
    done
    fail "nothing listens on $PORT"
}

stop() { # SIGINT: actix (and gunicorn) shut down cleanly, so callgrind writes its counts
    kill -INT "$1" 2>/dev/null || true
    for _ in $(seq 1 1200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

cpu_ticks() { # utime + stime of the process and its children (gunicorn's worker)
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1" || true); do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

# Starts the server for a row: $1 = kind (ours|peer|flask), the rest its arguments.
# Prefix: taskset / valgrind, in $WRAP.
start() {
    local kind=$1
    shift
    case $kind in
        ours) ACTIX_WORKERS=1 $WRAP "$OURS" --port "$PORT" "$@" >"$OUT/server.log" 2>&1 & ;;
        peer) ACTIX_WORKERS=1 $WRAP "$PEER" --port "$PORT" "$@" >"$OUT/server.log" 2>&1 & ;;
        before) ACTIX_WORKERS=1 $WRAP "$BEFORE_SERVER" --port "$PORT" "$@" >"$OUT/server.log" 2>&1 & ;;
        flask) $WRAP $GUNICORN "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 & ;;
    esac
    SERVER=$!
    wait_port
}

cookie_for() { # $1 = none|session|remember
    case $1 in
        none) echo "" ;;
        *) client login "$PORT" "$1" ;;
    esac
}

wanted() { [ -z "$ROWS" ] || [[ " $ROWS " == *" $1 "* ]]; }

# The PostgreSQL row's database, made once; the server makes its table (login_sessions).
DATABASE_URL=${PG_ADMIN_URL%/*}/bench_login
if wanted ours-postgres; then
    say "PostgreSQL (database bench_login)"
    psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'bench_login'" | grep -q 1 \
        || psql "$PG_ADMIN_URL" -qc "CREATE DATABASE bench_login" \
        || fail "could not create the database bench_login on $PG_ADMIN_URL"
fi

# The Redis Cluster row's cluster: three primaries (no replicas: a write waits for none, as
# with the single Redis), on free loopback ports whose bus ports (+10000) are free too.
CLUSTER_PIDS=()
CLUSTER_DIR=""
stop_cluster() {
    local pid
    for pid in "${CLUSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${CLUSTER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "$CLUSTER_DIR" ] && rm -rf "$CLUSTER_DIR"
    return 0
}
start_cluster() {
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
        || fail "redis-server and redis-cli are missing (apt-get install -y redis-server redis-tools)"
    CLUSTER_DIR=$(mktemp -d)
    trap stop_cluster EXIT
    local ports port addresses=() urls=()
    ports=$(python3 -c '
import socket
found = []
while len(found) < 3:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    if port + 10000 > 65535: continue
    b = socket.socket()
    try: b.bind(("127.0.0.1", port + 10000))
    except OSError: continue
    finally: b.close()
    found.append(port)
print(" ".join(map(str, found)))')
    for port in $ports; do
        (cd "$CLUSTER_DIR" && exec redis-server --port "$port" --bind 127.0.0.1 \
            --cluster-enabled yes --cluster-config-file "nodes-$port.conf" \
            --appendonly no --save "" >"$CLUSTER_DIR/$port.log" 2>&1) &
        CLUSTER_PIDS+=($!)
        addresses+=("127.0.0.1:$port")
        urls+=("redis://127.0.0.1:$port")
    done
    for port in $ports; do
        for _ in $(seq 1 100); do
            redis-cli -p "$port" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
    done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 0 --cluster-yes >/dev/null \
        || fail "redis-cli --cluster create failed"
    for _ in $(seq 1 100); do
        redis-cli -p "${ports%% *}" cluster info | grep -q "cluster_state:ok" && break
        sleep 0.1
    done
    redis-cli -p "${ports%% *}" cluster info | grep -q "cluster_state:ok" || fail "the cluster is not ok"
    CLUSTER_URLS=$(IFS=,; echo "${urls[*]}")
}
CLUSTER_URLS=""
if wanted ours-redis-cluster; then
    say "Redis Cluster (three primaries)"
    start_cluster
    echo "$CLUSTER_URLS" >&2
fi

printf 'row\treq_s\tp50\tp99\tcpu_us\tir\n' >"$OUT/results.tsv"

# One row: name, cookie mode, path, callgrind (yes|no), server kind and arguments.
row() {
    local name=$1 mode=$2 path=$3 grind=$4
    shift 4
    if [ -n "$ROWS" ] && [[ " $ROWS " != *" $name "* ]]; then return 0; fi
    say "$name"
    # 1. Under load, pinned.
    PORT=$((PORT + 1))
    WRAP="taskset -c 0"
    start "$@"
    local cookie
    cookie=$(cookie_for "$mode")
    client check "$PORT" "$path" "$cookie"
    client run "$PORT" "$path" "$cookie" 500 # warm-up
    local before after requests req_s=- p50=- p99=- cpu_us=-
    if [ -n "$NO_LOAD" ]; then
        stop "$SERVER"
    else
        local headers=(-H "User-Agent: $AGENT")
        [ -n "$cookie" ] && headers+=(-H "Cookie: $cookie")
        before=$(cpu_ticks "$SERVER")
        taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${headers[@]}" \
            "http://127.0.0.1:$PORT$path" >"$OUT/$name.wrk"
        after=$(cpu_ticks "$SERVER")
        stop "$SERVER"
        grep -q "Non-2xx" "$OUT/$name.wrk" && fail "$name: wrk saw non-2xx answers ($OUT/$name.wrk)"
        requests=$(awk '/requests in/ {print $1}' "$OUT/$name.wrk")
        req_s=$(awk '/Requests\/sec/ {print $2}' "$OUT/$name.wrk")
        p50=$(awk '$1 == "50%" {print $2}' "$OUT/$name.wrk")
        p99=$(awk '$1 == "99%" {print $2}' "$OUT/$name.wrk")
        cpu_us=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
            'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
    fi

    # 2. Instructions per request: two runs under callgrind.
    local ir=-
    if [ "$grind" = yes ]; then
        # Fixed keys, and the first run's cookie in both runs: the two runs send
        # byte-identical requests (each still logs in once, so start-up stays the same).
        local n totals=() grind_cookie=""
        for n in "$N1" "$N2"; do
            PORT=$((PORT + 1))
            WRAP="valgrind --tool=callgrind --callgrind-out-file=$OUT/$name.$n.callgrind"
            BENCH_FIXED_KEYS=1 start "$@"
            cookie=$(cookie_for "$mode")
            grind_cookie=${grind_cookie:-$cookie}
            # Devices in memory end with the process: each run's login is its own device.
            [[ $name == *devices-memory* ]] && grind_cookie=$cookie
            client run "$PORT" "$path" "$grind_cookie" "$n"
            stop "$SERVER"
            totals+=("$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT/$name.$n.callgrind")")
        done
        ir=$(( (totals[1] - totals[0]) / (N2 - N1) ))
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$req_s" "$p50" "$p99" "$cpu_us" "$ir" \
        | tee -a "$OUT/results.tsv" >&2
}

row bare none /protected yes ours --bare
row identity session /protected yes peer
row identity-lookup session /protected yes peer --lookup
row ours-off session /protected yes ours --protection off
row ours-basic session /protected yes ours
row ours-session-hash session /protected yes ours --session-hash
row ours-remember remember /protected yes ours
row identity-redis session /protected yes peer --store redis --redis-url "$REDIS_URL"
row identity-lookup-redis session /protected yes peer --lookup --store redis --redis-url "$REDIS_URL"
row ours-redis session /protected yes ours --store redis --redis-url "$REDIS_URL"
# Issue 20: login-stores' PostgreSQL store and its Redis stores on a Redis Cluster.
row ours-postgres session /protected yes ours --store postgres --database-url "$DATABASE_URL"
row ours-redis-cluster session /protected yes ours --store redis-cluster --cluster-urls "$CLUSTER_URLS"
row ours-devices-memory session /protected yes ours --devices memory
row ours-devices-redis session /protected yes ours --devices redis --redis-url "$REDIS_URL"
row ours-idle session /protected yes ours --idle-timeout 3600
row open-no-manager none /open yes ours --no-manager
row open-manager none /open yes ours
if [ -n "${BEFORE_SERVER:-}" ]; then
    row before:ours-off session /protected yes before --protection off
    row before:ours-basic session /protected yes before
    row before:ours-session-hash session /protected yes before --session-hash
    row before:ours-remember remember /protected yes before
    row before:ours-redis session /protected yes before --store redis --redis-url "$REDIS_URL"
    row before:open-manager none /open yes before
fi
row flask session /protected no flask
row flask-remember remember /protected no flask

# The login storm: the server pinned to CPU 0, the clients on CPU 1 (bench/storm.py).
storm() {
    if [ -n "$ROWS" ] && [[ " $ROWS " != *" storm "* ]]; then return 0; fi
    say "login storm"
    PORT=$((PORT + 1))
    WRAP="taskset -c 0"
    # Every storm client from its own address would need a proxy; the address limit is lifted
    # for the first phases (only the per-account limit, over many accounts, holds), and kept at
    # its default for the last, where the throttle must engage.
    start ours --address-limit 1000000000
    local cookie
    cookie=$(cookie_for session)
    taskset -c 1 python3 "$ROOT/bench/storm.py" "$PORT" "$cookie" "$DURATION" phases \
        >"$OUT/storm.md"
    stop "$SERVER"
    PORT=$((PORT + 1))
    start ours
    cookie=$(cookie_for session)
    taskset -c 1 python3 "$ROOT/bench/storm.py" "$PORT" "$cookie" "$DURATION" throttle \
        >>"$OUT/storm.md"
    stop "$SERVER"
    cat "$OUT/storm.md" >&2
}
[ -n "$NO_LOAD" ] || storm

say "table"
python3 "$ROOT/bench/table.py" "$OUT/results.tsv" | tee "$OUT/results.md"
if [ -f "$OUT/storm.md" ]; then cat "$OUT/storm.md" >>"$OUT/results.md"; fi
