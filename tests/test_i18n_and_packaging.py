"""The ja locale is shipped compiled and current; the package installs with its data."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("base", ["formguard", "project"])
def test_mo_files_are_compiled_from_the_current_po(base, tmp_path):
    po = ROOT / base / "locale" / "ja" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} missing: run compilemessages"
    if not shutil.which("msgfmt"):
        pytest.skip("msgfmt (gettext) not installed")
    fresh = tmp_path / "fresh.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(po)], check=True)
    assert fresh.read_bytes() == mo.read_bytes(), f"{mo} is stale: run compilemessages"


def test_every_formguard_message_is_translated():
    po = (ROOT / "formguard/locale/ja/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    blocks = [b for b in po.split("\n\n") if "msgid" in b and 'msgid ""\nmsgstr ""\n"' not in b]
    untranslated = [b for b in blocks if 'msgstr ""' in b and "msgstr[0]" not in b or 'msgstr[0] ""' in b]
    assert untranslated == []
    assert "#, fuzzy" not in po


def test_japanese_texts_are_used():
    with translation.override("ja"):
        from formguard.models import Reason

        assert str(Reason.RATE_LIMITED.label) == "送信回数超過"


@override_settings(LANGUAGE_CODE="en")
def test_english_is_the_source():
    with translation.override("en"):
        from formguard.models import Reason

        assert str(Reason.RATE_LIMITED.label) == "rate limited"


def test_wheel_carries_templates_locale_and_py_typed(tmp_path):
    # Built from a copy: setuptools leaves build/ and *.egg-info behind.
    source = tmp_path / "src"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "build", "*.egg-info", "*.sqlite3")
    )
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    # "django-formguard" on PyPI is an unrelated project; this one is
    # installed by its own name.
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith("django_inquiry_formguard-")
    names = set(zipfile.ZipFile(wheel).namelist())
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    assert "\nName: django-inquiry-formguard\n" in zipfile.ZipFile(wheel).read(metadata).decode()
    assert "formguard/py.typed" in names
    assert "formguard/templates/formguard/closed.html" in names
    assert "formguard/locale/ja/LC_MESSAGES/django.mo" in names
    assert "formguard/migrations/0001_initial.py" in names
    # Reply hints: the domain lists, the script, the Chinese texts.
    assert {"formguard/data/carrier_domains.json", "formguard/data/china_mail_domains.json"} <= names
    assert "formguard/static/formguard/reply-hint.js" in names
    assert "formguard/locale/zh_Hans/LC_MESSAGES/django.mo" in names
    assert not any(n.startswith(("project/", "tests/")) for n in names)


def _msgids(po_text):
    import re

    ids = set()
    for block in po_text.split("\n\n"):
        match = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if match:
            ids.add("".join(re.findall(r'"(.*)"', match.group(1))))
    return ids - {""}


@pytest.mark.parametrize("base", ["formguard", "project"])
def test_po_files_hold_every_message_of_the_code(base, tmp_path):
    if not shutil.which("xgettext"):
        pytest.skip("xgettext (gettext) not installed")
    copy = tmp_path / base
    shutil.copytree(ROOT / base, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    (copy / "locale").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ja"], cwd=copy, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    extracted = _msgids((copy / "locale/ja/LC_MESSAGES/django.po").read_text(encoding="utf-8"))
    shipped = _msgids((ROOT / base / "locale/ja/LC_MESSAGES/django.po").read_text(encoding="utf-8"))
    assert extracted - shipped == set(), "run makemessages -l ja and translate"


@pytest.mark.django_db
def test_migrations_match_the_models():
    from django.core.management import call_command

    call_command("makemigrations", "formguard", "--check", "--dry-run", verbosity=0)
