#!/usr/bin/env bash
# What knowing a file's kind saves: the agent's CPU to back up a mixed tree
# (token shards, checkpoints, logs, and a third already compressed: media and
# archives) with cairn's automatic codec (sniffer + classifier + tensor codec)
# against compressing everything with zstd-1, the same tree, fresh server each.
#
#   bench/classifier_cpu.sh [BUILD_DIR]     (BENCH_DIR, BENCH_SCALE as run.sh)
#
# Prints one JSON line per mode: agent CPU-seconds, wall seconds, stored bytes.
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_DIR:-$BIN/bench-e2e}/classifier-cpu
SCALE=${BENCH_SCALE:-0.5}
GEN=$BIN/bench/cairn_bench_gen
SERVER=$BIN/server/cairn-server
AGENT=$BIN/agent/cairn-agent
CTL=$BIN/ctl/cairnctl
. "$SRC/bench/common.sh"
command -v /usr/bin/time >/dev/null || die "/usr/bin/time is missing (Debian package time)"

TREE=$W/tree
if [ ! -f "$TREE/.done" ]; then
  rm -rf "$W" && mkdir -p "$TREE/media" "$TREE/archives" "$TREE/logs"
  "$GEN" datasets --out "$TREE/datasets" --scale "$SCALE" --seed 5
  "$GEN" checkpoint --out "$TREE/ckpt" --scale 0.25 --seed 5
  # Media and archives: compressed bytes behind real magic numbers.
  for i in $(seq 1 40); do
    { printf '\xff\xd8\xff\xe0'; head -c $((4 << 20)) /dev/urandom; } > "$TREE/media/img-$i.jpg"
    { printf '\x1f\x8b\x08\x00'; head -c $((4 << 20)) /dev/urandom; } > "$TREE/archives/shard-$i.tar.gz"
  done
  for i in $(seq 1 20); do
    for s in $(seq 1 30000); do echo "step $s loss 0.$((s * 7919 % 10000)) lr 3e-4 rank $i"; done > "$TREE/logs/train-$i.log"
  done
  touch "$TREE/.done"
fi
BYTES=$(du -sb --apparent-size "$TREE" | cut -f1)

run() {  # run MODE CODEC
  local dir=$W/$1
  rm -rf "$dir" && mkdir -p "$dir"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$SERVER" --listen "127.0.0.1:$port" --state-dir "$dir/server" 2> "$dir/server.log" &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$dir/server.log" 2>/dev/null && break; sleep 0.1; done
  printf 'server: "127.0.0.1:%s"\nname: "bench"\ncodec: "%s"\n' "$port" "$2" > "$dir/agent.conf"
  "$AGENT" --config "$dir/agent.conf" --state-dir "$dir/agent" init > /dev/null
  local token
  token=$("$CTL" --credentials "$dir/server/admin.credentials" --server "127.0.0.1:$port" \
    token create --tenant default --agents bench)
  "$AGENT" --config "$dir/agent.conf" --server "127.0.0.1:$port" --state-dir "$dir/agent" \
    enroll --token "$token" > /dev/null
  sync
  /usr/bin/time -o "$dir/time" -f '%e %U %S' \
    "$AGENT" --config "$dir/agent.conf" --state-dir "$dir/agent" backup --root "$TREE" --json > "$dir/out"
  read -r wall user sys < "$dir/time"
  local stored
  stored=$(du -sb "$dir/server" | cut -f1)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "import json; print(json.dumps(dict(mode='$1', codec='$2', bytes=$BYTES, agent_cpu=$user + $sys, seconds=$wall, stored_bytes=$stored)))"
}
run auto auto
run zstd1 zstd:1
