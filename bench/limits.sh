#!/usr/bin/env bash
# This machine's limits, so every benchmark figure can also be read as a
# percentage of what the hardware allows:
#   - fio, io_uring, O_DIRECT: 1 MiB sequential writes with an fdatasync after
#     each (one and eight in flight: the durable-write ceiling a PUT can reach),
#     1 MiB sequential reads and 4 KiB random reads;
#   - iperf3 over loopback, client and server pinned to different CPUs (as
#     bench/compare.sh pins the server and the generator) and unpinned.
# Prints "limit NAME VALUE UNIT" lines (bench/compare.sh reads them) after a
# human line per measurement. Installs fio and iperf3 when missing.
#
# Env: DIR (where fio writes, default target/bench-limits: the disk the
# benchmarks use), RUNTIME (seconds per measurement, default 8), SIZE (fio
# file size, default 1G).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${DIR:-target/bench-limits}
RUNTIME=${RUNTIME:-8}
SIZE=${SIZE:-1G}
CPUS=$(nproc)

if ! command -v fio >/dev/null || ! command -v iperf3 >/dev/null; then
    echo "installing fio and iperf3" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio iperf3 >/dev/null
fi
mkdir -p "$DIR"

# fio_run NAME PYTHON_EXPR UNIT FIO_ARGS...: runs fio, prints the figure the
# expression takes from the job's JSON (`job` is jobs[0]).
fio_run() {
    local name=$1 expr=$2 unit=$3
    shift 3
    local out
    out=$(fio --name="$name" --ioengine=io_uring --direct=1 --size="$SIZE" --runtime="$RUNTIME" --time_based \
        --filename="$DIR/fio-$name" --output-format=json "$@" 2>/dev/null)
    local value
    value=$(printf '%s' "$out" | python3 -c "import json,sys; job=json.load(sys.stdin)['jobs'][0]; print(round($expr, 1))")
    printf '%-44s %10s %s\n' "fio $name" "$value" "$unit" >&2
    echo "limit fio_$name $value $unit"
}

fio_run seq_write_1m_fdatasync_qd1 "job['write']['bw_bytes']/1e6" MB/s --rw=write --bs=1M --iodepth=1 --fdatasync=1
fio_run seq_write_1m_fdatasync_qd8 "job['write']['bw_bytes']/1e6" MB/s --rw=write --bs=1M --iodepth=8 --fdatasync=1
fio_run seq_read_1m_qd8 "job['read']['bw_bytes']/1e6" MB/s --rw=read --bs=1M --iodepth=8
fio_run rand_read_4k_qd16 "job['read']['iops']" IOPS --rw=randread --bs=4k --iodepth=16
fio_run rand_read_4k_qd1_p99 "job['read']['clat_ns']['percentile']['99.000000']/1e3" us --rw=randread --bs=4k --iodepth=1
rm -f "$DIR"/fio-*

# iperf_run NAME SERVER_CPUS CLIENT_CPUS: loopback TCP bandwidth, one stream.
iperf_run() {
    local name=$1 server_cpus=$2 client_cpus=$3 port=5299
    taskset -c "$server_cpus" iperf3 -s -1 -p $port >/dev/null 2>&1 &
    local server=$!
    sleep 0.5
    local out value
    out=$(taskset -c "$client_cpus" iperf3 -c 127.0.0.1 -p $port -t "$RUNTIME" -J)
    wait "$server" || true
    value=$(printf '%s' "$out" | python3 -c "import json,sys; print(round(json.load(sys.stdin)['end']['sum_received']['bits_per_second']/8e6, 1))")
    printf '%-44s %10s %s\n' "iperf3 $name" "$value" MB/s >&2
    echo "limit iperf3_$name $value MB/s"
}

if [ "$CPUS" -ge 2 ]; then
    iperf_run loopback_split_cpus 0 1
fi
iperf_run loopback_any_cpu "0-$((CPUS - 1))" "0-$((CPUS - 1))"
