"""Which Redis a cache alias names: one server, a master found through Sentinel, or a Cluster.

A site past one machine runs Redis with Sentinel (failover) or a Redis
Cluster, or a managed service that is one of the two. Django's ``RedisCache``
knows neither; django-redis knows Sentinel (its ``SentinelClient``) but not
Cluster. So the alias names its topology in one of three ways:

* django-redis with its Sentinel client (``OPTIONS["CLIENT_CLASS"]``
  ``django_redis.client.SentinelClient`` and ``"SENTINELS"``): formguard
  counts through django-redis' own pool, which asks the sentinels;
* ``LOCATION`` ``redis+sentinel://host:port,host:port/service/db`` (the
  scheme other Sentinel clients read, with either backend): formguard asks
  those sentinels for the master of ``service`` itself, with redis-py's
  ``Sentinel.master_for``;
* ``LOCATION`` ``redis+cluster://host:port,host:port`` (any nodes of the
  cluster): redis-py's ``RedisCluster``, which learns the slots' owners and
  follows ``MOVED`` / ``ASK``.

Such an alias is formguard's alone: Django's cache API cannot read those
schemes. Any other ``LOCATION`` is one server, as before.

Whoever names the topology wrongly (a cluster node or a sentinel given as
a plain ``redis://`` server) gets ``formguard.E016`` from ``manage.py check``
(``mismatch``), not MOVED errors under a flood.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"
SINGLE, SENTINEL, CLUSTER = "single", "sentinel", "cluster"

# Options of Django's RedisCache that are not connection-pool options.
_DJANGO_ONLY_OPTIONS = ("serializer", "pool_class", "parser_class")


@dataclass
class Topology:
    """A redis-py client and what it talks to."""

    kind: str
    client: Any
    # Sentinel: the service and redis-py's ``Sentinel`` that finds its master.
    service: str = ""
    sentinel: Any = None
    # One server: where it is (from the client's pool).
    address: str = ""


@dataclass(frozen=True)
class Node:
    """One server of the topology, for ``formguard status``."""

    role: str
    address: str
    answers: bool


def _hosts(netloc: str) -> tuple[list[tuple[str, int]], str | None, str | None]:
    """``user:password@h1:p1,h2:p2`` → the addresses, the user and the password."""
    user = password = None
    if "@" in netloc:
        credentials, netloc = netloc.rsplit("@", 1)
        user, _, password = credentials.partition(":")
        user, password = unquote(user) or None, unquote(password) or None
    hosts = []
    for part in netloc.split(","):
        host, _, port = part.strip().rpartition(":")
        hosts.append((host.strip("[]") or "127.0.0.1", int(port or 6379)))
    return hosts, user, password


def _first_location(config: dict[str, Any]) -> str:
    location = config.get("LOCATION")
    if isinstance(location, str):
        # Django's "redis://a,redis://b" (a writer, then readers); a comma
        # inside one URL separates hosts.
        location = location.split(",") if "://" in location.split(",", 1)[-1] else [location]
    return str(location[0]).strip() if location else ""


def kind_of(alias: str) -> tuple[str, str]:
    """The topology the cache ``alias`` names and Sentinel's service, without connecting."""
    from django.conf import settings

    config = settings.CACHES[alias]
    first = _first_location(config)
    scheme = first.split("://", 1)[0]
    if scheme == CLUSTER_SCHEME:
        return CLUSTER, ""
    if scheme == SENTINEL_SCHEME:
        return SENTINEL, next((p for p in urlsplit(first).path.split("/") if p), "")
    if "Sentinel" in str((config.get("OPTIONS") or {}).get("CLIENT_CLASS", "")):
        # django-redis: LOCATION redis://<service>/<db>.
        return SENTINEL, urlsplit(first).hostname or ""
    return SINGLE, ""


def connect(alias: str) -> Topology:
    """The client for the cache ``alias``: formguard's own for the two schemes and for
    Django's RedisCache; django-redis' own pool otherwise."""
    from django.conf import settings

    config = settings.CACHES[alias]
    first = _first_location(config)
    options = _options(config)
    scheme = first.split("://", 1)[0]
    if scheme == SENTINEL_SCHEME:
        return _sentinel(urlsplit(first), options)
    if scheme == CLUSTER_SCHEME:
        return _cluster(urlsplit(first), options)
    import redis

    if config["BACKEND"].startswith("django_redis."):
        return _django_redis(alias)
    # The first server is the one Django's RedisCache writes to.
    pool = redis.ConnectionPool.from_url(first, **options)
    return Topology(SINGLE, redis.Redis(connection_pool=pool), address=_address_of(pool))


def _options(config: dict[str, Any]) -> dict[str, Any]:
    """The alias's ``OPTIONS`` as redis-py takes them."""
    raw = config.get("OPTIONS") or {}
    if config["BACKEND"].startswith("django_redis."):
        # django-redis spells the timeouts in capitals, beside options of its own.
        return {k.lower(): v for k, v in raw.items() if k in ("SOCKET_CONNECT_TIMEOUT", "SOCKET_TIMEOUT")}
    return {k: v for k, v in raw.items() if k not in _DJANGO_ONLY_OPTIONS}


def _address_of(pool: Any) -> str:
    kwargs = pool.connection_kwargs
    return kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def _django_redis(alias: str) -> Topology:
    from django_redis import get_redis_connection
    from redis.sentinel import SentinelConnectionPool

    client = get_redis_connection(alias, write=True)
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        return Topology(SENTINEL, client, service=pool.service_name, sentinel=pool.sentinel_manager)
    return Topology(SINGLE, client, address=_address_of(pool))


def _sentinel(url: Any, options: dict[str, Any]) -> Topology:
    from redis.sentinel import Sentinel

    hosts, user, password = _hosts(url.netloc)
    parts = [p for p in url.path.split("/") if p]
    if not parts:
        raise ValueError(f"{SENTINEL_SCHEME}:// needs the service's name: {SENTINEL_SCHEME}://host:port/service/db")
    db = int(parts[1]) if len(parts) > 1 else 0
    # The sentinels get the same socket timeouts as the master (redis-py's default).
    sentinel = Sentinel(hosts, username=user, password=password, **options)
    client = sentinel.master_for(parts[0], db=db)
    return Topology(SENTINEL, client, service=parts[0], sentinel=sentinel)


def _cluster(url: Any, options: dict[str, Any]) -> Topology:
    from redis.backoff import NoBackoff
    from redis.cluster import ClusterNode, RedisCluster
    from redis.retry import Retry

    hosts, user, password = _hosts(url.netloc)
    client = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in hosts],
        username=user,
        password=password,
        # MOVED and ASK are followed by the client in any case; a node that
        # does not answer costs one socket timeout, not one per retry.
        retry=Retry(NoBackoff(), 0),
        **options,
    )
    return Topology(CLUSTER, client)


def nodes(topology: Topology) -> list[Node]:
    """Every server the topology knows and whether it answers a PING now."""
    import redis

    def answers(client: Any) -> bool:
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    if topology.kind == CLUSTER:
        return [
            Node("cluster master", f"{n.host}:{n.port}", answers(n.redis_connection))
            for n in sorted(topology.client.get_primaries(), key=lambda n: (n.host, n.port))
        ]
    if topology.kind == SINGLE:
        return [Node("server", topology.address, answers(topology.client))]
    found = []
    try:
        host, port = topology.sentinel.discover_master(topology.service)
        found.append(Node("master", f"{host}:{port}", answers(topology.client)))
    except (redis.RedisError, OSError):
        found.append(Node("master", "?", False))
    # Every replica the sentinels know, a stopped one too (redis-py's
    # ``discover_slaves`` leaves out those they mark down): the operator
    # must see the old master that never came back.
    replicas: list[tuple[str, int]] = []
    for sentinel in topology.sentinel.sentinels:
        try:
            replicas = [(r["ip"], int(r["port"])) for r in sentinel.sentinel_slaves(topology.service)]
            break
        except (redis.RedisError, OSError):
            continue
    # A replica answers the master's own credentials and timeouts.
    same = topology.client.connection_pool.connection_kwargs
    kwargs = {k: same[k] for k in ("username", "password", "socket_timeout", "socket_connect_timeout") if k in same}
    found += [Node("replica", f"{host}:{port}", answers(redis.Redis(host, port, **kwargs))) for host, port in replicas]
    for client in topology.sentinel.sentinels:
        kwargs = client.connection_pool.connection_kwargs
        found.append(Node("sentinel", f"{kwargs['host']}:{kwargs['port']}", answers(client)))
    return found


def mismatch(topology: Topology) -> str | None:
    """What is wrong when the server's own mode (``INFO server``) is not the one the alias names."""
    if topology.kind != SINGLE:
        return None
    mode = topology.client.info("server").get("redis_mode", "standalone")
    if mode == "cluster":
        return (
            f"{topology.address} is a node of a Redis Cluster, and this client is not cluster-aware: "
            f"every key on another node would answer MOVED. Write LOCATION as "
            f"'{CLUSTER_SCHEME}://{topology.address}' (more nodes after commas)."
        )
    if mode == "sentinel":
        return (
            f"{topology.address} is a Redis Sentinel, not a server that can count. Write LOCATION as "
            f"'{SENTINEL_SCHEME}://{topology.address}/<service name>/0' (more sentinels after commas), "
            "or use django-redis' SentinelClient."
        )
    return None
