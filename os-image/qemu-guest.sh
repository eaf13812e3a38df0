# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the scripts that source this file
# Sourced by smoke-boot.sh, update-test.sh, wifi-test.sh and footprint-arm64.sh (not a command of its own): boots a built image under
# qemu-system-aarch64 -M virt (software emulation: KVM is unusable here) through U-Boot and the image's own
# boot.scr, all writes going to a copy of the image, and runs commands in the guest.
# Commands reach the guest through systemd's debug shell on a virtio console (hvc0), asked for on the kernel
# command line that only these scripts pass (the image itself has no login, no password, no debug shell).
# A second virtio console (hvc1) is written to a file in the work directory only: what the host must learn
# from the guest but must not keep in a log (the claim code) travels there.
# Nothing is typed into the guest before the shell shows its prompt: systemd 257 probes a terminal's size
# with ANSI queries (ESC[6n) when a service opens it and reads whatever arrives as the answer, and input
# typed into the serial console during boot left the debug shell deaf in earlier runs.
# The caller sets `repo` and calls, in order: guest_find_image, guest_require_tools, guest_start, then
# guest_wait_shell and guest_settle; `guest_cleanup` belongs in its EXIT trap.

# The image given as $1, else the newest os-image/out/moat-*-arm64.img; exits 2 when there is none.
guest_find_image() {
  image=${1:-$(find "$repo/os-image/out" -maxdepth 1 -name 'moat-*-arm64.img' -printf '%T@ %p\n' 2>/dev/null |
    sort -n | tail -n 1 | cut -d' ' -f2-)}
  [[ -n "$image" && -f "$image" ]] || {
    echo "$(basename "$0"): no image (npm run image first, or pass its path)" >&2
    exit 2
  }
  boot_timeout=${MOAT_SMOKE_TIMEOUT:-900}
  uboot=/usr/lib/u-boot/qemu_arm64/u-boot.bin
}

# guest_require_tools COMMAND:PACKAGE ...: installs what is missing (as root), else exits 2 naming it.
guest_require_tools() {
  local tool missing=()
  for tool in qemu-system-aarch64:qemu-system-arm mcopy:mtools "$@"; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
  done
  [[ -f $uboot ]] || missing+=(u-boot-qemu)
  if ((${#missing[@]})); then
    [[ $EUID -eq 0 ]] || { echo "$(basename "$0"): missing ${missing[*]}" >&2; exit 2; }
    apt-get install -y -qq --no-install-recommends "${missing[@]}" ipxe-qemu >/dev/null
  fi
}

passed=0
failed=0
# Check lines: "ok - …"/"not ok - …" unless the caller sets other words (wifi-test.sh prints PASS/FAIL).
check_ok=${check_ok:-ok -}
check_failed=${check_failed:-not ok -}
result() {
  if [[ $1 == ok ]]; then passed=$((passed + 1)); echo "$check_ok $2"; else failed=$((failed + 1)); echo "$check_failed $2"; fi
}
expect() { # expect WHAT ACTUAL WANTED
  if [[ "$2" == "$3" ]]; then result ok "$1"; else result fail "$1 (got '$2', want '$3')"; fi
}

# guest_start LOGNAME NETDEV-OPTIONS [QEMU-ARGS...]: boots the image in the background the way a Pi does: the
# firmware's part is played by Debian's U-Boot for QEMU (u-boot-qemu), which runs the image's own boot.scr; that
# picks a system slot from moat-boot.env and loads the kernel and initrd from it. LOGNAME names the logs kept
# beside the image (IMAGE-without-.img.LOGNAME-{console,shell}.log); NETDEV-OPTIONS are appended to QEMU's
# user network (host forwards). The guest network is QEMU's user network with restrict=on: the guest reaches
# nothing but the forwards. The guest writes to a sparse copy of the image, 1 GiB larger (first boot grows the
# data partition into it).
guest_start() {
  local log_name=$1 netdev_options=$2
  shift 2
  # Started again after guest_power_cut: the same disk, as a Pi powered on again.
  if [[ -z ${work:-} ]]; then
    work=$(mktemp -d /var/tmp/moat-guest.XXXXXX)
    console_copy="${image%.img}.$log_name-console.log"
    original_bytes=$(stat -c %s "$image")
    cp --sparse=always "$image" "$work/disk.img"
    truncate -s "+1G" "$work/disk.img"
    mkfifo "$work/shell.in" "$work/shell.out"
    : >"$work/private"
    # The command line is boot.scr's (U-Boot sets it); moat_console is the part a card may change in
    # moat-boot.env (boot.cmd imports and keeps it): the serial console plus, for these scripts only, a root shell
    # on hvc0 instead of the login prompt systemd would put on a virtual console (no one could use it: no
    # passwords); the serial port only carries the kernel console, read into console.log. Written on the fresh
    # card only: after a power cut the file holds the boot state, which is what is being tested.
    local console="console=ttyAMA0 quiet systemd.debug_shell=hvc0 systemd.mask=serial-getty@hvc0.service"
    console+=" systemd.mask=serial-getty@ttyAMA0.service systemd.mask=serial-getty@hvc1.service"
    printf 'moat_console=%s\n' "$console" >"$work/moat-boot.env"
    mcopy -o -i "$work/disk.img@@4M" "$work/moat-boot.env" ::moat-boot.env
  fi
  # A reboot ends QEMU unless the caller set guest_reboots=1 (update-test.sh reboots into the other slot).
  local reboot=(-no-reboot)
  if [[ ${guest_reboots:-0} == 1 ]]; then reboot=(); fi
  echo "# booting $(basename "$image") with U-Boot ($uboot)"
  guest_started=$SECONDS
  # Under nice/ionice: the host's other work (test suites) keeps priority over the emulated guest.
  nice -n 19 ionice -c3 qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m "${guest_memory:-1024}" \
    -display none "${reboot[@]}" -bios "$uboot" \
    -drive "file=$work/disk.img,format=raw,if=virtio" \
    -netdev "user,id=n0,restrict=on$netdev_options" -device virtio-net-pci,netdev=n0 \
    -serial "file:$work/console.log" \
    -device virtio-serial-pci -chardev "pipe,id=shell,path=$work/shell" -device virtconsole,chardev=shell \
    -chardev "file,id=private,path=$work/private" -device virtconsole,chardev=private \
    "$@" &
  qemu_pid=$!
  shell_from=$(stat -c %s "$work/shell.log" 2>/dev/null || echo 0)
  cat "$work/shell.out" >>"$work/shell.log" &
  reader_pid=$!
  exec 3>"$work/shell.in"
}

guest_cleanup() {
  # Never stop half way (errexit applies here too): the guest, the console reader, then the files.
  if [[ -n "${qemu_pid:-}" ]]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  if [[ -n "${reader_pid:-}" ]]; then kill "$reader_pid" 2>/dev/null || true; fi
  [[ -n "${work:-}" ]] || return 0
  # The kernel console and the shell session stay beside the image for reading after the run (no secret
  # in them: secrets only cross the private console, whose file goes with the work directory).
  if [[ -f "$work/console.log" ]]; then tr -d '\r' <"$work/console.log" >"$console_copy" || true; fi
  if [[ -f "$work/shell.log" ]]; then tr -d '\r' <"$work/shell.log" >"${console_copy%-console.log}-shell.log" || true; fi
  rm -rf "$work"
}

# The console as plain lines from the current boot on (shell_from: bytes of the shell log before it): no carriage
# returns, no terminal control sequences (bash's prompt sends some).
console_text() { tail -c +"$((${shell_from:-0} + 1))" "$work/shell.log" | tr -d '\r' | sed 's/\x1b\[[0-9;?!]*[A-Za-z]//g; s/\x1b\[!p//g'; }

# Pulls the plug: QEMU killed at once (SIGKILL), nothing written back; guest_start boots the same disk again.
guest_power_cut() {
  kill -KILL "$qemu_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  kill "$reader_pid" 2>/dev/null || true
  exec 3>&-
}

# guest_moat_rss: moat.service's resident memory in the guest, as the kernel reports it (VmRSS; the image has no ps).
guest_moat_rss() { guest 30 "grep VmRSS /proc/\$(systemctl show -p MainPID --value moat.service)/status"; }

# guest_boots SLOT: how many times boot.scr has started SLOT (A, B, or "" for either) since QEMU started.
guest_boots() { tr -d '\r' <"$work/console.log" | grep -c "moat-boot: booting slot ${1:-}" || true; }

# guest_await_boot BOOTS: waits until boot.scr has started a slot more than BOOTS times, then for that boot's shell
# and its settling. (The old system's shell still answers for a while after a reboot is asked for.)
guest_await_boot() {
  local deadline=$((SECONDS + boot_timeout))
  until (($(guest_boots "") > $1)); do
    if ((SECONDS > deadline)) || ! kill -0 "$qemu_pid" 2>/dev/null; then
      result fail "boot.scr started no slot after the reboot"
      return 1
    fi
    sleep 2
  done
  shell_from=$(stat -c %s "$work/shell.log")
  guest_started=$SECONDS
  guest_wait_shell
  guest_settle
}

# guest TIMEOUT COMMAND...: runs a command in the guest's debug shell and prints its output, waiting for an
# end marker with a deadline; returns 124 on timeout, else the command's exit status. The markers are spelt
# with quotes in the command, so the terminal's echo of the command line never looks like the markers the
# shell prints.
guest() {
  local timeout=$1
  shift
  # Kept in a file: guest runs inside $(...), whose variables do not reach the next call.
  local sequence
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
  return "$(console_text | sed -n "s/^__me_${sequence}_\([0-9]*\).*/\1/p" | head -n 1)"
}

# guest_private TIMEOUT COMMAND...: like guest, but the command's output goes to the private console and is
# printed here, never into the shell log.
guest_private() {
  local timeout=$1 before
  shift
  before=$(stat -c %s "$work/private")
  guest "$timeout" "{ $*; } >/dev/hvc1; echo __private_done >/dev/hvc1" >/dev/null || return
  local deadline=$((SECONDS + timeout))
  until tail -c +"$((before + 1))" "$work/private" | grep -aq '^__private_done'; do
    ((SECONDS < deadline)) || return 124
    sleep 1
  done
  tail -c +"$((before + 1))" "$work/private" | tr -d '\r' | sed '/^__private_done$/,$d'
}

# Waits for the debug shell (kernel, initrd, first boot); on failure prints the console's tail and exits 1.
guest_wait_shell() {
  echo "# waiting for the debug shell (kernel, initrd, first boot; up to $boot_timeout s)"
  local deadline=$((guest_started + boot_timeout))
  until console_text | grep -aq 'root@[^ ]*# ' && guest 30 true >/dev/null 2>&1; do
    if ((SECONDS > deadline)) || ! kill -0 "$qemu_pid" 2>/dev/null; then
      result fail "the guest never offered a shell; last console lines:"
      tail -n 40 "$work/console.log" | tr -d '\r' | sed 's/^/#   /'
      echo "$passed passed, $failed failed"
      exit 1
    fi
    sleep 2
  done
  shell_at=$((SECONDS - guest_started))
}

# Waits until the boot is over and moat.service has settled; sets guest_state (is-system-running),
# moat_state (moat.service) and booted_at (seconds since power-on).
guest_settle() {
  # Under heavy emulation D-Bus calls can time out ("unknown"): ask again until systemd gives a real answer.
  # shellcheck disable=SC2016 # expanded by the guest's shell
  guest_state=$(guest "$boot_timeout" 'until s=$(systemctl is-system-running --wait 2>/dev/null); case "$s" in running|degraded|maintenance|stopping) true;; *) false;; esac; do sleep 5; done; echo "$s"' | tail -n 1)
  # moat.service may still be starting (or waiting to restart) when the boot transaction is over: wait until
  # it settles, then ask again, so a late failure of Moat counts.
  # shellcheck disable=SC2016 # expanded by the guest's shell
  moat_state=$(guest "$boot_timeout" 'until s=$(systemctl is-active moat.service); case "$s" in active|failed|inactive) true;; *) false;; esac; do sleep 5; done; echo "$s"' | tail -n 1)
  if [[ $guest_state == running ]]; then guest_state=$(guest 90 systemctl is-system-running | tail -n 1); fi
  booted_at=$((SECONDS - guest_started))
}

# Moat's CA certificate from the guest (the PEM file ends without a newline: the echo ends its last line).
guest_fetch_ca() { guest 90 "cat /var/lib/moat/tls/ca.crt; echo" >"$1" || true; }

# On failure: the kernel console's and the journal's last lines.
guest_show_trouble() {
  echo "# console (last 60 lines):"
  tail -n 60 "$work/console.log" | tr -d '\r' | sed 's/^/#   /'
  guest 90 journalctl -b --no-pager -p warning | tail -n 40 | sed 's/^/#   /' || true
}

guest_poweroff() {
  guest 10 systemctl poweroff >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 120))
  while kill -0 "$qemu_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
}

# The setup page's API from the host, through the forward of port 443 to 127.0.0.1:$https_port; the caller sets
# https_port and secrets (a 0700 directory for the CA, cookies and request bodies, removed at the end).
csrf=""
# shellcheck disable=SC2154 # https_port and secrets are the caller's
api() { # api METHOD PATH [BODY-FILE [CONTENT-TYPE]]: prints the body, then the HTTP status on its own line
  curl -sS --max-time "${api_timeout:-180}" --cacert "$secrets/ca.crt" --resolve "moat.local:$https_port:127.0.0.1" \
    -b "$secrets/cookies" -c "$secrets/cookies" -H "X-CSRF-Token: $csrf" -H "Content-Type: ${4:-application/json}" \
    -X "$1" ${3:+--data-binary "@$3"} -w '\n%{http_code}' "https://moat.local:$https_port$2" || echo -e "\n000"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
body() { # body NAME JQ-FILTER [--arg NAME VALUE | --rawfile NAME FILE]...: a JSON request body in a 0600 file
  local name=$1 filter=$2
  shift 2
  (umask 077 && jq -n "$@" "$filter" >"$secrets/$name.json")
  echo "$secrets/$name.json"
}

# Claims the guest's Moat through the API with the password in $secrets/admin-password: the claim code crosses
# the private console, never a log. Leaves the session's CSRF token in csrf.
guest_claim() {
  local reply
  # shellcheck disable=SC2016 # jq expands these
  csrf=$(body_of "$(api GET /api/session)" | jq -r .csrfToken)
  guest_private 60 "cat /boot/firmware/moat-claim.txt" | sed -n 's/.*[Cc]laim code:[[:space:]]*\([^[:space:]]*\).*/\1/p' |
    head -n 1 | tr -d '\n' >"$secrets/claim-code"
  # shellcheck disable=SC2016 # jq expands these
  reply=$(api POST /api/claim "$(body claim '{code: $code, password: $password}' \
    --rawfile code "$secrets/claim-code" --rawfile password "$secrets/admin-password")")
  expect "claimed through the setup API" "$(status_of "$reply")" 200
  csrf=$(body_of "$reply" | jq -r .csrfToken)
}

# A free TCP port on the host's loopback, for a forward.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
