"""Migrations 0001–0013 squashed into one: new installs run it, sites on any old one keep upgrading.

Django uses a squashed migration only when none or all of the migrations it
replaces are applied; a site that stopped anywhere in between goes on with the
old files. These tests hold the three cases: a new database, the models the
two paths build, and an old install (0007) migrating forward.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from formguard.models import ActionLog, BlockRule, FormPolicy

SQUASHED = ("formguard", "0001_squashed_0013_closure_messages")
LAST_REPLACED = ("formguard", "0013_closure_messages")
REPLACED = [name for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations[SQUASHED].replaces]


def site_stopped_at(name):
    """The database of a site that installed formguard up to ``name``: those tables, those
    django_migrations rows, nothing of the squash. The names recorded, in order."""
    MigrationExecutor(connection).migrate([("formguard", name)])
    recorder = MigrationRecorder(connection)
    recorder.migration_qs.filter(app="formguard").exclude(name__in=REPLACED[: REPLACED.index(name) + 1]).delete()
    return sorted(name for app, name in recorder.applied_migrations() if app == "formguard")


def models_built_by(loader, node):
    """Every formguard model's fields, options and indexes as the migrations up to ``node`` leave them."""
    state = loader.project_state(node)
    return {
        name: (
            {field_name: field.deconstruct()[1:] for field_name, field in model.fields.items()},
            {k: v for k, v in model.options.items() if k not in ("indexes", "constraints")},
            sorted(index.deconstruct()[2]["name"] for index in model.options.get("indexes", [])),
        )
        for (app, name), model in state.models.items()
        if app == "formguard"
    }


def test_a_new_database_runs_the_squashed_migration_alone():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan = [key for key in loader.graph.forwards_plan(loader.graph.leaf_nodes("formguard")[0]) if key[0] == "formguard"]
    assert plan[0] == SQUASHED
    # None of the thirteen it replaces runs on a new install.
    assert not [key for key in plan if key[1][:4] in {f"{n:04}" for n in range(1, 14)} and key != SQUASHED]


def test_the_squashed_migration_builds_the_models_the_old_ones_build():
    squashed = MigrationLoader(None, ignore_no_migrations=True)
    old = MigrationLoader(None, ignore_no_migrations=True, replace_migrations=False)
    assert SQUASHED not in old.graph.nodes or LAST_REPLACED in old.graph.nodes
    assert models_built_by(squashed, SQUASHED) == models_built_by(old, LAST_REPLACED)


@pytest.mark.django_db(transaction=True)
def test_a_site_on_0007_migrates_forward_and_keeps_its_rows():
    at_0007 = ("formguard", "0007_action_log_actor_and_until")
    assert site_stopped_at(at_0007[1]) == [
        "0001_initial",
        "0002_ban_lookback",
        "0003_incident_aggregation_key",
        "0004_ipv6_network_limits",
        "0005_contact_channels",
        "0006_bot_traps_and_content_rules",
        "0007_action_log_actor_and_until",
    ]
    executor = MigrationExecutor(connection)
    old = executor.loader.project_state([at_0007]).apps
    old.get_model("formguard", "FormPolicy").objects.create(
        form_key="old-site-form", rate_limit="3/h", honeypot_action="off"
    )
    old.get_model("formguard", "BlockRule").objects.create(network="198.51.100.7/32", reason="by hand")
    old.get_model("formguard", "ActionLog").objects.create(action="closed", target="contact", actor="cli:root")

    call_command("migrate", "formguard", verbosity=0)

    applied = {name for app, name in MigrationRecorder(connection).applied_migrations() if app == "formguard"}
    assert {"0013_closure_messages", SQUASHED[1]} <= applied
    policy = FormPolicy.objects.get(form_key="old-site-form")
    assert (policy.rate_limit, policy.honeypot_action) == ("3/h", "off")
    # A field 0011 and one 0013 added, empty on the old row: it takes the site-wide value.
    assert policy.filter_spam_action == "" and policy.closure_message_ja == ""
    assert BlockRule.objects.get().reason == "by hand"
    assert ActionLog.objects.get().actor == "cli:root"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stopped_at", REPLACED[:-1])
def test_a_site_stopped_at_any_old_migration_reaches_the_squash(stopped_at):
    site_stopped_at(stopped_at)
    call_command("migrate", "formguard", verbosity=0)
    applied = {name for app, name in MigrationRecorder(connection).applied_migrations() if app == "formguard"}
    assert applied >= {*REPLACED, SQUASHED[1]}
