# steerdns container image.
#   docker build -t steerdns .
#   docker run -d --name steerdns -p 53:5300/udp -p 53:5300/tcp \
#     -v "$PWD/zones:/app/zones:ro" -v "$PWD/geodb:/app/geodb:ro" -v steerdns-state:/app/.steerdns-state steerdns
# It listens on 5300 inside (no root needed for port 53) and runs as the unprivileged user "node".

# ---- build: compile TypeScript and compute the country table (needs the dev dependencies)
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY tools ./tools
RUN npm run build

# ---- runtime: production dependencies and the compiled code only
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` build step needs the dev dependencies; dist/ comes from the build stage
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY docker/steerdns.yaml ./steerdns.yaml
COPY zones ./zones
RUN mkdir -p geodb .steerdns-state && chown node:node .steerdns-state
USER node
# the HTTP API (8053) listens on the container's loopback only, for HEALTHCHECK; docker/steerdns.yaml says how
# to open it with a token
EXPOSE 5300/udp 5300/tcp
VOLUME ["/app/zones", "/app/geodb", "/app/.steerdns-state"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8053/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli.js", "serve", "-c", "/app/steerdns.yaml"]
