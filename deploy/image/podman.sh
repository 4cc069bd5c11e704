#!/usr/bin/env bash
# podman with faceshard's own image storage under $FACESHARD_IMAGE_DIR (default
# /var/tmp/faceshard-image), so building and mounting the image never touches the
# machine's default container storage. Usage: deploy/image/podman.sh images
set -euo pipefail
dir="${FACESHARD_IMAGE_DIR:-/var/tmp/faceshard-image}"
mkdir -p "$dir/storage" "$dir/run"
exec podman --root "$dir/storage" --runroot "$dir/run" "$@"
