# syntax=docker/dockerfile:1
# faceshard: ONE image for every service. It holds the compiled dist/ and the production
# node_modules (face-api's model weights ship in node_modules/@vladmandic/face-api/model).
# The Kubernetes manifests choose the entry point with `command`:
#   node /app/dist/services/coordinator/main.js | shard/main.js | encoder/main.js
#   node /app/dist/cli/faceshard.js <command>
#
# CPU image (default; the encoder uses tfjs-node when libtensorflow could be downloaded
# while building, otherwise WebAssembly):
#   docker build -t faceshard:0.1.0 .
# GPU image for encoders (tfjs-node-gpu 4.22 needs CUDA 11.2 + cuDNN 8.1 at run time,
# and network access while building to download libtensorflow-gpu):
#   docker build -t faceshard:0.1.0-gpu \
#     --build-arg RUNTIME_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 \
#     --build-arg TFJS_NATIVE=gpu .
# Only encoders need the GPU image; coordinators and shards run the CPU one.
# No Docker engine or no registry of base images (podman, a debootstrap base with this
# machine's node): deploy/image/build-image.sh, see docs/image.md.
#
# TFJS_NATIVE: cpu (try tfjs-node, fall back to wasm), gpu (tfjs-node-gpu, required),
#              none (wasm only, no download at build time: smallest image, offline builds).

ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG RUNTIME_IMAGE=${NODE_IMAGE}

# ---- build: all dependencies, compile TypeScript into dist/ -------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts skipped: compiling needs no native module (and no libtensorflow download).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY libs ./libs
COPY services ./services
COPY cli ./cli
RUN npm run build

# ---- deps: production dependencies only ---------------------------------------------
FROM ${NODE_IMAGE} AS deps
ARG TFJS_NATIVE=cpu
WORKDIR /app
COPY package.json package-lock.json ./
# sharp ships prebuilt binaries as packages (no install script); the only install scripts
# that matter are the optional tfjs-node(-gpu) ones, which download libtensorflow: run
# just the one this image wants.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && case "$TFJS_NATIVE" in \
      cpu)  rm -rf node_modules/@tensorflow/tfjs-node-gpu \
            && (npm rebuild @tensorflow/tfjs-node \
                || { echo "tfjs-node: libtensorflow could not be installed; the encoder will run on wasm"; rm -rf node_modules/@tensorflow/tfjs-node; }) ;; \
      gpu)  rm -rf node_modules/@tensorflow/tfjs-node && npm rebuild @tensorflow/tfjs-node-gpu ;; \
      none) rm -rf node_modules/@tensorflow/tfjs-node node_modules/@tensorflow/tfjs-node-gpu ;; \
      *)    echo "TFJS_NATIVE must be cpu, gpu or none (got $TFJS_NATIVE)"; exit 1 ;; \
    esac \
 && test -d node_modules/@vladmandic/face-api/model \
 && npm cache clean --force
# Smaller image (measured in docs/image.md): files node never loads here. Source maps
# (~210 MB), TypeScript declarations, tfjs's browser bundles, bundle reports, WeChat
# mini-program builds and compiled tests, face-api's browser bundles, and core-js (only
# tfjs's browser polyfill entry imports it). tfjs's ES module trees stay (tfjs-node may
# import from them); its *.node.js bundles and .wasm files stay.
RUN find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.min.js.html' \) -delete \
 && for p in tfjs tfjs-core tfjs-backend-cpu tfjs-backend-wasm tfjs-backend-webgl tfjs-converter tfjs-data tfjs-layers; do \
      d="node_modules/@tensorflow/$p/dist" \
      && find "$d" -maxdepth 1 -type f -name 'tf*.js' ! -name '*.node.js' -delete \
      && find "$d" -type f -name '*_test.js' -delete \
      && rm -rf "$d/miniprogram" || exit 1; \
    done \
 && rm -f node_modules/@vladmandic/face-api/dist/face-api.js node_modules/@vladmandic/face-api/dist/face-api.esm*.js \
      node_modules/@vladmandic/face-api/dist/tfjs.esm.js \
 && rm -rf node_modules/core-js \
 && test -f node_modules/@tensorflow/tfjs/dist/tf.node.js && test -f node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js

# ---- runtime ----------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# The node binary of the build image, only where the runtime image has none (the CUDA
# image): a COPY would add a second ~100 MB copy of the same file on the node image.
RUN --mount=type=bind,from=build,source=/usr/local/bin/node,target=/mnt/build-node \
    command -v node >/dev/null || cp /mnt/build-node /usr/local/bin/node
ENV NODE_ENV=production
WORKDIR /app
# package.json is needed at run time: its "type": "module" makes dist/**/*.js ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Files stay owned by root and read-only to the service user: the manifests also mount
# the root filesystem read-only (only /tmp and the snapshot dir are writable volumes).
USER 1000:1000
EXPOSE 8080
CMD ["node", "dist/cli/faceshard.js", "--help"]
