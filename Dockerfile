# syntax=docker/dockerfile:1
#
# Galen's container image (docs/deploy.md). Targets:
#   runtime  the default (last) stage: `docker build -t galen:0.1.0 .`
#   pytorch  adds Debian's torch and onnx for deep-model training:
#            `docker build --target pytorch -t galen:0.1.0-pytorch .`
# ENTRYPOINT is `galen`: the command is `serve`, `serve --no-worker`, `worker` or any other galen command.
# test/deploy/dockerfile.test.ts lints this file (it cannot be built where the tests run).

ARG NODE_VERSION=20.20.2
ARG DEBIAN_RELEASE=bookworm
# npm 11.19 applies package.json's allowScripts (onnxruntime-node's postinstall must not run: it
# downloads CUDA libraries; the CPU binary is in the package). The npm of the Node 20 image does not.
ARG NPM_VERSION=11.19.1

# Dependencies, with the tools to compile better-sqlite3.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS deps
ARG NPM_VERSION
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
RUN npm install -g npm@${NPM_VERSION}
WORKDIR /app
# Were an older npm ever to run it anyway, onnxruntime-node's postinstall stops at once.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
# --ignore-scripts keeps npm ci from running the package's own `prepare` (the build: no sources
# yet); `npm rebuild` then runs the dependencies' install scripts that allowScripts lets run
# (better-sqlite3, protobufjs) and skips the ones it denies.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild

# Build: compile TypeScript, then drop the dev dependencies and other platforms' ONNX Runtime.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32

# What both targets run: Node 20 on Debian slim, no compilers, a non-root user with a fixed UID.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS base
# tini is PID 1: it passes SIGTERM on to galen and reaps the job and trainer processes galen starts.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 galen \
  && useradd --system --uid 10001 --gid galen --home-dir /home/galen --create-home --shell /usr/sbin/nologin galen \
  && mkdir -p /data \
  && chown galen:galen /data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY python ./python
COPY data/README.md ./data/README.md
COPY data/clinical/breast_cancer_wdbc.csv data/clinical/heart_cleveland_demographics.csv ./data/clinical/
RUN ln -s /app/dist/cli/main.js /usr/local/bin/galen && chmod 0755 /app/dist/cli/main.js
# Listen on every interface (the default, 127.0.0.1, is for one machine); data in the /data volume.
# MALLOC_ARENA_MAX=2 keeps RSS near the working set after bursts of large requests (configuration guide).
ENV GALEN_HOST=0.0.0.0 \
  GALEN_DATA_DIR=/data \
  MALLOC_ARENA_MAX=2
VOLUME ["/data"]
# HTTP (port) and gRPC (grpc.port).
EXPOSE 8080 8081
USER 10001:10001
# No HEALTHCHECK: Kubernetes probes /v2/health/live and /v2/health/ready (deploy/).
ENTRYPOINT ["/usr/bin/tini", "--", "galen"]
CMD ["serve"]

# The PyTorch backend for deep-model training, for `galen worker` (or a `galen serve` that runs
# jobs itself): Debian's python3-torch and python3-onnx in /usr/bin/python3, which Galen finds
# without settings (jobs.python, GALEN_PYTHON, names another Python).
FROM base AS pytorch
USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 python3-torch python3-onnx python3-numpy \
  && rm -rf /var/lib/apt/lists/*
USER 10001:10001

# The default target: Galen without the PyTorch backend (deep training reports how to add it).
FROM base AS runtime
