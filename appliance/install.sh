#!/bin/bash
# Installs the appliance files and Moat into a root tree (the image build's rootfs, or / on a Pi):
#   appliance/install.sh ROOT APPDIR
# APPDIR holds the built service (package.json, dist/src, fixtures, production node_modules).
# Uses the host's systemd tools with --root, so nothing runs emulated.
set -euo pipefail

root=${1:?usage: install.sh ROOT APPDIR}
app=${2:?usage: install.sh ROOT APPDIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[[ -f "$app/dist/src/cli.js" ]] || { echo "install.sh: $app/dist/src/cli.js missing (build first)" >&2; exit 1; }

echo "install.sh: Moat into $root/opt/moat"
rm -rf "$root/opt/moat"
install -d -m 0755 "$root/opt/moat"
cp -a "$app/." "$root/opt/moat/"
chown -R root:root "$root/opt/moat"
chmod -R u=rwX,go=rX "$root/opt/moat"
install -D -m 0755 "$here/moat.sh" "$root/usr/bin/moat"
install -D -m 0755 "$here/firstboot.sh" "$root/usr/lib/moat/firstboot"
install -D -m 0755 "$here/printer-connections.sh" "$root/usr/lib/moat/printer-connections"

echo "install.sh: units, users, drop-ins"
for unit in "$here"/systemd/*; do install -D -m 0644 "$unit" "$root/etc/systemd/system/$(basename "$unit")"; done
install -D -m 0644 "$here/sysusers.d/moat.conf" "$root/usr/lib/sysusers.d/moat.conf"
install -D -m 0644 "$here/tmpfiles.d/moat.conf" "$root/usr/lib/tmpfiles.d/moat.conf"
install -D -m 0644 "$here/journald/moat.conf" "$root/etc/systemd/journald.conf.d/60-moat.conf"
install -D -m 0644 "$here/ssh/moat.conf" "$root/etc/ssh/sshd_config.d/60-moat.conf"
install -D -m 0644 "$here/preset/moat.preset" "$root/etc/systemd/system-preset/00-moat.preset"
# The console login banner shows the claim code straight from the boot partition (agetty reads
# /etc/issue.d); a link, so the code is never copied onto the root filesystem.
install -d -m 0755 "$root/etc/issue.d"
ln -sfn /boot/firmware/moat-claim.txt "$root/etc/issue.d/moat-claim.issue"

systemd-sysusers --root="$root" "$here/sysusers.d/moat.conf"
systemd-tmpfiles --root="$root" --create "$here/tmpfiles.d/moat.conf"

echo "install.sh: enabling Moat, disabling SSH"
systemctl --root="$root" enable moat.service moat-firstboot.service moat-host-config.path
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
# Labels set by genimage (os-image/genimage.cfg).
LABEL=RASPIROOT  /               ext4  rw,noatime,errors=remount-ro  0  1
LABEL=RASPIFIRM  /boot/firmware  vfat  rw,noatime,umask=0077,nofail,x-systemd.device-timeout=10min  0  2
FSTAB
