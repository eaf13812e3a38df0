#!/bin/bash
# Boots a built image under qemu-system-aarch64 -M virt (software emulation: KVM is unusable here), with
# the kernel and initrd taken from the image's own boot partition and all writes going to a qcow2 overlay,
# then checks from inside and outside the guest:
#   - systemctl is-system-running = running, no failed units
#   - first boot ran: claim code on the boot partition, Moat's keys and SSH host keys made, root grown,
#     first-boot unit disabled, forwarding off
#   - the setup page answers curl from the host through a port forward on 127.0.0.1, with Moat's certificate
#   os-image/smoke-boot.sh [IMAGE]   (default: the newest os-image/out/moat-*-arm64.img)
# The guest network is QEMU's user network with restrict=on: the guest reaches nothing but the forward.
# Commands reach the guest through systemd's debug shell on a virtio console (hvc0), asked for on the kernel
# command line that only this script passes (the image itself has no login, no password, no debug shell).
# The kernel console (ttyAMA0) goes to its own log, kept beside the image as IMAGE-without-.img.smoke-console.log.
# Nothing is typed into the guest before the shell shows its prompt: systemd 257 probes a terminal's size
# with ANSI queries (ESC[6n) when a service opens it and reads whatever arrives as the answer, and input
# typed into the serial console during boot left the debug shell deaf in earlier runs.
set -Eeuo pipefail
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap; shellcheck cannot see past "; exit"
# The whole script is one function, read completely before it runs: editing it during a boot (which takes
# minutes) cannot change what the running check executes.
main() {

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${1:-$(find "$repo/os-image/out" -maxdepth 1 -name 'moat-*-arm64.img' -printf '%T@ %p\n' 2>/dev/null |
  sort -n | tail -n 1 | cut -d' ' -f2-)}
[[ -n "$image" && -f "$image" ]] || { echo "smoke-boot.sh: no image (npm run image first, or pass its path)" >&2; exit 2; }
boot_timeout=${MOAT_SMOKE_TIMEOUT:-900}

missing=()
for tool in qemu-system-aarch64:qemu-system-arm qemu-img:qemu-utils mcopy:mtools curl:curl; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
  [[ $EUID -eq 0 ]] || { echo "smoke-boot.sh: missing ${missing[*]}" >&2; exit 2; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" ipxe-qemu >/dev/null
fi

work=$(mktemp -d /var/tmp/moat-smoke.XXXXXX)
console_copy="${image%.img}.smoke-console.log"
qemu_pid=""
cleanup() {
  # Never stop half way (errexit applies here too): the guest, the console reader, then the files.
  if [[ -n "$qemu_pid" ]]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  if [[ -n "${reader_pid:-}" ]]; then kill "$reader_pid" 2>/dev/null || true; fi
  # The kernel console and the shell session stay beside the image for reading after the run (no secret
  # in them: the claim code never reaches the console, the debug shell only prints what the checks ask).
  if [[ -f "$work/console.log" ]]; then tr -d '\r' <"$work/console.log" >"$console_copy" || true; fi
  if [[ -f "$work/shell.log" ]]; then tr -d '\r' <"$work/shell.log" >"${console_copy%-console.log}-shell.log" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
result() {
  if [[ $1 == ok ]]; then passed=$((passed + 1)); echo "ok - $2"; else failed=$((failed + 1)); echo "not ok - $2"; fi
}
expect() { # expect WHAT ACTUAL WANTED
  if [[ "$2" == "$3" ]]; then result ok "$1"; else result fail "$1 (got '$2', want '$3')"; fi
}

echo "# kernel and initrd from the image's boot partition"
boot="$image@@4M"
kernel=$(mdir -b -i "$boot" :: | sed -n 's|^::/||p' | grep '^vmlinuz-' | sort -V | tail -n 1)
initrd=${kernel/vmlinuz-/initrd.img-}
mcopy -n -i "$boot" "::$kernel" "$work/vmlinuz"
mcopy -n -i "$boot" "::$initrd" "$work/initrd.img"
original_bytes=$(stat -c %s "$image")
# 1 GiB more than the image: first boot must grow the root filesystem into it.
qemu-img create -q -f qcow2 -b "$(realpath "$image")" -F raw "$work/overlay.qcow2" "$((original_bytes + 1024 * 1024 * 1024))"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkfifo "$work/shell.in" "$work/shell.out"
# hvc0 carries a root shell instead of the login prompt systemd would put on a virtual console (no one could
# use it: no passwords); the serial port only carries the kernel console, read into console.log.
shell_args="systemd.debug_shell=hvc0 systemd.mask=serial-getty@hvc0.service systemd.mask=serial-getty@ttyAMA0.service"
echo "# booting $(basename "$image") ($kernel), setup page forwarded to 127.0.0.1:$port"
started=$SECONDS
qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 -display none -no-reboot \
  -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
  -append "root=LABEL=RASPIROOT rw console=ttyAMA0 net.ifnames=0 rootwait quiet $shell_args" \
  -drive "file=$work/overlay.qcow2,format=qcow2,if=virtio" \
  -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:443" -device virtio-net-pci,netdev=n0 \
  -serial "file:$work/console.log" \
  -device virtio-serial-pci -chardev "pipe,id=shell,path=$work/shell" -device virtconsole,chardev=shell &
qemu_pid=$!
cat "$work/shell.out" >"$work/shell.log" &
reader_pid=$!
exec 3>"$work/shell.in"

# Runs a command in the guest's debug shell and prints its output, waiting for an end marker with a
# deadline. The markers are spelt with quotes in the command, so the terminal's echo of the command line
# never looks like the markers the shell prints.
# The console as plain lines: no carriage returns, no terminal control sequences (bash's prompt sends some).
console_text() { tr -d '\r' <"$work/shell.log" | sed 's/\x1b\[[0-9;?!]*[A-Za-z]//g; s/\x1b\[!p//g'; }
guest() {
  local timeout=$1
  shift
  # Kept in a file: guest runs inside $(...), whose variables do not reach the next call.
  sequence=$(($(cat "$work/sequence" 2>/dev/null || echo 0) + 1))
  echo "$sequence" >"$work/sequence"
  # The shell is on a terminal: no pager, no colours.
  printf 'export SYSTEMD_PAGER=cat SYSTEMD_COLORS=0; echo "__ms"_%s; %s; echo "__me"_%s_$?\n' \
    "$sequence" "$*" "$sequence" >&3
  local deadline=$((SECONDS + timeout))
  until console_text | grep -aq "^__me_${sequence}_[0-9]"; do
    if ((SECONDS > deadline)) || ! kill -0 "$qemu_pid" 2>/dev/null; then
      echo "# guest command timed out: $*" >&2
      return 124
    fi
    sleep 1
  done
  console_text |
    awk -v s="__ms_$sequence" -v e="__me_${sequence}_" 'index($0, e) == 1 { exit } found { print } $0 == s { found = 1 }'
}

echo "# waiting for the debug shell (kernel, initrd, first boot; up to $boot_timeout s)"
deadline=$((started + boot_timeout))
shell_up() { console_text | grep -aq 'root@[^ ]*# '; }
until shell_up && guest 30 true >/dev/null 2>&1; do
  if ((SECONDS > deadline)) || ! kill -0 "$qemu_pid" 2>/dev/null; then
    echo "not ok - the guest never offered a shell; last console lines:"
    tail -n 40 "$work/console.log" | tr -d '\r' | sed 's/^/#   /'
    echo "0 passed, 1 failed"
    exit 1
  fi
  sleep 2
done
shell_at=$((SECONDS - started))
# Under heavy emulation D-Bus calls can time out ("unknown"): ask again until systemd gives a real answer.
# shellcheck disable=SC2016 # expanded by the guest's shell
state=$(guest "$boot_timeout" 'until s=$(systemctl is-system-running --wait 2>/dev/null); case "$s" in running|degraded|maintenance|stopping) true;; *) false;; esac; do sleep 5; done; echo "$s"' | tail -n 1)
# moat.service may still be starting (or waiting to restart) when the boot transaction is over: wait until it
# settles, then ask again, so a late failure of Moat counts.
# shellcheck disable=SC2016 # expanded by the guest's shell
moat_state=$(guest "$boot_timeout" 'until s=$(systemctl is-active moat.service); case "$s" in active|failed|inactive) true;; *) false;; esac; do sleep 5; done; echo "$s"' | tail -n 1)
if [[ $state == running ]]; then state=$(guest 90 systemctl is-system-running | tail -n 1); fi
booted_at=$((SECONDS - started))
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

# The PEM file ends without a newline: the echo puts the end marker on its own line.
guest 90 "cat /var/lib/moat/tls/ca.crt; echo" >"$work/ca.crt" || true
code=$(curl -s -o "$work/page.html" -w '%{http_code}' --max-time 30 --cacert "$work/ca.crt" \
  --resolve "moat.local:$port:127.0.0.1" "https://moat.local:$port/" || true)
page_at=$((SECONDS - started))
if [[ $code =~ ^[23][0-9][0-9]$ ]]; then result ok "setup page answers curl with Moat's certificate (HTTP $code)"
else result fail "setup page answers curl with Moat's certificate (HTTP '$code')"; fi

echo "# boot timings: shell ${shell_at} s, running ${booted_at} s, setup page checked ${page_at} s"
if ((failed > 0)); then
  echo "# console (last 60 lines):"
  tail -n 60 "$work/console.log" | tr -d '\r' | sed 's/^/#   /'
  guest 90 journalctl -b --no-pager -p warning | tail -n 40 | sed 's/^/#   /' || true
fi
guest 10 systemctl poweroff >/dev/null 2>&1 || true
deadline=$((SECONDS + 120))
while kill -0 "$qemu_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
echo "$passed passed, $failed failed"
((failed == 0))
}

main "$@"; exit
