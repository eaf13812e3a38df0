#!/bin/bash
# Checks a built image without booting it: loop-mounts the root partition read-only, reads the FAT boot
# partition with mtools (this kind of host cannot mount vfat), runs Moat's CLI under qemu-user in a chroot.
#   os-image/inspect.sh [IMAGE]      (default: the newest os-image/out/moat-*-arm64.img)
# Prints one "ok"/"not ok" line per check and "N passed, N failed"; exits non-zero if any check failed.
set -Eeuo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${1:-$(find "$repo/os-image/out" -maxdepth 1 -name 'moat-*-arm64.img' -printf '%T@ %p\n' 2>/dev/null |
  sort -n | tail -n 1 | cut -d' ' -f2-)}
[[ -n "$image" && -f "$image" ]] || { echo "inspect.sh: no image (build one with npm run image, or pass its path)" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "inspect.sh: must run as root (loop device, mount, chroot)" >&2; exit 2; }
for tool in losetup partx mdir mtype chroot; do
  command -v "$tool" >/dev/null || { echo "inspect.sh: $tool missing (apt-get install mtools util-linux)" >&2; exit 2; }
done

mnt=$(mktemp -d /tmp/moat-inspect.XXXXXX)
loop=""
cleanup() {
  umount "$mnt/proc" 2>/dev/null || true
  umount "$mnt" 2>/dev/null || true
  if [[ -n "$loop" ]]; then losetup -d "$loop" 2>/dev/null || true; fi
  rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT

passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then
    echo "ok - $what"
    passed=$((passed + 1))
  else
    echo "not ok - $what"
    failed=$((failed + 1))
  fi
}

# The root partition by offset (partition device nodes need udev, which this kind of host may not run).
read -r start sectors < <(partx -g -o START,SECTORS -n 2 "$image")
loop=$(losetup -f --show -r -o $((start * 512)) --sizelimit $((sectors * 512)) "$image")
mount -o ro "$loop" "$mnt"
boot="$image@@4M"
r=$mnt
echo "# inspecting $image"

# Units present and enabled; SSH installed but off.
for unit in moat.service moat-firstboot.service moat-host-config.service moat-host-config.path; do
  check "$unit is installed" test -f "$r/etc/systemd/system/$unit"
done
for unit in moat.service moat-firstboot.service moat-host-config.path; do
  check "$unit is enabled" test -L "$r/etc/systemd/system/multi-user.target.wants/$unit"
done
check "sshd is installed" test -x "$r/usr/sbin/sshd"
ssh_wanted() {
  find "$r/etc/systemd/system" \( -name ssh.service -o -name ssh.socket -o -name sshd.service \) -print -quit
}
check "SSH is disabled (no ssh.service/ssh.socket wanted by any target)" test -z "$(ssh_wanted)"
check "the SSH generator is masked (no sshd on vsock or AF_UNIX behind the owner's back)" \
  test "$(readlink "$r/etc/systemd/system-generators/systemd-ssh-generator")" = /dev/null
check "systemd-firstboot is masked (no prompts holding the boot)" \
  test "$(readlink "$r/etc/systemd/system/systemd-firstboot.service")" = /dev/null
check "systemd-networkd is off (NetworkManager runs the network)" \
  test -z "$(find "$r/etc/systemd/system" -path '*.wants/systemd-networkd*' -print -quit)"
# machine-id "uninitialized" makes the first power-on a first boot, where systemd applies the preset policy:
# without this file Debian's presets enable systemd-networkd and every unit no preset names (ssh.service too).
check "first boot enables no further units (preset policy 'disable *')" \
  grep -qx 'disable \*' "$r/etc/systemd/system-preset/00-moat.preset"
check "SSH refuses passwords when enabled" grep -qx 'PasswordAuthentication no' "$r/etc/ssh/sshd_config.d/60-moat.conf"

# Moat itself runs on the image's own Node.js (arm64, under qemu-user).
mount -t proc proc "$r/proc"
want=$(node -p "require('$repo/package.json').version")
got=$(chroot "$r" /usr/bin/node /opt/moat/dist/src/cli.js --version 2>&1 || true)
echo "# /opt/moat says version '$got' (expected '$want'); node $(chroot "$r" /usr/bin/node --version 2>&1 || true)"
check "/opt/moat runs: node dist/src/cli.js --version = $want" test "$got" = "$want"
check "the moat command lists 'appliance render'" bash -c "chroot '$r' /usr/bin/moat --help | grep -q 'appliance render'"
umount "$r/proc"
check "no TypeScript sources or tests shipped" bash -c "! find '$r/opt/moat/dist' -name '*.test.js' -o -name '*.ts' | grep -q ."

# State directory: owned by the moat user, 0700, empty until first boot.
moat_uid=$(awk -F: '$1 == "moat" { print $3 }' "$r/etc/passwd")
check "the moat user exists without a login shell" bash -c "grep -q '^moat:.*:/usr/sbin/nologin$' '$r/etc/passwd'"
check "/var/lib/moat is owned by moat ($moat_uid) with mode 0700" test "$(stat -c '%u %a' "$r/var/lib/moat")" = "$moat_uid 700"
check "/var/lib/moat holds nothing yet (keys, config, secrets are made at first boot)" \
  test -z "$(find "$r/var/lib/moat" -mindepth 1 -print -quit)"

# Nothing secret or per-device baked in.
check "no SSH host keys" bash -c "! compgen -G '$r/etc/ssh/ssh_host_*'"
check "machine-id is uninitialized (made at first boot)" test "$(cat "$r/etc/machine-id")" = uninitialized
private_keys() {
  # A PEM block on a line of its own (code that names the label inside a string does not count).
  grep -rlsIE --exclude-dir=node_modules '^-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----' \
    "$r/etc" "$r/var" "$r/root" "$r/opt/moat" "$r/home" 2>/dev/null
}
found=$(private_keys || true)
[[ -z "$found" ]] || echo "# private keys found: $found"
check "no private key in /etc, /var, /root, /home or /opt/moat (outside node_modules)" test -z "$found"
check "no claim code on the boot partition" bash -c "! mtype -i '$boot' ::moat-claim.txt"
check "no claim code or Moat certificate on the root filesystem" \
  bash -c "! find '$r' -xdev \\( -name 'moat-claim.txt' -o -path '*/moat/tls/*' \\) -print -quit | grep -q ."
check "no build-time apt or resolver settings left" bash -c "! test -e '$r/usr/sbin/policy-rc.d' && ! test -e '$r/etc/apt/apt.conf.d/99moat-build'"

# No password anywhere: every account is locked ("*" or "!...") and none is empty.
password_hashes() { awk -F: '$2 != "*" && $2 !~ /^!/ { print $1 }' "$r/etc/shadow"; }
check "no password hash and no empty password in /etc/shadow" test -z "$(password_hashes)"

# Forwarding off: nothing in the image turns it on (the first boot writes 60-moat.conf with it off).
check "no sysctl file enables IPv4/IPv6 forwarding" \
  bash -c "! grep -rhsE '^\\s*net\\.ipv(4\\.ip_forward|6\\.conf\\.all\\.forwarding)\\s*=\\s*1' '$r/etc/sysctl.conf' '$r/etc/sysctl.d' '$r/usr/lib/sysctl.d'"
check "journald keeps the journal in RAM, capped" grep -qx 'Storage=volatile' "$r/etc/systemd/journald.conf.d/60-moat.conf"

# Boot partition: what the Pi firmware and smoke-boot.sh need.
check "boot partition has config.txt and cmdline.txt" bash -c "mtype -i '$boot' ::config.txt && mtype -i '$boot' ::cmdline.txt"
check "cmdline.txt mounts the root by label" bash -c "mtype -i '$boot' ::cmdline.txt | grep -q 'root=LABEL=RASPIROOT'"
check "boot partition has a kernel and an initrd" \
  bash -c "mdir -b -i '$boot' :: | grep -q vmlinuz- && mdir -b -i '$boot' :: | grep -q initrd.img-"
check "device trees for Pi 3, 4, 5 and Zero 2 W" bash -c "for d in bcm2837-rpi-3-b bcm2711-rpi-4-b bcm2712-rpi-5-b bcm2837-rpi-zero-2-w; do mdir -b -i '$boot' :: | grep -q \"\$d.dtb\" || exit 1; done"

echo "$passed passed, $failed failed"
((failed == 0))
