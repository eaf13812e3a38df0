#!/bin/bash
# The printer's Wi-Fi, end to end, in the booted image: boots a built image under QEMU (qemu-guest.sh, as
# smoke-boot.sh does), loads mac80211_hwsim with three virtual radios in the guest, and lets Moat's own
# configuration bring up its access point on the first (wlan0, the segment interface Moat expects). The owner's
# setup goes through the setup page's API from the host (claim, printer network, the printer with its MAC,
# an access code). The second radio is the printer: in a "printer" network namespace it joins with the
# passphrase from Moat's settings (wpa_supplicant, WPA2-PSK, then WPA3-SAE after the setting is switched),
# takes its fixed address by DHCP from Moat's dnsmasq, and runs Moat's simulated printer there. From the host,
# through QEMU's forwards to Moat's LAN side, mosquitto_sub receives its report, curl uploads a file over
# FTPS into its storage, and the API shows it online. From the printer's namespace only DHCP, DNS and Moat's
# own connections work. The third radio is a stranger: a wrong passphrase does not associate, and with the
# right one it gets a lease but reaches nothing beyond DHCP and DNS.
#   os-image/wifi-test.sh [IMAGE]   (default: the newest os-image/out/moat-*-arm64.img; as root)
# Prints one PASS/FAIL line per check, the stage times, and "N passed, M failed"; exits 0 only if all pass.
# MOAT_WIFI_HOLD=1 keeps the guest running after the checks, for investigating by hand, until told to finish.
# Test-only tools reach the guest on a scratch disk (a tar of wifi-guest.sh and the simulated printer's
# access code), never in the image. Logs beside the image: IMAGE-without-.img.wifi-{console,shell}.log.
set -Eeuo pipefail
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap; shellcheck cannot see past "; exit"
# shellcheck disable=SC2016 # jq programs and guest commands in single quotes: jq or the guest's shell expands them
# The whole script is one function, read completely before it runs (editing it during a run changes nothing).
main() {

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
check_ok=PASS
check_failed=FAIL
# shellcheck source-path=SCRIPTDIR source=qemu-guest.sh
source "$repo/os-image/qemu-guest.sh"
guest_find_image "${1:-}"
guest_require_tools curl:curl jq:jq mosquitto_sub:mosquitto-clients
secrets=$(mktemp -d /var/tmp/moat-wifi.XXXXXX)
cleanup() {
  guest_cleanup
  rm -rf "$secrets"
}
trap cleanup EXIT

serial=01P00A0000WIFI1
printer_mac=02:00:00:5a:00:01
printer_address=192.0.2.5
stranger_mac=02:00:00:5a:00:99
ssid=moat-wifi-test
random() { # random CHARACTERS LENGTH (no pipe left early: under pipefail a SIGPIPE would end the script)
  local pool
  pool=$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc "$1")
  printf '%s' "${pool:0:$2}"
}
random A-Za-z0-9 20 >"$secrets/passphrase"
random A-Za-z0-9 20 >"$secrets/admin-password"
random 0-9 8 >"$secrets/printer-access-code"

# The scratch disk: the guest-side script, the simulated printer's access code and a wrong passphrase.
mkdir -p "$secrets/payload"
cp "$repo/os-image/wifi-guest.sh" "$secrets/printer-access-code" "$secrets/payload/"
random A-Za-z0-9 20 >"$secrets/payload/wrong-passphrase"
tar -C "$secrets/payload" -cf "$secrets/payload.tar" .

# Host forwards to Moat's LAN side: setup page, MQTT, FTPS on free loopback ports; the FTPS passive range
# (Moat's default 50000-50100) on the same port numbers, since the data port travels inside the protocol.
https_port=$(free_port)
mqtt_port=$(free_port)
ftps_port=$(free_port)
forwards=",hostfwd=tcp:127.0.0.1:$https_port-:443,hostfwd=tcp:127.0.0.1:$mqtt_port-:8883"
forwards+=",hostfwd=tcp:127.0.0.1:$ftps_port-:990"
for ((p = 50000; p <= 50100; p++)); do forwards+=",hostfwd=tcp:127.0.0.1:$p-:$p"; done
taken=$(ss -ltnH '( sport >= :50000 and sport <= :50100 )' | awk '{ print $4 }' | paste -sd' ')
[[ -z $taken ]] || { echo "wifi-test.sh: host ports in 50000-50100 are taken ($taken): QEMU could not forward them" >&2; exit 2; }
echo "# setup page on 127.0.0.1:$https_port, MQTT on $mqtt_port, FTPS on $ftps_port (+ 50000-50100)"

guest_memory=2048
guest_start wifi "$forwards" -drive "file=$secrets/payload.tar,format=raw,if=virtio,readonly=on"
guest_wait_shell
guest_settle
echo "# shell after ${shell_at} s; system state '$guest_state', moat.service '$moat_state' after ${booted_at} s"
expect "system booted (is-system-running)" "$guest_state" running
expect "moat.service active" "$moat_state" active
t_boot=$booted_at

since() { echo "$((SECONDS - guest_started))"; }
# Runs a wifi-guest.sh command in the guest; never fails the script (each check judges the output).
wifi() { guest "$1" "bash /run/wifi-test/wifi-guest.sh ${*:2}" || true; }
guest 60 "mkdir -p /run/wifi-test && tar -xf /dev/vdb -C /run/wifi-test && chmod 600 /run/wifi-test/*-*" >/dev/null ||
  echo "# the scratch disk could not be read"

# The owner's setup, through the API from the host.
guest_fetch_ca "$secrets/ca.crt"
guest_claim
reply=$(api PUT /api/segment "$(body segment '{ssid: $ssid, passphrase: $p, country: "US", channel: 6}' \
  --arg ssid "$ssid" --rawfile p "$secrets/passphrase")")
expect "printer network saved (PUT /api/segment, WPA2)" "$(status_of "$reply")" 200
reply=$(api POST /api/access-codes "$(body code '{label: "wifi test", role: "operator"}')")
body_of "$reply" | jq -r .code >"$secrets/lan-code"
printer_body() { # printer_body POLICY [FINGERPRINT]
  body printer '{serial: $serial, model: "P1S", address: $address, mac: $mac, accessCode: $code,
    certificate: ({policy: $policy} + (if $fp == "" then {} else {fingerprint: $fp} end))}' \
    --arg serial "$serial" --arg address "$printer_address" --arg mac "$printer_mac" \
    --rawfile code "$secrets/printer-access-code" --arg policy "$1" --arg fp "${2:-}"
}
reply=$(api PUT /api/printers "$(printer_body bbl-ca)")
expect "printer saved with its MAC (PUT /api/printers)" "$(status_of "$reply")" 200

# How often moat-host-config.service has finished (or failed) since boot: its journal lines, since an inactive
# oneshot's own properties may already be gone.
host_config_runs='journalctl -b -u moat-host-config.service -o cat --no-pager | grep -c -e "^Finished " -e "^Failed to start "'
host_config_run_count() { guest 60 "$host_config_runs" | tail -n 1 || true; }
# settled_ap SECONDS CONDITION [RUNS]: waits until CONDITION (a guest shell test: the host files were rendered
# from the new settings) holds and moat-host-config.service has finished more than RUNS times (default -1),
# with no run under way or queued (its last step brings the access point up again); then until the access
# point is up. Prints the access point's state.
settled_ap() {
  local deadline=$((SECONDS + $1)) state
  guest "$1" "until $2 && [ \"\$($host_config_runs)\" -gt ${3:--1} ] && [ \"\$(systemctl is-active moat-host-config.service)\" != activating ] && [ -z \"\$(systemctl list-jobs --no-legend moat-host-config.service)\" ]; do sleep 2; done" >/dev/null || true
  until state=$(wifi 60 ap_state | tail -n 1); [[ $state == "nm=activated type=AP ssid=$ssid" ]] || ((SECONDS > deadline)); do
    sleep 3
  done
  echo "$state"
}
keyfile=/etc/NetworkManager/system-connections/moat-segment.nmconnection
lease_line="^dhcp-host=$printer_mac,$printer_address,infinite"

wifi 120 radios 3 >/dev/null
ap=$(settled_ap 600 "grep -q '^ssid=$ssid\$' $keyfile && grep -q '$lease_line' /etc/dnsmasq.d/moat-segment.conf")
t_ap=$(since)
expect "access point up on wlan0 (NetworkManager, Moat's keyfile)" "$ap" "nm=activated type=AP ssid=$ssid"
expect "fixed lease for the printer's MAC in dnsmasq's configuration" \
  "$(guest 60 "grep -c '$lease_line' /etc/dnsmasq.d/moat-segment.conf" | tail -n 1 || true)" 1

# The printer.
wifi 60 station printer wlan1 "$printer_mac" >/dev/null
wifi 60 join printer wlan1 "$ssid" wpa2 >/dev/null
expect "WPA2-PSK association with the passphrase from Moat's settings" \
  "$(wifi 200 wait_state printer wlan1 COMPLETED 180 | tail -n 1)" COMPLETED
t_assoc=$(since)
lease=$(wifi 120 lease printer wlan1 | tail -n 1)
t_lease=$(since)
echo "# printer lease: $lease"
expect "DHCP lease with the reserved address for the printer's MAC" \
  "$(sed -n 's/.*address=\([^ ]*\) .*on=\([^ ]*\).*/\1 \2/p' <<<"$lease")" "$printer_address $printer_address/24"
expect "DNS from the printer: moat.local resolves to Moat's segment address" \
  "$(wifi 120 resolve printer moat.local | tail -n 1)" 192.0.2.1
expect "Moat's simulated printer listens on the leased address" \
  "$(wifi 300 printer printer "$printer_address" "$serial" | tail -n 1)" listening

# The connection test shows the printer's certificate; the owner trusts it (pinned), as in the wizard.
# Tried up to three times: under emulation the test's own 8 s limit can pass before the TLS handshake is done.
fingerprint=""
for _ in 1 2 3; do
  reply=$(api POST /api/printers/test "$(printer_body bbl-ca)")
  fingerprint=$(body_of "$reply" | jq -r '.certificate.fingerprint // empty' 2>/dev/null || true)
  [[ -z $fingerprint ]] || break
done
if [[ -n $fingerprint ]]; then result ok "connection test from Moat reached the printer over Wi-Fi (certificate seen)"
else result fail "connection test from Moat reached the printer over Wi-Fi ($(body_of "$reply" | head -c 300))"; fi
runs_before=$(host_config_run_count)
reply=$(api PUT /api/printers "$(printer_body pinned "$fingerprint")")
expect "printer's certificate pinned (PUT /api/printers)" "$(status_of "$reply")" 200
# Saving settings re-renders the host files and restarts the access point: the printer joins again.
settled_ap 600 true "$runs_before" >/dev/null
wifi 200 wait_state printer wlan1 COMPLETED 180 >/dev/null

# From the host, through Moat's LAN side.
# --insecure: the host name (127.0.0.1) is not among the certificate's names; the chain is still checked against
# Moat's CA.
report=$(timeout 400 mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" --cafile "$secrets/ca.crt" --insecure \
  -u bblp -P "$(cat "$secrets/lan-code")" -t "device/$serial/report" -C 1 -W 360 2>&1 || true)
t_report=$(since)
if grep -q '"print"' <<<"$report"; then result ok "mosquitto_sub on the host receives the printer's report through Moat"
else result fail "mosquitto_sub on the host receives the printer's report through Moat (got '${report:0:200}')"; fi

head -c 65536 /dev/urandom >"$secrets/upload.3mf"
upload=$(if curl -sS --ssl-reqd --cacert "$secrets/ca.crt" --resolve "moat.local:$ftps_port:127.0.0.1" --ftp-skip-pasv-ip \
  --max-time 300 -u "bblp:$(cat "$secrets/lan-code")" -T "$secrets/upload.3mf" \
  "ftps://moat.local:$ftps_port/wifi-test.3mf" 2>&1; then echo uploaded; fi)
# Store-and-forward (on by default) answers the client once the file is in Moat's spool and drains it to the
# printer after, under its final name only once complete: wait for it to land (up to 5 min under emulation).
stored=$(guest 330 "f=/run/wifi-test/printer/storage/wifi-test.3mf; i=0; until [ -f \$f ] || [ \$i -ge 150 ]; do sleep 2; i=\$((i+1)); done; sha256sum \$f | cut -d' ' -f1" || true)
if [[ $stored == "$(sha256sum "$secrets/upload.3mf" | cut -d' ' -f1)" ]]; then
  result ok "curl upload over FTPS through Moat lands in the printer's storage"
else result fail "curl upload over FTPS through Moat lands in the printer's storage (curl: ${upload:0:200})"; fi

online=$(body_of "$(api GET /api/overview)" | jq -r --arg s "$serial" '.printers[] | select(.serial == $s) | .online' 2>/dev/null || true)
expect "setup page shows the printer online (GET /api/overview)" "$online" true

# What the printer reaches: a connection to its own simulator shows the probe can succeed.
lan_address=$(guest 60 "ip -4 -o addr show eth0 | awk '{ print \$4 }' | cut -d/ -f1" | tail -n 1 || true)
expect "probe control: the printer's own MQTT port answers inside its namespace" \
  "$(wifi 30 probe printer "$printer_address" 8883 | tail -n 1)" open
isolated() { # isolated NS WHAT HOST PORT WANTED
  expect "$1 cannot reach $2 ($3:$4 $5)" "$(wifi 30 probe "$1" "$3" "$4" | tail -n 1)" "$5"
}
isolated printer "the setup page" 192.0.2.1 443 filtered
isolated printer "the setup page's redirect" 192.0.2.1 80 filtered
isolated printer "SSH" 192.0.2.1 22 filtered
isolated printer "Moat's MQTT bridge" 192.0.2.1 8883 filtered
isolated printer "Moat's FTPS bridge" 192.0.2.1 990 filtered
isolated printer "Moat's LAN side" "$lan_address" 443 filtered
internet=$(wifi 30 probe printer 203.0.113.1 443 | tail -n 1)
if [[ $internet != open ]]; then result ok "printer cannot reach the internet with cloud access off (203.0.113.1:443 $internet)"
else result fail "printer cannot reach the internet with cloud access off (203.0.113.1:443 open)"; fi
# Asked once, right after Moat's own name resolved: the resolver answers, and refuses the internet name.
expect "printer's DNS does not resolve internet names with cloud access off" \
  "$(wifi 120 resolve printer moat.local >/dev/null; wifi 60 resolve printer example.com 0 | tail -n 1)" none

# A stranger: a wrong passphrase first, then the right one without being a configured printer.
wifi 60 station stranger wlan2 "$stranger_mac" >/dev/null
wifi 60 join stranger wlan2 "$ssid" wpa2 /run/wifi-test/wrong-passphrase >/dev/null
wrong=$(wifi 120 wait_state stranger wlan2 COMPLETED 60 | tail -n 1)
refused=$(wifi 30 refused stranger | tail -n 1)
if [[ $wrong != COMPLETED && $refused == yes ]]; then
  result ok "wrong passphrase does not associate (wpa_supplicant: key refused, state $wrong)"
else result fail "wrong passphrase does not associate (state $wrong, refusal seen: $refused)"; fi
wifi 60 join stranger wlan2 "$ssid" wpa2 >/dev/null
expect "stranger associates with the right passphrase" \
  "$(wifi 200 wait_state stranger wlan2 COMPLETED 180 | tail -n 1)" COMPLETED
stranger_lease=$(wifi 120 lease stranger wlan2 | tail -n 1)
echo "# stranger lease: $stranger_lease"
stranger_address=$(sed -n 's/.*address=\([^ ]*\) .*/\1/p' <<<"$stranger_lease")
if [[ $stranger_address =~ ^192\.0\.2\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 10 && BASH_REMATCH[1] <= 50)); then
  result ok "stranger gets a lease from the DHCP range, not the printer's address ($stranger_address)"
else result fail "stranger gets a lease from the DHCP range ('$stranger_lease')"; fi
expect "stranger's DNS answers for moat.local" "$(wifi 120 resolve stranger moat.local | tail -n 1)" 192.0.2.1
isolated stranger "the setup page" 192.0.2.1 443 filtered
isolated stranger "SSH" 192.0.2.1 22 filtered
isolated stranger "Moat's MQTT bridge" 192.0.2.1 8883 filtered
isolated stranger "Moat's FTPS bridge" 192.0.2.1 990 filtered
isolated stranger "Moat's LAN side" "$lan_address" 443 filtered
direct=$(wifi 30 probe stranger "$printer_address" 8883 | tail -n 1)
if [[ $direct != open ]]; then result ok "stranger cannot reach the printer directly through the access point ($direct)"
else result fail "stranger cannot reach the printer directly through the access point (open)"; fi
wifi 60 leave stranger >/dev/null

# WPA3: the owner switches the setting (the stored passphrase is kept); the printer joins with SAE.
reply=$(api PUT /api/segment "$(body segment3 '{ssid: $ssid, country: "US", channel: 6, security: "wpa3"}' --arg ssid "$ssid")")
expect "printer network switched to WPA3 (PUT /api/segment)" "$(status_of "$reply")" 200
expect "access point up again with WPA3-SAE (keyfile key-mgmt=sae)" \
  "$(settled_ap 600 "grep -q '^key-mgmt=sae\$' $keyfile")" "nm=activated type=AP ssid=$ssid"
wifi 60 join printer wlan1 "$ssid" wpa3 >/dev/null
expect "WPA3-SAE association" "$(wifi 200 wait_state printer wlan1 COMPLETED 180 | tail -n 1)" COMPLETED
t_wpa3=$(since)

echo "# stage times since power-on: boot settled ${t_boot} s, access point up ${t_ap} s, WPA2 association ${t_assoc} s," \
  "lease ${t_lease} s, first report through Moat ${t_report} s, WPA3 association ${t_wpa3} s"
if ((failed > 0)); then
  guest_show_trouble
  guest 60 "tail -n 20 /run/wifi-test/*/wpa.log /run/wifi-test/*/simulator.log /run/wifi-test/*/ipconfig.log" | sed 's/^/#   /' || true
  guest 60 "journalctl -b --no-pager -u NetworkManager -u dnsmasq -u moat-host-config | tail -n 40" | sed 's/^/#   /' || true
fi
if [[ ${MOAT_WIFI_HOLD:-0} == 1 ]]; then
  # For investigating a failure without another boot: type into the guest's shell through the pipe.
  touch "$work/hold"
  echo "# holding the guest: commands to $work/shell.in, output in $work/shell.log; rm $work/hold to finish"
  while [[ -e $work/hold ]] && kill -0 "$qemu_pid" 2>/dev/null; do sleep 5; done
fi
guest_poweroff
echo "$passed passed, $failed failed"
((failed == 0))
}

main "$@"; exit
