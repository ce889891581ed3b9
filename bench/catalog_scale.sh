#!/usr/bin/env bash
# The catalog-scale run (docs/scale.md): cairn-catalog-scale grows a
# synthetic catalog (packs, chunk rows, trees referencing every chunk, a
# snapshot per step; no data uploaded) and measures at each size chunk rows
# recorded per second, FindMissing latency, a dry-run garbage collection
# and its memory, and catalog bytes per chunk. Run by bench/run.sh at the
# end (BENCH_CATALOG=1), or alone:
#
#   bench/catalog_scale.sh [BUILD_DIR]
#
# cairn's alone: restic and borg keep their index in files, not a catalog
# a server queries (their index sizes are in the small-files table).
#
# Environment (defaults in brackets):
#   BENCH_CATALOG_STEPS [1000000,3000000,10000000]  chunk rows to grow to
#                                 (about 200 bytes of disk per row)
#   BENCH_CATALOG_TIMED_ROWS [0]  0: every row recorded the server's way;
#                                 N: bulk-load each step to N rows short of
#                                 its size, time the last N (for 100M:
#                                 BENCH_CATALOG_STEPS=1000000,10000000,100000000
#                                 BENCH_CATALOG_TIMED_ROWS=300000)
#   BENCH_DIR [BUILD_DIR/bench-e2e]   work directory (BENCH_DIR/catalog-scale)
#   BENCH_LOCK [/tmp/cairn-build.lock]  held while measuring ("" = do not lock)
#   BENCH_DOCS [1]                write the run into docs/performance.md
#   BENCH_KEEP [0]                keep the catalog
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
TOOL=$BIN/bench/catalog_scale/cairn-catalog-scale
STEPS=${BENCH_CATALOG_STEPS:-1000000,3000000,10000000}
TIMED=${BENCH_CATALOG_TIMED_ROWS:-0}
W=${BENCH_DIR:-$BIN/bench-e2e}/catalog-scale
LOCK=${BENCH_LOCK-/tmp/cairn-build.lock}
OUT=$SRC/bench/out

. "$SRC/bench/common.sh"
[ -x "$TOOL" ] || die "$TOOL is missing: build first (make build)"
mkdir -p "$OUT"
take_lock "$LOCK"

rm -rf "$W"
say "cairn-catalog-scale: steps $STEPS"
rc=0
"$TOOL" --dir "$W" --steps "$STEPS" --timed-rows "$TIMED" --json > "$OUT/catalog_scale.json" || rc=$?
[ -s "$OUT/catalog_scale.json" ] || die "cairn-catalog-scale reported nothing (exit $rc)"

export_report_context "SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"
export BENCH_DOCS=${BENCH_DOCS:-1}
python3 "$SRC/bench/report.py" --catalog-scale "$OUT/catalog_scale.json" "$OUT/catalog_scale.md" \
  "$SRC/docs/performance.md"
cat "$OUT/catalog_scale.md"
if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$W"; fi
exit "$rc"
