#!/bin/bash
# The A/B update under QEMU (issue 16), on a built image: boots it the way smoke-boot.sh does (U-Boot, boot.scr,
# slot A), makes the owner's settings through the setup page's API, then:
#   - bundle N+1 (this image's root filesystem with a marker file) is uploaded and installed through the API,
#     the restart asked for through the API reboots the guest into slot B, N+1 runs, is marked good, and every
#     setting made before is there, the machine ID too
#   - a bundle signed by a foreign key is refused through the API, nothing installed
#   - bundle N+2 (Moat made to fail) is installed; its slot fails its health check on every attempt and the
#     boot loader falls back to N+1 by itself
#   - QEMU killed in the middle of an install still boots N+1
#   os-image/update-test.sh [IMAGE]   (default: the newest os-image/out/moat-*-arm64.img; as root)
# The bundles are made here from the image's slot A with os-image/bundle.sh (the build's key; the foreign one
# is made in a temporary directory). Prints one "ok"/"not ok" line per check, every stage's time, and
# "N passed, M failed". Logs beside the image: IMAGE-without-.img.update-{console,shell}.log.
set -Eeuo pipefail
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap; shellcheck cannot see past "; exit"
# shellcheck disable=SC2016 # jq programs and guest commands in single quotes: jq or the guest's shell expands them
# The whole script is one function, read completely before it runs (editing it during a run changes nothing).
main() {

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=qemu-guest.sh
source "$repo/os-image/qemu-guest.sh"
guest_find_image "${1:-}"
guest_require_tools curl:curl jq:jq debugfs:e2fsprogs rauc:rauc mksquashfs:squashfs-tools
secrets=$(mktemp -d /var/tmp/moat-update.XXXXXX)
cleanup() {
  guest_cleanup
  rm -rf "$secrets"
}
trap cleanup EXIT
version=$(basename "$image" | sed -n 's/^moat-\(.*\)-arm64\.img$/\1/p')
stage_started=$SECONDS
stage_time() { echo "# time: $1 $((SECONDS - stage_started)) s"; stage_started=$SECONDS; }

# Bundles from slot A's filesystem (its own size, not the slot's), changed with debugfs: no mount needed.
read -r start sectors < <(partx -g -o START,SECTORS -n 2 "$image")
dd if="$image" of="$secrets/rootfs.ext4" bs=512 skip="$start" count="$sectors" status=none
fs_bytes=$(dumpe2fs -h "$secrets/rootfs.ext4" 2>/dev/null | awk -F: '/^Block count/ { c = $2 } /^Block size/ { s = $2 } END { print c * s }')
truncate -s "$fs_bytes" "$secrets/rootfs.ext4"
variant() { # variant NAME VERSION KEYS-DIR [DEBUGFS-COMMAND...]: a bundle of slot A's filesystem, changed
  local name=$1 v=$2 keys=$3
  shift 3
  cp --sparse=always "$secrets/rootfs.ext4" "$secrets/$name.ext4"
  local cmd
  for cmd in "$@"; do debugfs -w -R "$cmd" "$secrets/$name.ext4" >/dev/null 2>&1; done
  MOAT_KEYS_DIR=$keys bash "$repo/os-image/bundle.sh" "$secrets/$name.ext4" "$v" "$secrets/bundles" >/dev/null
  rm -f "$secrets/$name.ext4"
  echo "$secrets/bundles/moat-$v-arm64.raucb"
}
echo "N+1" >"$secrets/release-n1"
printf '[Service]\nExecStart=\nExecStart=/bin/false\n' >"$secrets/moat-broken.conf"
# N+2's own mark-good gives up after 60 s instead of 600: three failed boots in reasonable time.
printf '[Service]\nEnvironment=MOAT_MARK_GOOD_WAIT=60\n' >"$secrets/mark-good-wait.conf"
n1=$(variant n1 "$version+n1" "${MOAT_KEYS_DIR:-$repo/os-image/keys}" "write $secrets/release-n1 /etc/moat-update-test")
echo "# bundle N+1: $(du -h "$n1" | cut -f1)"
stage_time "bundle N+1 (bundle.sh)"
# N+2 and the foreign bundle are made while N boots; they are needed only after N+1 is installed.
n2=$secrets/bundles/moat-$version+n2-arm64.raucb
foreign=$secrets/bundles/moat-$version+foreign-arm64.raucb
{
  variant n2 "$version+n2" "${MOAT_KEYS_DIR:-$repo/os-image/keys}" \
    "mkdir /etc/systemd/system/moat.service.d" "write $secrets/moat-broken.conf /etc/systemd/system/moat.service.d/broken.conf" \
    "mkdir /etc/systemd/system/moat-mark-good.service.d" \
    "write $secrets/mark-good-wait.conf /etc/systemd/system/moat-mark-good.service.d/wait.conf"
  variant foreign "$version+foreign" "$secrets/foreign-keys"
  rm -f "$secrets/rootfs.ext4"
} >/dev/null &
bundles_pid=$!

https_port=$(free_port)
echo "# setup page forwarded to 127.0.0.1:$https_port"
guest_reboots=1
guest_memory=1536
guest_start update ",hostfwd=tcp:127.0.0.1:$https_port-:443"
guest_wait_shell
guest_settle
expect "version N boots from slot A" "$(guest 90 "grep -o 'rauc\\.slot=[AB]' /proc/cmdline")" rauc.slot=A
expect "moat.service active on N" "$moat_state" active
boot_state() { guest 60 "tr -d '\\000' </boot/firmware/moat-boot.env | sed -n 's/^$1=//p'"; }
mark_good_state() {
  guest 900 'until s=$(systemctl is-active moat-mark-good.service); case "$s" in active|failed|inactive) true;; *) false;; esac; do sleep 5; done; echo "$s"' | tail -n 1
}
expect "slot A marked good" "$(mark_good_state)" active
stage_time "boot N (first boot) until marked good"

# The owner's settings, to be found again after the update.
tr -dc A-Za-z0-9 </dev/urandom | head -c 20 >"$secrets/admin-password" || true
guest_fetch_ca "$secrets/ca.crt"
guest_claim
ssid=moat-update-test
reply=$(api PUT /api/segment "$(body segment '{ssid: $ssid, country: "US", channel: 6}' --arg ssid "$ssid")")
expect "printer network saved (PUT /api/segment)" "$(status_of "$reply")" 200
reply=$(api POST /api/access-codes "$(body code '{label: "update test", role: "operator"}')")
expect "access code made (POST /api/access-codes)" "$(status_of "$reply")" 200
ca_before=$(sha256sum "$secrets/ca.crt" | cut -d' ' -f1)

# N+1 through the API: upload, check, install, progress until installed. Uploads of a few hundred MB into the
# emulated guest take minutes.
api_timeout=1800
reply=$(api POST /api/update/bundle "$n1" application/octet-stream)
expect "bundle N+1 accepted with its version" "$(body_of "$reply" | jq -r .bundle.version 2>/dev/null)" "$version+n1"
stage_time "upload and check N+1"
reply=$(api POST /api/update/install)
expect "install started (HTTP 202)" "$(status_of "$reply")" 202
job=""
deadline=$((SECONDS + 3600))
while ((SECONDS < deadline)); do
  job=$(body_of "$(api GET /api/update)" | jq -r '.job.state + " " + (.job.percent|tostring) + " " + .job.message' 2>/dev/null || true)
  case "$job" in installed* | failed*) break ;; esac
  sleep 10
done
echo "# install: $job"
expect "N+1 installed through the setup page's API" "${job%% *}" installed
expect "the boot state names B first" \
  "$(boot_state BOOT_ORDER)" "B A"
stage_time "install N+1"

# The owner restarts from the setup page (moat-reboot.path acts on Moat's request), as the Update card does.
machine_id=$(guest 30 cat /etc/machine-id)
boots=$(guest_boots "")
reply=$(api POST /api/update/restart)
expect "restart asked for through the setup page's API (HTTP 202)" "$(status_of "$reply")" 202
guest_await_boot "$boots"
expect "N+1 boots from slot B" "$(guest 90 "grep -o 'rauc\\.slot=[AB]' /proc/cmdline")" rauc.slot=B
expect "the machine ID is kept (boot.scr passes the first boot's, from the data partition)" \
  "$(guest 30 cat /etc/machine-id)" "$machine_id"
expect "N+1's root filesystem runs (its marker file)" "$(guest 60 cat /etc/moat-update-test)" "N+1"
expect "moat.service active on N+1" "$moat_state" active
# First boot loaded them itself; from now on systemd-sysctl runs before /var is there and moat-sysctl loads them.
expect "Moat's sysctl settings loaded again after the reboot (moat-sysctl.service)" \
  "$(guest 60 systemctl is-active moat-sysctl.service)" active
expect "slot B marked good" "$(mark_good_state)" active
expect "B is no longer on trial" "$(guest 60 /usr/lib/moat/rauc-boot-state get-trial B)" no
guest_fetch_ca "$secrets/ca-after.crt"
expect "Moat's CA kept (same certificate)" "$(sha256sum "$secrets/ca-after.crt" | cut -d' ' -f1)" "$ca_before"
# A reboot ends every session (they live in Moat's memory): the owner logs in again. Sets reply and csrf.
owner_login() {
  rm -f "$secrets/cookies"
  csrf=$(body_of "$(api GET /api/session)" | jq -r .csrfToken)
  reply=$(api POST /api/login "$(body login '{password: $p}' --rawfile p "$secrets/admin-password")")
  csrf=$(body_of "$reply" | jq -r .csrfToken)
}
owner_login
expect "the owner's password still logs in (claim state kept)" "$(status_of "$reply")" 200
setup=$(body_of "$(api GET /api/setup)")
expect "the printer network's name kept" "$(jq -r .config.segment.ssid <<<"$setup")" "$ssid"
expect "the access code kept" "$(jq -r '[.. | objects | select(.label? == "update test")] | length' <<<"$setup")" 1
# For the record (issue 17's arm64 figure): Moat's resident memory on arm64 under emulation, set up, no printer.
echo "# arm64: moat.service resident $(guest_moat_rss)"
stage_time "reboot into N+1 until marked good"

wait "$bundles_pid"
# A foreign bundle: refused with the owner's words, nothing installed.
reply=$(api POST /api/update/bundle "$foreign" application/octet-stream)
expect "a bundle signed by a foreign key is refused (HTTP 400)" "$(status_of "$reply")" 400
if body_of "$reply" | grep -q "not signed with this Moat's update key"; then result ok "the refusal names the key"
else result fail "the refusal names the key (got $(body_of "$reply" | head -c 200))"; fi
expect "nothing installed after the refusal (boot order still B first)" \
  "$(boot_state BOOT_ORDER)" "B A"
stage_time "foreign bundle refused"

# Installs a bundle through the API and waits for the job's end (or, with a percentage, until it has passed it);
# prints the job's last state line.
install_through_api() { # install_through_api BUNDLE [STOP-AT-PERCENT]
  local reply job="" deadline=$((SECONDS + 3600))
  reply=$(api POST /api/update/bundle "$1" application/octet-stream)
  [[ $(status_of "$reply") == 200 ]] || { echo "upload refused: $(body_of "$reply" | head -c 200)"; return; }
  api POST /api/update/install >/dev/null
  while ((SECONDS < deadline)); do
    job=$(body_of "$(api GET /api/update)" | jq -r '.job.state + " " + (.job.percent|tostring) + " " + .job.message' 2>/dev/null || true)
    case "$job" in installed* | failed*) break ;; esac
    if [[ -n ${2:-} && $job == installing* ]] && (($(cut -d' ' -f2 <<<"$job") >= $2)); then break; fi
    sleep 5
  done
  echo "$job"
}

# N+2: Moat fails on it. Written into A (B runs); every boot of A fails its health check, mark-good reboots,
# U-Boot counts; after A's three attempts it starts B (N+1) again without anyone's help.
job=$(install_through_api "$n2")
echo "# install: $job"
expect "N+2 installed through the API" "${job%% *}" installed
expect "the boot state names A first" "$(boot_state BOOT_ORDER)" "A B"
a_boots=$(guest_boots A)
b_boots=$(guest_boots B)
printf 'systemctl reboot\n' >&3
deadline=$((SECONDS + 4 * boot_timeout))
until (($(guest_boots B) > b_boots)) || ((SECONDS > deadline)) || ! kill -0 "$qemu_pid" 2>/dev/null; do sleep 10; done
expect "N+2 was started three times (boot.scr's attempts for A)" "$(($(guest_boots A) - a_boots))" 3
# The boot of B is the latest one.
guest_await_boot "$(($(guest_boots "") - 1))"
expect "after N+2 failed, the system fell back to slot B by itself" \
  "$(guest 90 "grep -o 'rauc\\.slot=[AB]' /proc/cmdline")" rauc.slot=B
expect "N+1 runs again (its marker file)" "$(guest 60 cat /etc/moat-update-test)" "N+1"
expect "moat.service active after the fallback" "$moat_state" active
expect "A is out of attempts (bad)" "$(boot_state BOOT_A_LEFT)" 0
stage_time "N+2 installed, three failed boots, fallback to N+1"

# The power is cut while N+2 is being written into A again: the next power-on still starts N+1 (RAUC marks the
# slot it writes bad before the first block).
owner_login
expect "the owner logs in again after the fallback" "$(status_of "$reply")" 200
job=$(install_through_api "$n2" 30)
echo "# install when the power was cut: $job"
expect "the install was under way when the power was cut" "${job%% *}" installing
guest_power_cut
guest_start update ",hostfwd=tcp:127.0.0.1:$https_port-:443"
guest_wait_shell
guest_settle
expect "after the power cut N+1 boots from slot B" "$(guest 90 "grep -o 'rauc\\.slot=[AB]' /proc/cmdline")" rauc.slot=B
expect "N+1 runs after the power cut (its marker file)" "$(guest 60 cat /etc/moat-update-test)" "N+1"
# The console log starts again with the new QEMU: every boot.scr start since the power cut is in it.
expect "the half-written slot A was never started after the power cut" "$(guest_boots A)" 0
expect "A stays out of attempts (RAUC marked it bad before writing)" "$(boot_state BOOT_A_LEFT)" 0
expect "moat.service active after the power cut" "$moat_state" active
stage_time "power cut during an install, boot again"

echo "$passed passed, $failed failed"
((failed == 0))
}

main "$@"; exit
