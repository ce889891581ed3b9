#!/usr/bin/env bash
# Continuous protection on the small-file tree (bench/README.md, "Continuous
# protection"): cairn-agent in daemon mode watching the tree, against restic
# and borg incrementals of the same change; then continuous mode's latency
# from the last write to a committed snapshot; then the watching agent's idle
# CPU and memory. Run by bench/run.sh at the end, or alone:
#
#   bench/continuous.sh [BUILD_DIR]
#
# Environment (defaults in brackets):
#   BENCH_TREE_FILES [100000], BENCH_TREE_DIRS [1000]   the small-file tree
#   BENCH_DIR [BUILD_DIR/bench-e2e]   the tree is BENCH_DIR/tree (generated if missing)
#   BENCH_CONT_REPS [3]       ordered incrementals per cache state (medians reported)
#   BENCH_CONT_LATENCY_REPS [5]   continuous-mode snapshots timed
#   BENCH_CONT_CHANGED [10]   files rewritten before each timed snapshot
#   BENCH_IDLE_SECONDS [600]  how long the idle agent is sampled
#   BENCH_TOOLS ["restic borg cairn"]  restic and borg are the comparison
#   BENCH_LOCK [/tmp/cairn-build.lock]  held while measuring ("" = do not lock;
#                             bench/run.sh passes "" because it holds it already)
#   BENCH_DOCS [1]            write the run into docs/performance.md
#   BENCH_KEEP [0]            keep the repositories
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SERVER=$BIN/server/cairn-server
AGENT=$BIN/agent/cairn-agent
CTL=$BIN/ctl/cairnctl
GEN=$BIN/bench/cairn_bench_gen

TREE_FILES=${BENCH_TREE_FILES:-100000}
TREE_DIRS=${BENCH_TREE_DIRS:-1000}
REPS=${BENCH_CONT_REPS:-3}
LAT_REPS=${BENCH_CONT_LATENCY_REPS:-5}
CHANGED=${BENCH_CONT_CHANGED:-10}
IDLE=${BENCH_IDLE_SECONDS:-600}
TOOLS=${BENCH_TOOLS:-restic borg cairn}
W=${BENCH_DIR:-$BIN/bench-e2e}
LOCK=${BENCH_LOCK-/tmp/cairn-build.lock}
OUT=$SRC/bench/out
RESULTS=$OUT/continuous.jsonl
TREE=$W/tree
C=$W/continuous       # repositories, cairn's server and agent state
QUIET=1               # continuous mode: quiet_seconds and interval_seconds

. "$SRC/bench/common.sh"

for f in "$SERVER" "$AGENT" "$CTL" "$GEN"; do
  [ -x "$f" ] || die "$f is missing: build first (make build)"
done
OTHERS=()
for t in $TOOLS; do
  case $t in
    restic|borg)
      command -v "$t" >/dev/null || die "$t is not installed: make bench-deps"
      OTHERS+=("$t") ;;
    cairn) ;;
    *) die "unknown tool $t in BENCH_TOOLS" ;;
  esac
done
command -v python3 >/dev/null || die "python3 is missing"
mkdir -p "$OUT" "$W"
rm -f "$RESULTS"
NOTES=()

if [ ! -d "$TREE" ]; then
  say "generating the tree: $TREE_FILES files in $TREE_DIRS directories"
  "$GEN" tree --out "$TREE" --files "$TREE_FILES" --dirs "$TREE_DIRS" --seed 1
fi
have=$(find "$TREE" -type f | wc -l)
[ "$have" = "$TREE_FILES" ] ||
  die "$TREE holds $have files, not $TREE_FILES: set BENCH_DIR elsewhere or remove the tree"
TREE_BYTES=$(du -sb --apparent-size "$TREE" | cut -f1)

if sync && { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
  DROP=1
else
  DROP=0
  NOTES+=("page cache NOT dropped (needs root): the cold rows were measured warm")
  note "WARNING: cannot drop the page cache (not root): 'cold' runs are warm"
fi
drop_caches() {
  sync
  if [ "$DROP" = 1 ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
TIME_BIN=/usr/bin/time
[ -x "$TIME_BIN" ] || TIME_BIN=""
CLK_TCK=$(getconf CLK_TCK)

take_lock "$LOCK"

now() { date +%s.%N; }
record() {  # record JSON-OBJECT-BODY: one line of results (python literal syntax)
  python3 - "$RESULTS" <<PY
import json, sys
with open(sys.argv[1], "a") as f: f.write(json.dumps(dict($1)) + "\n")
PY
}

# --- the processes -----------------------------------------------------------
export RESTIC_PASSWORD=cairn-bench-password BORG_PASSPHRASE=cairn-bench-password
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_BASE_DIR=$C/borg-base RESTIC_CACHE_DIR=$C/restic-cache

SERVER_PID="" AGENT_PID=""
stop_all() {
  for p in $AGENT_PID $SERVER_PID; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  AGENT_PID="" SERVER_PID=""
}
trap stop_all EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, all threads
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
ctx_switches() {  # voluntary + involuntary, summed over the threads: wake-ups
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}'
}

rm -rf "$C"
mkdir -p "$C/cairn"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CAIRN_SERVER=127.0.0.1:$port
export CAIRN_CREDENTIALS=$C/cairn/server/admin.credentials
"$SERVER" --listen "$CAIRN_SERVER" --state-dir "$C/cairn/server" 2> "$C/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q listening "$C/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$C/server.log" || { cat "$C/server.log" >&2; die "cairn-server did not start"; }

AGENT_CONFIG=$C/cairn/agent.conf
cat > "$AGENT_CONFIG" <<EOF
server: "$CAIRN_SERVER"
name: "bench"
state_dir: "$C/cairn/agent"
roots: "$TREE"
EOF
"$AGENT" --config "$AGENT_CONFIG" init > /dev/null
"$AGENT" --config "$AGENT_CONFIG" enroll --server "$CAIRN_SERVER" \
  --token "$("$CTL" token create --tenant bench --agents bench)" > /dev/null
"$AGENT" --config "$AGENT_CONFIG" daemon 2> "$C/agent.log" &
AGENT_PID=$!
for _ in $(seq 100); do grep -q connected "$C/agent.log" 2>/dev/null && break; sleep 0.1; done
grep -q connected "$C/agent.log" || { cat "$C/agent.log" >&2; die "cairn-agent daemon did not connect"; }

snapshot_count() { "$CTL" --json snapshots --agent bench | python3 -c \
  'import json,sys; print(len(json.load(sys.stdin).get("snapshots", [])))'; }
# No python here: it is polled every 50 ms, and python3 takes ~0.25 s to start on
# the reference VM. Fields print in field-number order, so the first "id" is the
# snapshot's (job_id and parent_id do not match the pattern).
newest_snapshot() {
  "$CTL" --json snapshots --agent bench --limit 1 | grep -o '"id": *"[^"]*"' | head -1 | cut -d'"' -f4
}
now_ns() { date +%s%N; }

# change_files: rewrites CHANGED files spread over the tree, each in another
# directory (touch-tree's picks all share d0000), other ones in every round, with new contents of the generator's sizes (1-8 KiB; text
# or random like the file they replace). Prints the wall-clock time right after
# the last file was closed, then the changed paths relative to the tree.
CHANGE_ROUND=0
change_files() {
  CHANGE_ROUND=$((CHANGE_ROUND + 1))
  python3 - "$TREE" "$TREE_FILES" "$TREE_DIRS" "$CHANGED" "$CHANGE_ROUND" <<'PY'
import os, random, sys, time
tree, files, dirs, count, rnd = sys.argv[1], *map(int, sys.argv[2:])
rng = random.Random(rnd * 7919)
stride = files // count
paths = []
for k in range(count):
    i = k * stride + (rnd * 97 + 13 + k * (dirs // count + 1)) % stride
    rel = "d%04d/f%06d.%s" % (i % dirs, i, "bin" if i % 3 == 2 else "txt")
    size = 1024 + rng.randrange(7 * 1024 + 1)
    if i % 3 == 2:
        data = os.urandom(size)
    else:
        line = "step %d loss %.4f lr %.2e tok/s %d round %d\n"
        text = "".join(line % (s, rng.random() * 4, rng.random() * 1e-3, rng.randrange(10**6), rnd)
                       for s in range(size // 40 + 1))
        data = text.encode()[:size]
    with open(os.path.join(tree, rel), "wb") as f:
        f.write(data)
    paths.append(rel)
print("%.6f" % time.time())
print("\n".join(paths))
PY
}

# timed TOOL CACHE REP -- CMD...: runs CMD (its output to $C/last.out), then
# sync, inside the time; records wall time, the client's CPU, and for cairn the
# daemon's and the server's CPU over the same span.
timed() {
  local tool=$1 cache=$2 rep=$3
  shift 4
  # Nothing dirty left for this command's trailing sync but its own writes.
  if [ "$cache" = cold ]; then drop_caches; else sync; fi
  local a0 s0 t0 t1 t2 rc=0 tfile=$C/last.time
  a0=$(cpu_ticks "$AGENT_PID") s0=$(cpu_ticks "$SERVER_PID")
  t0=$(now)
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -o "$tfile" -f '%U %S' "$@" > "$C/last.out" 2> "$C/last.err" || rc=$?
  else
    "$@" > "$C/last.out" 2> "$C/last.err" || rc=$?
    echo "0 0" > "$tfile"
  fi
  t1=$(now)
  sync
  t2=$(now)
  if [ "$rc" != 0 ]; then cat "$C/last.err" >&2; die "$tool incremental failed (exit $rc): $*"; fi
  local a1 s1
  a1=$(cpu_ticks "$AGENT_PID") s1=$(cpu_ticks "$SERVER_PID")
  read -r user sys < <(tail -1 "$tfile")
  local agent_cpu=0 server_cpu=0 job="{}"
  if [ "$tool" = cairn ]; then
    agent_cpu="($a1 - $a0) / $CLK_TCK" server_cpu="($s1 - $s0) / $CLK_TCK"
    # The job's created (order accepted), started (the agent took it) and
    # finished (snapshot committed) times, in seconds after the command began.
    job="{k[:-8]: int(v) / 1000 - $t0 for k, v in json.load(open('$C/last.out')).items()
          if k.endswith('_unix_ms')}"
  fi
  record "phase='incremental', tool='$tool', cache='$cache', rep=$rep, seconds=$t2 - $t0,
          seconds_before_sync=$t1 - $t0, client_cpu=$user + $sys,
          agent_cpu=$agent_cpu, server_cpu=$server_cpu, **$job"
  python3 -c "print('   %-6s %-4s rep %d: %6.3f s (%.3f before sync)' % ('$tool', '$cache', $rep, $t2 - $t0, $t1 - $t0))" >&2
}

incremental() {  # incremental TOOL CACHE REP
  local tool=$1
  case $tool in
    restic) timed "$@" -- restic --repo "$C/restic" --compression auto backup --json --host bench "$TREE" ;;
    borg) (cd "$TREE" && timed "$@" -- borg create --compression lz4 "$C/borg::b-$2-$3" .) ;;
    cairn) timed "$@" -- "$CTL" --json backup --agent bench --level incremental ;;
  esac
}

# --- (a) an ordered incremental of a watched tree vs restic and borg ---------
say "initial backups of the $TREE_FILES-file tree (not timed)"
t0=$(now)
"$CTL" backup --agent bench --level incremental > /dev/null
note "cairn: $(python3 -c "print('%.1f' % ($(now) - $t0))") s (first ordered backup: every file read; the journal's start-up mark cleared)"
t0=$(now)
"$CTL" backup --agent bench --level incremental > /dev/null
note "cairn, nothing changed: $(python3 -c "print('%.2f' % ($(now) - $t0))") s"
for t in "${OTHERS[@]}"; do
  t0=$(now)
  case $t in
    restic)
      restic --repo "$C/restic" init --repository-version 2 > /dev/null
      restic --repo "$C/restic" --compression auto backup --host bench "$TREE" > /dev/null ;;
    borg)
      borg init --encryption=repokey-blake2 "$C/borg"
      (cd "$TREE" && borg create --compression lz4 "$C/borg::initial" .) ;;
  esac
  note "$t: $(python3 -c "print('%.1f' % ($(now) - $t0))") s"
done

for rep in $(seq 1 "$REPS"); do
  for cache in warm cold; do
    say "ordered incremental, $CHANGED files changed, $cache cache, repetition $rep of $REPS"
    change_files > "$C/changed"
    sleep 1  # the watcher journals the writes (it polls every 250 ms)
    # cairn first: restic and borg read the changed files, and so can only
    # make cairn's reads warmer, never colder.
    incremental cairn "$cache" "$rep"
    python3 - "$C/last.out" <<'PY' >&2
import json, sys
j = json.load(open(sys.argv[1]))
p = j.get("progress", {})
print("   cairn job %s: %s files, %s bytes, snapshot %s" % (
    j.get("id"), p.get("files_done"), p.get("bytes_done"), j.get("snapshot_id")))
PY
    for t in "${OTHERS[@]}"; do incremental "$t" "$cache" "$rep"; done
  done
done

# --- (b) continuous mode: last write to committed snapshot -------------------
say "continuous mode (interval ${QUIET} s, quiet ${QUIET} s): $LAT_REPS snapshots timed"
cat > "$C/policy" <<EOF
policy {
  name: "bench-continuous"
  agents: "bench"
  roots: "$TREE"
  continuous: true
  interval_seconds: $QUIET
  quiet_seconds: $QUIET
}
EOF
"$CTL" policy apply "$C/policy" > /dev/null
# Let anything still pending be committed, and stop when snapshots stop coming.
last=$(newest_snapshot)
for _ in $(seq 20); do
  sleep 3
  cur=$(newest_snapshot)
  [ "$cur" = "$last" ] && break
  last=$cur
done

for rep in $(seq 1 "$LAT_REPS"); do
  base=$(newest_snapshot)
  change_files > "$C/changed"
  t_write=$(head -1 "$C/changed")
  tail -n +2 "$C/changed" > "$C/changed.paths"
  seen="" t_seen=""
  deadline=$(($(now_ns) + 30000000000))
  while :; do
    snap=$(newest_snapshot)
    t=$(now)
    if [ -n "$snap" ] && [ "$snap" != "$base" ]; then
      # The snapshot must hold every change; one that began between two
      # writes does not count, the next one will.
      "$CTL" diff "$base" "$snap" > "$C/diff" || die "cairnctl diff $base $snap failed"
      missing=$(grep -c -v -x -F -f <(sed 's/^[MAU+-] //; s|^/||' "$C/diff") "$C/changed.paths" || true)
      if [ "$missing" = 0 ]; then seen=$snap t_seen=$t; break; fi
      note "snapshot $snap lacks $missing of the changed files: waiting for the next one"
      base=$snap
    fi
    [ "$(now_ns)" -lt "$deadline" ] || die "no snapshot with the changes within 30 s of the last write"
    sleep 0.05
  done
  created_ms=$("$CTL" --json snapshots --agent bench --limit 1 | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["snapshots"][0]["created_unix_ms"])')
  record "phase='continuous', tool='cairn', rep=$rep, seconds=$t_seen - $t_write,
          committed_seconds=$created_ms / 1000 - $t_write"
  python3 -c "print('   rep %d: snapshot %s seen %.3f s after the last write (created at +%.3f s)'
               % ($rep, '$seen', $t_seen - $t_write, $created_ms / 1000 - $t_write))" >&2
  sleep 2
done

# --- (c) the watching agent at rest ------------------------------------------
say "idle: the agent watching the tree for $IDLE s (continuous policy applied, nothing changes)"
sleep 5
n0=$(snapshot_count)
a0=$(cpu_ticks "$AGENT_PID") s0=$(cpu_ticks "$SERVER_PID") x0=$(ctx_switches "$AGENT_PID")
rss0=$(status_kb "$AGENT_PID" VmRSS)
t0=$(now)
sleep "$IDLE"
t1=$(now)
a1=$(cpu_ticks "$AGENT_PID") s1=$(cpu_ticks "$SERVER_PID") x1=$(ctx_switches "$AGENT_PID")
rss1=$(status_kb "$AGENT_PID" VmRSS) hwm=$(status_kb "$AGENT_PID" VmHWM)
threads=$(status_kb "$AGENT_PID" Threads)
n1=$(snapshot_count)
read -r pending overflows < <("$CTL" --json agents | python3 -c '
import json, sys
a = [a for a in json.load(sys.stdin).get("agents", []) if a["name"] == "bench"][0]
print(a["pending_files"], a["watch_overflows"])')
record "phase='idle', tool='cairn', seconds=$t1 - $t0, agent_cpu=($a1 - $a0) / $CLK_TCK,
        server_cpu=($s1 - $s0) / $CLK_TCK, wakeups=$x1 - $x0, rss_start_kb=$rss0,
        rss_end_kb=$rss1, hwm_kb=$hwm, threads=$threads, snapshots=$n1 - $n0,
        pending_files=$pending, watch_overflows=$overflows"
python3 -c "print('   agent: %.3f CPU-s in %.0f s (%.4f%% of a core), %.1f wake-ups/s, RSS %d -> %d KiB (peak %d), server %.3f CPU-s'
             % (($a1 - $a0) / $CLK_TCK, $t1 - $t0, ($a1 - $a0) / $CLK_TCK / ($t1 - $t0) * 100,
                ($x1 - $x0) / ($t1 - $t0), $rss0, $rss1, $hwm, ($s1 - $s0) / $CLK_TCK))" >&2
[ "$n1" = "$n0" ] || NOTES+=("$((n1 - n0)) snapshots were committed during the idle period")

stop_all
if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$C"; fi

# --- the report --------------------------------------------------------------
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MHZ=$(awk -F': ' '/^cpu MHz/ {printf "%.0f", $2; exit}' /proc/cpuinfo)
export BENCH_DATE BENCH_MACHINE BENCH_VERSIONS BENCH_SETTINGS BENCH_NOTES
BENCH_DATE=${BENCH_DATE:-$(date '+%Y-%m-%d %H:%M %Z')}
BENCH_MACHINE=${BENCH_MACHINE:-"$(nproc) cores, $CPU${MHZ:+ at $MHZ MHz}, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"}
CAIRN_VERSION=${BENCH_CAIRN_VERSION:-$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo '?')}
BENCH_VERSIONS=${BENCH_VERSIONS:-"cairn $CAIRN_VERSION, $(restic version 2>/dev/null | cut -d' ' -f1-2), $(borg --version 2>/dev/null)"}
BENCH_SETTINGS="tree $TREE_FILES files / $TREE_DIRS dirs / $((TREE_BYTES >> 20)) MiB, $CHANGED files rewritten before each snapshot; BENCH_CONT_REPS=$REPS, BENCH_CONT_LATENCY_REPS=$LAT_REPS, BENCH_IDLE_SECONDS=$IDLE"
BENCH_NOTES=$(printf '%s\n' "${NOTES[@]}")
export BENCH_DOCS=${BENCH_DOCS:-1}
python3 "$SRC/bench/report.py" --continuous "$RESULTS" "$OUT/continuous.md" "$SRC/docs/performance.md"
cat "$OUT/continuous.md"
