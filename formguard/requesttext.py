"""Text from a request (fields, user agent, path), as formguard stores and shows it.

Whatever a visitor sends is the visitor's to choose, byte for byte, and it
ends up in an incident row and in the reports. Two functions keep it in
hand:

* ``storable()`` (and ``storable_data()`` for a JSON field): text that every
  supported database takes. PostgreSQL refuses a NUL in a text column and
  ``\\u0000`` in ``jsonb``; one such POST used to fail the whole flush of the
  incident log, at every try. Control characters (Unicode category Cc: NUL,
  the other C0 and C1 codes, DEL) and lone surrogates (which a JSON body can
  carry and no UTF-8 database can) become U+FFFD, the replacement character,
  so the admin shows that something was there. Where a field is multi-line
  text (a submitted field's value) line feeds and tabs are kept, and CRLF or
  a lone CR (what browsers send from a textarea) become a line feed; in
  one-line text (a user agent, a path, a field's name) they are replaced too,
  as are the line and paragraph separators U+2028 and U+2029, so that no
  log line or report line can be split by the sender.
* ``shown()``: text as a report prints it: ``storable()``, then without
  the bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
  U+061C) that make a line read in another order than it is written; and
  ``quoted()`` for a plain-text report, where every line of a submitted
  value is printed after "> ".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

REPLACEMENT = "\ufffd"

# C0 (but line feed and tab), DEL, C1, lone surrogates.
_MULTILINE_UNSTORABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# The same plus line feed, tab and the Unicode line and paragraph separators.
_ONE_LINE_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_CARRIAGE_RETURNS = re.compile("\r\n?")
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def storable(value: str, *, multiline: bool = False) -> str:
    """``value`` with what a database may refuse replaced (see the module docstring)."""
    if multiline:
        return _MULTILINE_UNSTORABLE.sub(REPLACEMENT, _CARRIAGE_RETURNS.sub("\n", value))
    if value.isprintable():  # the usual case, at C speed: nothing of the above is printable
        return value
    return _ONE_LINE_UNSTORABLE.sub(REPLACEMENT, value)


def storable_data(value: Any, *, multiline: bool = False) -> Any:
    """A JSON value with ``storable()`` applied to every string in it; keys are one-line text."""
    return _each_string(value, lambda text: storable(text, multiline=multiline), storable)


def shown(value: str, *, multiline: bool = False) -> str:
    """``value`` as a report prints it: storable, and without bidirectional controls."""
    return BIDI_CONTROLS.sub("", storable(value, multiline=multiline))


def shown_data(value: Any, *, multiline: bool = False) -> Any:
    """``shown()`` applied to every string of a JSON value, keys as one-line text."""
    return _each_string(value, lambda text: shown(text, multiline=multiline), shown)


def _each_string(value: Any, text: Callable[[str], str], key: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {key(str(k)): _each_string(v, text, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_each_string(v, text, key) for v in value]
    return value


def quoted(value: str, prefix: str = "> ") -> str:
    """Multi-line text as a plain-text report quotes it: every line after ``prefix``.

    So that no line of what a visitor sent can pass for one of the report's
    own (a "■ 講じた対策" heading typed into a message stays a quoted line).
    Lines split as ``str.splitlines()`` does, U+2028 included.
    """
    return "\n".join(prefix + line for line in (value.splitlines() or [""]))
