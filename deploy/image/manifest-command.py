#!/usr/bin/env python3
"""Reads rendered Kubernetes manifests (kubectl kustomize ...) and prints what one
workload's first container runs, as a NUL-separated argv for `env -i`:

    KEY=VALUE ... COMMAND ARGS...     (run it with: env -i "${argv[@]}")

The env is the container's envFrom ConfigMaps, then its env (value only), then the
--set overrides; $(VAR) in command and args is expanded as Kubernetes does. With
--root, `node` becomes ROOT/usr/local/bin/node and paths under /app/ become ROOT/app/...
(running the image's files from its mounted root filesystem, without a container);
--map FROM=TO rewrites paths under a volume's mount path FROM (in env values and
args) to a host directory TO.

    manifest-command.py RENDERED.yaml Deployment/faceshard-coordinator --root R --set NATS_URL=...
    manifest-command.py RENDERED.yaml ConfigMap/faceshard-nats-config --key nats.conf   (the raw value)
"""
import argparse
import re
import sys

import yaml


def fail(message):
    sys.stderr.write(f"manifest-command: {message}\n")
    sys.exit(2)


def find(docs, kind, name):
    # ConfigMaps from a generator carry a hash suffix: name-<hash>.
    for doc in docs:
        if doc and doc.get("kind") == kind:
            got = doc["metadata"]["name"]
            if got == name or (kind == "ConfigMap" and re.fullmatch(re.escape(name) + r"-[a-z0-9]{10}", got)):
                return doc
    fail(f"no {kind}/{name} in the rendered manifests")


def container_of(workload):
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    containers = spec["template"]["spec"].get("containers") or []
    if not containers:
        fail(f"{workload['kind']}/{workload['metadata']['name']} has no container")
    return containers[0]


def container_env(docs, container, overrides):
    env = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if not ref:
            fail(f"envFrom other than configMapRef is not supported: {source}")
        env.update({k: str(v) for k, v in (find(docs, "ConfigMap", ref["name"]).get("data") or {}).items()})
    for item in container.get("env") or []:
        if "value" not in item:
            fail(f"env {item['name']} is not a plain value (valueFrom is not supported)")
        env[item["name"]] = str(item["value"])
    for pair in overrides:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--set wants KEY=VALUE, got '{pair}'")
        env[key] = value
    return env


def expand(text, env):
    # Kubernetes: $(VAR) is replaced when VAR is defined, $$(VAR) escapes it.
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def mapped(text, maps):
    for source, target in maps:
        if text == source or text.startswith(source + "/"):
            return target + text[len(source):]
    return text


def rooted(arg, root):
    if not root:
        return arg
    if arg == "node":
        return f"{root}/usr/local/bin/node"
    return root + arg if arg.startswith("/app/") else arg


def main():
    parser = argparse.ArgumentParser(description="what a workload of rendered manifests runs")
    parser.add_argument("rendered")
    parser.add_argument("target", help="Kind/name, e.g. Deployment/faceshard-shard-0")
    parser.add_argument("--root", default="", help="the image's mounted root filesystem")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--map", action="append", default=[], metavar="FROM=TO", help="a volume's mount path -> a host directory")
    parser.add_argument("--command", action="append", default=[], metavar="ARG", help="run this instead of the container's command and args (repeat per word)")
    parser.add_argument("--key", help="ConfigMap only: print this key's value")
    args = parser.parse_args()
    kind, sep, name = args.target.partition("/")
    if not sep:
        fail(f"target must be Kind/name, got '{args.target}'")
    with open(args.rendered, encoding="utf-8") as f:
        docs = list(yaml.safe_load_all(f))
    doc = find(docs, kind, name)
    if kind == "ConfigMap":
        data = doc.get("data") or {}
        if args.key not in data:
            fail(f"ConfigMap/{name} has no key '{args.key}'")
        sys.stdout.write(data[args.key])
        return
    maps = []
    for pair in args.map:
        source, sep, target = pair.partition("=")
        if not sep or not source.startswith("/") or not target:
            fail(f"--map wants /MOUNT/PATH=HOST_DIR, got '{pair}'")
        maps.append((source.rstrip("/"), target.rstrip("/")))
    container = container_of(doc)
    env = {k: mapped(v, maps) for k, v in container_env(docs, container, args.set).items()}
    words = args.command or (container.get("command") or []) + (container.get("args") or [])
    argv = [mapped(expand(a, env), maps) for a in words]
    if not argv:
        fail(f"{args.target} sets no command (the image's CMD would run)")
    argv = [rooted(a, args.root) for a in argv]
    if "=" in argv[0]:
        fail(f"the command '{argv[0]}' has a '=': env would take it for a variable")
    out = [f"{k}={v}" for k, v in env.items()] + argv
    sys.stdout.write("\0".join(out) + "\0")


main()
