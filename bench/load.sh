#!/usr/bin/env bash
# The load run (docs/scale.md): cairn-loadgen's simulated agents against one
# cairn-server on this machine, every agent holding the same dataset shards
# and backing them up at the same moment. Reports against the goals of one
# server per cluster: agents connected, backups at once, nothing failed, a
# restore finishing in the middle, bytes sent against unique bytes,
# FindMissingChunks p99, the server's peak memory, threads and CPU. Run by
# bench/run.sh at the end (BENCH_LOAD=1), or alone:
#
#   bench/load.sh [BUILD_DIR]
#
# restic and borg have no server that many clients share, so this run is
# cairn's alone (restic's rest-server keeps no cross-client state to
# compare).
#
# Environment (defaults in brackets):
#   BENCH_LOAD_AGENTS [1000]      simulated agents
#   BENCH_LOAD_CONCURRENT [50]    backups at once
#   BENCH_LOAD_DURATION [120]     seconds: incrementals after the storm until then
#   BENCH_LOAD_SHARDS [4], BENCH_LOAD_SHARD_MIB [16]   the shared dataset
#   BENCH_LOAD_OWN_KIB [256]      each agent's own file per backup
#   BENCH_LOAD_NICE [10]          cairn-loadgen's nice level: a cluster's agents run on
#                                 their own hosts; here they share the cores with the
#                                 server, which keeps the upper hand (0: equal footing)
#   BENCH_LOAD_PIN [0]            1: the server on CPU 0 alone, cairn-loadgen on the others
#                                 (taskset), as when agents run on their own hosts
#   BENCH_DIR [BUILD_DIR/bench-e2e]   work directory (BENCH_DIR/load)
#   BENCH_LOCK [/tmp/cairn-build.lock]  held while measuring ("" = do not lock)
#   BENCH_DOCS [1]                write the run into docs/performance.md
#   BENCH_KEEP [0]                keep the server's state and the agents'
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/common.sh"
SERVER=$BIN/server/cairn-server
CTL=$BIN/ctl/cairnctl
LOADGEN=$BIN/bench/loadgen/cairn-loadgen
AGENTS=${BENCH_LOAD_AGENTS:-1000}
CONCURRENT=${BENCH_LOAD_CONCURRENT:-50}
DURATION=${BENCH_LOAD_DURATION:-120}
SHARDS=${BENCH_LOAD_SHARDS:-4}
SHARD_MIB=${BENCH_LOAD_SHARD_MIB:-16}
OWN_KIB=${BENCH_LOAD_OWN_KIB:-256}
NICE=${BENCH_LOAD_NICE:-10}
PIN=${BENCH_LOAD_PIN:-0}
SERVER_CPUS=() LOADGEN_CPUS=()
if [ "$PIN" = 1 ]; then
  [ "$(nproc)" -ge 2 ] || die "BENCH_LOAD_PIN=1 needs two CPUs at least"
  SERVER_CPUS=(taskset -c 0) LOADGEN_CPUS=(taskset -c "1-$(($(nproc) - 1))")
  PINNED=", the server alone on CPU 0 and cairn-loadgen on the others"
fi
W=${BENCH_DIR:-$BIN/bench-e2e}/load
LOCK=${BENCH_LOCK-/tmp/cairn-build.lock}
OUT=$SRC/bench/out

for f in "$SERVER" "$CTL" "$LOADGEN"; do
  [ -x "$f" ] || die "$f is missing: build first (make build)"
done
mkdir -p "$OUT"
take_lock "$LOCK"

# Every agent holds a TLS connection (and the server one file descriptor each).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
rm -rf "$W/server" "$W/agents"
mkdir -p "$W"
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null || true' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CAIRN_SERVER=127.0.0.1:$port
export CAIRN_CREDENTIALS=$W/server/admin.credentials
"${SERVER_CPUS[@]}" "$SERVER" --listen "$CAIRN_SERVER" --state-dir "$W/server" 2> "$W/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q listening "$W/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$W/server.log" || { cat "$W/server.log" >&2; die "cairn-server did not start"; }
# One use per agent, the in-process probe and the probe of its own.
"$CTL" token create --tenant load --agents 'load-*' --uses "$((AGENTS + 2))" > "$W/token"

say "cairn-loadgen: $AGENTS agents, $CONCURRENT backups at once, ${DURATION}s"
rc=0
rm -f "$W/loadgen.log" "$OUT/load_probe.json"
# The probe of its own: a second process at normal priority, started once
# every agent is connected (the storm begins) and stopped when the run ends,
# so its latency is the server's, not that of a process busy with 1,000
# agents' TLS and sealing.
(
  for _ in $(seq 6000); do grep -q "agents connected" "$W/loadgen.log" 2>/dev/null && break; sleep 0.1; done
  exec "$LOADGEN" --probe-only --server "$CAIRN_SERVER" --token-file "$W/token" --tenant load \
    --dir "$W" --duration 7200 --json > "$OUT/load_probe.json" 2> "$W/probe.log"
) &
PROBE_PID=$!
"${LOADGEN_CPUS[@]}" nice -n "$NICE" "$LOADGEN" --server "$CAIRN_SERVER" --token-file "$W/token" --tenant load --dir "$W" \
  --agents "$AGENTS" --concurrent "$CONCURRENT" --duration "$DURATION" --shards "$SHARDS" \
  --shard-mib "$SHARD_MIB" --own-kib "$OWN_KIB" --server-pid "$SERVER_PID" --json \
  > "$OUT/load.json" 2> >(tee "$W/loadgen.log" >&2) || rc=$?
pkill -TERM -P "$PROBE_PID" 2>/dev/null || true
kill -TERM "$PROBE_PID" 2>/dev/null || true
wait "$PROBE_PID" 2>/dev/null || true
if [ -s "$OUT/load_probe.json" ]; then
  python3 - "$OUT/load.json" "$OUT/load_probe.json" <<'PY'
import json, sys
load, probe = (json.load(open(p)) for p in sys.argv[1:3])
for key in ("calls", "p50_ms", "p99_ms", "max_ms"):
    load["own_probe_" + key] = probe.get("probe_" + key, 0)
load.setdefault("errors", []).extend("own probe: " + e for e in probe.get("errors", []))
json.dump(load, open(sys.argv[1], "w"), indent=2)
PY
else
  note "the probe of its own reported nothing; see $W/probe.log"
fi
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
[ -s "$OUT/load.json" ] || die "cairn-loadgen reported nothing (exit $rc); see $W/server.log"

export_report_context
export BENCH_SETTINGS
BENCH_SETTINGS="$AGENTS agents, at most $CONCURRENT backups at once, $SHARDS shared shards of $SHARD_MIB MiB, $OWN_KIB KiB of each agent's own per backup, incrementals until ${DURATION}s, server and agents on loopback (TLS), cairn-loadgen at nice $NICE${PINNED:-}"
export BENCH_DOCS=${BENCH_DOCS:-1}
python3 "$SRC/bench/report.py" --load "$OUT/load.json" "$OUT/load.md" "$SRC/docs/performance.md"
cat "$OUT/load.md"
if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$W/server" "$W/agents"; fi
exit "$rc"
