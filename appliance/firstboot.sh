#!/bin/bash
# Moat first boot (run once by moat-firstboot.service, as root, before the network and Moat start):
# grow the data partition (/var) to the card, make the SSH host keys, let `moat init` make Moat's keys,
# certificates and the claim code (written to the boot partition), then write the host configuration
# generated from Moat's settings. The root is a read-only system slot: what this makes goes to /var, where
# the links in /etc point (appliance/install.sh). Nothing secret is printed: the journal must never hold one.
set -euo pipefail

state=/var/lib/moat
host_dir=/var/lib/moat-host
moat() { /usr/bin/node /opt/moat/dist/src/cli.js "$@"; }

grow_data() {
  local part disk number
  part=$(findmnt -no SOURCE /var)
  disk=/dev/$(lsblk -no PKNAME "$part")
  number=$(cat "/sys/class/block/$(basename "$part")/partition")
  # growpart exits 1 when there is nothing to grow (NOCHANGE): not an error on a second run.
  growpart "$disk" "$number" || [[ $? -eq 1 ]]
  resize2fs "$part"
  echo "moat-firstboot: data filesystem on $part is $(df -h --output=size /var | tail -n 1 | tr -d ' ')"
}

echo "moat-firstboot: growing the data partition"
grow_data

# systemd made this boot's machine ID in /run (the root is read-only); the boot loader passes this copy to
# every later boot (systemd.machine_id=, appliance/boot/boot.cmd), so the ID stays the machine's own.
echo "moat-firstboot: keeping the machine ID on the data partition"
machine_id=$(cat /etc/machine-id)
if [[ $machine_id =~ ^[0-9a-f]{32}$ ]]; then
  install -d -m 0755 "$host_dir"
  printf 'moat_machine_id=%s\n' "$machine_id" >"$host_dir/machine-id.env.new"
  mv "$host_dir/machine-id.env.new" "$host_dir/machine-id.env"
else
  echo "moat-firstboot: /etc/machine-id holds no ID; systemd will make one at every boot"
fi

echo "moat-firstboot: making SSH host keys (SSH stays disabled until enabled in the setup page)"
install -d -m 0755 "$host_dir/etc/ssh"
ssh-keygen -A -f "$host_dir"

echo "moat-firstboot: making Moat's keys, certificates and claim code"
install -d -m 0700 -o moat -g moat "$state"
# `moat init` prints the claim code: keep it out of the journal. The owner reads it from moat-claim.txt on
# the boot partition, or on the console's login banner (/etc/issue.d links to that file).
moat init --state-dir "$state" >/dev/null

echo "moat-firstboot: writing the printer access point, DHCP/DNS, mDNS and sysctl files"
moat appliance render --state-dir "$state" --out "$host_dir"
sysctl --quiet --load=/etc/sysctl.d/60-moat.conf

# moat init ran as root (the claim file lives on the root-owned boot partition); the service runs as moat.
chown -R moat:moat "$state"
touch "$state/.firstboot-done"
echo "moat-firstboot: done"
