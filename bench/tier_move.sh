#!/usr/bin/env bash
# A tier move of several GiB: a cairn-server with a local tier "hot" and an S3
# tier "cold" (s3rver on loopback), a full backup of generated checkpoints
# (random weights: nothing dedups), then `cairnctl tier move --from hot --to
# cold`. Reports throughput and the server's peak RSS during the move, then
# restores from cold and compares. Results: bench/out/tier_move.json.
#
#   bench/tier_move.sh [BUILD_DIR]
#   BENCH_MOVE_CHECKPOINTS [5]   checkpoints of ~1.06 GiB each
#   BENCH_DIR [BUILD_DIR/bench-tiermove]
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SERVER=$BIN/server/cairn-server
AGENT=$BIN/agent/cairn-agent
CTL=$BIN/ctl/cairnctl
GEN=$BIN/bench/cairn_bench_gen
W=${BENCH_DIR:-$BIN/bench-tiermove}
N=${BENCH_MOVE_CHECKPOINTS:-5}
. "$SRC/bench/common.sh"
for f in "$SERVER" "$AGENT" "$CTL" "$GEN"; do [ -x "$f" ] || die "$f is missing: make build"; done

# shellcheck source=bench/s3rver.sh
source "$SRC/bench/s3rver.sh"
mkdir -p "$W"
if [ "$(cat "$W/data/.stamp" 2>/dev/null)" != "$N" ]; then
  say "generating $N checkpoints"
  rm -rf "$W/data"
  for i in $(seq 1 "$N"); do "$GEN" checkpoint --out "$W/data/ckpt-$i" --seed "$((100 + i))"; done
  echo "$N" > "$W/data/.stamp"
fi
BYTES=$(du -sb --exclude=.stamp "$W/data" | cut -f1)
rm -rf "$W/server" "$W/agent" "$W/restore"
mkdir -p "$W/server"
start_s3rver "$W/s3rver" "$BIN"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$W/server.conf" <<CONF
listen: "127.0.0.1:$PORT"
state_dir: "$W/server"
tiers { name: "hot" local { path: "$W/server/packs" } }
tiers { name: "cold" s3 { endpoint: "http://127.0.0.1:$S3_PORT" bucket: "bench" prefix: "cold/"
                          access_key_id: "S3RVER" secret_access_key: "S3RVER" } }
placement { new_packs: "hot" }
CONF
"$SERVER" --config "$W/server.conf" 2> "$W/server.log" &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$W/server.log" 2>/dev/null && break; sleep 0.1; done
export CAIRN_CREDENTIALS=$W/server/admin.credentials
"$AGENT" --server "127.0.0.1:$PORT" --name bench --state-dir "$W/agent" init > /dev/null
TOKEN=$("$CTL" --server "127.0.0.1:$PORT" token create --tenant bench --agents bench)
"$AGENT" --server "127.0.0.1:$PORT" --name bench --state-dir "$W/agent" enroll --token "$TOKEN" > /dev/null

say "full backup of $((BYTES >> 20)) MiB to hot"
"$AGENT" --server "127.0.0.1:$PORT" --name bench --state-dir "$W/agent" \
  backup --root "$W/data" --level full --json > "$W/backup.json"
SNAP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["snapshot"])' "$W/backup.json")
HOT_BYTES=$(du -sb "$W/server/packs" | cut -f1)

say "cairnctl tier move --from hot --to cold"
sync
echo 5 > "/proc/$SERVER_PID/clear_refs"
RSS_BEFORE=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
R0=$(s3_requests)
T0=$(date +%s.%N)
"$CTL" --server "127.0.0.1:$PORT" tier move --from hot --to cold --json > "$W/move.json"
T1=$(date +%s.%N)
HWM=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")
R1=$(s3_requests)
cat "$W/move.json"
LEFT=$(find "$W/server/packs" -name 'pack-*' | wc -l)
[ "$LEFT" = 0 ] || die "$LEFT packs left on hot after the move"

say "restore from cold and compare"
"$AGENT" --server "127.0.0.1:$PORT" --name bench --state-dir "$W/agent" \
  restore --snapshot "$SNAP" --target "$W/restore" --json > /dev/null
diff -r --exclude=.stamp "$W/data" "$W/restore" > /dev/null || die "the restore from cold differs"

mkdir -p "$SRC/bench/out"
python3 - "$SRC/bench/out/tier_move.json" <<PY
import json, sys
rec = dict(bytes=$HOT_BYTES, seconds=$T1 - $T0, server_rss_before_kb=$RSS_BEFORE,
           server_peak_rss_kb=$HWM, requests=$R1 - $R0)
json.dump(rec, open(sys.argv[1], "w"))
print(f"moved {rec['bytes'] / 2**30:.2f} GiB of packs in {rec['seconds']:.1f} s: "
      f"{rec['bytes'] / rec['seconds'] / 1e6:.0f} MB/s; server RSS {rec['server_rss_before_kb'] // 1024} MiB "
      f"before, peak {rec['server_peak_rss_kb'] // 1024} MiB during the move; "
      f"{rec['requests']} S3 requests ({rec['requests'] / (rec['bytes'] / 2**30):.0f} per GiB); "
      "restore from cold identical")
PY
