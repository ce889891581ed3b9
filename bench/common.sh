# Shared by the bench scripts (sourced): messages, the build lock, report context.
#   . "$SRC/bench/common.sh"
#   take_lock "$LOCK"   # "" = do not lock
#   export_report_context [EXTRA]   # before bench/report.py

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }
die() { printf 'bench/%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Holds `$1` (flock, on fd 9) until the script exits, so that no build runs
# on the cores while it measures; says so when it has to wait.
take_lock() {
  [ -n "$1" ] || return 0
  exec 9>>"$1"
  if ! flock -n 9; then
    say "waiting for $1 (a build is running)"
    flock 9
  fi
}

# Exports what bench/report.py puts at the head of a report: BENCH_DATE and
# BENCH_MACHINE (unless set by the caller, e.g. bench/run.sh) and
# BENCH_VERSIONS: "cairn VERSION", then `$1` after a comma if given.
# Needs SRC (the checkout).
export_report_context() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  export BENCH_DATE=${BENCH_DATE:-$(date '+%Y-%m-%d %H:%M %Z')}
  export BENCH_MACHINE=${BENCH_MACHINE:-"$(nproc) cores, $cpu, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"}
  export BENCH_VERSIONS="cairn ${BENCH_CAIRN_VERSION:-$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo '?')}${1:+, $1}"
}
