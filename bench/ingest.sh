#!/usr/bin/env bash
# What ingest costs the server: CPU-seconds per GiB uploaded (docs/scale.md,
# "Cheap ingest"). A fresh cairn-server with a local tier, one enrolled
# agent, and a full backup of incompressible files (nothing dedups, nothing
# compresses: every byte read is a byte uploaded), three times per
# repetition: as deployed, the calls over TLS on loopback TCP and the chunks
# over the data port ("data"; docs/security.md, "The data channel");
# everything over TLS ("tls", data_listen "off"); and over the server's local
# Unix socket without TLS ("local"), which leaves receiving, checksumming and
# writing alone.
# The server's CPU (user + system, all threads, from /proc) is read just
# before and after the backup, so start-up and enrollment do not count; the
# bytes uploaded are the packs written. Each repetition starts from an empty
# server. Run by bench/run.sh (BENCH_INGEST=1), or alone:
#
#   bench/ingest.sh [BUILD_DIR]
#
# Environment (defaults in brackets):
#   BENCH_INGEST_GIB [2]      GiB of data backed up per repetition
#   BENCH_INGEST_REPS [3]     repetitions (the report gives the median)
#   BENCH_DIR [BUILD_DIR/bench-e2e]   work directory (BENCH_DIR/ingest)
#   BENCH_LOCK [/tmp/cairn-build.lock]  held while measuring ("" = do not lock)
#   BENCH_DOCS [1]            write the run into docs/performance.md
#   BENCH_INGEST_BUFFERED [0] 1: the tier writes through the page cache
#                             (buffered_writes: true), for comparison
#   BENCH_INGEST_PERF [""]    a path: `perf record -g` the server during each
#                             backup into PATH.MODE.REP (`perf report -i ...`)
#   BENCH_INGEST_PERF_ARGS [-g]  e.g. "--call-graph dwarf,8192" for callers in libc
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SERVER=$BIN/server/cairn-server
AGENT=$BIN/agent/cairn-agent
CTL=$BIN/ctl/cairnctl
GIB=${BENCH_INGEST_GIB:-2}
REPS=${BENCH_INGEST_REPS:-3}
W=${BENCH_DIR:-$BIN/bench-e2e}/ingest
LOCK=${BENCH_LOCK-/tmp/cairn-build.lock}
OUT=$SRC/bench/out
CLK_TCK=$(getconf CLK_TCK)
. "$SRC/bench/common.sh"
for f in "$SERVER" "$AGENT" "$CTL"; do [ -x "$f" ] || die "$f is missing: make build"; done
mkdir -p "$W" "$OUT"

# Incompressible data, 64 MiB per file; kept between runs of the same size.
if [ "$(cat "$W/data.stamp" 2>/dev/null)" != "$GIB" ]; then
  say "generating $GIB GiB of incompressible files"
  rm -rf "$W/data"
  mkdir -p "$W/data"
  for i in $(seq 1 $((GIB * 16))); do
    head -c $((64 << 20)) /dev/urandom > "$W/data/part-$i.bin"
  done
  echo "$GIB" > "$W/data.stamp"
fi
take_lock "$LOCK"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
SERVER_PID=""
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true' EXIT
BUFFERED=""
if [ "${BENCH_INGEST_BUFFERED:-0}" = 1 ]; then BUFFERED="buffered_writes: true"; fi
RESULTS=$OUT/ingest.jsonl
: > "$RESULTS"
for rep in $(seq 1 "$REPS"); do
 for mode in data tls local; do
  rm -rf "$W/server" "$W/agent"
  mkdir -p "$W/server"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$W/server.conf" <<CONF
listen: "127.0.0.1:$PORT"
state_dir: "$W/server"
local_socket: "$W/cairn.sock"
tiers { name: "hot" local { path: "$W/server/packs" $BUFFERED } }
placement { new_packs: "hot" }
data_listen: "$([ "$mode" = data ] && echo 127.0.0.1:0 || echo off)"
CONF
  "$SERVER" --config "$W/server.conf" 2> "$W/server.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q listening "$W/server.log" 2>/dev/null && break; sleep 0.1; done
  export CAIRN_CREDENTIALS=$W/server/admin.credentials
  "$AGENT" --server "127.0.0.1:$PORT" --name bench --state-dir "$W/agent" init > /dev/null
  TOKEN=$("$CTL" --server "127.0.0.1:$PORT" token create --tenant bench --agents bench)
  "$AGENT" --server "127.0.0.1:$PORT" --name bench --state-dir "$W/agent" enroll \
    --token "$TOKEN" > /dev/null
  ADDR=127.0.0.1:$PORT
  # The same agent (name and tenant from its certificate), without TLS.
  if [ "$mode" = local ]; then ADDR=local:$W/cairn.sock; fi
  sync
  echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  PERF_PID=""
  if [ -n "${BENCH_INGEST_PERF:-}" ]; then
    perf record ${BENCH_INGEST_PERF_ARGS:--g} -F 999 -p "$SERVER_PID" \
      -o "$BENCH_INGEST_PERF.$mode.$rep" 2> /dev/null &
    PERF_PID=$!
    sleep 0.5
  fi
  S0=$(cpu_ticks "$SERVER_PID")
  T0=$(date +%s.%N)
  /usr/bin/time -o "$W/agent.time" -f '%U %S %M' \
    "$AGENT" --server "$ADDR" --name bench --state-dir "$W/agent" \
    backup --root "$W/data" --level full --json > "$W/backup.json"
  T1=$(date +%s.%N)
  S1=$(cpu_ticks "$SERVER_PID")
  if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
  read -r AU AS ARSS < "$W/agent.time"
  PACK_BYTES=$(find "$W/server/packs" -name 'pack-*' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  python3 - "$RESULTS" <<PY
import json, sys
rec = dict(rep=$rep, mode="$mode", read_bytes=$GIB << 30, uploaded_bytes=$PACK_BYTES, seconds=$T1 - $T0,
           server_cpu=($S1 - $S0) / $CLK_TCK, agent_cpu=$AU + $AS, agent_rss_kb=$ARSS)
with open(sys.argv[1], "a") as f: f.write(json.dumps(rec) + "\n")
gib = rec["uploaded_bytes"] / 2**30
print(f"   rep {rec['rep']} {rec['mode']:5}: {gib:.2f} GiB uploaded in {rec['seconds']:.1f} s; server "
      f"{rec['server_cpu']:.2f} CPU-s = {rec['server_cpu'] / gib:.2f} CPU-s per GiB "
      f"({rec['server_cpu'] * 1e9 / rec['uploaded_bytes']:.2f} ns/B); agent {rec['agent_cpu']:.2f} CPU-s",
      file=sys.stderr)
PY
 done
done

export_report_context
export BENCH_DOCS=${BENCH_DOCS:-1}
python3 "$SRC/bench/report.py" --ingest "$RESULTS" "$OUT/ingest.md" "$SRC/docs/performance.md"
cat "$OUT/ingest.md"
rm -rf "$W/server" "$W/agent"
