# The tool's image (issue #6): the API server, the LTI tool, the browser client.
#   podman build -t lab-orchestrator .                  (anywhere a registry is reachable)
#   deploy/images/build.sh node-base && podman build --format docker \
#     --build-arg NODE_IMAGE=localhost/lab-orchestrator/node-base -t lab-orchestrator .
# deploy/kubernetes/ runs it as `lab-orchestrator` (uid 10001, read-only root, /data mounted).
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY server server
COPY lti lti
COPY client client
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
RUN groupadd --gid 10001 lab && \
    useradd --uid 10001 --gid lab --no-log-init --home-dir /data --no-create-home --shell /usr/sbin/nologin lab && \
    mkdir -p /data && chown lab:lab /data
WORKDIR /app
# Owned by root and read-only to the tool: it writes only to DATA_DIR.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/client/dist client/dist
COPY bin bin
COPY labs labs
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
EXPOSE 8080
USER lab
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The semi-space size cuts garbage collection on the desktop console path (bench/gateway.ts).
CMD ["node", "--max-semi-space-size=64", "dist/server/main.js"]
