#!/bin/sh
# After every boot of a system slot (moat-mark-good.service, installed as /usr/lib/moat/mark-good): once
# `moat health` passes (service up, firewall applied, bridges and setup page listening), RAUC marks the
# booted slot good, which gives it its boot attempts back. When Moat is not healthy within the limit:
#  - on a slot on trial (written by an update and never good since), exit 1: the unit's FailureAction
#    reboots, the boot loader counts the failed attempt and, once they are spent, starts the other slot;
#  - on a proven slot, stay up: the update is not the cause, and rebooting would only loop (the owner can
#    still reach the console and the logs).
# moat and rauc are found on PATH; MOAT_LIBEXEC and MOAT_CMDLINE point elsewhere for tests.
set -eu

wait_seconds=${MOAT_MARK_GOOD_WAIT:-600}
boot_state=${MOAT_LIBEXEC:-/usr/lib/moat}/rauc-boot-state
slot=$(sed -n 's/.*\brauc\.slot=\([AB]\)\b.*/\1/p' "${MOAT_CMDLINE:-/proc/cmdline}")
if [ -z "$slot" ]; then
  echo "mark-good: not started by Moat's A/B boot script (no rauc.slot= on the kernel command line); nothing to do"
  exit 0
fi

if moat health --state-dir /var/lib/moat --wait "$wait_seconds"; then
  exec rauc status mark-good
fi

if [ "$("$boot_state" get-trial "$slot")" = yes ]; then
  echo "mark-good: Moat is not healthy on slot $slot, new since the last update: rebooting so the boot loader can fall back" >&2
  exit 1
fi
echo "mark-good: Moat is not healthy on slot $slot, which was good before: staying up (see journalctl -u moat)" >&2
