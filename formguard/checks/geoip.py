"""Checks of the GeoIP database: there, readable, and not too old."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, Warning, register

from ..conf import conf


@register(Tags.security)
def check_geoip(app_configs: Any = None, **kwargs: Any) -> list:
    from .. import geo

    path = conf.GEOIP_PATH
    if not path:
        return []
    try:
        geo.read_file_info(path)
    except ValueError as exc:
        return [
            Error(
                f"FORMGUARD['GEOIP_PATH'] = {path!r} cannot be read ({exc}): every country is unknown (ZZ).",
                hint="Point it at a GeoLite2/GeoIP2 Country or City .mmdb file (see the README: geoipupdate).",
                id="formguard.E012",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_geoip_age(app_configs: Any = None, **kwargs: Any) -> list:
    import datetime as dt

    from .. import geo

    path = conf.GEOIP_PATH
    if not path:
        return []
    try:
        info = geo.read_file_info(path)
    except ValueError:
        return []  # formguard.E012 says so
    age = dt.datetime.now(dt.UTC) - info.built
    if age.days > conf.GEOIP_MAX_AGE_DAYS:
        return [
            Warning(
                f"The GeoIP database {path} was built {age.days} days ago; addresses move between countries.",
                hint="Update it with geoipupdate (see the README) or raise FORMGUARD['GEOIP_MAX_AGE_DAYS'].",
                id="formguard.W005",
            )
        ]
    return []
