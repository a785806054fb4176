# syntax=docker/dockerfile:1
# Serving image (the full multi-stage set with a GPU training target comes with
# the packaging issue). On a build machine with internet, tfjs-node's ordinary
# install downloads libtensorflow; scripts/setup.sh keeps that path.
FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip make g++ unzip ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --ignore-scripts --no-audit --no-fund && bash scripts/setup-tensorflow.sh && npm rebuild better-sqlite3
COPY . .
ENV PORT=8339
EXPOSE 8339
CMD ["make", "run"]
