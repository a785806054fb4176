# syntax=docker/dockerfile:1
# Multi-stage build. Targets:
#   serve      the API and the worker (same image; the command picks which), CPU TensorFlow
#   train-gpu  `make train evaluate` on a CUDA machine with @tensorflow/tfjs-node-gpu
# The build machine needs internet: tfjs-node's ordinary install downloads libtensorflow
# (scripts/setup-tensorflow.sh keeps that path and only falls back offline). CI builds
# the same file offline with podman (scripts/image.sh): NODE_IMAGE is then a Debian
# root file system made by debootstrap with Node.js 20 copied in, and the set-up cache
# (~/.cache/k49, the TensorFlow build) is mounted while it builds.

# The base of every stage but train-gpu: any Debian bookworm with Node.js 20 and npm.
ARG NODE_IMAGE=node:20.19-bookworm-slim

# ---- deps: npm dependencies with native addons built --------------------------------
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip make g++ unzip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Where a set-up cache (the TensorFlow build) is mounted during the build, if one is (CI: scripts/image.sh).
ARG K49_CACHE
COPY package.json package-lock.json ./
COPY scripts/setup-tensorflow.sh scripts/setup-tensorflow.sh
# onnxruntime-node ships its library for every platform (290 MB): the image keeps only its own.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 esbuild \
 && K49_TF_COPY=1 bash scripts/setup-tensorflow.sh \
 && npm prune --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -path "*/linux/$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')" -exec rm -rf {} +

# ---- serve: API and worker ---------------------------------------------------------
FROM ${NODE_IMAGE} AS serve
ENV NODE_ENV=production PORT=8339 HOST=0.0.0.0 QUEUE_URL=sqlite:/data/queue/tasks.db MODEL=/app/artifacts/latest TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /app
RUN groupadd --system k49 && useradd --system --gid k49 --home-dir /app k49 \
 && mkdir -p /data/queue && chown k49:k49 /data/queue
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY pipeline ./pipeline
COPY serve ./serve
COPY artifacts ./artifacts
USER k49
EXPOSE 8339
VOLUME ["/data/queue"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8339) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same commands as `make serve` / `make worker` (node bin/k49.js serve|worker).
ENTRYPOINT ["node", "bin/k49.js"]
CMD ["serve"]

# ---- train-gpu: training on CUDA ---------------------------------------------------
# tfjs-node-gpu 4.22 links libtensorflow 2.9.1, built for CUDA 11.2 and cuDNN 8.1.
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS train-gpu
ENV DEBIAN_FRONTEND=noninteractive TF_CPP_MIN_LOG_LEVEL=2 K49_BACKEND=gpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates make python3 g++ git \
    fonts-noto-cjk fonts-ipafont-mincho \
 && rm -rf /var/lib/apt/lists/*
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
COPY --from=deps /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm install --no-save @tensorflow/tfjs-node-gpu@4.22.0 \
 && npm rebuild better-sqlite3 esbuild
COPY . .
VOLUME ["/app/data", "/app/artifacts"]
# The same command as on a workstation: make train evaluate (DATA/CONFIG/OUT as make variables).
ENTRYPOINT ["make"]
CMD ["train", "evaluate"]
