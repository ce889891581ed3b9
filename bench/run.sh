#!/usr/bin/env bash
# `make bench`: the micro benchmarks, then cairn against restic and borg end to
# end on the same seeded data (bench/README.md says what is measured and how).
#
#   bench/run.sh [BUILD_DIR]
#
# Environment (defaults in brackets):
#   BENCH_SCALE [1.0]        checkpoint and dataset size factor (1.0: ~1.06 GiB
#                            checkpoints, 4 x 100 MiB shards)
#   BENCH_TREE_FILES [100000], BENCH_TREE_DIRS [1000]   the small-file tree
#   BENCH_REPS [3]           repetitions of every timed phase (medians reported)
#   BENCH_TOOLS ["restic borg cairn"]   also, to measure what TLS costs
#                            (BENCH_TOOLS="cairn-unix cairn-tlsonly cairn-notls"): cairn-unix,
#                            cairn with its TLS port and its data port on Unix sockets
#                            (as deployed); cairn-tlsonly, the same with data_listen
#                            "off" (uploads over TLS too); cairn-notls, cairn on the
#                            server's local socket (a Unix socket, no TLS);
#                            and to an S3 store (BENCH_TOOLS="restic-s3 cairn-s3"): both
#                            against one s3rver (make s3rver) on loopback, restic's own
#                            S3 backend against cairn's S3 tier (the server's only tier)
#   BENCH_S3_PART_BYTES      cairn-s3: the tier's multipart part size (default the tier's, 32 MiB)
#   BENCH_DIR [BUILD_DIR/bench-e2e]   data, repositories, restores (reused data)
#   BENCH_MICRO [1]          run cairn_micro_bench first (0: skip)
#   BENCH_MICRO_MIN_TIME [0.1]
#   BENCH_LOCK [/tmp/cairn-build.lock]  held while measuring ("" = do not lock)
#   BENCH_DOCS [1]           write the latest run into docs/performance.md
#   BENCH_KEEP [0]           keep repositories after the run
#   BENCH_CAIRN_VERSION      label for the cairn build (default: git describe of
#                            this tree; set it when BUILD_DIR holds another build)
#   BENCH_CONTINUOUS [1]     then run bench/continuous.sh on the same tree (0: skip;
#                            its own settings, e.g. BENCH_IDLE_SECONDS, are in that file)
#   BENCH_LOAD [1]           then run bench/load.sh, many simulated agents on one server
#                            (0: skip; its settings, e.g. BENCH_LOAD_AGENTS, are in that file)
#   BENCH_CATALOG [1]        then run bench/catalog_scale.sh, a synthetic catalog of millions
#                            of chunks (0: skip; BENCH_CATALOG_STEPS is in that file)
#   BENCH_INGEST [1]         then run bench/ingest.sh, the server's CPU per GiB uploaded
#                            (0: skip; BENCH_INGEST_GIB and _REPS are in that file)
#   BENCH_DELTA_CHAIN [agent default, 4]  cairn's checkpoint delta chains (0: no deltas)
#   BENCH_PHASES ["checkpoints tree adapters weights"]  which workloads to run: the
#                            checkpoint series and its restore, the small-file tree (backup,
#                            incremental, restore), four adapter-only checkpoints restored
#                            together, and real trained weights (bench/weights: fetched with
#                            npm on first use) through each tool and through the codecs alone
#   BENCH_WEIGHTS [BUILD_DIR/bench-weights]  where bench/weights/fetch.sh puts them
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SERVER=$BIN/server/cairn-server
AGENT=$BIN/agent/cairn-agent
CTL=$BIN/ctl/cairnctl
GEN=$BIN/bench/cairn_bench_gen
MICRO=$BIN/bench/cairn_micro_bench

SCALE=${BENCH_SCALE:-1.0}
TREE_FILES=${BENCH_TREE_FILES:-100000}
TREE_DIRS=${BENCH_TREE_DIRS:-1000}
REPS=${BENCH_REPS:-3}
TOOLS=${BENCH_TOOLS:-restic borg cairn}
W=${BENCH_DIR:-$BIN/bench-e2e}
LOCK=${BENCH_LOCK-/tmp/cairn-build.lock}
OUT=$SRC/bench/out
RESULTS=$OUT/results.jsonl

. "$SRC/bench/common.sh"

for f in "$SERVER" "$AGENT" "$CTL" "$GEN"; do [ -x "$f" ] || die "$f is missing: build first (make build)"; done
for t in $TOOLS; do
  case $t in
    restic|borg) command -v "$t" >/dev/null || die "$t is not installed: make bench-deps" ;;
    restic-s3) command -v restic >/dev/null || die "restic is not installed: make bench-deps" ;;
    cairn|cairn-unix|cairn-tlsonly|cairn-notls|cairn-s3) ;;
    *) die "unknown tool $t in BENCH_TOOLS" ;;
  esac
done
command -v python3 >/dev/null || die "python3 is missing"

mkdir -p "$OUT" "$W"
rm -f "$RESULTS"
NOTES=()

# --- machine facts that decide how we measure --------------------------------
TIME_BIN=/usr/bin/time
if [ ! -x "$TIME_BIN" ]; then
  TIME_BIN=""
  NOTES+=("/usr/bin/time is missing (Debian package time): no peak RSS or CPU for the clients")
  note "WARNING: /usr/bin/time is missing: client peak RSS and CPU are not measured"
fi
if sync && { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
  DROP=1
  NOTES+=("page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every timed phase: sources and repositories are read cold")
else
  DROP=0
  NOTES+=("page cache NOT dropped (needs root): data is warm, equally for all tools")
  note "WARNING: cannot drop the page cache (not root): data stays warm for all tools equally"
fi
CLK_TCK=$(getconf CLK_TCK)

# --- data --------------------------------------------------------------------
GEN_DIR=$W/data
RUN=$W/run          # the checkpoint backup root: ckpt-1 + datasets, then ckpt-2, ckpt-3
TREE=$W/tree        # the small-file tree backup root
PHASES=${BENCH_PHASES:-checkpoints tree adapters weights}
WEIGHTS=${BENCH_WEIGHTS:-$BIN/bench-weights}
CODEC_WEIGHTS=$BIN/bench/cairn_codec_weights
STAMP="scale=$SCALE files=$TREE_FILES dirs=$TREE_DIRS v2"
ADAPTERS=$W/adapters  # ckpt-1 and three adapter-only successors of it, side by side

est_bytes=$(python3 -c "print(int(($SCALE * (3 * 1.06 + 0.39) * 2**30) + $TREE_FILES * 4.6 * 1024))")
avail=$(df -B1 --output=avail "$W" | tail -1)
need=$((est_bytes * 3 + (1 << 30)))
say "data: ~$((est_bytes >> 20)) MiB in $W; $((avail >> 30)) GiB free"
[ "$avail" -ge "$need" ] || [ -f "$GEN_DIR/.stamp" ] ||
  die "need ~$((need >> 30)) GiB free in $W (data, repositories, a restore): lower BENCH_SCALE or set BENCH_DIR"

has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# Put every generated file back where the generator left it (a run that was
# interrupted may have left them in the backup roots).
park_all() {
  for d in ckpt-1 ckpt-2 ckpt-3 datasets; do
    if [ -d "$RUN/$d" ]; then mv "$RUN/$d" "$GEN_DIR/$d"; fi
  done
}
if [ "$(cat "$GEN_DIR/.stamp" 2>/dev/null)" != "$STAMP" ]; then
  say "generating the data (seeded; reused by later runs with the same settings)"
  rm -rf "$GEN_DIR" "$RUN" "$TREE" "$W/tree-seed" "$ADAPTERS"
  mkdir -p "$GEN_DIR" "$RUN"
  t0=$(date +%s)
  "$GEN" checkpoint --out "$GEN_DIR/ckpt-1" --scale "$SCALE" --seed 1
  "$GEN" next-checkpoint --from "$GEN_DIR/ckpt-1" --out "$GEN_DIR/ckpt-2" --change adapters --scale "$SCALE" --seed 2
  "$GEN" next-checkpoint --from "$GEN_DIR/ckpt-2" --out "$GEN_DIR/ckpt-3" --change all --scale "$SCALE" --seed 3
  "$GEN" datasets --out "$GEN_DIR/datasets" --scale "$SCALE" --seed 1
  "$GEN" tree --out "$TREE" --files "$TREE_FILES" --dirs "$TREE_DIRS" --seed 1
  # Four checkpoints of one LoRA fine-tune: the same frozen base, other adapters.
  mkdir -p "$ADAPTERS"
  cp -r "$GEN_DIR/ckpt-1" "$ADAPTERS/step-1"
  for i in 2 3 4; do
    "$GEN" next-checkpoint --from "$GEN_DIR/ckpt-1" --out "$ADAPTERS/step-$i" --change adapters \
      --scale "$SCALE" --seed $((10 + i))
  done
  echo "$STAMP" > "$GEN_DIR/.stamp"
  note "generated in $(($(date +%s) - t0)) s"
else
  park_all
fi
mkdir -p "$RUN"
if has_phase weights; then
  "$SRC/bench/weights/fetch.sh" "$WEIGHTS" > /dev/null || die "bench/weights/fetch.sh $WEIGHTS failed"
  mkdir -p "$W/weights"
  cp "$WEIGHTS"/*.safetensors "$W/weights/"
  WEIGHTS_BYTES=$(du -sb --apparent-size "$W/weights" | cut -f1)
fi
CKPT_BYTES=$(du -sb "$GEN_DIR/ckpt-1" | cut -f1)
DATASET_BYTES=$(du -sb "$GEN_DIR/datasets" | cut -f1)
ADAPTER_BYTES=0
for f in model optimizer; do  # bytes that differ between ckpt-1 and ckpt-2 (cmp exits 1)
  n=$({ cmp -l "$GEN_DIR/ckpt-1/$f.safetensors" "$GEN_DIR/ckpt-2/$f.safetensors" || true; } | wc -l)
  ADAPTER_BYTES=$((ADAPTER_BYTES + n))
done
TREE_BYTES=$(du -sb --apparent-size "$TREE" | cut -f1)
ADAPTERS_BYTES=$(du -sb --apparent-size "$ADAPTERS" | cut -f1)
note "checkpoint $((CKPT_BYTES >> 20)) MiB, datasets $((DATASET_BYTES >> 20)) MiB, tree $TREE_FILES files $((TREE_BYTES >> 20)) MiB"

# --- the lock: builds by others wait while we measure ------------------------
take_lock "$LOCK"

if [ "${BENCH_MICRO:-1}" = 1 ]; then
  if [ -x "$MICRO" ]; then
    say "micro benchmarks (cairn_micro_bench --benchmark_min_time=${BENCH_MICRO_MIN_TIME:-0.1})"
    "$MICRO" --benchmark_min_time="${BENCH_MICRO_MIN_TIME:-0.1}" | tee "$OUT/micro.txt"
  else
    note "cairn_micro_bench was not built (libbenchmark-dev missing?): skipped"
  fi
fi

# --- measuring ---------------------------------------------------------------
drop_caches() {
  sync
  if [ "$DROP" = 1 ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}

SERVER_PID=""
server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
server_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status"; }

# measure TOOL PHASE REP BYTES -- CMD...: runs CMD cold, then sync; the time
# includes the sync so data a tool leaves unwritten in the page cache counts.
# Appends one JSON line to $RESULTS; CMD's stdout goes to $W/last.out.
measure() {
  local tool=$1 phase=$2 rep=$3 bytes=$4
  shift 5
  drop_caches
  local srv_t0=0 tfile=$W/last.time
  if [ -n "$SERVER_PID" ]; then
    echo 5 > "/proc/$SERVER_PID/clear_refs"  # restarts VmHWM at the current RSS
    srv_t0=$(server_cpu_ticks)
  fi
  local t0 t1 t2 rc=0
  t0=$(date +%s.%N)
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -o "$tfile" -f '%M %U %S' "$@" > "$W/last.out" 2> "$W/last.err" || rc=$?
  else
    "$@" > "$W/last.out" 2> "$W/last.err" || rc=$?
    echo "0 0 0" > "$tfile"
  fi
  t1=$(date +%s.%N)
  sync
  t2=$(date +%s.%N)
  if [ "$rc" != 0 ]; then
    cat "$W/last.err" >&2
    die "$tool $phase failed (exit $rc): $*"
  fi
  local srv_rss=0 srv_cpu=0
  if [ -n "$SERVER_PID" ]; then
    srv_rss=$(server_hwm_kb)
    srv_cpu=$(python3 -c "print(($(server_cpu_ticks) - $srv_t0) / $CLK_TCK)")
  fi
  read -r rss user sys < <(tail -1 "$tfile")
  python3 - "$RESULTS" <<PY
import json, sys
rec = dict(tool="$tool", phase="$phase", rep=$rep, bytes=$bytes,
           seconds=$t2 - $t0, seconds_before_sync=$t1 - $t0,
           client_rss_kb=$rss, client_cpu=$user + $sys, client_user=$user,
           server_rss_kb=$srv_rss, server_cpu=$srv_cpu)
with open(sys.argv[1], "a") as f: f.write(json.dumps(rec) + "\n")
print("   %-6s %-10s rep %d: %7.2f s  %8.1f MB/s  client %.2f CPU-s %d MiB  server %.2f CPU-s %d MiB"
      % (rec["tool"], rec["phase"], rec["rep"], rec["seconds"], rec["bytes"] / rec["seconds"] / 1e6,
         rec["client_cpu"], rec["client_rss_kb"] // 1024, rec["server_cpu"], rec["server_rss_kb"] // 1024),
      file=sys.stderr)
PY
}

record() {  # record TOOL PHASE REP KEY VALUE: a non-timed figure (stored bytes)
  python3 - "$RESULTS" <<PY
import json, sys
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(dict(tool="$1", phase="$2", rep=$3, $4=$5)) + "\n")
PY
}

# --- the three tools behind one interface: init, backup, restore ------------
export RESTIC_PASSWORD=cairn-bench-password BORG_PASSPHRASE=cairn-bench-password
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_BASE_DIR=$W/borg-base RESTIC_CACHE_DIR=$W/restic-cache
# restic-s3 reaches s3rver with its keys (cairn-s3 has them in its config).
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
# Where restic keeps a repository in DIR.
restic_repo() {
  case $1 in
    restic-s3) echo "s3:http://127.0.0.1:$S3_PORT/bench/$(basename "$2")" ;;
    *) echo "$2/repo" ;;
  esac
}

# --- an S3 store for restic-s3 and cairn-s3: s3rver on loopback -------------
S3_PORT=""
S3_DIR=$W/s3rver
# shellcheck source=bench/s3rver.sh
source "$SRC/bench/s3rver.sh"
case " $TOOLS " in
  *-s3*)
    start_s3rver "$S3_DIR" "$BIN" || die "s3rver did not start"
    NOTES+=("restic-s3 and cairn-s3: one s3rver 4.0.4 (Node $(node --version)) on loopback, storing on the same disk, signatures not checked (restic's client and s3rver disagree on one); its own speed bounds both")
    ;;
esac
is_s3() { case $1 in *-s3) return 0 ;; *) return 1 ;; esac; }

start_cairn_server() {  # $1 = state dir, $2 = local socket path, $3 = listen (optional), $4 = more config
  local listen=${3:-}
  if [ -z "$listen" ]; then
    listen=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  fi
  printf 'local_socket: "%s"\n%s\n' "${2:-}" "${4:-}" > "$1/server.conf"
  "$SERVER" --config "$1/server.conf" --listen "$listen" --state-dir "$1/server" \
    2> "$1/server.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q listening "$1/server.log" 2>/dev/null && break; sleep 0.1; done
  grep -q listening "$1/server.log" || { cat "$1/server.log" >&2; die "cairn-server did not start"; }
  CAIRN_ADDR=$listen
}
stop_cairn_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap 'stop_cairn_server; park_all 2>/dev/null || true' EXIT

# repo_init TOOL DIR: a fresh, encrypted repository in DIR.
repo_init() {
  rm -rf "$2" "$W/borg-base" "$W/restic-cache"
  mkdir -p "$2"
  case $1 in
    restic|restic-s3)
      rm -rf "$S3_DIR/data/bench/$(basename "$2")"
      restic --repo "$(restic_repo "$1" "$2")" init --repository-version 2 > /dev/null ;;
    borg) borg init --encryption=repokey-blake2 "$2/repo" ;;
    cairn|cairn-unix|cairn-tlsonly|cairn-notls|cairn-s3)
      local socket="" listen="" tiers=""
      if [ "$1" = cairn-notls ]; then socket=$2/cairn.sock; fi
      # The data port (docs/security.md, "The data channel") beside the TLS
      # port: loopback TCP for cairn, a Unix socket for cairn-unix; off for
      # cairn-tlsonly (every upload over TLS) and cairn-notls.
      tiers='data_listen: "127.0.0.1:0"'
      if [ "$1" = cairn-unix ]; then listen=unix:$2/tls.sock; tiers="data_listen: \"unix:$2/data.sock\""; fi
      if [ "$1" = cairn-tlsonly ]; then listen=unix:$2/tls.sock; tiers='data_listen: "off"'; fi
      if [ "$1" = cairn-notls ]; then tiers='data_listen: "off"'; fi
      if [ "$1" = cairn-s3 ]; then
        rm -rf "$S3_DIR/data/bench/$(basename "$2")"
        tiers="$tiers tiers { name: \"s3\" s3 { endpoint: \"http://127.0.0.1:$S3_PORT\" bucket: \"bench\" prefix: \"$(basename "$2")/\" access_key_id: \"S3RVER\" secret_access_key: \"S3RVER\" ${BENCH_S3_PART_BYTES:+part_bytes: $BENCH_S3_PART_BYTES} } }"
      fi
      start_cairn_server "$2" "$socket" "$listen" "$tiers"
      "$AGENT" --server "$CAIRN_ADDR" --name bench --state-dir "$2/agent" init > /dev/null
      # Enrolled as a real deployment would be: a join token made with the
      # first admin credential, then TLS with the agent's own certificate.
      local token
      token=$("$CTL" --credentials "$2/server/admin.credentials" --server "$CAIRN_ADDR" \
        token create --tenant bench --agents bench)
      "$AGENT" --server "$CAIRN_ADDR" --name bench --state-dir "$2/agent" \
        enroll --token "$token" > /dev/null
      # cairn-notls: the same agent (its name and tenant from its
      # certificate) on the server's local socket, without TLS.
      if [ -n "$socket" ]; then CAIRN_ADDR=local:$socket; fi ;;
  esac
}
repo_close() { case $1 in cairn*) stop_cairn_server ;; esac; }

# What a tool stores: the repository (restic, borg) or the server's state
# directory, catalog and packs (cairn). Client caches are reported apart.
stored_bytes() {
  case $1 in
    restic-s3) du -sb "$S3_DIR/data/bench/$(basename "$2")" | cut -f1 ;;
    cairn-s3) echo $(($(du -sb "$2/server" | cut -f1) + $(du -sb "$S3_DIR/data/bench/$(basename "$2")" | cut -f1))) ;;
    cairn|cairn-unix|cairn-tlsonly|cairn-notls) du -sb "$2/server" | cut -f1 ;;
    *) du -sb "$2/repo" | cut -f1 ;;
  esac
}
client_cache_bytes() {
  case $1 in
    restic|restic-s3) du -sb "$W/restic-cache" 2>/dev/null | cut -f1 || echo 0 ;;
    borg) du -sb "$W/borg-base" 2>/dev/null | cut -f1 || echo 0 ;;
    cairn|cairn-unix|cairn-tlsonly|cairn-notls|cairn-s3) du -sb "$2/agent" | cut -f1 ;;
  esac
}

# backup TOOL DIR ROOT NAME PHASE REP BYTES: back ROOT up; prints the snapshot id.
backup() {
  local tool=$1 dir=$2 root=$3 name=$4 phase=$5 rep=$6 bytes=$7 r0=""
  if is_s3 "$tool"; then r0=$(s3_requests); fi
  backup_one "$@"
  if is_s3 "$tool"; then sleep 0.2; record "$tool" "$phase" "$rep" requests $(($(s3_requests) - r0)); fi
}
backup_one() {
  local tool=$1 dir=$2 root=$3 name=$4 phase=$5 rep=$6 bytes=$7
  case $tool in
    restic|restic-s3)
      measure "$tool" "$phase" "$rep" "$bytes" -- \
        restic --repo "$(restic_repo "$tool" "$dir")" --compression auto backup --json --host bench "$root"
      python3 -c 'import json,sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m.get("message_type") == "summary": print(m["snapshot_id"])' "$W/last.out" ;;
    borg)
      (cd "$root" && measure borg "$phase" "$rep" "$bytes" -- \
        borg create --compression lz4 "$dir/repo::$name" .)
      echo "$name" ;;
    cairn|cairn-unix|cairn-tlsonly|cairn-notls|cairn-s3)
      measure "$tool" "$phase" "$rep" "$bytes" -- \
        "$AGENT" --server "$CAIRN_ADDR" --name bench --state-dir "$dir/agent" \
        backup --root "$root" --level incremental ${BENCH_DELTA_CHAIN:+--delta-chain "$BENCH_DELTA_CHAIN"} --json
      python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["snapshot"])' "$W/last.out" ;;
  esac
}

# restore TOOL DIR SNAPSHOT TARGET REP BYTES [PHASE] [ROOT]: restores the snapshot of
# ROOT (default the checkpoint root); prints where ROOT's contents landed.
restore() {
  local tool=$1 phase=${7:-restore} rep=$5 r0=""
  if is_s3 "$tool"; then r0=$(s3_requests); fi
  restore_one "$@"
  if is_s3 "$tool"; then sleep 0.2; record "$tool" "$phase" "$rep" requests $(($(s3_requests) - r0)); fi
}
restore_one() {
  local tool=$1 dir=$2 snap=$3 target=$4 rep=$5 bytes=$6 phase=${7:-restore} root=${8:-$RUN}
  rm -rf "$target"
  mkdir -p "$target"
  case $tool in
    restic|restic-s3)
      measure "$tool" "$phase" "$rep" "$bytes" -- \
        restic --repo "$(restic_repo "$tool" "$dir")" restore "$snap" --target "$target"
      echo "$target$root" ;;
    borg)
      (cd "$target" && measure borg "$phase" "$rep" "$bytes" -- borg extract "$dir/repo::$snap")
      echo "$target" ;;
    cairn|cairn-unix|cairn-tlsonly|cairn-notls|cairn-s3)
      measure "$tool" "$phase" "$rep" "$bytes" -- \
        "$AGENT" --server "$CAIRN_ADDR" --name bench --state-dir "$dir/agent" \
        restore --snapshot "$snap" --target "$target" --json
      echo "$target" ;;
  esac
}

# --- the phases --------------------------------------------------------------
CKPT_SET_BYTES=$((CKPT_BYTES + DATASET_BYTES))
t_start=$(date +%s)
export BENCH_DATE
BENCH_DATE=$(date '+%Y-%m-%d %H:%M %Z')
for rep in $(seq 1 "$REPS"); do
  for tool in $TOOLS; do
    if has_phase checkpoints; then
      say "$tool, repetition $rep of $REPS: checkpoints and datasets"
      dir=$W/repo-$tool
      park_all
      mv "$GEN_DIR/ckpt-1" "$GEN_DIR/datasets" "$RUN/"
      repo_init "$tool" "$dir"
      snap1=$(backup "$tool" "$dir" "$RUN" ckpt-1 initial "$rep" "$CKPT_SET_BYTES")
      record "$tool" initial "$rep" stored_bytes "$(stored_bytes "$tool" "$dir")"
      mv "$GEN_DIR/ckpt-2" "$RUN/"
      backup "$tool" "$dir" "$RUN" ckpt-2 next_adapters "$rep" "$CKPT_BYTES" > /dev/null
      record "$tool" next_adapters "$rep" stored_bytes "$(stored_bytes "$tool" "$dir")"
      mv "$GEN_DIR/ckpt-3" "$RUN/"
      snap3=$(backup "$tool" "$dir" "$RUN" ckpt-3 next_all "$rep" "$CKPT_BYTES")
      record "$tool" next_all "$rep" stored_bytes "$(stored_bytes "$tool" "$dir")"
      record "$tool" next_all "$rep" client_cache_bytes "$(client_cache_bytes "$tool" "$dir")"

      target=$W/restore-$tool
      got=$(restore "$tool" "$dir" "$snap1" "$target" "$rep" "$CKPT_SET_BYTES")
      for d in ckpt-1 datasets; do
        diff -r "$RUN/$d" "$got/$d" > /dev/null || die "$tool restored $d differently from the source"
      done
      [ "$(ls "$got")" = "$(printf 'ckpt-1\ndatasets')" ] || die "$tool restored more than snapshot 1: $(ls "$got")"
      note "$tool restore verified: identical to the source (diff -r)"
      rm -rf "$target"
      # The newest snapshot: three checkpoints (cairn: ckpt-3's tensors are
      # deltas of ckpt-2's, themselves deltas of ckpt-1's) and the datasets.
      got=$(restore "$tool" "$dir" "$snap3" "$target" "$rep" "$((CKPT_SET_BYTES + 2 * CKPT_BYTES))" restore_latest)
      diff -r "$RUN" "$got" > /dev/null || die "$tool restored the newest snapshot differently from the source"
      note "$tool newest snapshot restore verified: identical to the source (diff -r)"
      rm -rf "$target"
      repo_close "$tool"
      park_all
    fi

    if has_phase tree; then
      say "$tool, repetition $rep of $REPS: $TREE_FILES small files"
      tdir=$W/repo-$tool-tree
      repo_init "$tool" "$tdir"
      backup "$tool" "$tdir" "$TREE" tree-1 tree_initial "$rep" "$TREE_BYTES" > /dev/null
      record "$tool" tree_initial "$rep" stored_bytes "$(stored_bytes "$tool" "$tdir")"
      # Contents never seen before by any tool: the seed is new each time.
      seed=$(($(cat "$W/tree-seed" 2>/dev/null || echo 100) + 1))
      echo "$seed" > "$W/tree-seed"
      "$GEN" touch-tree --out "$TREE" --count 10 --files "$TREE_FILES" --dirs "$TREE_DIRS" --seed "$seed"
      tsnap=$(backup "$tool" "$tdir" "$TREE" tree-2 tree_incremental "$rep" "$TREE_BYTES")
      record "$tool" tree_incremental "$rep" stored_bytes "$(stored_bytes "$tool" "$tdir")"
      target=$W/restore-$tool
      got=$(restore "$tool" "$tdir" "$tsnap" "$target" "$rep" "$TREE_BYTES" tree_restore "$TREE")
      diff -r "$TREE" "$got" > /dev/null || die "$tool restored the small-file tree differently"
      note "$tool tree restore verified: identical to the source (diff -r)"
      rm -rf "$target"
      repo_close "$tool"
    fi

    if has_phase adapters; then
      say "$tool, repetition $rep of $REPS: four adapter-only checkpoints"
      adir=$W/repo-$tool-adapters
      repo_init "$tool" "$adir"
      asnap=$(backup "$tool" "$adir" "$ADAPTERS" adapters adapters_backup "$rep" "$ADAPTERS_BYTES")
      record "$tool" adapters_backup "$rep" stored_bytes "$(stored_bytes "$tool" "$adir")"
      target=$W/restore-$tool
      got=$(restore "$tool" "$adir" "$asnap" "$target" "$rep" "$ADAPTERS_BYTES" adapters_restore \
        "$ADAPTERS")
      diff -r "$ADAPTERS" "$got" > /dev/null || die "$tool restored the adapter checkpoints differently"
      note "$tool adapters restore verified: identical to the source (diff -r)"
      rm -rf "$target"
      repo_close "$tool"
    fi
    if has_phase weights; then
      say "$tool, repetition $rep of $REPS: real trained weights"
      wdir=$W/repo-$tool-weights
      repo_init "$tool" "$wdir"
      empty=$(stored_bytes "$tool" "$wdir")
      wsnap=$(backup "$tool" "$wdir" "$W/weights" weights weights_backup "$rep" "$WEIGHTS_BYTES")
      record "$tool" weights_backup "$rep" stored_bytes $(($(stored_bytes "$tool" "$wdir") - empty))
      target=$W/restore-$tool
      got=$(restore "$tool" "$wdir" "$wsnap" "$target" "$rep" "$WEIGHTS_BYTES" weights_restore \
        "$W/weights")
      diff -r "$W/weights" "$got" > /dev/null || die "$tool restored the weights differently"
      note "$tool weights restore verified: identical to the source (diff -r)"
      rm -rf "$target"
      repo_close "$tool"
    fi
    if [ "${BENCH_KEEP:-0}" != 1 ]; then
      rm -rf "$W/repo-$tool" "$W/repo-$tool-tree" "$W/repo-$tool-adapters" "$W/repo-$tool-weights"
    fi
  done
done
# The codecs alone on the real weights, tensor by tensor, one core.
if has_phase weights; then
  [ -x "$CODEC_WEIGHTS" ] || die "$CODEC_WEIGHTS was not built: the weights phase needs it"
  say "tensor codec on real weights (cairn_codec_weights)"
  "$CODEC_WEIGHTS" "$W"/weights/vad-bf16.safetensors "$W"/weights/pose-fp16.safetensors \
    "$W"/weights/vad-fp32.safetensors | tee -a "$RESULTS" >&2
fi
say "measured in $(($(date +%s) - t_start)) s"

# --- the report --------------------------------------------------------------
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MHZ=$(awk -F': ' '/^cpu MHz/ {printf "%.0f", $2; exit}' /proc/cpuinfo)
export BENCH_MACHINE BENCH_VERSIONS
BENCH_MACHINE="$(nproc) cores, $CPU${MHZ:+ at $MHZ MHz}, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
CAIRN_VERSION=${BENCH_CAIRN_VERSION:-$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo '?')}
BENCH_VERSIONS="cairn $CAIRN_VERSION, $(restic version 2>/dev/null | cut -d' ' -f1-2), $(borg --version 2>/dev/null)"
export BENCH_ADAPTER_BYTES=$ADAPTER_BYTES BENCH_CKPT_BYTES=$CKPT_BYTES
export BENCH_SETTINGS="BENCH_SCALE=$SCALE, BENCH_REPS=$REPS, BENCH_PHASES=$PHASES; checkpoint $((CKPT_BYTES >> 20)) MiB (changed by the adapters step: $((ADAPTER_BYTES >> 10)) KiB), datasets $((DATASET_BYTES >> 20)) MiB, tree $TREE_FILES files / $TREE_DIRS dirs / $((TREE_BYTES >> 20)) MiB, four adapter-only checkpoints $((ADAPTERS_BYTES >> 20)) MiB"
export BENCH_NOTES
BENCH_NOTES=$(printf '%s\n' "${NOTES[@]}")
export BENCH_DOCS=${BENCH_DOCS:-1}
python3 "$SRC/bench/report.py" "$RESULTS" "$OUT/results.md" "$SRC/docs/performance.md"
cat "$OUT/results.md"

# --- continuous protection, on the same tree, under the lock we hold ---------
if [ "${BENCH_CONTINUOUS:-1}" = 1 ]; then
  say "continuous protection (bench/continuous.sh)"
  BENCH_LOCK="" BENCH_DIR=$W BENCH_TREE_FILES=$TREE_FILES BENCH_TREE_DIRS=$TREE_DIRS \
    BENCH_CAIRN_VERSION=$CAIRN_VERSION "$SRC/bench/continuous.sh" "$BUILD"
fi

# --- many agents on one server (cairn alone), under the lock we hold ---------
if [ "${BENCH_LOAD:-1}" = 1 ]; then
  say "load run: many agents on one server (bench/load.sh)"
  BENCH_LOCK="" BENCH_DIR=$W BENCH_CAIRN_VERSION=$CAIRN_VERSION "$SRC/bench/load.sh" "$BUILD" ||
    note "the load run reported failures (bench/out/load.md)"
fi

# --- the catalog at millions of chunks (cairn alone), under the lock we hold -
if [ "${BENCH_CATALOG:-1}" = 1 ]; then
  say "catalog at scale (bench/catalog_scale.sh)"
  BENCH_LOCK="" BENCH_DIR=$W BENCH_CAIRN_VERSION=$CAIRN_VERSION "$SRC/bench/catalog_scale.sh" \
    "$BUILD" || note "the catalog-scale run failed a check (bench/out/catalog_scale.md)"
fi

# --- what ingest costs the server (cairn alone), under the lock we hold -----
if [ "${BENCH_INGEST:-1}" = 1 ]; then
  say "ingest cost: server CPU per GiB uploaded (bench/ingest.sh)"
  BENCH_LOCK="" BENCH_DIR=$W BENCH_CAIRN_VERSION=$CAIRN_VERSION "$SRC/bench/ingest.sh" "$BUILD" ||
    note "the ingest run failed (bench/out/ingest.md)"
fi
