"""Django REST framework: guard an ``APIView``/``ViewSet`` the DRF way, with a permission class.

::

    from formguard.contrib.drf import FormGuardPermission, FormGuardSerializerMixin

    class InquirySerializer(FormGuardSerializerMixin, serializers.Serializer):
        name = serializers.CharField()
        email = serializers.EmailField()
        message = serializers.CharField()

    class InquiryView(generics.CreateAPIView):
        permission_classes = [FormGuardPermission]
        formguard_form = "api-contact"
        serializer_class = InquirySerializer

A permission, not a throttle: formguard decides more than a rate (the close
switch, the blacklist, the country, the traps, the content rules, the
captcha), in one pipeline, once per request; DRF runs permissions before the
view's handler reads ``request.data``, as it runs throttles. A refusal is
raised as a DRF exception, so DRF renders it (its renderers, its exception
handler): ``Throttled`` for the rate limit (``Retry-After`` from its
``wait``), ``FormGuardRefused`` (with ``wait`` where waiting helps, so DRF's
handler sets ``Retry-After`` too) for the others, their data the problem
details formguard answers any JSON request with (``formguard.problems``).

A fake success or a hold (a caught message the visitor must not learn was
caught) is raised as ``FakeSuccess``: DRF renders the view's
``formguard_json_success`` (data, or a callable taking the request and
returning data) with ``formguard_success_status`` (200), and the view's
handler (which sends) never runs. Set them to what the view answers a sent
message. A held message is released through the view again, form-encoded.

``FormGuardSerializerMixin`` adds the fields formguard reads to a serializer,
so that the browsable API's form has them and ``validated_data`` does not:
the captcha's solution (the provider's field name, ``altcha`` for the
self-hosted one), the honeypot and the time token (its initial value a fresh
token for the view's form key).

Imported only by a site that uses it: ``pip install django-inquiry-formguard[drf]``.
"""

from __future__ import annotations

from typing import Any

from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, permissions, serializers, status

from .. import captcha, traps
from ..marks import DEFAULT_JSON_SUCCESS, guard_form
from ..pipeline import evaluate
from ..problems import bad_body_problem
from ..refusal import carry_out, problem_of
from ..submitted import BadBody


class FormGuardRefused(exceptions.APIException):
    """A refusal, rendered by DRF: its data is formguard's problem details."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "formguard"

    def __init__(self, problem: dict[str, Any]):
        super().__init__(code=problem.get("code"))
        # The problem as it is (DRF would turn its numbers into error strings).
        self.detail = problem  # type: ignore[assignment]
        self.status_code = problem["status"]
        self.wait = problem.get("retry_after")


class FormGuardThrottled(exceptions.Throttled):
    """The rate limit: DRF's own ``Throttled`` (``Retry-After`` from ``wait``), with the problem as its data."""

    def __init__(self, problem: dict[str, Any]):
        super().__init__(wait=problem.get("retry_after"), detail=problem.get("detail"), code=problem.get("code"))
        self.detail = problem  # type: ignore[assignment]


class FakeSuccess(exceptions.APIException):
    """What the view answers a sent message, for one formguard caught (nothing is sent)."""

    def __init__(self, data: Any, status_code: int):
        super().__init__()
        self.detail = data
        self.status_code = status_code


def _marked_view(view: Any, form_key: str) -> Any:
    """A function carrying the view's marks, for the pipeline (``Attempt.view``).

    CSRF-exempt as DRF's own views are: DRF checks CSRF itself, for session
    authentication only; an API client has no CSRF cookie and is no forgery.
    """
    marked = guard_form(form_key, traps=getattr(view, "formguard_traps", False))(csrf_exempt(lambda request: None))
    return marked


class FormGuardPermission(permissions.BasePermission):
    """Runs formguard's pipeline for the view's ``formguard_form`` (see the module docstring)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        # Decided once per request: the browsable API asks the permissions
        # again to know which forms to show, and a refusal is recorded once.
        django_request = request._request
        decided = getattr(django_request, "_formguard_drf", None)
        if decided is None:
            decided = django_request._formguard_drf = self._decide(request, view) or True
        if isinstance(decided, exceptions.APIException):
            raise decided
        return True

    def _decide(self, request: Any, view: Any) -> exceptions.APIException | None:
        form_key = getattr(view, "formguard_form", None) or getattr(view, "formguard_form_key", None)
        if not form_key:
            raise TypeError(f"{type(view).__name__} uses FormGuardPermission without formguard_form.")
        django_request = request._request
        try:
            attempt, verdict = evaluate(django_request, form_key, view=_marked_view(view, form_key))
        except BadBody as error:
            return FormGuardRefused(bad_body_problem(error))
        django_request.formguard = verdict
        django_request.formguard_attempt = attempt
        if not carry_out(attempt, verdict):
            return None
        if verdict.fake_success:
            answer = getattr(view, "formguard_json_success", None)
            data = answer(request) if callable(answer) else answer
            return FakeSuccess(
                DEFAULT_JSON_SUCCESS if data is None else data, getattr(view, "formguard_success_status", 200)
            )
        problem = problem_of(attempt, verdict)
        if problem["status"] == status.HTTP_429_TOO_MANY_REQUESTS:
            return FormGuardThrottled(problem)
        return FormGuardRefused(problem)


def _fresh_time_token(field: serializers.Field) -> str:
    view = field.context.get("view") if hasattr(field, "context") else None
    form_key = getattr(view, "formguard_form", None) or getattr(view, "formguard_form_key", "")
    return traps.issue_token(form_key) if form_key else ""


class _TimeTokenField(serializers.CharField):
    def get_initial(self) -> str:
        return _fresh_time_token(self)


class FormGuardSerializerMixin:
    """Adds the captcha's solution, the honeypot and the time token as write-only fields,
    left out of ``validated_data`` (formguard has judged them before the view runs)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        hidden = {"input_type": "hidden"}
        fields[traps.HONEYPOT_FIELD] = serializers.CharField(
            required=False, allow_blank=True, write_only=True, label="", style=hidden
        )
        fields[traps.TIME_FIELD] = _TimeTokenField(required=False, allow_blank=True, write_only=True, style=hidden)
        provider = captcha.get_provider()
        if provider is not None:
            fields[provider.response_field] = serializers.CharField(
                required=False, allow_blank=True, write_only=True, label=provider.label
            )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)  # type: ignore[misc]
        provider = captcha.get_provider()
        own = {traps.HONEYPOT_FIELD, traps.TIME_FIELD} | ({provider.response_field} if provider else set())
        return {name: value for name, value in attrs.items() if name not in own}
