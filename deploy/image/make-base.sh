#!/usr/bin/env bash
# Makes the local base image the Dockerfile builds FROM when registries of base images
# cannot be reached: Debian bookworm (debootstrap --variant=minbase) plus this machine's
# node binary and npm, in the layout of the official node image (/usr/local/bin/node,
# /usr/local/lib/node_modules/npm); and the same without npm for the runtime stage
# (nothing runs npm there). Prints both names on its last line: "BASE RUNTIME_BASE".
#
#   deploy/image/make-base.sh   # -> localhost/faceshard-node-base:<node version>
#                               #    localhost/faceshard-node-runtime:<node version>
#
# Env: FACESHARD_IMAGE_DIR (default /var/tmp/faceshard-image), DEBIAN_MIRROR
# (default http://deb.debian.org/debian), NODE_BIN (default the node on PATH),
# NPM_DIR (default <node's prefix>/lib/node_modules/npm).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${FACESHARD_IMAGE_DIR:-/var/tmp/faceshard-image}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
node_bin="$(readlink -f "${NODE_BIN:-$(command -v node)}")"
npm_dir="${NPM_DIR:-$(dirname "$(dirname "$node_bin")")/lib/node_modules/npm}"

fail() { echo "make-base: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "debootstrap and podman import need root"
command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install -y debootstrap)"
[ -x "$node_bin" ] || fail "no node binary at '$node_bin' (set NODE_BIN)"
[ -f "$npm_dir/bin/npm-cli.js" ] || fail "no npm at '$npm_dir' (set NPM_DIR)"

node_version="$("$node_bin" --version)"
tag="localhost/faceshard-node-base:${node_version#v}"
runtime_tag="localhost/faceshard-node-runtime:${node_version#v}"
rootfs="$dir/base-rootfs"

# debootstrap once; later runs reuse the tree (delete $rootfs to start over).
if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
  rm -rf "$rootfs.partial"
  mkdir -p "$dir"
  nice -n 19 debootstrap --variant=minbase bookworm "$rootfs.partial" "$mirror" >&2
  mv "$rootfs.partial" "$rootfs"
fi

# node and npm where the official node image has them.
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
rm -rf "$rootfs/usr/local/lib/node_modules/npm"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# Cheap size cuts: docs (copyright files kept), man pages, locales, apt's caches.
find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/locale/"* \
  "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb

# The node binary must run on this Debian (it links only libc, libstdc++, libgcc, libm).
got="$(chroot "$rootfs" /usr/local/bin/node --version)"
[ "$got" = "$node_version" ] || fail "node in the base says '$got', expected $node_version"

import_rootfs() {
  local name="$1"
  shift
  tar -C "$rootfs" "$@" -c . | nice -n 19 "$here/podman.sh" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$name" >&2
}
import_rootfs "$tag"
import_rootfs "$runtime_tag" --exclude ./usr/local/lib/node_modules/npm --exclude ./usr/local/bin/npm --exclude ./usr/local/bin/npx
echo "$tag $runtime_tag"
