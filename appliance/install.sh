#!/bin/bash
# Installs the appliance files and Moat into the image build's root tree:
#   appliance/install.sh ROOT APPDIR KEYRING
# APPDIR holds the built service (package.json, dist/src, fixtures, production node_modules); KEYRING is the
# certificate update bundles must be signed with (os-image/bundle.sh --key makes it), never the key.
# The tree becomes a read-only system slot (docs/updates.md): what the appliance writes at run time goes to
# /var (the data partition) or /run. Uses the host's systemd tools with --root, so nothing runs emulated.
set -euo pipefail

usage="usage: install.sh ROOT APPDIR KEYRING"
root=${1:?$usage}
app=${2:?$usage}
keyring=${3:?$usage}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Files generated from Moat's settings and per-device keys, on the data partition (moat appliance render
# --out and ssh-keygen -f write below it, mirroring /etc); /etc holds links to them.
host_dir=/var/lib/moat-host

[[ -f "$app/dist/src/cli.js" ]] || { echo "install.sh: $app/dist/src/cli.js missing (build first)" >&2; exit 1; }
openssl x509 -noout -in "$keyring" 2>/dev/null || { echo "install.sh: $keyring is not a certificate" >&2; exit 1; }
if grep -q 'PRIVATE KEY' "$keyring"; then echo "install.sh: $keyring holds a private key; give the certificate only" >&2; exit 1; fi

echo "install.sh: Moat into $root/opt/moat"
rm -rf "$root/opt/moat"
install -d -m 0755 "$root/opt/moat"
cp -a "$app/." "$root/opt/moat/"
chown -R root:root "$root/opt/moat"
chmod -R u=rwX,go=rX "$root/opt/moat"
install -D -m 0755 "$here/moat.sh" "$root/usr/bin/moat"
install -D -m 0755 "$here/firstboot.sh" "$root/usr/lib/moat/firstboot"
install -D -m 0755 "$here/printer-connections.sh" "$root/usr/lib/moat/printer-connections"

echo "install.sh: RAUC (configuration, keyring, boot-state backend, D-Bus policy, marking good)"
install -D -m 0644 "$here/rauc/system.conf" "$root/etc/rauc/system.conf"
install -D -m 0644 "$keyring" "$root/etc/rauc/keyring.pem"
install -D -m 0755 "$here/rauc/boot-state.sh" "$root/usr/lib/moat/rauc-boot-state"
install -D -m 0755 "$here/mark-good.sh" "$root/usr/lib/moat/mark-good"
install -D -m 0644 "$here/dbus/moat-rauc.conf" "$root/etc/dbus-1/system.d/moat-rauc.conf"

echo "install.sh: boot partition (U-Boot started by the Pi firmware, boot.scr picks slot A or B)"
fw="$root/boot/firmware"
install -m 0644 "$root/usr/lib/u-boot/rpi_arm64/u-boot.bin" "$fw/u-boot.bin"
install -m 0644 "$here/boot/config.txt" "$fw/config.txt"
mkimage -A arm64 -T script -C none -n "Moat A/B boot" -d "$here/boot/boot.cmd" "$fw/boot.scr" >/dev/null
# The kernel and initrd start from the chosen slot (/vmlinuz, /initrd.img), so they update with it; copies on
# the boot partition would go stale, and the firmware's cmdline.txt is not read (U-Boot sets the command line).
rm -f "$fw"/vmlinuz-* "$fw"/initrd.img-* "$fw/cmdline.txt"

echo "install.sh: units, users, drop-ins"
for unit in "$here"/systemd/*; do install -D -m 0644 "$unit" "$root/etc/systemd/system/$(basename "$unit")"; done
install -D -m 0644 "$here/sysusers.d/moat.conf" "$root/usr/lib/sysusers.d/moat.conf"
install -D -m 0644 "$here/tmpfiles.d/moat.conf" "$root/usr/lib/tmpfiles.d/moat.conf"
install -D -m 0644 "$here/journald/moat.conf" "$root/etc/systemd/journald.conf.d/60-moat.conf"
install -D -m 0644 "$here/watchdog/moat.conf" "$root/etc/systemd/system.conf.d/60-moat-watchdog.conf"
install -D -m 0644 "$here/ssh/moat.conf" "$root/etc/ssh/sshd_config.d/60-moat.conf"
install -D -m 0644 "$here/preset/moat.preset" "$root/etc/systemd/system-preset/00-moat.preset"
install -D -m 0644 "$here/avahi/moat.conf" "$root/etc/systemd/system/avahi-daemon.service.d/60-moat.conf"
# The console login banner shows the claim code straight from the boot partition (agetty reads
# /etc/issue.d); a link, so the code is never copied onto the root filesystem.
install -d -m 0755 "$root/etc/issue.d"
ln -sfn /boot/firmware/moat-claim.txt "$root/etc/issue.d/moat-claim.issue"

systemd-sysusers --root="$root" "$here/sysusers.d/moat.conf"
systemd-tmpfiles --root="$root" --create "$here/tmpfiles.d/moat.conf"

echo "install.sh: enabling Moat, disabling SSH"
systemctl --root="$root" enable moat.service moat-firstboot.service moat-host-config.path moat-mark-good.service \
  moat-sysctl.service moat-reboot.path
systemctl --root="$root" disable ssh.service ssh.socket 2>/dev/null || true
# An appliance has nobody at the console to answer systemd-firstboot's locale/timezone/password prompts
# (they would hold the boot forever); NetworkManager, not systemd-networkd, runs the network; and the SSH
# generator would bind sshd to vsock/AF_UNIX on its own, while SSH stays off until the owner enables it.
systemctl --root="$root" mask systemd-firstboot.service
systemctl --root="$root" disable systemd-networkd.service systemd-networkd.socket \
  systemd-networkd-wait-online.service systemd-network-generator.service 2>/dev/null || true
install -d -m 0755 "$root/etc/systemd/system-generators"
ln -sfn /dev/null "$root/etc/systemd/system-generators/systemd-ssh-generator"
# Wait for the network before Moat resolves its LAN address.
systemctl --root="$root" enable NetworkManager-wait-online.service 2>/dev/null || true

echo "moat" >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmoat\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<'FSTAB'
# The root is the system slot boot.scr chose (root=PARTUUID=… on the command line), always read-only.
# Labels set by genimage (os-image/genimage.cfg).
/dev/root        /               ext4  ro,noatime  0  1
LABEL=MOATDATA   /var            ext4  rw,noatime,nodev,nosuid,errors=remount-ro  0  2
LABEL=RASPIFIRM  /boot/firmware  vfat  rw,noatime,umask=0077,nofail,x-systemd.device-timeout=10min  0  2
FSTAB

echo "install.sh: links from /etc to what is generated on the data partition"
# The paths moat appliance render writes (src/appliance/host-files.ts), below $host_dir.
# (avahi's services directory is mounted over /etc/avahi/services instead: avahi-daemon reads it in a chroot.)
for file in etc/modprobe.d/moat-wifi.conf etc/dnsmasq.d/moat-segment.conf etc/sysctl.d/60-moat.conf; do
  install -d -m 0755 "$(dirname "$root/$file")"
  ln -sfn "$host_dir/$file" "$root/$file"
done
# A directory: render adds and removes one keyfile per printer there.
rm -rf "$root/etc/NetworkManager/system-connections"
ln -sfn "$host_dir/etc/NetworkManager/system-connections" "$root/etc/NetworkManager/system-connections"
# NetworkManager keeps resolv.conf in /run and leaves a link to it alone.
ln -sfn /run/NetworkManager/resolv.conf "$root/etc/resolv.conf"
