"""The admin, one module per model as Django's contrib apps do.

``policies``: form policies and the close switch; ``rules``: the blacklist and
allowlist, with the diagnosis page; ``incidents``: the incident log, dashboard
and reports; ``contacts``: alternative contacts and the action log; ``review``:
the review inbox of held messages.
"""

from . import contacts, incidents, policies, review, rules  # noqa: F401 (registers the admins)
