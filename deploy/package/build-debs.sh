#!/bin/sh
# `make package`: Debian packages from a build directory.
#   build-debs.sh BUILD_DIR OUT_DIR VERSION
# cairn-server: cairn-server, its systemd unit, /etc/cairn/server.conf.
# cairn-agent: cairn-agent and cairnctl, the agent's unit and restore
# drop-in, /etc/cairn/agent.conf. Both make the system user cairn and
# /var/lib/cairn (deploy/package/postinst); configs are conffiles.
set -eu
build=$(cd "$1" && pwd)
out=$2
version=$3
here=$(cd "$(dirname "$0")" && pwd)
deploy=$(dirname "$here")
mkdir -p "$out"
out=$(cd "$out" && pwd)
depends="libgrpc++1.51, libprotobuf32, libabsl20220623, libsodium23, liblz4-1, libzstd1, libsqlite3-0, libssl3, libcurl4, libhtscodecs2, libxxhash0, passwd"

package() {  # package NAME DESCRIPTION CONF UNIT BINARIES...
  name=$1 description=$2 conf=$3 unit=$4
  shift 4
  root=$(mktemp -d)
  chmod 0755 "$root"
  install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/cairn" \
    "$root/usr/share/doc/$name"
  for b in "$@"; do install -m 0755 -s "$build/$b" "$root/usr/bin/"; done
  install -m 0644 "$deploy/systemd/$unit" "$root/lib/systemd/system/"
  install -m 0640 "$deploy/$conf.example" "$root/etc/cairn/$conf"
  install -m 0644 "$deploy/$conf.example" "$root/usr/share/doc/$name/$conf.example"
  if [ "$name" = cairn-agent ]; then
    install -m 0644 "$deploy/systemd/cairn-agent-restore.conf" "$root/usr/share/doc/$name/"
    install -m 0644 "$deploy/policy.example" "$root/usr/share/doc/$name/"
  fi
  echo "/etc/cairn/$conf" > "$root/DEBIAN/conffiles"
  install -m 0755 "$here/postinst" "$here/postrm" "$root/DEBIAN/"
  size=$(du -sk "$root" | cut -f1)
  cat > "$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: cairn developers <cairn@localhost>
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Homepage: https://github.com/cairn-backup/cairn
Description: $description
 cairn backs up the data of GPU training clusters: content-defined chunks,
 deduplicated across nodes, compressed and encrypted, over TLS.
CONTROL
  dpkg-deb --root-owner-group --build "$root" "$out/${name}_${version}_$(dpkg --print-architecture).deb" >/dev/null
  rm -rf "$root"
  echo "$out/${name}_${version}_$(dpkg --print-architecture).deb"
}

package cairn-server "cairn backup server" server.conf cairn-server.service server/cairn-server
package cairn-agent "cairn backup agent and admin tool" agent.conf cairn-agent.service \
  agent/cairn-agent ctl/cairnctl
