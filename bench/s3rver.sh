# Sourced by bench scripts: an S3 store for benchmarks, s3rver (make s3rver)
# on loopback, whose stdin is a FIFO the sourcing shell holds open, so it
# exits when the script does.
#
#   source "$SRC/bench/s3rver.sh"
#   start_s3rver "$W/s3rver" "$BIN"   # sets S3_PORT and S3_DIR; bucket "bench"
#   n=$(s3_requests)                  # requests served so far
#
# Signatures are not checked: restic's S3 client signs bucket requests as
# "/bucket/", which s3rver computes as "/bucket" (tests/tools/s3rver/launch.js).
start_s3rver() {  # $1 = its directory (emptied), $2 = the build directory
  S3_DIR=$1
  rm -rf "$S3_DIR"
  mkdir -p "$S3_DIR"
  [ -d "$2/s3rver/node_modules" ] || { echo "s3rver is not installed: make s3rver" >&2; return 1; }
  mkfifo "$S3_DIR/stdin"
  NODE_PATH=$2/s3rver/node_modules S3RVER_STATS=$S3_DIR/stats.json \
    S3RVER_ALLOW_MISMATCHED_SIGNATURES=1 \
    node --openssl-legacy-provider "$(dirname "${BASH_SOURCE[0]}")/../tests/tools/s3rver/launch.js" \
    "$S3_DIR/data" bench < "$S3_DIR/stdin" > "$S3_DIR/port" 2> "$S3_DIR/log" &
  exec 7> "$S3_DIR/stdin"
  for _ in $(seq 100); do grep -q PORT "$S3_DIR/port" 2>/dev/null && break; sleep 0.1; done
  S3_PORT=$(awk '/^PORT/ {print $2}' "$S3_DIR/port")
  [ -n "$S3_PORT" ] || { cat "$S3_DIR/log" >&2; echo "s3rver did not start" >&2; return 1; }
}
s3_requests() {
  python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1])).values()))' "$S3_DIR/stats.json"
}
