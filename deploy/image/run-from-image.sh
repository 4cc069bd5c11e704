#!/usr/bin/env bash
# Runs the dev overlay's cluster from the built image's root filesystem, without a
# container engine: `podman image mount`, then each workload's command and env as the
# rendered manifests (kubectl kustomize deploy/k8s/overlays/dev) give them, with the
# image's node and /app, as uid 1000 like the pods. In-cluster names become 127.0.0.1
# and free ports; Secrets and volumes become directories under the run directory.
#
#   deploy/image/run-from-image.sh       # after build-image.sh
#
# Then: encodes face-api's sample photos through the encoder service (faceshard encode
# --queue), queries one photo back with the image's CLI, and asks the gateway for
# /v1/status, searches by another photo, stores and searches a vector over /v1, and
# fetches its page and OpenAPI document; the page is opened in headless Chromium when
# both exist, and must show the cluster's status. Exit 0 only when every face of both
# queried photos found itself first and the gateway answered each request. Bounded by
# TIMEOUT_S (default 300); every process it started is stopped on exit, and the image
# unmounted.
#
# Authentication is ON: the image's CLI writes the cluster's identities (`faceshard
# credentials`, as `faceshard up` does), nats-server loads them, and each process gets
# the .creds file its manifest names (the gateway gateway.creds when the overlay has no
# gateway Deployment).
#
# Env: IMAGE (default localhost/faceshard:<package version>), OVERLAY (default
# deploy/k8s/overlays/dev), TIMEOUT_S, KEEP_RUNNING=1 (wait for Ctrl-C before stopping,
# to open the page in a browser), FACESHARD_IMAGE_DIR (see podman.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${FACESHARD_IMAGE_DIR:-/var/tmp/faceshard-image}"
version="$(node -p 'require(process.argv[1]).version' "$repo/package.json")"
image="${IMAGE:-localhost/faceshard:$version}"
overlay="${OVERLAY:-$repo/deploy/k8s/overlays/dev}"
timeout_s="${TIMEOUT_S:-300}"
run="$dir/smoke"
deadline=$((SECONDS + timeout_s))
uid=1000

say() { echo "run-from-image: $*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}
left() { echo $((deadline - SECONDS > 1 ? deadline - SECONDS : 1)); }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

[ "$(id -u)" = 0 ] || fail "podman image mount needs root"
for tool in podman kubectl nats-server python3 curl setpriv; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
"$here/podman.sh" image exists "$image" || fail "no image $image: build it first (deploy/image/build-image.sh)"

pids=()
names=()
mounted=''
# The image's layers sit in 0700 directories: uid 1000 reaches the root filesystem
# through a read-only bind mount of it here.
root="$dir/image-root"
bound=''
cleanup() {
  local status=$?
  set +e
  # Reverse order: the gateway and encoder first, nats-server last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null; done
  for ((t = 0; t < 30; t++)); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 1
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    kill -0 "${pids[i]}" 2>/dev/null && say "killing ${names[i]} (did not stop in 30 s)" && kill -KILL "${pids[i]}"
  done
  wait 2>/dev/null
  [ -n "$bound" ] && umount "$root"
  [ -n "$mounted" ] && "$here/podman.sh" image unmount "$image" >/dev/null
  if [ $status = 0 ]; then say "OK (logs in $run/logs)"; else say "exit $status (logs in $run/logs)"; fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$run"
mkdir -p "$run/logs" "$run/nats" "$run/photos"
merged="$("$here/podman.sh" image mount "$image")"
mounted=1
mountpoint -q "$root" && umount "$root" # left by a run that was killed
mkdir -p "$root"
mount --bind -o ro "$merged" "$root"
bound=1
say "image $image mounted at $merged, bound read-only at $root"
kubectl kustomize "$overlay" >"$run/rendered.yaml"
manifest() { python3 "$here/manifest-command.py" "$run/rendered.yaml" "$@"; }
shards="$(manifest ConfigMap/faceshard-config --key SHARD_COUNT)"
node="$root/usr/local/bin/node"
cli="$root/app/dist/cli/faceshard.js"

# The identities, written by the image's own CLI; readable by the services' uid only.
"$node" "$cli" credentials --out "$run/creds" --shards "$shards" >"$run/logs/credentials.log"

# nats-server (the host's binary: the image has none) with the overlay's nats.conf;
# the server's paths and ports are this run's. Debian's nats-server is 2.9 (the overlay
# runs 2.10): 2.9 does not know jetstream's sync_interval, so that line goes.
nats_port="$(free_port)"
old_nats=''
nats-server --version | grep -q 'v2\.9\.' && old_nats=1
nats_http="$(free_port)"
manifest ConfigMap/faceshard-nats-config --key nats.conf |
  sed -e "s|^port: 4222|port: $nats_port|" -e "s|^http_port: 8222|http_port: $nats_http|" \
    -e "s|/var/run/nats/nats.pid|$run/nats/nats.pid|" -e "s|/data/jetstream|$run/nats/jetstream|" \
    -e "${old_nats:+/^ *sync_interval:/d}" >"$run/nats/nats.conf"
grep -q "port: $nats_port" "$run/nats/nats.conf" || fail "the overlay's nats.conf has no 'port: 4222' line to replace"
manifest ConfigMap/faceshard-nats-config --key tls.conf >"$run/nats/tls.conf"
cp "$run/creds/nats-auth.conf" "$run/nats/nats-auth.conf"
cp "$root/app/node_modules/@vladmandic/face-api/demo/"sample{1,2,3}.jpg "$run/photos/"
chown -R "$uid:$uid" "$run"

# A plain command prefix, not a function: `$!` of a backgrounded function would be a
# subshell's pid, not the process's.
as_pod_user=(nice -n 19 setpriv --reuid="$uid" --regid="$uid" --clear-groups)

# The image's own ENV (NODE_ENV=production, PATH) comes first, as in a container.
image_env=()
while IFS= read -r pair; do image_env+=(--set "$pair"); done < <("$here/podman.sh" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" | sed '/^$/d')
nats_url="nats://127.0.0.1:$nats_port"
maps=(--map "/var/run/secrets/faceshard/creds=$run/creds")

# start NAME TARGET [manifest-command options]: one workload in the background.
start() {
  local name="$1" target="$2" argv=()
  shift 2
  mapfile -d '' argv < <(manifest "$target" --root "$root" "${maps[@]}" "${image_env[@]}" --set "NATS_URL=$nats_url" "$@")
  [ ${#argv[@]} -gt 0 ] || fail "no command for $target"
  "${as_pod_user[@]}" env -i "${argv[@]}" >"$run/logs/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
}

# wait_ok NAME URL: until URL answers 2xx (or the deadline, or the process exits).
wait_ok() {
  local name="$1" url="$2"
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "$name not ready at $url in ${timeout_s}s (log: $run/logs/$name.log)"
    for ((i = 0; i < ${#names[@]}; i++)); do
      [ "${names[i]}" = "$name" ] && ! kill -0 "${pids[i]}" 2>/dev/null && {
        tail -n 20 "$run/logs/$name.log" >&2
        fail "$name exited"
      }
    done
    sleep 0.5
  done
  say "$name ready"
}

# cli CREDS ARGS...: the image's CLI against this cluster, as uid 1000.
cli() {
  local creds="$1"
  shift
  "${as_pod_user[@]}" env -i HOME="$run" NODE_ENV=production NATS_URL="$nats_url" NATS_CREDS="$run/creds/$creds" timeout "$(left)" "$node" "$cli" "$@"
}

"${as_pod_user[@]}" env SERVER_NAME=faceshard-nats-0 nats-server -c "$run/nats/nats.conf" >"$run/logs/nats.log" 2>&1 &
pids+=($!)
names+=(nats)
wait_ok nats "http://127.0.0.1:$nats_http/healthz"

# The init Job: retried until it succeeds, as its backoffLimit (20) would.
init=()
mapfile -d '' init < <(manifest Job/faceshard-init --root "$root" "${maps[@]}" "${image_env[@]}" --set "NATS_URL=$nats_url")
[ ${#init[@]} -gt 0 ] || fail "no command for Job/faceshard-init"
tries=0
until "${as_pod_user[@]}" env -i "${init[@]}" >>"$run/logs/init.log" 2>&1; do
  tries=$((tries + 1))
  if [ $tries -gt 20 ] || [ $SECONDS -ge $deadline ]; then fail "the init Job did not succeed in $tries tries (log: $run/logs/init.log)"; fi
  sleep 1
done
say "init Job done: $(tail -n 1 "$run/logs/init.log")"

ports=()
for ((i = 0; i < shards; i++)); do
  ports[i]="$(free_port)"
  mkdir -p "$run/shard-$i/snapshots"
  chown "$uid:$uid" "$run/shard-$i/snapshots"
  start "shard-$i" "Deployment/faceshard-shard-$i" --map "/var/lib/faceshard/snapshots=$run/shard-$i/snapshots" --set "HTTP_PORT=${ports[i]}"
done
coordinator_port="$(free_port)"
start coordinator Deployment/faceshard-coordinator --set "HTTP_PORT=$coordinator_port"
encoder_port="$(free_port)"
start encoder Deployment/faceshard-encoder --set "HTTP_PORT=$encoder_port"

# The gateway: its Deployment when the overlay has one (its API keys Secret is a file
# here), else the coordinator's env (the same ConfigMap) with the gateway's command.
reader_key="reader-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
writer_key="writer-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
mkdir -p "$run/gateway-secret"
printf '%s reader smoke-reader\n%s writer smoke-writer\n' "$reader_key" "$writer_key" >"$run/gateway-secret/api-keys"
chown -R "$uid:$uid" "$run/gateway-secret"
chmod 0400 "$run/gateway-secret/api-keys"
gateway_port="$(free_port)"
gateway_ops="$(free_port)"
gateway_env=(--set "HTTP_PORT=$gateway_ops" --set "GATEWAY_HTTP_PORT=$gateway_port" --set "GATEWAY_HTTP_HOST=127.0.0.1")
if grep -q '^  name: faceshard-gateway$' "$run/rendered.yaml"; then
  start gateway Deployment/faceshard-gateway --map "/var/run/secrets/faceshard/gateway=$run/gateway-secret" "${gateway_env[@]}"
else
  say "the overlay has no gateway Deployment: the gateway runs with the coordinator's env and node /app/dist/services/gateway/main.js"
  start gateway Deployment/faceshard-coordinator --command node --command /app/dist/services/gateway/main.js "${gateway_env[@]}" \
    --set "GATEWAY_API_KEYS_FILE=$run/gateway-secret/api-keys" --set "NATS_CREDS=$run/creds/gateway.creds"
fi

for ((i = 0; i < shards; i++)); do wait_ok "shard-$i" "http://127.0.0.1:${ports[i]}/readyz"; done
wait_ok coordinator "http://127.0.0.1:$coordinator_port/readyz"
wait_ok encoder "http://127.0.0.1:$encoder_port/readyz"
wait_ok gateway "http://127.0.0.1:$gateway_ops/readyz"

# Encode through the encoder service, then query one photo back with the CLI.
cli writer.creds encode "$run/photos" --queue >"$run/logs/encode.log" 2>&1 || {
  tail -n 20 "$run/logs/encode.log" >&2
  fail "faceshard encode --queue failed"
}
say "encoded: $(grep -iE 'faces|stored' "$run/logs/encode.log" | tail -n 1)"
cli reader.creds query "$run/photos/sample2.jpg" -k 3 --json >"$run/query.json" 2>"$run/logs/query.log" || {
  tail -n 20 "$run/logs/query.log" >&2
  fail "faceshard query failed"
}
# own_first PHOTO: the top match ids, one line per face, on stdin; fails unless each is PHOTO's.
own_first() {
  python3 -c '
import sys
photo, tops = sys.argv[1], sys.stdin.read().split()
assert tops, "no face found in " + photo
for q, top in enumerate(tops):
    print(f"  face {q}: first match {top}", file=sys.stderr)
    # A face id is <path under the encoded folder'"'"'s parent>#<face index>.
    assert top.rsplit("#", 1)[0].split("/")[-1] == photo, f"face {q}: first match is not {photo}'"'"'s own"
' "$1"
}
python3 -c 'import json,sys; [print(m[0]["id"] if m else "-") for m in json.load(open(sys.argv[1]))["results"]]' "$run/query.json" |
  own_first sample2.jpg || fail "faceshard query did not find sample2.jpg's own faces first"
say "query: every face of sample2.jpg found itself first"

# The gateway over HTTP with its API keys.
api="http://127.0.0.1:$gateway_port"
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$api/v1/status")"
[ "$code" = 401 ] || fail "GET /v1/status without a key answered $code, not 401"
curl -fsS --max-time 10 -H "Authorization: Bearer $reader_key" "$api/v1/status" >"$run/status.json" || fail "GET /v1/status failed"
say "GET /v1/status: $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(len(s["shards"]), "shards,", sum(r["count"] for sh in s["shards"] for r in sh["replicas"][:1]), "faces")' "$run/status.json")"
curl -fsS --max-time 60 -H "Authorization: Bearer $reader_key" -F "photo=@$run/photos/sample3.jpg" -F k=3 "$api/v1/search" >"$run/photo-search.json" ||
  fail "POST /v1/search with a photo failed"
python3 -c 'import json,sys; [print(f["matches"][0]["id"] if f["matches"] else "-") for f in json.load(open(sys.argv[1]))["faces"]]' "$run/photo-search.json" |
  own_first sample3.jpg || fail "POST /v1/search with sample3.jpg did not find its own faces first"
say "POST /v1/search (photo): every face of sample3.jpg found itself first"
vector="$(python3 -c 'import random; r = random.Random(25); print([round(r.gauss(0, 0.125), 6) for _ in range(128)])')"
curl -fsS --max-time 10 -H "Authorization: Bearer $writer_key" -H 'content-type: application/json' \
  -d "{\"faces\": [{\"id\": \"smoke/vector#0\", \"vector\": $vector}]}" "$api/v1/faces" >"$run/ingest.json" || fail "POST /v1/faces failed"
curl -fsS --max-time 10 -H "Authorization: Bearer $reader_key" -H 'content-type: application/json' \
  -d "{\"vectors\": [$vector], \"k\": 2}" "$api/v1/search" >"$run/search.json" || fail "POST /v1/search failed"
python3 -c 'import json,sys; top=json.load(open(sys.argv[1]))["results"][0][0]; assert top["id"] == "smoke/vector#0", top; print("run-from-image: POST /v1/search: first", top["id"], "distance", top["distance"], file=sys.stderr)' "$run/search.json" ||
  fail "POST /v1/search did not answer the stored vector first"
say "GET /v1/openapi.json: $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$api/v1/openapi.json")"
page="$(curl -s -o "$run/page.html" -w '%{http_code} %{content_type}' --max-time 5 "$api/")"
say "GET / (the page): $page"
# Opened in headless Chromium when the gateway serves a page and Chromium is installed: its
# status line must show the cluster (the page's scripts ran and called /v1/status with the key).
if [[ "$page" == "200 text/html"* ]] && command -v chromium >/dev/null; then
  browse=(nice -n 19 timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$run/chromium"
    --virtual-time-budget=10000 "--window-size=1000,900")
  "${browse[@]}" --dump-dom "$api/#key=$reader_key" >"$run/page-dom.html" 2>"$run/logs/chromium.log" || fail "chromium could not open $api/"
  status_line="$(python3 -c '
import re, sys
dom = open(sys.argv[1]).read()
m = re.search(r"<section id=\"status\"[^>]*class=\"up\"[^>]*>.*?<span id=\"status-text\">([^<]*)</span>", dom, re.S)
print(m.group(1) if m else "")' "$run/page-dom.html")"
  [ -n "$status_line" ] || fail "the page opened in Chromium shows no cluster status (DOM in $run/page-dom.html)"
  "${browse[@]}" --screenshot="$run/page.png" "$api/#key=$reader_key" >>"$run/logs/chromium.log" 2>&1 || true
  say "the page in Chromium: status \"$status_line\" (screenshot $run/page.png)"
fi

if [ "${KEEP_RUNNING:-0}" = 1 ]; then
  say "running: gateway $api (reader key $reader_key, writer key $writer_key), NATS $nats_url; Ctrl-C stops everything"
  while sleep 3600; do :; done
fi
