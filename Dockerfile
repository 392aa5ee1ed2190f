# syntax=docker/dockerfile:1
# acerelay's image: build it yourself with `docker build -t acerelay .` (README: "Container").
# Two stages on the same Node 20 base, so the native module built in the first (better-sqlite3)
# matches the runtime of the second. TypeScript runs through tsx (a production dependency): no
# compile step, no dev dependencies in the image.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
# better-sqlite3 fetches a prebuilt binary when it can; these build it from source when it cannot
# (no access to GitHub, an architecture without one). They stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
# What a source build leaves beside the module (objects, the SQLite sources): ~25 MB not needed to run.
RUN rm -rf node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \
      node_modules/better-sqlite3/build/Release/test_extension.node node_modules/better-sqlite3/deps node_modules/better-sqlite3/src

FROM ${NODE_IMAGE}
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# The journal lives in a volume; the directory is made here so that a new named volume is
# created owned by the user acerelay runs as.
RUN mkdir -p /data && chown node:node /data
ENV ACERELAY_DATA_DIR=/data
VOLUME ["/data"]
# The node image's unprivileged user (uid 1000); the application files stay root's, read-only to it.
USER node
EXPOSE 8080
# node is PID 1 (exec form, no shell or npm in between): SIGTERM reaches acerelay's own handler,
# which ends every session and delivers its stream_ended before exiting (allow it 30 s: compose's
# stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/bin/healthcheck.js"]
ENTRYPOINT ["node", "/app/bin/acerelay.js"]
CMD ["serve"]
