#!/usr/bin/env bash
# Builds the project's Dockerfile with podman (no Docker engine) on a base made here
# (make-base.sh: debootstrap + this machine's node), for machines that reach Debian's
# mirror and the npm registry but no registry of container images.
#
#   deploy/image/build-image.sh          # -> localhost/faceshard:<package version>
#
# npm inside the build uses this machine's npm configuration (user and global npmrc)
# and CA bundle, mounted read-only; nothing of them is copied into a layer.
# Env: IMAGE (the tag), TFJS_NATIVE (default none: wasm only, nothing downloaded while
# building), BASE_IMAGE and RUNTIME_BASE_IMAGE (skip make-base.sh; the runtime base
# defaults to BASE_IMAGE), CA_BUNDLE (default
# /etc/ssl/certs/ca-certificates.crt), FACESHARD_IMAGE_DIR (see podman.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

fail() { echo "build-image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "podman build here runs as root (image mount needs it too)"
command -v podman >/dev/null || fail "podman is not installed (apt-get install -y podman)"

version="$(node -p 'require(process.argv[1]).version' "$repo/package.json")"
image="${IMAGE:-localhost/faceshard:$version}"
tfjs="${TFJS_NATIVE:-none}"
ca="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[ -f "$ca" ] || fail "no CA bundle at '$ca' (set CA_BUNDLE)"
if [ -z "${BASE_IMAGE:-}" ]; then
  read -r BASE_IMAGE RUNTIME_BASE_IMAGE < <("$here/make-base.sh" | tail -n 1)
fi
base="$BASE_IMAGE"
runtime_base="${RUNTIME_BASE_IMAGE:-$base}"

# The npm configuration files this machine's npm reads, mounted where the image's npm
# (prefix /usr/local) looks for them.
mounts=(-v "$ca:$ca:ro")
user_rc="$(npm config get userconfig)"
global_rc="$(npm config get globalconfig)"
[ -f "$user_rc" ] && mounts+=(-v "$user_rc:/root/.npmrc:ro")
[ -f "$global_rc" ] && mounts+=(-v "$global_rc:/usr/local/etc/npmrc:ro")

echo "build-image: $image from $base, runtime on $runtime_base (TFJS_NATIVE=$tfjs)" >&2
nice -n 19 "$here/podman.sh" build --isolation chroot --network host --pull=never \
  --build-arg NODE_IMAGE="$base" --build-arg RUNTIME_IMAGE="$runtime_base" --build-arg TFJS_NATIVE="$tfjs" \
  "${mounts[@]}" -t "$image" -f "$repo/Dockerfile" "$repo" >&2
"$here/podman.sh" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$image" >&2
echo "$image"
