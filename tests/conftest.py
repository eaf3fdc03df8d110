import pytest
from django.core.cache import caches

from formguard import testing


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts with formguard's state reset (the documented helper) and an empty site cache."""
    caches["default"].clear()
    testing.reset()
    yield
    testing.reset()


CONTACT = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品について質問があります。"}


@pytest.fixture
def contact_data(db):
    """An inquiry as a person's browser posts it: with formguard's trap fields (formguard.testing.trap_fields)."""
    return {**CONTACT, **testing.trap_fields("contact")}


@pytest.fixture
def frozen_clock():
    """Stop the wall clock for a test that counts requests.

    django-ratelimit counts in fixed windows; a window that ends in the middle
    of a scripted burst would split its count. Tests that travel in time
    still can (an inner travel wins).
    """
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now(), tick=False):
        yield
