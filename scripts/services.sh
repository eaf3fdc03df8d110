# Starts throwaway Redis and PostgreSQL servers on free loopback ports for the
# tests, when they are installed; stops them when the calling script exits.
# Sourced by scripts/test.sh. Exports FORMGUARD_TEST_REDIS_URL (one server),
# FORMGUARD_TEST_SENTINEL_URL (a master, a replica and three sentinels),
# FORMGUARD_TEST_CLUSTER_URL (three masters) and FORMGUARD_TEST_PG_PORT.

_free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_pg_bin() {
    local name="$1"
    command -v "$name" 2>/dev/null && return
    ls /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -1
}

_as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_services() {
    if [ -n "${_FG_REDIS_PID:-}" ]; then kill "$_FG_REDIS_PID" 2>/dev/null || true; fi
    for topology in sentinel cluster; do
        if [ -d "${_FG_SERVICES_DIR:-}/$topology" ]; then
            "$PY" -m tests.redis_topology stop "$_FG_SERVICES_DIR/$topology" || true
        fi
    done
    if [ -n "${_FG_PG_DIR:-}" ]; then
        _as_postgres "$(_pg_bin pg_ctl)" -D "$_FG_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -n "${_FG_SERVICES_DIR:-}" ]; then rm -rf "$_FG_SERVICES_DIR"; fi
}

start_services() {
    _FG_SERVICES_DIR="$(mktemp -d /tmp/formguard-services.XXXXXX)"
    chmod 755 "$_FG_SERVICES_DIR"
    trap stop_services EXIT

    if command -v redis-server >/dev/null; then
        local port; port="$(_free_port)"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$_FG_SERVICES_DIR" --logfile "$_FG_SERVICES_DIR/redis.log" &
        _FG_REDIS_PID=$!
        for _ in $(seq 50); do
            redis-cli -p "$port" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
        export FORMGUARD_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
        echo "== redis-server on port $port"
        # The same redis-server as Sentinel (--sentinel) and as Cluster nodes
        # (cluster-enabled); tests/redis_topology.py writes their configuration.
        local url
        if url="$("$PY" -m tests.redis_topology sentinel "$_FG_SERVICES_DIR/sentinel")"; then
            export FORMGUARD_TEST_SENTINEL_URL="$url"
            echo "== Redis Sentinel: $url"
        fi
        if url="$("$PY" -m tests.redis_topology cluster "$_FG_SERVICES_DIR/cluster")"; then
            export FORMGUARD_TEST_CLUSTER_URL="$url"
            echo "== Redis Cluster: $url"
        fi
    fi

    local initdb; initdb="$(_pg_bin initdb)"
    if [ -n "$initdb" ] && [ -x "$initdb" ]; then
        local port; port="$(_free_port)"
        _FG_PG_DIR="$_FG_SERVICES_DIR/pg"
        mkdir -p "$_FG_PG_DIR"
        [ "$(id -u)" = 0 ] && chown postgres "$_FG_PG_DIR"
        _as_postgres "$initdb" -D "$_FG_PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        _as_postgres "$(_pg_bin pg_ctl)" -D "$_FG_PG_DIR/data" -l "$_FG_PG_DIR/log" -w \
            -o "-p $port -k $_FG_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" start >/dev/null
        export FORMGUARD_TEST_PG_PORT="$port"
        echo "== postgres on port $port"
    fi
}
