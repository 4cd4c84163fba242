#!/usr/bin/env bash
# Make sure the PostgreSQL the tests use is up: start the local cluster if it is down.
# Under CI=true an unreachable PostgreSQL is a failure; elsewhere the PostgreSQL tests
# are skipped with a message.
set -u
host=${SWITCHYARD_TEST_PG_HOST:-127.0.0.1}
port=${SWITCHYARD_TEST_PG_PORT:-5432}

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
  ready() { python3 -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('$host', $port)))"; }
fi

if ready; then exit 0; fi
echo "PostgreSQL at $host:$port is down; trying to start it" >&2
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
fi
for _ in $(seq 1 30); do
  ready && exit 0
  sleep 1
done
if [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL at $host:$port cannot be reached; CI needs it" >&2
  exit 1
fi
echo "PostgreSQL at $host:$port cannot be reached; PostgreSQL tests will be skipped" >&2
exit 0
