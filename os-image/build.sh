#!/usr/bin/env bash
# Builds the Moat SD-card image: Debian 13 (trixie) arm64 for Raspberry Pi 3, 4, 5 and Zero 2 W.
# Run as root on a Debian/Ubuntu host without Docker (`npm run image`). Installs its own host tools.
#
# Stages (each prints progress and its duration; a failure names the stage and its log):
#   host-tools     apt-get the builders (debootstrap, qemu-user-static, genimage, mtools, ...)
#   base-rootfs    debootstrap with the emulated second stage          (cached in os-image/work/base)
#   base-packages  kernel, firmware, Node.js, network stack; one initramfs (cached with the base)
#   system-packages  RAUC and U-Boot (packages-system.txt) into a copy of the base (cached in work/system)
#   moat-app       npm run build + npm ci --omit=dev on the host (npm cannot reach the registry in the chroot)
#   rootfs         copy of the cached tree + Moat + appliance files, units enabled, secrets scrubbed
#   assemble       genimage: FAT boot + system slots A and B + data partition in an MBR image
#   bundle         moat-<version>-arm64.raucb: slot A's filesystem as a signed RAUC update bundle
#   compress       moat-<version>-arm64.img.xz and its SHA-256
#
# Environment: MOAT_IMAGE_WORK (default os-image/work), MOAT_IMAGE_OUT (default os-image/out),
# MOAT_IMAGE_BASE (default $MOAT_IMAGE_WORK/base: the cached base rootfs, shareable between checkouts),
# MOAT_DEBIAN_MIRROR (default http://deb.debian.org/debian), MOAT_REBUILD_BASE=1 to ignore the cached base,
# MOAT_KEEP_RAW=0 to delete the uncompressed image once compressed (inspect.sh and smoke-boot.sh use it),
# MOAT_SLOT_MIB (default 3072: each system slot's size, room for larger updates), MOAT_KEYS_DIR (bundle.sh),
# MOAT_COMPRESS=0 for a smoke-test build: stops after writing the raw image (no .img.xz, no SHA-256; xz -6 is
# the slowest stage of a cached rebuild, over 20 minutes on a loaded 2-core machine).
set -Eeuo pipefail
# shellcheck disable=SC2317 # fail and unmount_all run from traps; shellcheck cannot see past "; exit"
# The whole script is one function, read completely before it runs: editing build.sh while a build is
# under way cannot change what that build executes.
main() {

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here="$repo/os-image"
work=${MOAT_IMAGE_WORK:-$here/work}
out=${MOAT_IMAGE_OUT:-$here/out}
mirror=${MOAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=trixie
base=${MOAT_IMAGE_BASE:-$work/base}
rootfs="$work/rootfs"
logs="$work/logs"
timings="$out/timings.txt"

stage_name="setup"
stage_started=$SECONDS
build_started=$SECONDS
mounted=()

fail() {
  local code=$?
  trap - ERR
  echo >&2
  echo "build.sh: FAILED in stage '$stage_name' (exit $code) after $((SECONDS - stage_started)) s" >&2
  if [[ -f "$logs/$stage_name.log" ]]; then
    echo "---- last lines of $logs/$stage_name.log ----" >&2
    tail -n 25 "$logs/$stage_name.log" >&2
  fi
  exit "$code"
}
trap fail ERR

unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  mounted=()
}
trap unmount_all EXIT

stage() {
  stage_name=$1
  stage_started=$SECONDS
  echo "==> [$(date -u +%H:%M:%S)] $1: $2"
}

stage_done() {
  local took=$((SECONDS - stage_started))
  echo "    done in ${took} s"
  printf '%s\t%s\n' "$stage_name" "$took" >>"$timings"
}

# Runs a command with its output in the stage's log, so the console shows one line per stage.
logged() { "$@" >>"$logs/$stage_name.log" 2>&1; }

mount_chroot() {
  local dir=$1
  mount -t proc proc "$dir/proc" && mounted+=("$dir/proc")
  mount --rbind /sys "$dir/sys" && mounted+=("$dir/sys")
  mount --rbind /dev "$dir/dev" && mounted+=("$dir/dev")
  # The image must not keep the host's resolver or apt settings: both are removed by scrub_rootfs.
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  # The host's mirror may be a dated snapshot; accept its Release files as the host's apt does.
  printf 'Acquire::Check-Valid-Until "false";\n' >"$dir/etc/apt/apt.conf.d/99moat-build"
}

in_chroot() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$1" "${@:2}"; }

packages() { grep -v -e '^#' -e '^[[:space:]]*$' "$here/${1:-packages.txt}"; }
dpkg_keep_ours=(-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

[[ $EUID -eq 0 ]] || { echo "build.sh: must run as root (debootstrap, chroot, loop-free genimage)" >&2; exit 1; }
mkdir -p "$work" "$out" "$logs"
: >"$timings"
rm -f "$logs"/*.log
version=$(node -p "require('$repo/package.json').version")
echo "Building Moat $version image (Debian $suite arm64) in $work"

stage host-tools "installing builder packages on the host"
host_packages=(debootstrap qemu-user-static binfmt-support genimage mtools dosfstools e2fsprogs xz-utils
  fdisk rsync debian-archive-keyring u-boot-tools rauc squashfs-tools openssl)
missing=()
for p in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  logged apt-get update
  logged env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
logged update-binfmts --enable qemu-aarch64 || true
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "qemu-aarch64 binfmt handler not enabled" >&2; false; }
stage_done

# Cache keys: debootstrap depends on suite and mirror; the base packages also on the package list and
# this recipe's version. A build that failed in base-packages resumes there instead of re-running debootstrap.
bootstrap_key="recipe=1 suite=$suite mirror=$mirror"
base_key="recipe=4 $bootstrap_key packages=$(packages | sha256sum | cut -c1-16)"
if [[ ${MOAT_REBUILD_BASE:-0} == 1 ]]; then rm -f "$base/.moat-bootstrap" "$base/.moat-base"; fi

if [[ "$(cat "$base/.moat-bootstrap" 2>/dev/null)" != "$bootstrap_key" ]]; then
  stage base-rootfs "debootstrap $suite arm64 (emulated second stage, ~10 min)"
  rm -rf "$base"
  mkdir -p "$base"
  logged debootstrap --arch=arm64 --components=main,non-free-firmware \
    --include=systemd-sysv,udev,kmod,iproute2,dbus,ca-certificates "$suite" "$base" "$mirror"
  echo "$bootstrap_key" >"$base/.moat-bootstrap"
  stage_done
else
  echo "==> base-rootfs: using the cached debootstrap in $base"
  printf 'base-rootfs\tcached\n' >>"$timings"
fi

if [[ "$(cat "$base/.moat-base" 2>/dev/null)" != "$base_key" ]]; then
  stage base-packages "kernel, firmware, Node.js, network stack, initramfs (slowest step under emulation)"
  mount_chroot "$base"
  cat >"$base/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main non-free-firmware
deb $mirror $suite-updates main non-free-firmware
deb http://deb.debian.org/debian-security $suite-security main non-free-firmware
SOURCES
  mkdir -p "$base/boot/firmware"
  # Boot settings the raspi-firmware hooks read: root by label (genimage labels it), serial + HDMI consoles.
  # Kept over the package's version of the file (--force-confold below).
  cat >"$base/etc/default/raspi-firmware" <<'RASPI'
ROOTPART=LABEL=RASPIROOT
CMA=0
CONSOLES="auto"
RASPI
  # Building the initramfs under emulation takes ~12 minutes: stop every package from triggering it,
  # then build it exactly once below.
  if ! in_chroot "$base" dpkg-divert --list /usr/sbin/update-initramfs | grep -q local; then
    logged in_chroot "$base" dpkg-divert --local --rename --add /usr/sbin/update-initramfs
  fi
  ln -sf /bin/true "$base/usr/sbin/update-initramfs"
  logged in_chroot "$base" dpkg --configure -a --force-confdef --force-confold
  logged in_chroot "$base" apt-get update
  # debootstrap installs from the release; take the security and point-release updates too.
  logged in_chroot "$base" apt-get dist-upgrade -y "${dpkg_keep_ours[@]}"
  # shellcheck disable=SC2046 # one word per package is the point
  logged in_chroot "$base" apt-get install -y --no-install-recommends "${dpkg_keep_ours[@]}" $(packages)
  rm -f "$base/usr/sbin/update-initramfs"
  logged in_chroot "$base" dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
  kernel=$(basename "$(find "$base/lib/modules" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)")
  echo "    kernel $kernel: building the initramfs"
  logged in_chroot "$base" update-initramfs -c -k "$kernel"
  # Copies kernel, initrd, device trees and writes cmdline.txt/config.txt into /boot/firmware.
  logged in_chroot "$base" env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kernel"
  grep -q 'root=LABEL=RASPIROOT' "$base/boot/firmware/cmdline.txt" || {
    echo "cmdline.txt does not name root=LABEL=RASPIROOT" >>"$logs/$stage_name.log"
    false
  }
  unmount_all
  echo "$base_key" >"$base/.moat-base"
  stage_done
else
  echo "==> base-packages: using the cached base in $base ($base_key)"
  printf 'base-packages\tcached\n' >>"$timings"
fi

# The update engine and the boot loader in a stage of their own: changing them costs a few minutes of apt,
# not the base's 25 (debootstrap, kernel, initramfs).
system="$work/system"
system_key="recipe=1 $base_key system=$(packages packages-system.txt | sha256sum | cut -c1-16)"
if [[ "$(cat "$system/.moat-system" 2>/dev/null)" != "$system_key" ]]; then
  stage system-packages "RAUC and U-Boot into a copy of the base"
  rm -rf "$system"
  cp -a "$base" "$system"
  rm -f "$system/.moat-base" "$system/.moat-bootstrap"
  mount_chroot "$system"
  logged in_chroot "$system" apt-get update
  # shellcheck disable=SC2046 # one word per package is the point
  logged in_chroot "$system" apt-get install -y --no-install-recommends "${dpkg_keep_ours[@]}" \
    $(packages packages-system.txt)
  unmount_all
  echo "$system_key" >"$system/.moat-system"
  stage_done
else
  echo "==> system-packages: using the cached tree in $system"
  printf 'system-packages\tcached\n' >>"$timings"
fi

stage moat-app "building Moat on the host and installing production dependencies"
app="$work/moat-app"
rm -rf "$app"
mkdir -p "$app"
(cd "$repo" && logged npm run build)
cp "$repo/package.json" "$repo/package-lock.json" "$app/"
(cd "$app" && logged npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
# Compiled service only: no tests, no source maps, no TypeScript.
mkdir -p "$app/dist"
rsync -a --exclude='*.test.js' --exclude='*.map' "$repo/dist/src" "$app/dist/"
cp -a "$repo/fixtures" "$app/"
if find "$app/node_modules" -name '*.node' | grep -q .; then
  echo "native addons found in production dependencies; they would need building for arm64:" >>"$logs/$stage_name.log"
  find "$app/node_modules" -name '*.node' >>"$logs/$stage_name.log"
  false
fi
stage_done

stage rootfs "Moat, appliance files and units into a copy of the base"
rm -rf "$rootfs"
cp -a "$system" "$rootfs"
rm -f "$rootfs/.moat-system"
# The update key's certificate goes into the image; the key stays in os-image/keys (made once if missing).
keyring=$(bash "$here/bundle.sh" --key | tail -n 1)
logged bash "$repo/appliance/install.sh" "$rootfs" "$app" "$keyring"
bash "$here/scrub-rootfs.sh" "$rootfs" >>"$logs/$stage_name.log" 2>&1
stage_done

stage assemble "genimage: FAT boot + system slots A and B + data"
size_mib=$(( $(du -sm --exclude=./boot/firmware --exclude=./var "$rootfs" | cut -f1) * 13 / 10 + 256 ))
slot_mib=${MOAT_SLOT_MIB:-3072}
((size_mib <= slot_mib)) || { echo "the root filesystem (${size_mib} MiB) does not fit a slot of ${slot_mib} MiB (MOAT_SLOT_MIB)" >&2; false; }
data_mib=$(( $(du -sm "$rootfs/var" | cut -f1) * 13 / 10 + 128 ))
sed -e "s/@ROOTFS_SIZE@/${size_mib}M/" -e "s/@SLOT_SIZE@/${slot_mib}M/" -e "s/@DATA_SIZE@/${data_mib}M/" \
  "$here/genimage.cfg" >"$work/genimage.cfg"
rm -rf "$work/genimage-tmp" "$work/genimage-out"
mkdir -p "$work/genimage-out"
logged genimage --rootpath "$rootfs" --tmppath "$work/genimage-tmp" --inputpath "$work/genimage-out" \
  --outputpath "$work/genimage-out" --config "$work/genimage.cfg"
rm -rf "$work/genimage-tmp"
stage_done

stage bundle "signed update bundle from the same root filesystem"
logged bash "$here/bundle.sh" "$work/genimage-out/rootfs.ext4" "$version" "$out"
stage_done

name="moat-$version-arm64.img"
mv "$work/genimage-out/moat.img" "$out/$name"
rm -rf "$work/genimage-out"
# Whatever was compressed before belongs to an older build.
rm -f "$out/$name.xz" "$out/$name.xz.sha256"
if [[ ${MOAT_COMPRESS:-1} == 0 ]]; then
  printf 'total\t%s\n' "$((SECONDS - build_started))" >>"$timings"
  echo "Built $out/$name (raw, not compressed: MOAT_COMPRESS=0) in $((SECONDS - build_started)) s"
  return 0
fi

stage compress "xz and SHA-256"
if [[ ${MOAT_KEEP_RAW:-1} == 1 ]]; then xz -T0 -6 -k "$out/$name"; else xz -T0 -6 "$out/$name"; fi
(cd "$out" && sha256sum "$name.xz" >"$name.xz.sha256")
stage_done

printf 'total\t%s\n' "$((SECONDS - build_started))" >>"$timings"
echo "Built $out/$name.xz ($(du -h "$out/$name.xz" | cut -f1)) in $((SECONDS - build_started)) s"
echo "SHA-256: $(cut -d' ' -f1 "$out/$name.xz.sha256")"
echo "Stage timings: $timings"
}

main "$@"; exit
