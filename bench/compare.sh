#!/usr/bin/env bash
# Stratum against the peer s3s-fs, side by side in one run, on this machine.
#
# Both servers run on loopback pinned to the same CPUs (taskset; Stratum with
# --cores equal to their number); the generator runs on the other CPUs. The
# standard jobs run alternately A B A B, so a drift of the disk or of other
# load on the machine hits both sides alike. Then the video search on each,
# the --cores 1 vs --cores 2 scaling of Stratum on get-4k, and the machine's
# limits (bench/limits.sh, before and after). Writes bench/results/compare-<commit>.md.
#
# Durability differs, and the table says so: Stratum fsyncs every PUT (body
# and metadata) before answering; s3s-fs never fsyncs.
#
# Env: CORES (server CPUs, default 1), DURATION (measured time per job,
# default 5s), WARMUP (6s: longer than the 5 s grace after which an
# overwrite's freed shard files are reused, so put-1m is measured in its
# steady state), ROUNDS (2), JOBS (the standard list), VIDEO (1 to
# run the video search), VIDEO_PROBE (each search probe, 4s), SCALING (1),
# LIMITS (1), BUILD (1), OUT (the results file).
set -euo pipefail
cd "$(dirname "$0")/.."

CORES=${CORES:-1}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-6s}
ROUNDS=${ROUNDS:-2}
JOBS=${JOBS:-put-4k get-4k put-1m get-1m range-64k-in-1g mixed-70-30 list head delete}
VIDEO=${VIDEO:-1}
VIDEO_PROBE=${VIDEO_PROBE:-4s}
SCALING=${SCALING:-1}
LIMITS=${LIMITS:-1}
BUILD=${BUILD:-1}
WORK=${WORK:-target/bench-compare}
# Absolute: the servers resolve their data paths themselves.
WORK=$(realpath -m "$WORK")
PEER_VERSION=0.14.1
PEER_ROOT=target/peers
PEER=$PEER_ROOT/bin/s3s-fs
PORT_A=19401
PORT_B=19402
KEY=stratumadmin
# Taken once, before the build: HEAD may move while the comparison runs.
COMMIT_FULL=$(git rev-parse HEAD)
COMMIT=${COMMIT_FULL:0:7}
DIRTY=$(git status --porcelain --untracked-files=no -- engine http meta src | wc -l)
OUT=${OUT:-bench/results/compare-$COMMIT.md}
CPUS=$(nproc)

log() { printf '==> %s\n' "$*" >&2; }

if [ ! -x "$PEER" ]; then
    log "installing s3s-fs $PEER_VERSION into $PEER_ROOT"
    cargo install s3s-fs --version "$PEER_VERSION" --features binary --locked --root "$PEER_ROOT"
fi
if [ "$BUILD" = 1 ]; then
    log "building stratum and stratum-bench"
    cargo build --release -p stratum -p stratum-bench
fi

if [ "$CORES" -ge "$CPUS" ]; then
    SERVER_CPUS="0-$((CPUS - 1))"
    CLIENT_CPUS="0-$((CPUS - 1))"
else
    SERVER_CPUS="0-$((CORES - 1))"
    CLIENT_CPUS="$CORES-$((CPUS - 1))"
fi

rm -rf "$WORK"
mkdir -p "$WORK/json" "$WORK/stratum" "$WORK/s3s-fs" "$WORK/bin"
# Copies: others may rebuild target/release while the comparison runs.
cp target/release/stratum target/release/stratum-bench "$WORK/bin/"
BENCH=$WORK/bin/stratum-bench
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "nothing listens on port $1"
    return 1
}

# start_stratum CORES CPUS: (re)starts Stratum, sets STRATUM_PID.
start_stratum() {
    if [ -n "${STRATUM_PID:-}" ]; then
        kill "$STRATUM_PID" && wait "$STRATUM_PID" 2>/dev/null || true
    fi
    taskset -c "$2" "$WORK/bin/stratum" serve --listen "127.0.0.1:$PORT_A" --data "$WORK/stratum" \
        --cores "$1" --access-key $KEY --secret-key $KEY >"$WORK/stratum.log" 2>&1 &
    STRATUM_PID=$!
    PIDS+=("$STRATUM_PID")
    wait_port $PORT_A
}

start_peer() {
    taskset -c "$SERVER_CPUS" "$PEER" --host 127.0.0.1 --port $PORT_B --access-key $KEY --secret-key $KEY \
        "$WORK/s3s-fs" >"$WORK/s3s-fs.log" 2>&1 &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
    wait_port $PORT_B
}

# bench SIDE JOB TAG CLIENT_CPUS [ARGS...]: one job against one side, JSON kept.
bench() {
    local side=$1 job=$2 tag=$3 cpus=$4 port pid
    shift 4
    if [ "$side" = A ]; then port=$PORT_A pid=$STRATUM_PID; else port=$PORT_B pid=$PEER_PID; fi
    log "$job on $side ($tag)"
    taskset -c "$cpus" $BENCH run "$job" --endpoint "http://127.0.0.1:$port" --server-pid "$pid" \
        --json --quiet "$@" >"$WORK/json/$job.$side.$tag.json"
}

# Op-count jobs (delete) keep their count; the others run for DURATION.
timing() {
    if grep -q '^ops *=' "bench/jobs/$1.toml"; then echo --warmup 0s; else echo --duration "$DURATION" --warmup "$WARMUP"; fi
}

if [ "$LIMITS" = 1 ]; then
    # Before and after the jobs: this disk's speed drifts within the hour.
    log "machine limits, before"
    bench/limits.sh >"$WORK/limits-before.txt"
fi
log "server CPUs $SERVER_CPUS, generator CPUs $CLIENT_CPUS, $ROUNDS rounds of $DURATION"
uptime >"$WORK/load-before.txt"
start_stratum "$CORES" "$SERVER_CPUS"
start_peer
for round in $(seq "$ROUNDS"); do
    for job in $JOBS; do
        # shellcheck disable=SC2046
        bench A "$job" "r$round" "$CLIENT_CPUS" $(timing "$job")
        # shellcheck disable=SC2046
        bench B "$job" "r$round" "$CLIENT_CPUS" $(timing "$job")
    done
done
if [ "$VIDEO" = 1 ]; then
    bench A video r1 "$CLIENT_CPUS" --duration "$VIDEO_PROBE"
    bench B video r1 "$CLIENT_CPUS" --duration "$VIDEO_PROBE"
fi
if [ "$SCALING" = 1 ] && [ "$CPUS" -ge 2 ]; then
    # The thread-per-core promise: the same job on 1 and on 2 cores, the
    # generator free to run anywhere, alternating.
    for round in $(seq "$ROUNDS"); do
        for n in 1 2; do
            start_stratum "$n" "0-$((n - 1))"
            bench A get-4k "cores$n.r$round" "0-$((CPUS - 1))" --duration "$DURATION" --warmup "$WARMUP"
        done
    done
fi
cleanup
PIDS=()
uptime >"$WORK/load-after.txt"
if [ "$LIMITS" = 1 ]; then
    log "machine limits, after"
    bench/limits.sh >"$WORK/limits.txt"
fi
$BENCH ceiling --duration 2s --json >"$WORK/ceiling.json"

mkdir -p "$(dirname "$OUT")"
python3 bench/compare_report.py "$WORK" \
    --commit "$COMMIT_FULL" \
    --dirty "$DIRTY" \
    --cores "$CORES" --server-cpus "$SERVER_CPUS" --client-cpus "$CLIENT_CPUS" \
    --duration "$DURATION" --warmup "$WARMUP" --rounds "$ROUNDS" --peer-version "$PEER_VERSION" >"$OUT"
log "wrote $OUT"
cat "$OUT"
