# syntax=docker/dockerfile:1
# Quire's container image: `docker build -t quire .`
#
#   docker run -p 8080:8080 -v quire-data:/data quire                    # embedded profile, every role
#   docker run … quire node dist/server/main.js --roles=api,sync         # web (Procfile: web)
#   docker run … quire node dist/server/main.js --roles=worker           # worker (Procfile: worker)
#   docker run … quire node dist/server/cli/main.js db migrate           # migrations only, then exit
#
# The runtime stage runs as a numeric non-root user and writes only to DATA_DIR (/data) and
# /tmp, so it works with a read-only root filesystem (deploy/kubernetes mounts both).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: TypeScript to dist/, the web app to clients/web/dist, then production deps only ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true
COPY package.json package-lock.json ./
# No dependency needs its install script (prebuilt binaries ship inside the packages), and
# skipping them keeps compilers out of the image.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY contract ./contract
COPY lib ./lib
COPY db ./db
COPY core ./core
COPY sync ./sync
COPY ml-workers ./ml-workers
COPY server ./server
COPY clients ./clients
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    WEB_DIR=/app/clients/web/dist \
    HOME=/tmp \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# Owned by root and not writable by the user the server runs as.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/clients/web/dist ./clients/web/dist
RUN mkdir -p /data && chown 10001:10001 /data && chmod 0700 /data
USER 10001:10001
EXPOSE 8080
CMD ["node", "dist/server/main.js"]
