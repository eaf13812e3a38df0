#!/bin/sh
# Brings up each printer's LAN address (the macvlan connections `moat appliance render` wrote) after
# `nmcli connection reload`. An active one is only reapplied: re-activating it on every settings change would
# drop the printer's address and its clients. A printer whose link cannot come up (no cable, no lease yet) must
# not keep the others down, so a failure is reported and the loop goes on; NetworkManager retries (autoconnect).
dir=${1:-/etc/NetworkManager/system-connections}
for file in "$dir"/moat-printer-*.nmconnection; do
  [ -e "$file" ] || continue
  id=$(basename "$file" .nmconnection)
  device=$(nmcli --get-values GENERAL.DEVICES connection show id "$id" 2>/dev/null)
  if [ -n "$device" ] && nmcli device reapply "$device"; then continue; fi
  nmcli --wait 30 connection up id "$id" || echo "printer-connections: $id did not come up yet" >&2
done
