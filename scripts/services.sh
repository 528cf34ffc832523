# Sourced by scripts: start local PostgreSQL and Redis where they are installed but not running.
# Exports TEST_POSTGRES_URL / TEST_REDIS_URL when reachable. With CI=true a missing server fails.

_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_services() {
  local pg_port=${PGPORT:-5432} redis_port=${REDIS_PORT:-6379}
  if ! _port_open "$pg_port" && command -v pg_ctlcluster >/dev/null 2>&1; then
    local version; version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
    [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
    for _ in $(seq 20); do _port_open "$pg_port" && break; sleep 0.5; done
  fi
  if ! _port_open "$redis_port" && command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null 2>&1 || true
    for _ in $(seq 20); do _port_open "$redis_port" && break; sleep 0.5; done
  fi
  if _port_open "$pg_port"; then
    export TEST_POSTGRES_URL=${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres}
  elif [ "${CI:-}" = "true" ]; then
    echo "CI: PostgreSQL is required but not reachable on 127.0.0.1:$pg_port" >&2; return 1
  else
    echo "note: PostgreSQL not reachable on 127.0.0.1:$pg_port; its tests will be skipped" >&2
  fi
  if _port_open "$redis_port"; then
    export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:$redis_port/15}
  elif [ "${CI:-}" = "true" ]; then
    echo "CI: Redis is required but not reachable on 127.0.0.1:$redis_port" >&2; return 1
  else
    echo "note: Redis not reachable on 127.0.0.1:$redis_port; its tests will be skipped" >&2
  fi
}
