#!/bin/sh
# Brings up each printer's LAN address (the macvlan connections `moat appliance render` wrote) after
# NetworkManager has reloaded them. A printer whose link cannot come up (no cable, no lease yet) must not keep
# the others down, so a failure is reported and the loop goes on; NetworkManager retries it (autoconnect).
dir=${1:-/etc/NetworkManager/system-connections}
for file in "$dir"/moat-printer-*.nmconnection; do
  [ -e "$file" ] || continue
  id=$(basename "$file" .nmconnection)
  nmcli --wait 30 connection up id "$id" || echo "printer-connections: $id did not come up yet" >&2
done
