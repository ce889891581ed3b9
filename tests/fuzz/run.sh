#!/bin/bash
# Builds the libFuzzer targets with clang into BUILD_DIR and runs each for
# SECONDS (a smoke run in `make test`; run longer by hand:
# tests/fuzz/run.sh build/fuzz 600). Crashes are saved in BUILD_DIR/crashes.
set -euo pipefail
BUILD=${1:?usage: run.sh BUILD_DIR SECONDS}
SECONDS_EACH=${2:-15}
SRC=$(cd "$(dirname "$0")" && pwd)
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
if [ ! -f "$BUILD/build.ninja" ]; then
  CXX=clang++ cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$BUILD.configure.log" 2>&1 \
    || { cat "$BUILD.configure.log" >&2; exit 1; }
fi
cmake --build "$BUILD" -j 2 > "$BUILD.build.log" 2>&1 || { tail -50 "$BUILD.build.log" >&2; exit 1; }
mkdir -p "$BUILD/crashes"
for target in codec_fuzz layout_fuzz classifier_fuzz; do
  mkdir -p "$BUILD/corpus/$target"
  echo "fuzz: $target for ${SECONDS_EACH}s"
  status=0
  "$BUILD/$target" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix="$BUILD/crashes/$target-" -print_final_stats=1 "$BUILD/corpus/$target" \
    > "$BUILD/$target.log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)|Done" \
    "$BUILD/$target.log" || true
  if ls "$BUILD/crashes/$target-"* >/dev/null 2>&1; then
    echo "fuzz: $target found a crash: $(ls "$BUILD/crashes/$target-"*)" >&2
    exit 1
  fi
  # A target that did not run at all (or failed without an artifact) fails too.
  if [ "$status" -ne 0 ] || ! grep -q "^stat::number_of_executed_units" "$BUILD/$target.log"; then
    echo "fuzz: $target exited with status $status without running; its log:" >&2
    tail -30 "$BUILD/$target.log" >&2
    exit 1
  fi
done
