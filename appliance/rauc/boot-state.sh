#!/bin/sh
# RAUC's custom boot-loader backend (installed as /usr/lib/moat/rauc-boot-state, named in system.conf):
#   get-primary | set-primary SLOT | get-state SLOT | set-state SLOT good|bad      (SLOT: A or B)
# It edits the boot state U-Boot's script reads (appliance/boot/boot.cmd): BOOT_ORDER and BOOT_x_LEFT in
# moat-boot.env on the boot partition (MOAT_BOOT_STATE names another file, for tests). Other lines in the
# file (U-Boot's own settings) are kept as they are.
# Beside it, moat-boot.trial names the slot RAUC last made primary until that slot is first marked good:
# `get-trial SLOT` (Moat's own command, for /usr/lib/moat/mark-good) answers yes while it is on trial.
# U-Boot rewrites moat-boot.env whole, so this lives in a file of its own.
set -eu

state=${MOAT_BOOT_STATE:-/boot/firmware/moat-boot.env}
trial=${state%.env}.trial
attempts=3

fail() {
  echo "rauc-boot-state: $*" >&2
  exit 1
}

# Reads one key; U-Boot's export ends the file with a NUL byte, which is not part of any value.
get() {
  [ -f "$state" ] || return 0
  tr -d '\000' <"$state" | sed -n "s/^$1=//p" | tail -n 1
}

order=$(get BOOT_ORDER)
left_a=$(get BOOT_A_LEFT)
left_b=$(get BOOT_B_LEFT)
# The same start as boot.cmd's when the file is missing or was never written.
[ -n "$order" ] || order="A B"
[ -n "$left_a" ] || left_a=$attempts
[ -n "$left_b" ] || left_b=$attempts

slot_arg() {
  case ${1:-} in
    A | B) ;;
    *) fail "slot must be A or B, not '${1:-}'" ;;
  esac
}

left_of() { if [ "$1" = A ]; then echo "$left_a"; else echo "$left_b"; fi; }

set_left() { if [ "$1" = A ]; then left_a=$2; else left_b=$2; fi; }

# Written beside the old file and renamed over it, then synced: a power cut leaves the old state or the new.
save() {
  tmp="$state.new"
  {
    if [ -f "$state" ]; then
      tr -d '\000' <"$state" | grep -v -e '^BOOT_ORDER=' -e '^BOOT_A_LEFT=' -e '^BOOT_B_LEFT=' || true
    fi
    printf 'BOOT_ORDER=%s\nBOOT_A_LEFT=%s\nBOOT_B_LEFT=%s\n' "$order" "$left_a" "$left_b"
  } >"$tmp"
  sync "$tmp" 2>/dev/null || sync
  mv "$tmp" "$state"
  sync
}

case ${1:-} in
  get-primary)
    # The slot U-Boot will start next: the first in order with attempts left.
    for slot in $order; do
      if [ "$(left_of "$slot")" -gt 0 ]; then
        echo "$slot"
        exit 0
      fi
    done
    fail "no slot has attempts left"
    ;;
  set-primary)
    slot_arg "${2:-}"
    if [ "$2" = A ]; then order="A B"; else order="B A"; fi
    set_left "$2" "$attempts"
    echo "$2" >"$trial"
    save
    ;;
  get-trial)
    slot_arg "${2:-}"
    if [ -f "$trial" ] && [ "$(cat "$trial")" = "$2" ]; then echo yes; else echo no; fi
    ;;
  get-state)
    slot_arg "${2:-}"
    if [ "$(left_of "$2")" -gt 0 ]; then echo good; else echo bad; fi
    ;;
  set-state)
    slot_arg "${2:-}"
    case ${3:-} in
      good)
        set_left "$2" "$attempts"
        if [ -f "$trial" ] && [ "$(cat "$trial")" = "$2" ]; then rm -f "$trial"; fi
        ;;
      bad) set_left "$2" 0 ;;
      *) fail "state must be good or bad, not '${3:-}'" ;;
    esac
    save
    ;;
  *)
    fail "usage: rauc-boot-state get-primary | set-primary SLOT | get-state SLOT | set-state SLOT good|bad | get-trial SLOT"
    ;;
esac
