#!/bin/bash
# Boots a built image under qemu-system-aarch64 -M virt (software emulation: KVM is unusable here), with
# the kernel and initrd taken from the image's own boot partition and all writes going to a qcow2 overlay,
# then checks from inside and outside the guest:
#   - systemctl is-system-running = running, no failed units
#   - first boot ran: claim code on the boot partition, Moat's keys and SSH host keys made, root grown,
#     first-boot unit disabled, forwarding off
#   - the setup page answers curl from the host through a port forward on 127.0.0.1, with Moat's certificate
#   os-image/smoke-boot.sh [IMAGE]   (default: the newest os-image/out/moat-*-arm64.img)
# The boot, the guest's consoles and the command channel are in qemu-guest.sh (shared with wifi-test.sh); the
# kernel console and the shell session are kept beside the image as IMAGE-without-.img.smoke-{console,shell}.log.
set -Eeuo pipefail
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap; shellcheck cannot see past "; exit"
# The whole script is one function, read completely before it runs: editing it during a boot (which takes
# minutes) cannot change what the running check executes.
main() {

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=qemu-guest.sh
source "$repo/os-image/qemu-guest.sh"
guest_find_image "${1:-}"
guest_require_tools curl:curl
trap guest_cleanup EXIT

port=$(free_port)
echo "# setup page forwarded to 127.0.0.1:$port"
guest_start smoke ",hostfwd=tcp:127.0.0.1:$port-:443"
guest_wait_shell
guest_settle
state=$guest_state
echo "# shell after ${shell_at} s; system state '$state', moat.service '$moat_state' after ${booted_at} s"
expect "systemctl is-system-running" "$state" running
failed_units=$(guest 90 systemctl --failed --no-legend --plain --full | awk '{ print $1 }' | paste -sd' ')
expect "no failed units" "$failed_units" ""

expect "first boot ran and disabled itself" "$(guest 90 systemctl is-enabled moat-firstboot.service)" disabled
expect "claim code present on the boot partition" "$(guest 90 "test -s /boot/firmware/moat-claim.txt && echo yes")" yes
expect "Moat's keys made, owned by moat, not readable by others" \
  "$(guest 90 "stat -c '%U %a' /var/lib/moat/tls/server.key")" "moat 600"
expect "SSH host keys made" "$(guest 90 "ls /etc/ssh/ssh_host_ed25519_key >/dev/null && echo yes")" yes
expect "SSH not running" "$(guest 90 systemctl is-active ssh.service)" inactive
expect "machine id made" "$(guest 90 "grep -qx '[0-9a-f]\\{32\\}' /etc/machine-id && echo yes")" yes
expect "forwarding off" "$(guest 90 cat /proc/sys/net/ipv4/ip_forward)" 0
root_bytes=$(guest 90 lsblk -bno SIZE /dev/vda2 | tr -d ' ')
if ((root_bytes > original_bytes)); then result ok "root partition grown ($root_bytes bytes)"
else result fail "root partition grown (got $root_bytes bytes)"; fi
expect "moat.service active" "$moat_state" active
# Fail closed: without its nftables table Moat would not have started its bridges.
expect "Moat's firewall table is loaded (nft in the guest)" \
  "$(guest 90 "nft list table inet moat >/dev/null && echo yes")" yes
# What Moat itself said about its firewall (the journal is the evidence that nft ran under its sandbox).
guest 90 "journalctl -b -u moat.service -o cat --no-pager | grep -a -m 3 -i firewall" | sed 's/^/# moat: /' || true
expect "access point keyfile generated, root-only" \
  "$(guest 90 "stat -c '%U %a' /etc/NetworkManager/system-connections/moat-segment.nmconnection")" "root 600"

guest_fetch_ca "$work/ca.crt"
code=$(curl -s -o "$work/page.html" -w '%{http_code}' --max-time 30 --cacert "$work/ca.crt" \
  --resolve "moat.local:$port:127.0.0.1" "https://moat.local:$port/" || true)
page_at=$((SECONDS - guest_started))
if [[ $code =~ ^[23][0-9][0-9]$ ]]; then result ok "setup page answers curl with Moat's certificate (HTTP $code)"
else result fail "setup page answers curl with Moat's certificate (HTTP '$code')"; fi

echo "# boot timings: shell ${shell_at} s, running ${booted_at} s, setup page checked ${page_at} s"
if ((failed > 0)); then guest_show_trouble; fi
guest_poweroff
echo "$passed passed, $failed failed"
((failed == 0))
}

main "$@"; exit
