"""``status``: which Redis servers hold the state, and whether each answers.

A site on Sentinel or a Cluster has several servers where one Redis had one:
the operator who runs ``formguard status`` during a failover must see which
master the sentinels name now, and which node does not answer. Kept apart
from ``switches.py``, whose lines say what the forms' switches are.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from formguard.store import Store
from formguard.store.redis import RedisStore
from formguard.store.topology import CLUSTER, SENTINEL, nodes

ROLES = {
    "server": gettext_lazy("server"),
    "master": gettext_lazy("master"),
    "replica": gettext_lazy("replica"),
    "sentinel": gettext_lazy("sentinel"),
    "cluster master": gettext_lazy("cluster master"),
}


def write_topology(command: BaseCommand, store: Store) -> None:
    """The topology's name and one line per server, a server that does not answer in red."""
    if not isinstance(store, RedisStore):
        return
    kind, service = store.kind, store.service
    try:
        found = nodes(store.topology)
    except Exception as exc:  # no node of a cluster answers: redis-py cannot even be set up
        found = []
        trouble = f"{type(exc).__name__}: {exc}"
    else:
        trouble = ""
    if kind == SENTINEL:
        masters = [n.address for n in found if n.role == "master"]
        title = _("Topology: Redis Sentinel, service %(service)s, master %(master)s") % {
            "service": service,
            "master": masters[0] if masters else "?",
        }
    elif kind == CLUSTER:
        title = _("Topology: Redis Cluster, %(count)d masters") % {"count": len(found)}
    else:
        title = _("Topology: one Redis server")
    command.stdout.write(title)
    if trouble:
        command.stdout.write(command.style.ERROR("  " + _("no server answers: %(error)s") % {"error": trouble}))
    for node in found:
        role = ROLES.get(node.role, node.role)
        if node.answers:
            command.stdout.write("  " + _("%(role)s %(address)s: answers") % {"role": role, "address": node.address})
        else:
            line = _("%(role)s %(address)s: does not answer") % {"role": role, "address": node.address}
            command.stdout.write(command.style.ERROR("  " + line))
