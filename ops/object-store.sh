#!/usr/bin/env bash
# Starts the test-time S3-compatible object store (s3rver, a pinned devDependency) on
# 127.0.0.1:4569 with the bucket `quire`, data under .services/s3/. It stands in for the
# object storage of the scaled profile (AWS S3, MinIO, R2, ...). Idempotent: a server that
# already answers with the bucket is left alone. Credentials: S3RVER / S3RVER.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.services"
mkdir -p "$root/s3"

s3_ok() { node -e "fetch('http://127.0.0.1:4569/quire').then(r=>process.exit(r.status<500?0:1),()=>process.exit(1))"; }

if s3_ok; then
  echo "services: s3 already up"
  exit 0
fi
nohup node node_modules/s3rver/bin/s3rver.js -d "$root/s3" -a 127.0.0.1 -p 4569 --silent --no-vhost-buckets \
  --configure-bucket quire > "$root/s3.log" 2>&1 &
for _ in $(seq 1 150); do
  s3_ok && { echo "services: s3 is up (http://127.0.0.1:4569/quire)"; exit 0; }
  sleep 0.2
done
echo "services: s3 did not come up; see $root/s3.log" >&2
exit 1
