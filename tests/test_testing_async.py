"""formguard.testing in an ``async def`` test: the helpers read the database, so they have async forms."""

import pytest
from asgiref.sync import sync_to_async

from formguard import policies, testing
from formguard.models import FormPolicy

from .conftest import CONTACT


# The helpers' ORM reads run in sync_to_async's thread, on its own connection:
# real transactions, flushed afterwards.
@pytest.mark.django_db(transaction=True)
async def test_an_async_test_sends_the_demo_form_with_atrap_fields_and_acaptcha_solution(
    async_client, mailoutbox, settings
):
    settings.FORMGUARD = settings.DEMO_FORMGUARD  # the self-hosted captcha, as the demo ships it
    await sync_to_async(policies.ensure_row)("contact")
    await FormPolicy.objects.filter(form_key="contact").aupdate(captcha_required=True)
    await sync_to_async(policies.invalidate)()

    data = {**CONTACT, **await testing.atrap_fields("contact"), **await testing.acaptcha_solution("contact")}
    response = await async_client.post("/contact/", data)

    assert response.status_code == 302
    assert response["Location"] == "/contact/thanks/"
    assert len(mailoutbox) == 1
