#!/bin/bash
# Removes from a built root tree everything that must be unique per device or must not ship:
# build-only apt and resolver settings, SSH host keys, the machine id, caches. Run by build.sh.
set -euo pipefail
root=${1:?usage: scrub-rootfs.sh ROOT}

rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/apt/apt.conf.d/99moat-build"
# The image resolves through NetworkManager at run time (its file in /run: the root is read-only); the build
# host's resolver stays behind.
ln -sfn /run/NetworkManager/resolv.conf "$root/etc/resolv.conf"
# Made at first boot on the data partition (moat-firstboot), so every card has its own.
rm -f "$root"/etc/ssh/ssh_host_*
# Empty: on the read-only root systemd puts a machine id made at boot over it (in /run), and does not treat
# every boot as the first ("uninitialized" would: presets re-applied to an /etc that cannot take them).
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
rm -rf "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.bash_history
# Lock every account's password: no login with a password, ever (the console is for the claim code).
sed -i -E 's/^([^:]+):[^:]*:/\1:*:/' "$root/etc/shadow"
echo "scrub-rootfs: done"
