#!/usr/bin/env bash
# Builds a signed RAUC update bundle from a root filesystem image:
#   os-image/bundle.sh ROOTFS.ext4 VERSION [OUTDIR]   ->  OUTDIR/moat-VERSION-arm64.raucb
#   os-image/bundle.sh --key                          ->  makes the key if missing, prints the certificate's path
# The compatible string is the one the appliance's RAUC accepts (appliance/rauc/system.conf), so a bundle
# cannot be made for a Moat that would refuse it. Signed with the build owner's key from MOAT_KEYS_DIR
# (default os-image/keys, git-ignored); when there is none, a development key and certificate are made there.
# Only the certificate (keyring.pem) ever goes into an image; key.pem stays with whoever builds.
set -euo pipefail

main() {
  local rootfs=${1:-} version=${2:-} here repo out keys compatible staging name
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  keys=${MOAT_KEYS_DIR:-$here/keys}
  # The image build asks for the certificate before it builds the tree the bundle is made from.
  if [[ $rootfs == --key ]]; then
    ensure_key "$keys"
    echo "$keys/keyring.pem"
    return
  fi
  if [[ -z $rootfs || -z $version ]]; then
    echo "usage: os-image/bundle.sh ROOTFS.ext4 VERSION [OUTDIR]" >&2
    exit 2
  fi
  [[ -f $rootfs ]] || { echo "bundle.sh: no root filesystem image at $rootfs" >&2; exit 1; }
  # The version lands in the file name and RAUC's manifest: no spaces, slashes or shell characters.
  [[ $version =~ ^[0-9A-Za-z][0-9A-Za-z.+~-]{0,63}$ ]] || { echo "bundle.sh: bad version '$version'" >&2; exit 2; }
  command -v rauc >/dev/null || { echo "bundle.sh: the rauc host tool is missing (apt-get install rauc squashfs-tools)" >&2; exit 1; }

  repo=$(dirname "$here")
  out=${3:-$here/out}
  compatible=$(sed -n 's/^compatible=//p' "$repo/appliance/rauc/system.conf")

  ensure_key "$keys"

  staging=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the trap must remove this directory, not a later value
  trap "rm -rf '$staging'" EXIT
  mkdir -p "$staging/content" "$out"
  cp --reflink=auto "$rootfs" "$staging/content/rootfs.ext4"
  cat >"$staging/content/manifest.raucm" <<MANIFEST
[update]
compatible=$compatible
version=$version

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
MANIFEST

  name="moat-$version-arm64.raucb"
  rm -f "$out/$name"
  rauc bundle --cert="$keys/keyring.pem" --key="$keys/key.pem" "$staging/content" "$out/$name" >"$staging/rauc.log" 2>&1 ||
    { cat "$staging/rauc.log" >&2; exit 1; }
  # Proof the bundle verifies against the certificate the image will carry, before anyone ships it.
  rauc info --keyring="$keys/keyring.pem" "$out/$name" >"$staging/info.log" 2>&1 ||
    { cat "$staging/info.log" >&2; exit 1; }
  echo "Built $out/$name (compatible $compatible, signed by $(openssl x509 -noout -subject -in "$keys/keyring.pem" | sed 's/^subject=//'))"
}

# A self-signed certificate is its own keyring: RAUC trusts bundles signed by exactly this key.
ensure_key() {
  local keys=$1
  [[ -f $keys/key.pem && -f $keys/keyring.pem ]] && return
  if [[ -e $keys/key.pem || -e $keys/keyring.pem ]]; then
    echo "bundle.sh: $keys holds only one of key.pem and keyring.pem; restore the other or remove both" >&2
    exit 1
  fi
  mkdir -p "$keys"
  chmod 0700 "$keys"
  echo "bundle.sh: no signing key in $keys: making a development key (keep it: bundles signed by another key are refused by images built with this one)"
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/O=Moat/CN=Moat development update key ($(hostname))" \
    -keyout "$keys/key.pem" -out "$keys/keyring.pem" 2>/dev/null)
  chmod 0644 "$keys/keyring.pem"
}

main "$@"
exit
