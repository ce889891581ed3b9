# Shared by the bench scripts (sourced): messages and the build lock.
#   . "$SRC/bench/common.sh"
#   take_lock "$LOCK"   # "" = do not lock

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
