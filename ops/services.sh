#!/usr/bin/env bash
# Makes sure the services the test suite talks to are up on loopback:
# PostgreSQL (5432), Redis (6379), NATS with JetStream (4222).
# Each is (re)started with the machine's own command only when its port is closed.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 100); do
    port_open "$port" && { echo "services: $name is up on $port"; return 0; }
    sleep 0.2
  done
  echo "services: $name did not come up on port $port" >&2
  return 1
}

ensure() {
  local name=$1 port=$2; shift 2
  if port_open "$port"; then
    echo "services: $name already up on $port"
    return 0
  fi
  echo "services: starting $name"
  "$@" || echo "services: start command for $name exited $?" >&2
  wait_port "$name" "$port"
}

ensure postgres 5432 pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
ensure redis 6379 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
  --dir /var/lib/redis --logfile /var/log/redis/ci.log
ensure nats 4222 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
  -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
