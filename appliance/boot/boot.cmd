# Moat's A/B slot choice, run by U-Boot's distro boot from the FAT boot partition (compiled to boot.scr with
# `mkimage -T script`). The boot state lives in moat-boot.env beside it, written by this script and by RAUC
# through /usr/lib/moat/rauc-boot-state (appliance/rauc/boot-state.sh):
#   BOOT_ORDER    the slots to try, in order ("A B": A first); RAUC puts a newly written slot first
#   BOOT_x_LEFT   attempts slot x has left; every boot here takes one, marking the slot good gives it 3 again
# A slot with none left is skipped, so a system that never reaches "good" falls back to the other slot.
# Counts stay within 0..3 because setexpr computes in hexadecimal, where 0..9 read the same.

setenv BOOT_ORDER "A B"
setenv BOOT_A_LEFT 3
setenv BOOT_B_LEFT 3
setenv moat_console "console=serial0,115200 console=tty1"
if load ${devtype} ${devnum}:${distro_bootpart} ${loadaddr} moat-boot.env; then
  env import -t ${loadaddr} ${filesize} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT moat_console
fi

# The machine ID lives on the data partition (4, mounted on /var), written there by the first boot: the system
# slots are read-only, so systemd would otherwise make a new one at every boot. Only that one variable is taken
# from the file; without it (the first boot, or a file U-Boot cannot read) systemd makes an ID as before.
setenv moat_machine_id
if load ${devtype} ${devnum}:4 ${loadaddr} /lib/moat-host/machine-id.env; then
  env import -t ${loadaddr} ${filesize} moat_machine_id
fi

setenv moat_slot
for slot in ${BOOT_ORDER}; do
  if test -z "${moat_slot}"; then
    if test "${slot}" = A && test ${BOOT_A_LEFT} -gt 0; then
      setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
      setenv moat_slot A
      setenv moat_part 2
    fi
    if test "${slot}" = B && test ${BOOT_B_LEFT} -gt 0; then
      setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
      setenv moat_slot B
      setenv moat_part 3
    fi
  fi
done

if test -z "${moat_slot}"; then
  # Both slots failed all their attempts (or the file was damaged): start over rather than leave the owner
  # with a Moat that never boots. The order is reset too, so a damaged BOOT_ORDER cannot loop forever.
  echo "moat-boot: no slot has attempts left; both get 3 again"
  setenv BOOT_ORDER "A B"
  setenv BOOT_A_LEFT 3
  setenv BOOT_B_LEFT 3
fi

# The attempt is counted before the kernel starts, so a kernel that hangs or panics still uses it up.
env export -t ${loadaddr} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT moat_console
if fatwrite ${devtype} ${devnum}:${distro_bootpart} ${loadaddr} moat-boot.env ${filesize}; then
  echo "moat-boot: state saved: order ${BOOT_ORDER}, attempts left A=${BOOT_A_LEFT} B=${BOOT_B_LEFT}"
else
  echo "moat-boot: the boot state could not be saved; this attempt is not counted"
fi

if test -z "${moat_slot}"; then
  reset
fi

echo "moat-boot: booting slot ${moat_slot} (partition ${moat_part})"
part uuid ${devtype} ${devnum}:${moat_part} moat_root
# Kernel names for network interfaces (eth0, wlan0): Moat's generated keyfiles name them.
setenv bootargs "${moat_console} root=PARTUUID=${moat_root} ro rootwait net.ifnames=0 panic=10 rauc.slot=${moat_slot}"
if test -n "${moat_machine_id}"; then
  setenv bootargs "${bootargs} systemd.machine_id=${moat_machine_id}"
fi
echo "moat-boot: kernel command line: ${bootargs}"
if test -z "${fdt_addr}"; then
  setenv fdt_addr ${fdtcontroladdr}
fi
if load ${devtype} ${devnum}:${moat_part} ${kernel_addr_r} /vmlinuz; then
  if load ${devtype} ${devnum}:${moat_part} ${ramdisk_addr_r} /initrd.img; then
    booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr}
  fi
fi
# Only reached when the slot has no bootable kernel: the attempt is spent, the next boot decides again.
echo "moat-boot: slot ${moat_slot} did not start"
reset
