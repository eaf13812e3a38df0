#!/bin/bash
# Boots a built image under qemu-system-aarch64 -M virt (software emulation: KVM is unusable here) the way a
# Pi boots it: U-Boot runs the image's boot.scr, which starts system slot A (kernel and initrd from the slot),
# all writes going to a copy of the image; then checks from inside and outside the guest:
#   - systemctl is-system-running = running, no failed units
#   - slot A booted by boot.scr, the root read-only, the generated files on the data partition
#   - first boot ran: claim code on the boot partition, Moat's keys and SSH host keys made, data partition
#     grown, forwarding off
#   - the slot is marked good once Moat is healthy (RAUC, moat-mark-good.service)
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

expect "booted by boot.scr from slot A" "$(guest 90 "grep -o 'rauc\.slot=[AB]' /proc/cmdline")" rauc.slot=A
expect "the root filesystem is mounted read-only" "$(guest 90 findmnt -no OPTIONS / | cut -d, -f1)" ro
expect "the data partition is /var" "$(guest 90 findmnt -no SOURCE /var)" /dev/vda4
expect "/var is read-write" "$(guest 90 findmnt -no OPTIONS /var | cut -d, -f1)" rw
expect "first boot ran (its marker is on the data partition)" \
  "$(guest 90 "test -f /var/lib/moat/.firstboot-done && echo yes")" yes
expect "claim code present on the boot partition" "$(guest 90 "test -s /boot/firmware/moat-claim.txt && echo yes")" yes
expect "Moat's keys made, owned by moat, not readable by others" \
  "$(guest 90 "stat -c '%U %a' /var/lib/moat/tls/server.key")" "moat 600"
expect "SSH host keys made on the data partition" \
  "$(guest 90 "ls /var/lib/moat-host/etc/ssh/ssh_host_ed25519_key >/dev/null && echo yes")" yes
expect "SSH not running" "$(guest 90 systemctl is-active ssh.service)" inactive
expect "machine id made" "$(guest 90 "grep -qx '[0-9a-f]\\{32\\}' /etc/machine-id && echo yes")" yes
expect "the machine ID kept on the data partition for the boot loader (machine-id.env)" \
  "$(guest 90 "cat /var/lib/moat-host/machine-id.env")" "moat_machine_id=$(guest 90 cat /etc/machine-id)"
expect "forwarding off" "$(guest 90 cat /proc/sys/net/ipv4/ip_forward)" 0
# The data partition ends where the image ended; grown, it reaches into the extra GiB.
data_end=$(guest 90 "echo \$(( (\$(cat /sys/class/block/vda4/start) + \$(cat /sys/class/block/vda4/size)) * 512 ))" | tr -d '\r ')
if ((data_end > original_bytes)); then result ok "data partition grown (ends at byte $data_end)"
else result fail "data partition grown (ends at byte '$data_end', the image has $original_bytes)"; fi
# Every line of the generated file in effect (whitespace as sysctl prints it); prints the keys that are not.
# shellcheck disable=SC2016 # expanded by the guest's shell
sysctl_differs='grep -E "^[a-z]" /etc/sysctl.d/60-moat.conf | while IFS="=" read -r k v; do k=$(echo $k); [ "$(sysctl -n "$k" | tr -s " \t" " ")" = "$(echo $v | tr -s " \t" " ")" ] || echo "$k"; done'
expect "Moat's sysctl settings in effect (the file on the data partition)" "$(guest 90 "$sysctl_differs")" ""
expect "moat.service active" "$moat_state" active
# Fail closed: without its nftables table Moat would not have started its bridges.
expect "Moat's firewall table is loaded (nft in the guest)" \
  "$(guest 90 "nft list table inet moat >/dev/null && echo yes")" yes
# What Moat itself said about its firewall (the journal is the evidence that nft ran under its sandbox).
guest 90 "journalctl -b -u moat.service -o cat --no-pager | grep -a -m 3 -i firewall" | sed 's/^/# moat: /' || true
expect "access point keyfile generated on the data partition, root-only" \
  "$(guest 90 "stat -c '%U %a' /var/lib/moat-host/etc/NetworkManager/system-connections/moat-segment.nmconnection")" "root 600"
expect "avahi publishes Moat's service (its file mounted into avahi's chroot)" \
  "$(guest 90 "journalctl -b -u avahi-daemon -o cat --no-pager | grep -c 'Failed to load service group file'")" 0
expect "NetworkManager knows the access point (through the link in /etc)" \
  "$(guest 90 "nmcli -g NAME connection show | grep -x moat-segment")" moat-segment
# shellcheck disable=SC2016 # expanded by the guest's shell
expect "slot A marked good once Moat is healthy (moat-mark-good.service)" \
  "$(guest 700 'until s=$(systemctl is-active moat-mark-good.service); case "$s" in active|failed|inactive) true;; *) false;; esac; do sleep 5; done; echo "$s"' | tail -n 1)" active
expect "RAUC sees slot A booted and good" \
  "$(guest 90 "rauc status --output-format=json 2>/dev/null | grep -o '\"booted\":\"A\"'")" '"booted":"A"'
expect "the boot state gives A its attempts back" \
  "$(guest 90 "tr -d '\\000' </boot/firmware/moat-boot.env | grep -x 'BOOT_A_LEFT=3'")" BOOT_A_LEFT=3

guest_fetch_ca "$work/ca.crt"
code=$(curl -s -o "$work/page.html" -w '%{http_code}' --max-time 30 --cacert "$work/ca.crt" \
  --resolve "moat.local:$port:127.0.0.1" "https://moat.local:$port/" || true)
page_at=$((SECONDS - guest_started))
if [[ $code =~ ^[23][0-9][0-9]$ ]]; then result ok "setup page answers curl with Moat's certificate (HTTP $code)"
else result fail "setup page answers curl with Moat's certificate (HTTP '$code')"; fi

echo "# boot timings: shell ${shell_at} s, running ${booted_at} s, setup page checked ${page_at} s"
# For the record: QEMU's virt board has no watchdog device; systemd says what it made of the setting.
echo "# watchdog: $(guest 30 "systemctl show -p RuntimeWatchdogUSec; journalctl -b -o cat -u init.scope | grep -i -m 2 watchdog" | tr '\n' ' ')"
# For the record (issue 17's arm64 figure): Moat's resident memory on arm64 under emulation, a fresh unclaimed Moat.
echo "# arm64: moat.service resident $(guest_moat_rss)"
if ((failed > 0)); then guest_show_trouble; fi
guest_poweroff
echo "$passed passed, $failed failed"
((failed == 0))
}

main "$@"; exit
