"""The middleware as a thin shell: a fake get_response, sync and async."""

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.http import HttpResponse
from django.test import RequestFactory

from formguard.decorators import GuardedFormMixin, guard_form
from formguard.middleware import FormGuardMiddleware
from formguard.models import Incident
from formguard.testing import trap_fields

pytestmark = pytest.mark.django_db
rf = RequestFactory()


def test_unmarked_view_is_untouched():
    calls = []
    middleware = FormGuardMiddleware(lambda r: HttpResponse("ok"))

    def view(request):
        calls.append(request)

    call_command("formguard", "close")
    assert middleware.process_view(rf.get("/"), view, (), {}) is None
    assert not Incident.objects.exists()


def test_marked_view_is_refused_when_closed_and_allowed_when_open():
    middleware = FormGuardMiddleware(lambda r: HttpResponse("ok"))
    view = guard_form("contact")(lambda request: HttpResponse("view"))
    request = rf.post("/contact/", {"message": "hi"})
    assert middleware.process_view(request, view, (), {}) is None
    assert request.formguard.allowed

    call_command("formguard", "close", "--form", "contact")
    response = middleware.process_view(rf.post("/contact/"), view, (), {})
    assert response.status_code == 503


def test_guard_form_rejects_empty_and_site_wide_keys():
    with pytest.raises(ValueError):
        guard_form("")
    with pytest.raises(ValueError):
        guard_form("*")


def test_mixin_needs_a_key():
    from django.views import View

    class NoKey(GuardedFormMixin, View):
        pass

    with pytest.raises(ValueError):
        NoKey.as_view()


# sync_to_async runs the command on another thread, and so another database
# connection: these tests need real transactions, flushed afterwards.
@pytest.mark.django_db(transaction=True)
async def test_async_view_through_the_async_stack(async_client):
    response = await async_client.post("/t/async/", {"message": "hi"})
    assert response.status_code == 200
    assert b"async view ran" in response.content

    await sync_to_async(call_command)("formguard", "close", "--form", "async", "--for", "1h")
    closed = await async_client.post("/t/async/", {"message": "hi"})
    assert closed.status_code == 503
    assert int(closed["Retry-After"]) > 3500
    # The other forms stay open.
    assert (await async_client.get("/t/plain/")).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_async_client_against_the_sync_demo_view(async_client):
    await sync_to_async(call_command)("formguard", "close")
    assert (await async_client.get("/contact/")).status_code == 503


def test_middleware_is_sync_and_async_capable():
    assert FormGuardMiddleware.sync_capable and FormGuardMiddleware.async_capable


def test_a_refusal_skips_everything_after_formguard():
    inner = []
    middleware = FormGuardMiddleware(lambda r: inner.append(r) or HttpResponse("inner stack"))
    call_command("formguard", "close", "--form", "contact")
    assert middleware(rf.post("/contact/", {"message": "hi"})).status_code == 503
    # Neither CSRF nor the view nor anything else after formguard ran.
    assert inner == []
    call_command("formguard", "open", "--form", "contact")
    request = rf.post("/contact/", {"message": "hi", **trap_fields("contact")})
    assert middleware(request).content == b"inner stack"
    assert inner == [request] and request.formguard.allowed
    # Paths that lead to no guarded view pass untouched.
    call_command("formguard", "close")
    assert middleware(rf.post("/admin/login/")).content == b"inner stack"
    assert middleware(rf.get("/no/such/page/")).content == b"inner stack"
