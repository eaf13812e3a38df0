#!/bin/bash
# The guest side of wifi-test.sh: copied into the booted image's guest for the test only (on a scratch disk
# the test attaches, never into the image), run there as root from the debug shell:
#   bash /run/wifi-test/wifi-guest.sh COMMAND ARGS...
# It drives virtual radios (mac80211_hwsim) the way a printer's Wi-Fi would: a station in its own network
# namespace joins Moat's access point with wpa_supplicant, takes a DHCP lease with klibc's ipconfig (the
# DHCP client initramfs-tools already puts in the image), and probes what it can reach with bash's /dev/tcp.
# Nothing here prints a secret: passphrases go from files into wpa_supplicant's configuration (0600).
set -euo pipefail

dir=/run/wifi-test

# radios COUNT: loads mac80211_hwsim with COUNT radios (wlan0 is Moat's access point, the others stations)
# and waits for their interfaces.
radios() {
  modprobe mac80211_hwsim radios="$1"
  local i
  for ((i = 0; i < $1; i++)); do
    until [[ -e /sys/class/net/wlan$i ]]; do sleep 1; done
  done
}

# ap_state: NetworkManager's state of Moat's access-point connection, the interface's mode and SSID.
ap_state() {
  local state
  state=$(nmcli -g GENERAL.STATE connection show moat-segment 2>/dev/null || true)
  echo "nm=${state:-none} $(iw dev wlan0 info 2>/dev/null | awk '$1 == "type" { t = $2 } $1 == "ssid" { s = $2 } END { printf "type=%s ssid=%s", t, s }')"
}

# station NS IFACE MAC: moves the radio behind IFACE into a new network namespace NS and gives it MAC.
station() {
  local ns=$1 iface=$2 mac=$3 phy
  # NetworkManager would otherwise scan with it until it is gone.
  nmcli device set "$iface" managed no 2>/dev/null || true
  phy=$(cat "/sys/class/net/$iface/phy80211/name")
  ip netns add "$ns"
  iw phy "$phy" set netns name "$ns"
  ip -n "$ns" link set "$iface" down
  ip -n "$ns" link set "$iface" address "$mac"
  ip -n "$ns" link set lo up
  mkdir -p "$dir/$ns"
  # Inside NS, names resolve through the DNS server the lease names, not the appliance's own /etc/hosts. The
  # image's /etc is read-only (no /etc/netns): resolve() mounts these two over /etc in its own mount namespace.
  : >"$dir/$ns/hosts"
  : >"$dir/$ns/resolv.conf"
}

# join NS IFACE SSID wpa2|wpa3 [PASSPHRASE-FILE]: (re)starts wpa_supplicant in NS for Moat's network, with
# the passphrase from Moat's settings unless another file is named (the wrong-passphrase check).
join() {
  local ns=$1 iface=$2 ssid=$3 security=$4 secret=${5:-/var/lib/moat/secrets/segment-passphrase}
  leave "$ns"
  local conf="$dir/$ns/wpa.conf" key_mgmt=WPA-PSK pmf=1 psk
  if [[ $security == wpa3 ]]; then key_mgmt=SAE pmf=2; fi
  psk=$(cat "$secret")
  (
    umask 077
    printf 'ctrl_interface=%s\nnetwork={\n  ssid="%s"\n  key_mgmt=%s\n  ieee80211w=%s\n  proto=RSN\n  pairwise=CCMP\n  group=CCMP\n' \
      "$dir/$ns/ctrl" "$ssid" "$key_mgmt" "$pmf" >"$conf"
    if [[ $security == wpa3 ]]; then printf '  sae_password="%s"\n}\n' "$psk" >>"$conf"
    else printf '  psk="%s"\n}\n' "$psk" >>"$conf"; fi
  )
  : >"$dir/$ns/wpa.log"
  ip netns exec "$ns" wpa_supplicant -B -t -i "$iface" -c "$conf" -P "$dir/$ns/wpa.pid" -f "$dir/$ns/wpa.log"
}

leave() {
  local pid_file="$dir/$1/wpa.pid"
  if [[ -s $pid_file ]]; then
    kill "$(cat "$pid_file")" 2>/dev/null || true
    while kill -0 "$(cat "$pid_file")" 2>/dev/null; do sleep 1; done
    rm -f "$pid_file"
  fi
}

# wpa_state NS IFACE: wpa_supplicant's state (COMPLETED once the 4-way handshake is done).
wpa_state() {
  ip netns exec "$1" wpa_cli -p "$dir/$1/ctrl" -i "$2" status 2>/dev/null | sed -n 's/^wpa_state=//p'
}

# wait_state NS IFACE STATE SECONDS: prints the state reached, waiting up to SECONDS for STATE.
wait_state() {
  local deadline=$((SECONDS + $4)) state
  until state=$(wpa_state "$1" "$2"); [[ $state == "$3" ]] || ((SECONDS >= deadline)); do sleep 1; done
  echo "${state:-none}"
}

# refused NS: whether wpa_supplicant says the access point refused the key (a handshake was really tried).
refused() {
  if grep -Eq 'WRONG_KEY|pre-shared key may be incorrect|auth_failures=' "$dir/$1/wpa.log"; then echo yes; else echo no; fi
}

# lease NS IFACE: a DHCP lease with klibc's ipconfig (it configures the address and default route); prints
# address, router and DNS server, and points NS's resolver at that server.
lease() {
  local ns=$1 iface=$2
  rm -f "/run/net-$iface.conf"
  ip netns exec "$ns" /usr/lib/klibc/bin/ipconfig -t 60 -c dhcp -d "$iface" >"$dir/$ns/ipconfig.log" 2>&1 || true
  [[ -s /run/net-$iface.conf ]] || { echo "no lease: $(tail -n 3 "$dir/$ns/ipconfig.log" | tr '\n' ' ')"; return 0; }
  # shellcheck disable=SC1090 # written by ipconfig: shell variable assignments
  (
    . "/run/net-$iface.conf"
    printf 'nameserver %s\n' "$IPV4DNS0" >"$dir/$ns/resolv.conf"
    echo "address=$IPV4ADDR router=$IPV4GATEWAY dns=$IPV4DNS0 on=$(ip -n "$ns" -4 -o addr show "$iface" | awk '{ print $4 }')"
  )
}

# resolve NS NAME [SECONDS]: the IPv4 address NAME resolves to inside NS (through the leased DNS server), asking
# again for up to SECONDS (default 60: every settings change restarts dnsmasq), or "none".
resolve() {
  local deadline=$((SECONDS + ${3:-60})) address
  # `ip netns exec` runs in a mount namespace of its own (slave to the host's): the binds stay there.
  # shellcheck disable=SC2016 # $0 and $1 belong to the inner shell
  local lookup='mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/resolv.conf" /etc/resolv.conf && exec getent ahostsv4 "$1"'
  until address=$(ip netns exec "$1" sh -c "$lookup" "$dir/$1" "$2" | awk '{ print $1; exit }'); [[ -n $address ]] || ((SECONDS >= deadline)); do
    sleep 2
  done
  echo "${address:-none}"
}

# probe NS HOST PORT: a TCP connection from NS: "open", "filtered" (no answer within 8 s: dropped) or
# "closed" (refused or unreachable: an answer came back).
probe() {
  local status=0
  ip netns exec "$1" timeout 8 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null || status=$?
  case $status in
    0) echo open ;;
    124) echo filtered ;;
    *) echo closed ;;
  esac
}

# printer NS ADDRESS SERIAL: Moat's own simulated printer inside NS on ADDRESS (its storage below
# /run/wifi-test/NS/storage), the access code from the file the test copied in; waits until it listens.
printer() {
  local ns=$1 address=$2 serial=$3 out="$dir/$1/simulator.json"
  mkdir -p "$dir/$ns/storage"
  : >"$out"
  ip netns exec "$ns" setsid /usr/bin/moat simulate-printer --serial "$serial" --model P1S --host "$address" \
    --access-code "$(cat "$dir/printer-access-code")" --ftp-dir "$dir/$ns/storage" \
    --notify 255.255.255.255:2021 --ca-out "$dir/$ns/printer-ca.pem" >"$out" 2>"$dir/$ns/simulator.log" </dev/null &
  echo $! >"$dir/$ns/simulator.pid"
  until grep -q '"ports"' "$out"; do
    kill -0 "$(cat "$dir/$ns/simulator.pid")" 2>/dev/null || { echo "simulator exited: $(tail -n 5 "$dir/$ns/simulator.log")"; return 0; }
    sleep 2
  done
  echo listening
}

"$@"
