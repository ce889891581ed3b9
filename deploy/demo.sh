#!/usr/bin/env bash
# `make run`: a whole cairn round trip on this machine, from nothing.
#  1. starts cairn-server with the embedded defaults (TLS with its own CA, the
#     first admin credential in its state directory), state under
#     ./cairn-state/demo; makes a join token with that credential, enrolls a
#     cairn-agent with it and starts the agent's daemon;
#  2. generates a demo directory (a small training run: two safetensors
#     checkpoints of BF16 weights and FP32 optimizer state, the second a LoRA
#     step of the first; a token-id shard; configs, logs, a symlink and a
#     hardlink);
#  3. backs it up (full), adds a full training step (a third checkpoint, its
#     tensors stored as deltas of the second's) and a log line, backs up
#     again (incremental);
#  4. shows `cairnctl status`, the snapshots and `cairnctl stats --by-kind`;
#  5. has the server order the agent to restore the newest snapshot into
#     another directory, and checks it byte for byte;
#  6. reads the server's Prometheus metrics over HTTPS with a viewer
#     credential, as Prometheus would;
#  7. makes a one-time link to the status page (`cairnctl web`) and, when
#     chromium is installed, renders the page headless and checks it shows
#     the demo's agent and jobs (a screenshot in cairn-state/demo).
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)
SERVER=$BIN/server/cairn-server
AGENT=$BIN/agent/cairn-agent
CTL=$BIN/ctl/cairnctl
GEN=$BIN/bench/cairn_bench_gen
STATE=$PWD/cairn-state/demo
DATA=$STATE/demo-data
# Restores the server orders land only in the agent's restore_targets: by
# default its state_dir/restores and its own roots.
RESTORED=$STATE/agent/restores/demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -rf "$STATE"
mkdir -p "$STATE"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
ADDR=127.0.0.1:$PORT
WEB=127.0.0.1:$(free_port)
export CAIRN_SERVER=$ADDR
# cairnctl proves who it is with this file; the server writes it on first start.
export CAIRN_CREDENTIALS=$STATE/server/admin.credentials

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

say "starting cairn-server on $ADDR (state in $STATE/server)"
"$SERVER" --listen "$ADDR" --web-listen "$WEB" --state-dir "$STATE/server" 2> "$STATE/server.log" &
pids+=($!)
for _ in $(seq 50); do grep -q "listening" "$STATE/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening" "$STATE/server.log" || { cat "$STATE/server.log"; exit 1; }
sed 's/^/   /' "$STATE/server.log"

AGENT_FLAGS=(--server "$ADDR" --name demo-node --state-dir "$STATE/agent")
say "creating the tenant key; enrolling the agent with a one-use join token"
"$AGENT" "${AGENT_FLAGS[@]}" init
TOKEN=$("$CTL" token create --tenant demo --agents demo-node --ttl 10m)
echo "join token: ${TOKEN:0:20}... (it pins the server's CA fingerprint)"
"$AGENT" "${AGENT_FLAGS[@]}" enroll --token "$TOKEN"
say "starting the agent daemon (TLS, identified by its certificate)"
"$AGENT" "${AGENT_FLAGS[@]}" daemon 2> "$STATE/agent.log" &
pids+=($!)

say "generating a demo training run in $DATA"
mkdir -p "$DATA"/{checkpoints,datasets,configs,logs}
# Real safetensors files (bench/data_gen.h): a 24-layer-shaped model scaled
# down, then a LoRA fine-tuning step that rewrites only the adapters.
"$GEN" checkpoint --out "$DATA/checkpoints/step-1000" --scale 0.04 --seed 1
"$GEN" next-checkpoint --from "$DATA/checkpoints/step-1000" --out "$DATA/checkpoints/step-2000" \
  --change adapters --scale 0.04 --seed 2
python3 - "$DATA/datasets/shard-000.bin" <<'PY'
import random, struct, sys
random.seed(7)
ids = [min(int(random.paretovariate(1.1)), 50000) for _ in range(2_000_000)]
open(sys.argv[1], "wb").write(struct.pack(f"<{len(ids)}H", *ids))
PY
printf 'lr: 3e-4\nbatch: 1024\nmodel: demo-1b\n' > "$DATA/configs/train.yaml"
for i in $(seq 1 200); do echo "step $i loss $((1000 - i))" ; done > "$DATA/logs/train.log"
ln -s step-2000 "$DATA/checkpoints/latest"
ln "$DATA/configs/train.yaml" "$DATA/configs/train-copy.yaml"
printf 'a name with spaces\n' > "$DATA/configs/notes for me.txt"
du -sh "$DATA"

say "full backup"
"$AGENT" "${AGENT_FLAGS[@]}" backup --root "$DATA" --level full
say "a full training step (step-3000: every weight moved) and a log line, then an incremental"
echo "   backup: only the changes are read; step-3000's tensors go as deltas of step-2000's"
"$GEN" next-checkpoint --from "$DATA/checkpoints/step-2000" --out "$DATA/checkpoints/step-3000" \
  --change all --scale 0.04 --seed 3
for i in $(seq 201 260); do echo "step $i loss $((1000 - i))"; done >> "$DATA/logs/train.log"
"$AGENT" "${AGENT_FLAGS[@]}" backup --root "$DATA" --level incremental

say "cairnctl status"
"$CTL" status
say "cairnctl snapshots"
"$CTL" snapshots
SNAP=$("$CTL" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshots"][0]["id"])')
say "cairnctl stats --by-kind (what the data is, what it costs to store)"
"$CTL" stats --by-kind
say "cairnctl ls $SNAP checkpoints --recursive"
"$CTL" ls "$SNAP" checkpoints --recursive

say "restore $SNAP through the server, carried out by the agent, into $RESTORED"
"$CTL" restore "$SNAP" --target "$RESTORED"
say "checking the restore byte for byte"
diff -r --no-dereference "$DATA" "$RESTORED"
echo "restored tree is identical to the source"

say "cairnctl audit (admin actions and refused calls)"
"$CTL" audit

say "Prometheus metrics at https://$WEB/metrics (a viewer credential, as Prometheus scrapes)"
"$CTL" credentials create --name prometheus --role viewer --out "$STATE/prometheus.credentials" \
  --pem-dir "$STATE/prometheus"
curl -sS --fail --cacert "$STATE/prometheus/ca.pem" --cert "$STATE/prometheus/cert.pem" \
  --key "$STATE/prometheus/key.pem" --resolve "cairn-server:${WEB##*:}:127.0.0.1" \
  "https://cairn-server:${WEB##*:}/metrics" > "$STATE/metrics.txt"
grep -E '^cairn_(jobs_finished_total|agent_last_backup_timestamp_seconds|agent_rpo_violated|dedup_ratio|compression_ratio|stored_bytes|tier_used_bytes)[{ ]' \
  "$STATE/metrics.txt" | sed 's/^/   /'
echo "   ... $(grep -c '^# TYPE' "$STATE/metrics.txt") metric families in all ($STATE/metrics.txt)"

say "the status page: https://cairn-server:${WEB##*:}/ (sign in with a link from \`cairnctl web\`)"
"$CTL" web | sed 's/^/   /'
if command -v chromium >/dev/null; then
  LINK=$("$CTL" web | head -1)
  chromium_run() {
    chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
      --ignore-certificate-errors --host-resolver-rules="MAP cairn-server 127.0.0.1" \
      --user-data-dir="$STATE/chromium" --virtual-time-budget=15000 "$@" 2>/dev/null
  }
  chromium_run --dump-dom "$LINK" > "$STATE/status_page.html"
  grep -q 'data-agent="demo-node"' "$STATE/status_page.html" ||
    { echo "the status page does not show demo-node"; exit 1; }
  echo "   chromium (headless) rendered the page: agent demo-node and" \
    "$(grep -o 'j-[0-9a-f]\{16\}' "$STATE/status_page.html" | sort -u | wc -l) jobs shown"
  chromium_run --screenshot="$STATE/status_page.png" --window-size=1400,1300 --hide-scrollbars \
    "$("$CTL" web | head -1)" >/dev/null
  echo "   screenshot: $STATE/status_page.png"
fi

say "done"
cat <<TXT
The demo's server and agent stop now. To keep cairn running:
  cairn-server --config /etc/cairn/server.conf          (deploy/systemd/cairn-server.service)
  cairnctl --credentials STATE_DIR/admin.credentials token create --tenant T
  cairn-agent  --config /etc/cairn/agent.conf enroll --server HOST:7420 --token TOKEN
  cairn-agent  --config /etc/cairn/agent.conf daemon    (deploy/systemd/cairn-agent.service)
Examples: deploy/server.conf.example, deploy/agent.conf.example; docs/operations.md.
Prometheus: deploy/prometheus/ (scrape job, alert rules); Grafana: deploy/grafana/.
TXT
