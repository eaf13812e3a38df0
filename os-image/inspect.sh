#!/bin/bash
# Checks a built image without booting it: loop-mounts system slot A and the data partition (on its /var)
# read-only, reads the FAT boot partition with mtools (this kind of host cannot mount vfat), runs Moat's CLI under qemu-user in a chroot.
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
data_loop=""
cleanup() {
  umount "$mnt/proc" 2>/dev/null || true
  umount "$mnt/var" 2>/dev/null || true
  umount "$mnt" 2>/dev/null || true
  if [[ -n "$data_loop" ]]; then losetup -d "$data_loop" 2>/dev/null || true; fi
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

# Partitions by offset (partition device nodes need udev, which this kind of host may not run).
part_loop() {
  local start sectors
  read -r start sectors < <(partx -g -o START,SECTORS -n "$1" "$image")
  losetup -f --show -r -o $((start * 512)) --sizelimit $((sectors * 512)) "$image"
}
echo "# inspecting $image"
# The A/B layout (docs/updates.md): FAT boot, two system slots of one size, data last (first boot grows it).
check "four partitions: FAT32 boot (0x0c), system A, system B, data (0x83)" \
  test "$(partx -g -o NR,TYPE "$image" | awk '{ printf "%s%s ", $1, $2 }')" = "10xc 20x83 30x83 40x83 "
check "system slots A and B have the same size" \
  test "$(partx -g -o SECTORS -n 2 "$image")" = "$(partx -g -o SECTORS -n 3 "$image")"
check "the disk identifier is the one RAUC's slot names use (4d4f4154)" \
  bash -c "partx -g -o UUID -n 2 '$image' | grep -qx '4d4f4154-02'"
read -r b_start < <(partx -g -o START -n 3 "$image")
check "system slot B is empty (nothing written until the first update)" \
  cmp -s -n 4194304 <(dd if="$image" bs=512 skip="$b_start" count=8192 status=none) /dev/zero
loop=$(part_loop 2)
mount -o ro "$loop" "$mnt"
data_loop=$(part_loop 4)
mount -o ro "$data_loop" "$mnt/var"
boot="$image@@4M"
r=$mnt

# Units present and enabled; SSH installed but off.
for unit in moat.service moat-firstboot.service moat-host-config.service moat-host-config.path \
  moat-mark-good.service moat-sysctl.service moat-reboot.path moat-reboot.service; do
  check "$unit is installed" test -f "$r/etc/systemd/system/$unit"
done
check "moat-sysctl.service is enabled" test -L "$r/etc/systemd/system/sysinit.target.wants/moat-sysctl.service"
for unit in moat.service moat-firstboot.service moat-host-config.path moat-mark-good.service moat-reboot.path; do
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
check "machine-id is empty (systemd makes one at boot, in /run)" test ! -s "$r/etc/machine-id"
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
check "systemd feeds the hardware watchdog (a hung system is reset, so boot.scr counts the attempt)" \
  grep -qx 'RuntimeWatchdogSec=15s' "$r/etc/systemd/system.conf.d/60-moat-watchdog.conf"
check "journald keeps the journal in RAM, capped" grep -qx 'Storage=volatile' "$r/etc/systemd/journald.conf.d/60-moat.conf"

# Read-only root: everything the running system writes is on the data partition (/var) or in /run.
fstab_field() { awk -v m="$1" '$2 == m { print $'"$2"' }' "$r/etc/fstab"; }
check "fstab mounts the root read-only" bash -c "[[ '$(fstab_field / 4)' =~ ^ro(,|$) ]]"
check "fstab mounts the data partition (MOATDATA) on /var" test "$(fstab_field /var 1)" = LABEL=MOATDATA
check "the slot has empty mount points for /var and /boot/firmware" \
  bash -c "test -d '$mnt/boot/firmware' && test -z \"\$(find '$mnt/boot/firmware' -mindepth 1 -print -quit)\""
for file in etc/sysctl.d/60-moat.conf etc/dnsmasq.d/moat-segment.conf etc/modprobe.d/moat-wifi.conf \
  etc/NetworkManager/system-connections; do
  check "/$file links to the data partition" test "$(readlink "$r/$file")" = "/var/lib/moat-host/$file"
done
check "/var/lib/moat-host holds nothing yet (first boot renders it)" \
  test -z "$(find "$r/var/lib/moat-host" -mindepth 1 -print -quit 2>/dev/null)"
check "avahi gets the generated services directory mounted into its chroot" \
  grep -qx 'BindReadOnlyPaths=/var/lib/moat-host/etc/avahi/services:/etc/avahi/services' \
  "$r/etc/systemd/system/avahi-daemon.service.d/60-moat.conf"
check "resolv.conf is NetworkManager's in /run" test "$(readlink "$r/etc/resolv.conf")" = /run/NetworkManager/resolv.conf
check "sshd reads its host keys from the data partition" \
  grep -qx 'HostKey /var/lib/moat-host/etc/ssh/ssh_host_ed25519_key' "$r/etc/ssh/sshd_config.d/60-moat.conf"

# Updates: RAUC with the owner's certificate only, the boot-state backend, the D-Bus policy for Moat's user.
check "rauc and its D-Bus service are installed" test -x "$r/usr/bin/rauc" -a -f "$r/usr/lib/systemd/system/rauc.service"
check "/etc/rauc/system.conf is the appliance's" cmp -s "$r/etc/rauc/system.conf" "$repo/appliance/rauc/system.conf"
check "the RAUC keyring is a certificate" openssl x509 -noout -in "$r/etc/rauc/keyring.pem"
check "the RAUC keyring holds no private key" bash -c "! grep -q 'PRIVATE KEY' '$r/etc/rauc/keyring.pem'"
keys=${MOAT_KEYS_DIR:-$repo/os-image/keys}
if [[ -f $keys/key.pem ]]; then
  # A line of the key's base64 found anywhere in slot A or the data partition would mean it shipped.
  key_line=$(sed -n 2p "$keys/key.pem")
  check "the signing key ($keys/key.pem) is nowhere in slot A or the data partition" \
    bash -c "! grep -rqsF -- '$key_line' '$r'"
fi
check "the boot-state backend and mark-good are installed" \
  test -x "$r/usr/lib/moat/rauc-boot-state" -a -x "$r/usr/lib/moat/mark-good"
check "the D-Bus policy lets Moat's user install through RAUC" \
  grep -q 'send_member="InstallBundle"' "$r/etc/dbus-1/system.d/moat-rauc.conf"
bundle=${image%.img}.raucb
if [[ -f $bundle ]]; then
  check "the update bundle beside the image verifies against the image's keyring" \
    rauc info --keyring="$r/etc/rauc/keyring.pem" "$bundle"
else
  check "the update bundle beside the image exists ($bundle)" false
fi

# Boot partition: the Pi firmware starts U-Boot, which runs boot.scr; the kernel comes from the slot.
check "config.txt starts U-Boot" bash -c "mtype -i '$boot' ::config.txt | grep -qx 'kernel=u-boot.bin'"
check "U-Boot and boot.scr are on the boot partition" \
  bash -c "mdir -b -i '$boot' :: | grep -qx '::/u-boot.bin' && mdir -b -i '$boot' :: | grep -qx '::/boot.scr'"
check "boot.scr is the committed boot.cmd" \
  bash -c "mtype -i '$boot' ::boot.scr | tail -c +73 | grep -aq 'moat-boot: booting slot'"
check "no kernel or initrd on the boot partition (they would go stale after an update)" \
  bash -c "! mdir -b -i '$boot' :: | grep -qE 'vmlinuz|initrd'"
check "slot A has /vmlinuz and /initrd.img" test -f "$r/vmlinuz" -a -f "$r/initrd.img"
check "device trees for Pi 3, 4, 5 and Zero 2 W" bash -c "for d in bcm2837-rpi-3-b bcm2711-rpi-4-b bcm2712-rpi-5-b bcm2837-rpi-zero-2-w; do mdir -b -i '$boot' :: | grep -q \"\$d.dtb\" || exit 1; done"

echo "$passed passed, $failed failed"
((failed == 0))
