#!/bin/sh
# `make package`'s Debian packages, installed into a scratch root with
# `dpkg --root` (maintainer scripts run chrootless, with DPKG_ROOT): the
# files land where the units and docs say, the postinst makes the system
# user cairn and /var/lib/cairn (0750, owned by it) and makes the configs
# readable by it (0640), the installed binaries run, a changed config
# survives a reinstall, and removal leaves the state directory alone.
#   package_test.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sh "$src/deploy/package/build-debs.sh" "$build" "$work/debs" 0.0.0-test
root=$work/root
mkdir -p "$root/etc" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/usr/sbin"
: > "$root/var/lib/dpkg/status"
: > "$root/var/lib/dpkg/available"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$root/etc/shadow"
printf 'root:*::\n' > "$root/etc/gshadow"
dpkg_root() {
  dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root \
    --log=/dev/null "$@"
}
fail() { echo "FAIL: $*"; exit 1; }

dpkg_root -i "$work"/debs/cairn-server_*.deb "$work"/debs/cairn-agent_*.deb
for f in usr/bin/cairn-server usr/bin/cairn-agent usr/bin/cairnctl; do
  [ -x "$root/$f" ] || fail "$f is not installed"
done
for f in lib/systemd/system/cairn-server.service lib/systemd/system/cairn-agent.service \
         usr/share/doc/cairn-agent/cairn-agent-restore.conf etc/cairn/server.conf etc/cairn/agent.conf; do
  [ -f "$root/$f" ] || fail "$f is not installed"
done
line=$(grep '^cairn:' "$root/etc/passwd") || fail "postinst made no user cairn"
uid=$(echo "$line" | cut -d: -f3)
[ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] || fail "cairn is not a system user: $line"
echo "$line" | grep -q ':/var/lib/cairn:/usr/sbin/nologin$' || fail "cairn's home or shell: $line"
gid=$(awk -F: '$1 == "cairn" { print $3 }' "$root/etc/group")
[ -n "$gid" ] || fail "postinst made no group cairn"
[ "$(stat -c '%u %a' "$root/var/lib/cairn")" = "$uid 750" ] || fail "/var/lib/cairn: $(stat -c '%u %a' "$root/var/lib/cairn")"
for c in server.conf agent.conf; do
  [ "$(stat -c '%g %a' "$root/etc/cairn/$c")" = "$gid 640" ] || fail "$c: $(stat -c '%g %a' "$root/etc/cairn/$c")"
done
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Package} ${Status}\n' | grep -c 'install ok installed' | grep -qx 2 ||
  fail "dpkg does not list both packages as installed"
"$root/usr/bin/cairn-server" --help >/dev/null 2>&1 || [ $? -eq 1 ] || fail "cairn-server does not run"
"$root/usr/bin/cairnctl" --help >/dev/null || fail "cairnctl does not run"
grep -q '^ExecStart=/usr/bin/cairn-agent ' "$root/lib/systemd/system/cairn-agent.service" || fail "the unit's ExecStart"

# A changed config is kept over a reinstall (it is a conffile).
echo '# changed by the admin' >> "$root/etc/cairn/server.conf"
dpkg_root --force-confold -i "$work"/debs/cairn-server_*.deb
grep -q 'changed by the admin' "$root/etc/cairn/server.conf" || fail "the admin's config was replaced"
# Removal and purge keep the state directory and the user.
touch "$root/var/lib/cairn/catalog.db"
dpkg_root --purge cairn-server cairn-agent
[ ! -e "$root/usr/bin/cairn-server" ] || fail "cairn-server is still there after purge"
[ -f "$root/var/lib/cairn/catalog.db" ] || fail "purge deleted /var/lib/cairn"
grep -q '^cairn:' "$root/etc/passwd" || fail "purge deleted the user"
echo "the packages install, configure, upgrade and purge as they should"
