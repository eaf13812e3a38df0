#!/usr/bin/env bash
# Runs Debian's testssl against the TLS listeners of a running Moat (MQTT, FTPS, HTTPS) and fails if it finds
# anything "VULNERABLE" or "NOT ok", apart from the revocation line a private CA always draws (Moat's own CA
# publishes no CRL or OCSP responder). A full run takes several minutes per port, so CI runs this after the
# test suite instead of inside it. Needs a build (npm run build). Talks to 127.0.0.1 only: the target is an
# address, --ip pins it, --nodns none forbids lookups, and testssl's --phone-out (CRL/OCSP fetches) stays off.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d /tmp/moat-testssl-XXXXXX)
demo_pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  if [[ -n $demo_pid ]]; then
    kill "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

node dist/src/cli.js demo --dir "$dir" >"$dir/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 300); do
  [[ -s $dir/demo.json ]] && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$dir/demo.out"; exit 1; }
  sleep 0.1
done
[[ -s $dir/demo.json ]] || { echo "testssl-check: the demo did not start" >&2; exit 1; }

port() { node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).moat; console.log(m[process.argv[2]].port)' "$dir/demo.json" "$1"; }
targets=("mqtt $(port mqtt)" "ftps $(port ftps)" "https $(port https)")

# The three ports in parallel: each run is mostly waiting on handshakes.
pids=()
for target in "${targets[@]}"; do
  read -r name p <<<"$target"
  # testssl's default run less its client simulation (-c): the simulation only lists which client would pick
  # which suite, never says VULNERABLE or NOT ok, and adds minutes per port.
  testssl --quiet --color 0 --warnings batch --ip 127.0.0.1 --nodns none --sneaky -p -s -f -P -S -h -U \
    --add-ca "$dir/state/tls/ca.crt" "127.0.0.1:$p" >"$dir/testssl-$name.txt" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
  read -r name p <<<"${targets[$i]}"
  wait "${pids[$i]}" || true
  if ! grep -q 'Testing vulnerabilities' "$dir/testssl-$name.txt"; then
    echo "testssl-check: $name ($p): testssl did not complete" >&2
    cat "$dir/testssl-$name.txt" >&2
    status=1
    continue
  fi
  findings=$(grep -E 'VULNERABLE|NOT ok' "$dir/testssl-$name.txt" | grep -v 'neither CRL nor OCSP URI provided' || true)
  if [[ -n $findings ]]; then
    echo "testssl-check: $name ($p) FAILED:" >&2
    echo "$findings" >&2
    status=1
  else
    echo "testssl-check: $name ($p): nothing VULNERABLE or NOT ok"
  fi
done
exit "$status"
