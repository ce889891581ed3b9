#!/usr/bin/env bash
# Real trained weights as benchmark data (bench/weights/README.md).
#
#   bench/weights/fetch.sh OUT_DIR [--json]
#
# Fetches the two npm packages pinned in bench/weights/package-lock.json with
# `npm pack` (the tarballs only: not vad-web's dependency onnxruntime-web), checks
# each tarball against the lock's sha512 integrity, unpacks it into
# OUT_DIR/npm/node_modules/NAME (skipped when that version is already there), then
# runs extract.py into OUT_DIR (--json: its summary as JSON on stdout). Running it
# again gives the same files.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
LOCK=$HERE/package-lock.json

die() { printf 'bench/weights/fetch.sh: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: fetch.sh OUT_DIR [--json]"
command -v python3 >/dev/null || die "python3 is missing"
command -v npm >/dev/null || die "npm is missing (make node-deps)"
command -v tar >/dev/null || die "tar is missing"

OUT=$1
mkdir -p "$OUT/npm" || die "cannot create $OUT/npm"
NPM=$(cd "$OUT/npm" && pwd)

# "NAME VERSION INTEGRITY" for each direct dependency in the lock.
pins() {
  python3 - "$LOCK" <<'EOF'
import json, sys
packages = json.load(open(sys.argv[1]))["packages"]
for name in packages[""]["dependencies"]:
    p = packages["node_modules/" + name]
    print(name, p["version"], p["integrity"])
EOF
}

# installed DIR VERSION: DIR holds that version of a package.
installed() {
  [ -f "$1/package.json" ] && python3 -c 'import json, sys
sys.exit(json.load(open(sys.argv[1]))["version"] != sys.argv[2])' "$1/package.json" "$2"
}

# sri FILE: the file's sha512 in Subresource Integrity form, as npm locks it.
sri() {
  python3 -c 'import base64, hashlib, sys
digest = hashlib.sha512(open(sys.argv[1], "rb").read()).digest()
print("sha512-" + base64.b64encode(digest).decode())' "$1"
}

fetch() {
  local name=$1 version=$2 integrity=$3 dir=$NPM/node_modules/$1 tgz
  if installed "$dir" "$version"; then
    echo "$name@$version: already in $dir" >&2
    return
  fi
  echo "$name@$version: npm pack" >&2
  tgz=$(cd "$NPM" && npm pack "$name@$version" --silent --no-audit --no-fund) ||
    die "npm pack $name@$version failed (is registry.npmjs.org reachable?)"
  tgz=$NPM/$(printf '%s\n' "$tgz" | tail -n 1)
  [ -f "$tgz" ] || die "npm pack $name@$version wrote no tarball ($tgz)"
  [ "$(sri "$tgz")" = "$integrity" ] ||
    die "$tgz does not match the integrity in $LOCK"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  tar xzf "$tgz" -C "$dir.tmp" --strip-components=1 || die "cannot unpack $tgz"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

PINS=$(pins) || die "cannot read the pins from $LOCK"
while read -r name version integrity; do
  fetch "$name" "$version" "$integrity"
done <<<"$PINS"

python3 "$HERE/extract.py" \
  --pose "$NPM/node_modules/@mediapipe/pose" \
  --vad "$NPM/node_modules/@ricky0123/vad-web" \
  "${@:2}" "$OUT"
