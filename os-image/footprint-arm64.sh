#!/bin/bash
# Runs bench/footprint on arm64, for the record (issue 17): inside a built image booted under qemu-system-aarch64
# with 512 MB of RAM (a Zero 2 W's), with the image's own /usr/bin/node, so the RSS read is the guest kernel's
# figure for an arm64 Node.js (under qemu-user it would be QEMU's). The image carries no benchmarks, curl or
# Mosquitto: they come on a second, read-only disk made here:
#   app/    this checkout's dist/ (built first), fixtures/ (the simulator's reports), package.json and
#           production node_modules (pure JavaScript);
#   tools/  Debian's arm64 curl and mosquitto with every library they need, unpacked from the packages
#           (debootstrap --download-only resolves them against the image's suite and mirror; nothing is run on
#           the host), started through the tools' own dynamic loader so the image's libraries do not mix in;
#   bin/    curl and mosquitto as the benchmark calls them (on PATH), each exec'ing that loader: the PID the
#           benchmark reads /proc of is the program's own.
# In the guest: moat.service is stopped (the benchmark starts its own Moat, in development mode as on the
# development machine), then `node dist/bench/footprint.js --seconds 8` runs with TMPDIR on the data partition
# (a 50 MB upload and its copy would otherwise sit in RAM) and its limits stretched for emulation; its table
# and JSON line are printed here. An image-level proof like smoke-boot.sh: root, not part of npm test.
#   os-image/footprint-arm64.sh [IMAGE]   (default: the newest os-image/out/moat-*-arm64.img, used read-only)
# Environment: MOAT_FOOTPRINT_ARGS (default "--seconds 8"), MOAT_FOOTPRINT_TIMEOUT_FACTOR (default 10),
# MOAT_FOOTPRINT_CACHE (default /var/cache/moat-footprint-arm64: the downloaded packages, unpacked).
set -Eeuo pipefail
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap; shellcheck cannot see past "; exit"
# One function, read completely before it runs (see smoke-boot.sh).
main() {

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=qemu-guest.sh
source "$repo/os-image/qemu-guest.sh"
guest_find_image "${1:-}"
guest_require_tools mkfs.ext4:e2fsprogs debootstrap:debootstrap dpkg-deb:dpkg
[[ $EUID -eq 0 ]] || { echo "footprint-arm64.sh: must run as root (debootstrap)" >&2; exit 2; }
bench_args=${MOAT_FOOTPRINT_ARGS:---seconds 8}
timeout_factor=${MOAT_FOOTPRINT_TIMEOUT_FACTOR:-10}
cache=${MOAT_FOOTPRINT_CACHE:-/var/cache/moat-footprint-arm64}
# The image build's own suite and mirror: the tools match the image's Debian release.
# shellcheck disable=SC2016 # a sed pattern: the text ${...} of build.sh, not an expansion
mirror=${MOAT_DEBIAN_MIRROR:-$(sed -n 's/^mirror=\${MOAT_DEBIAN_MIRROR:-\(.*\)}$/\1/p' "$repo/os-image/build.sh")}
suite=$(sed -n 's/^suite=\([a-z]*\)$/\1/p' "$repo/os-image/build.sh")
[[ -n $mirror && -n $suite ]] || { echo "footprint-arm64.sh: no suite or mirror in os-image/build.sh" >&2; exit 2; }
# The bench disk's mount point in the guest: /run, since the guest's root is read-only.
mnt=/run/moat-bench
stage=$(mktemp -d /var/tmp/moat-footprint.XXXXXX)
trap 'guest_cleanup; rm -rf "$stage"' EXIT

echo "# building this checkout (npm run build)"
(cd "$repo" && npm run build --silent >/dev/null)

tools="$cache/$suite-tools"
if [[ ! -x $tools/usr/bin/curl || ! -x $tools/usr/sbin/mosquitto ]]; then
  echo "# downloading $suite arm64 curl and mosquitto with their dependencies into $cache"
  rm -rf "$cache/$suite-download" "$tools.partial"
  mkdir -p "$cache"
  debootstrap --download-only --arch=arm64 --variant=minbase --include=curl,mosquitto \
    "$suite" "$cache/$suite-download" "$mirror" >"$cache/$suite-download.log" 2>&1 ||
    { tail -n 20 "$cache/$suite-download.log" >&2; exit 1; }
  mkdir -p "$tools.partial"
  local deb
  for deb in "$cache/$suite-download"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$tools.partial"; done
  rm -rf "$tools" "$cache/$suite-download"
  mv "$tools.partial" "$tools"
fi

echo "# staging the bench disk"
mkdir -p "$stage/disk/app" "$stage/disk/tools/usr/bin" "$stage/disk/tools/usr/sbin" "$stage/disk/tools/usr/lib" \
  "$stage/disk/bin"
cp -a "$repo/dist" "$repo/fixtures" "$repo/package.json" "$stage/disk/app/"
# This checkout's installed production dependencies (npm ls reads node_modules; nothing is fetched).
(cd "$repo" && npm ls --omit=dev --all --parseable | sed -n "s|^$repo/||p" | grep '^node_modules/' |
  xargs cp -a --parents -t "$stage/disk/app")
cp -a "$tools/usr/bin/curl" "$stage/disk/tools/usr/bin/"
cp -a "$tools/usr/sbin/mosquitto" "$stage/disk/tools/usr/sbin/"
cp -a "$tools/usr/lib/aarch64-linux-gnu" "$stage/disk/tools/usr/lib/"
local program libs="$mnt/tools/usr/lib/aarch64-linux-gnu"
for program in usr/bin/curl usr/sbin/mosquitto; do
  printf '#!/bin/sh\nexec %s/ld-linux-aarch64.so.1 --library-path %s %s/tools/%s "$@"\n' \
    "$libs" "$libs" "$mnt" "$program" >"$stage/disk/bin/${program##*/}"
  chmod 755 "$stage/disk/bin/${program##*/}"
done
local megabytes
megabytes=$(($(du -sm "$stage/disk" | cut -f1) * 5 / 4 + 32))
mkfs.ext4 -q -L moat-bench -d "$stage/disk" "$stage/bench.img" "${megabytes}M"
rm -rf "$stage/disk"

guest_memory=512
guest_start footprint "" -drive "file=$stage/bench.img,format=raw,if=virtio,readonly=on"
guest_wait_shell
guest_settle
echo "# shell after ${shell_at} s; system '$guest_state', moat.service '$moat_state' after ${booted_at} s"
echo "# guest: $(guest 60 "uname -m; grep MemTotal /proc/meminfo; node --version" | tr -s ' \n' ' ')"
# The benchmark starts its own Moat; the appliance's would hold memory and ports beside it.
guest 120 systemctl stop moat.service >/dev/null
guest 60 "mkdir -p $mnt && mount -o ro LABEL=moat-bench $mnt" >/dev/null
echo "# in the guest: $(guest 60 "$mnt/bin/curl --version | head -n 1; $mnt/bin/mosquitto -h | head -n 1" | tr '\n' ' ')"

local started=$SECONDS status=0 output
echo "# running node dist/bench/footprint.js $bench_args --timeout-factor $timeout_factor (emulated: long)"
output=$(guest 7200 "cd $mnt/app && PATH=$mnt/bin:\$PATH TMPDIR=/var/tmp NO_COLOR=1 /usr/bin/node dist/bench/footprint.js \
$bench_args --timeout-factor $timeout_factor 2>&1") || status=$?
echo "$output"
echo "# footprint ran $((SECONDS - started)) s in the guest (exit status $status)"
guest_poweroff
return "$status"
}

main "$@"; exit
