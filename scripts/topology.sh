#!/usr/bin/env bash
# The three-segment test network, built from Linux network namespaces (needs root, iproute2, nftables):
#
#   lan      198.51.100.10/24 ── lan0 198.51.100.1  ┐
#                                                   ├ moat (Moat with its firewall)
#   printer  192.0.2.10/24    ── seg0 192.0.2.1     │
#            (simulator: TLS 8883/990 and plaintext 1883/21 open, camera/bind services, NOTIFY every 5 s)
#   wan      203.0.113.2/24   ── wan0 203.0.113.1   ┘ (a stand-in for the internet)
#
# Usage: scripts/topology.sh up | down | status
#   up      builds everything (after a `down`), starts the simulated printer in `printer` and Moat in `moat`,
#           then prints how to run a client in `lan`. MOAT_TOPOLOGY_DIR (default /tmp/moat-topology) holds
#           the state, logs and topology.json (access codes, CA files).
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

up() {
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
  in_ns printer ip addr add 192.0.2.10/24 dev wlan0
  in_ns wan ip addr add 203.0.113.2/24 dev eth0
  for pair in moat:lan0 moat:seg0 moat:wan0 lan:eth0 printer:wlan0 wan:eth0; do
    in_ns "${pair%%:*}" ip link set "${pair#*:}" up
  done
  # Every segment routes through Moat, so only Moat's firewall stands between them.
  in_ns lan ip route add default via 198.51.100.1
  in_ns printer ip route add default via 192.0.2.1
  in_ns moat ip route add default via 203.0.113.2

  local code
  code="$(node -e 'console.log(require("node:crypto").randomInt(10000000, 100000000))')"
  mkdir -p "$dir/printer-storage"
  # The printer as an old one would be: TLS 8883/990 and plaintext 1883/21 all open.
  in_ns printer "${cli[@]}" simulate-printer --serial "$serial" --model P1S --host 192.0.2.10 \
    --access-code "$code" --mqtt tls --ftp tls --ftp-dir "$dir/printer-storage" --tcp-services \
    --notify 255.255.255.255:2021 --ca-out "$dir/printer-ca.pem" >"$dir/printer.log" 2>&1 &
  local printer_pid=$!
  wait_for_file_line "$dir/printer.log" '"serial"' 'simulated printer (TLS)' "$printer_pid"
  in_ns printer "${cli[@]}" simulate-printer --serial "$serial" --model P1S --host 192.0.2.10 \
    --access-code "$code" --mqtt plain --ftp plain --ftp-dir "$dir/printer-storage" \
    --ca-out "$dir/printer-plain-ca.pem" >"$dir/printer-plain.log" 2>&1 &
  local plain_pid=$!
  wait_for_file_line "$dir/printer-plain.log" '"serial"' 'simulated printer (plaintext)' "$plain_pid"

  node "$root/dist/scripts/topology-setup.js" "$dir" "$serial" "$code" "$dir/printer-ca.pem"
  MOAT_LOG_LEVEL=info in_ns moat "${cli[@]}" serve --state-dir "$dir/moat-state" >"$dir/moat.log" 2>&1 &
  local moat_pid=$!
  wait_for_file_line "$dir/moat.log" 'moat started' 'Moat' "$moat_pid"

  local viewer
  viewer="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).codes.viewer)' "$dir/topology.json")"
  cat <<INFO
Topology up. Moat (LAN 198.51.100.1, printer segment 192.0.2.1) guards the printer 192.0.2.10 (serial $serial).
State, logs and access codes: $dir (topology.json holds one LAN access code per role).
Run clients in the lan namespace, e.g.:
  ip netns exec lan mosquitto_sub -h 198.51.100.1 -p 8883 --cafile $dir/moat-state/tls/ca.crt \\
      -u bblp -P $viewer -t 'device/$serial/report' -C 1
  ip netns exec lan curl --ssl-reqd --cacert $dir/moat-state/tls/ca.crt -u bblp:$viewer ftps://198.51.100.1:990/
  ip netns exec lan nmap -Pn -p- --min-rate 5000 198.51.100.1
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
  up) up ;;
  down) down ;;
  status) status ;;
  *)
    echo "usage: $0 up | down | status" >&2
    exit 2
    ;;
esac
