#!/usr/bin/env bash
# The three-segment test network, built from Linux network namespaces (needs root, iproute2, nftables):
#
#   lan      198.51.100.10/24 ── lan0 198.51.100.1  ┐ (and 198.51.100.21.. for each printer, with several)
#                                                   ├ moat (Moat with its firewall)
#   printer  192.0.2.10/24..  ── seg0 192.0.2.1     │
#            (simulators: TLS 8883/990 open, camera/bind services, NOTIFY every 5 s; the first printer
#            also plaintext 1883/21, as an old printer)
#   wan      203.0.113.2/24   ── wan0 203.0.113.1   ┘ (a stand-in for the internet)
#
# Usage: scripts/topology.sh up [N] | down | status
#   up [N]  builds everything (after a `down`), starts N simulated printers (default 1, at most 8; mixed
#           models) in `printer` and Moat in `moat`, then prints how to run a client in `lan` for each.
#           One printer is served on Moat's address 198.51.100.1; several each on their own Moat address,
#           198.51.100.21 for the first and so on. MOAT_TOPOLOGY_DIR (default /tmp/moat-topology) holds the
#           state, logs, printers.txt and topology.json (access codes, CA files, the printers).
#   down    stops what `up` started and deletes the namespaces, even after a failed or partial `up`.
# Only the documentation ranges are used, inside namespaces; nothing touches the host's own network.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${MOAT_TOPOLOGY_DIR:-/tmp/moat-topology}"
namespaces=(lan moat printer wan)
serial="${MOAT_TOPOLOGY_SERIAL:-01S00C000000001}"
cli=(node "$root/dist/src/cli.js")

log() { printf 'topology: %s\n' "$*" >&2; }

in_ns() {
  local ns="$1"
  shift
  ip netns exec "$ns" "$@"
}

down() {
  for ns in "${namespaces[@]}"; do
    if ip netns list | grep -qw "^$ns"; then
      # Stop every process still running inside the namespace (all of them were started by `up`).
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
      for _ in $(seq 1 50); do
        [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
        sleep 0.1
      done
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$ns"
    fi
  done
  rm -rf "$dir"
}

wait_for_file_line() {
  local file="$1" pattern="$2" what="$3" pid="$4"
  for _ in $(seq 1 300); do
    if [ -s "$file" ] && grep -q "$pattern" "$file"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$what exited early:"
      cat "$file" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  log "$what did not start within 30 s:"
  cat "$file" >&2 || true
  return 1
}

# Starts one simulator in `printer`; waits until it serves.
start_simulator() {
  local what="$1" log="$2"
  shift 2
  in_ns printer "${cli[@]}" simulate-printer "$@" >"$log" 2>&1 &
  wait_for_file_line "$log" '"serial"' "$what" "$!"
}

up() {
  local count="${1:-1}"
  [[ "$count" =~ ^[1-8]$ ]] || { log "up takes a number of printers from 1 to 8, not '$count'"; exit 2; }
  [ "$(id -u)" = 0 ] || { log 'needs root (network namespaces, nftables)'; exit 1; }
  [ -f "$root/dist/src/cli.js" ] || { log "build first: npm run build"; exit 1; }
  down
  mkdir -p "$dir"
  chmod 0700 "$dir"
  for ns in "${namespaces[@]}"; do
    ip netns add "$ns"
    in_ns "$ns" ip link set lo up
  done
  # veth pairs created from inside `moat`, the far end placed straight into its namespace.
  in_ns moat ip link add lan0 type veth peer name eth0 netns lan
  in_ns moat ip link add seg0 type veth peer name wlan0 netns printer
  in_ns moat ip link add wan0 type veth peer name eth0 netns wan
  in_ns moat ip addr add 198.51.100.1/24 dev lan0
  in_ns moat ip addr add 192.0.2.1/24 dev seg0
  in_ns moat ip addr add 203.0.113.1/24 dev wan0
  in_ns lan ip addr add 198.51.100.10/24 dev eth0
  in_ns wan ip addr add 203.0.113.2/24 dev eth0
  for pair in moat:lan0 moat:seg0 moat:wan0 lan:eth0 printer:wlan0 wan:eth0; do
    in_ns "${pair%%:*}" ip link set "${pair#*:}" up
  done

  # The printers' plan (serials, models, addresses, access codes) and Moat's state directory.
  node "$root/dist/scripts/topology-setup.js" "$dir" "$count" "$serial"
  local p_serial p_model p_address p_lan p_code p_ca p_storage p_log first=1
  while read -r p_serial p_model p_address p_lan p_code p_ca p_storage p_log; do
    in_ns printer ip addr add "$p_address/24" dev wlan0
    [ "$p_lan" = - ] || in_ns moat ip addr add "$p_lan/24" dev lan0
    mkdir -p "$p_storage"
    start_simulator "simulated printer $p_serial (TLS)" "$p_log" --serial "$p_serial" --model "$p_model" \
      --host "$p_address" --access-code "$p_code" --mqtt tls --ftp tls --ftp-dir "$p_storage" --tcp-services \
      --notify 255.255.255.255:2021 --ca-out "$p_ca"
    if [ "$first" = 1 ]; then
      # The first printer as an old one would be: plaintext 1883/21 open too.
      start_simulator 'simulated printer (plaintext)' "$dir/printer-plain.log" --serial "$p_serial" \
        --model "$p_model" --host "$p_address" --access-code "$p_code" --mqtt plain --ftp plain \
        --ftp-dir "$p_storage" --ca-out "$dir/printer-plain-ca.pem"
      first=0
    fi
  done <"$dir/printers.txt"
  # Every segment routes through Moat, so only Moat's firewall stands between them.
  in_ns lan ip route add default via 198.51.100.1
  in_ns printer ip route add default via 192.0.2.1
  in_ns moat ip route add default via 203.0.113.2

  MOAT_LOG_LEVEL=info in_ns moat "${cli[@]}" serve --state-dir "$dir/moat-state" >"$dir/moat.log" 2>&1 &
  local moat_pid=$!
  wait_for_file_line "$dir/moat.log" 'moat started' 'Moat' "$moat_pid"

  local viewer ca="$dir/moat-state/tls/ca.crt"
  viewer="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).codes.viewer)' "$dir/topology.json")"
  echo "Topology up. Moat (LAN 198.51.100.1, printer segment 192.0.2.1) guards $count printer(s):"
  while read -r p_serial p_model p_address p_lan _; do
    [ "$p_lan" = - ] && p_lan=198.51.100.1
    echo "  $p_model $p_serial on the segment at $p_address, for the LAN on Moat's address $p_lan"
  done <"$dir/printers.txt"
  echo "State, logs and access codes: $dir (topology.json holds one LAN access code per role and the printers)."
  echo "Run clients in the lan namespace, e.g. for each printer:"
  while read -r p_serial _ _ p_lan _; do
    [ "$p_lan" = - ] && p_lan=198.51.100.1
    cat <<INFO
  ip netns exec lan mosquitto_sub -h $p_lan -p 8883 --cafile $ca -u bblp -P $viewer -t 'device/$p_serial/report' -C 1
  ip netns exec lan curl --ssl-reqd --cacert $ca -u bblp:$viewer ftps://$p_lan:990/
INFO
  done <"$dir/printers.txt"
  cat <<INFO
  ip netns exec lan nmap -Pn -p- --min-rate 5000 198.51.100.1$([ "$count" -gt 1 ] && echo " 198.51.100.21-$((20 + count))")
Firewall: ip netns exec moat node $root/dist/src/cli.js firewall check --state-dir $dir/moat-state
Stop everything: $0 down
INFO
}

status() {
  for ns in "${namespaces[@]}"; do
    if ip netns list | grep -qw "^$ns"; then
      printf '%-8s up, processes: %s\n' "$ns" "$(ip netns pids "$ns" | tr '\n' ' ')"
    else
      printf '%-8s absent\n' "$ns"
    fi
  done
}

case "${1:-}" in
  up) up "${2:-1}" ;;
  down) down ;;
  status) status ;;
  *)
    echo "usage: $0 up [N] | down | status" >&2
    exit 2
    ;;
esac
