#!/bin/sh
# Creates (or updates) every Secret the overlays mount, from the files in one folder, in
# namespace NS: what `faceshard credentials --out DIR`, `node deploy/k8s/nats-routes.mjs
# --out DIR/routes.conf` (prod only) and the API keys file DIR/api-keys (docs/kubernetes.md)
# wrote there.
#
#   deploy/k8s/secrets.sh "$NS" creds            kubectl apply them
#   deploy/k8s/secrets.sh --print "$NS" creds    print them (YAML, no cluster needed)
#
# Each Secret gets one key named after its file (kubectl create secret --from-file), the
# name the pods mount:
#   faceshard-nats-auth         nats-auth.conf   (the NATS servers' authorization)
#   faceshard-nats-routes       routes.conf      (route credentials; only when the file exists)
#   faceshard-creds-<identity>  <identity>.creds (one per .creds file: admin, writer, reader,
#                                                 coordinator, encoder, gateway, shard-<i>)
#   faceshard-gateway-api-keys  api-keys         (the gateway's API keys)
# creds/signing/ (the keys that issue identities) is never uploaded. Pods see an updated
# Secret within a minute or two; the gateway reads its keys only when it starts
# (kubectl -n "$NS" rollout restart deployment/faceshard-gateway).
set -eu

print=false
if [ "${1:-}" = "--print" ]; then
  print=true
  shift
fi
if [ $# -ne 2 ]; then
  echo "usage: $0 [--print] NAMESPACE DIR" >&2
  exit 2
fi
ns=$1
dir=$2
[ -f "$dir/nats-auth.conf" ] || { echo "$0: $dir/nats-auth.conf not found: run faceshard credentials --out $dir first" >&2; exit 1; }
[ -f "$dir/api-keys" ] || { echo "$0: $dir/api-keys not found: write the gateway's API keys first (docs/kubernetes.md)" >&2; exit 1; }
# The gateway's own identity (its Deployment mounts faceshard-creds-gateway); a DIR written before it had one lacks it.
[ -f "$dir/gateway.creds" ] || { echo "$0: $dir/gateway.creds not found: run faceshard credentials --out $dir --shards N again (it keeps the keys there and adds it)" >&2; exit 1; }

secret() { # NAME FILE
  if $print; then
    echo "---"
    kubectl -n "$ns" create secret generic "$1" --from-file="$2" --dry-run=client -o yaml
  else
    kubectl -n "$ns" create secret generic "$1" --from-file="$2" --dry-run=client -o yaml | kubectl apply -f -
  fi
}

secret faceshard-nats-auth "$dir/nats-auth.conf"
if [ -f "$dir/routes.conf" ]; then secret faceshard-nats-routes "$dir/routes.conf"; fi
for creds in "$dir"/*.creds; do
  [ -f "$creds" ] || continue
  id=$(basename "$creds" .creds)
  secret "faceshard-creds-$id" "$creds"
done
secret faceshard-gateway-api-keys "$dir/api-keys"
