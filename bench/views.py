"""The lean bare form view and the floor of bench/lean.py (issue 24).

The lean view is what a small site's own inquiry form costs without any
protection: a three-field Django form, a small template with a CSRF token;
the GET renders it, a valid POST redirects (nothing mailed, nothing saved).
formguard and django-ratelimit are judged against it, on the same view.

The floor is the same middleware in front of a CSRF-exempt view that returns a
constant and never reads the body: the least a request can cost in this stack.
formguard refuses before the CSRF check, so a refusal is compared with it.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import FormView
from django_ratelimit.decorators import ratelimit

from formguard.decorators import GuardedFormMixin


class LeanForm(forms.Form):
    name = forms.CharField(max_length=100)
    email = forms.EmailField()
    message = forms.CharField(widget=forms.Textarea, max_length=5000)


class LeanFormView(FormView):
    form_class = LeanForm
    template_name = "bench/lean.html"
    success_url = "/bench/lean/sent/"


class GuardedLeanView(GuardedFormMixin, LeanFormView):
    """The lean view under formguard: the form gains formguard's fields (traps)."""

    formguard_form_key = "contact"


@csrf_exempt
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


lean = LeanFormView.as_view()
# django-ratelimit alone, one counter per IP, never refusing within a run; its
# cache is RATELIMIT_USE_CACHE, switched per variant.
ratelimited_lean = ratelimit(group="bench-lean", key="ip", rate="1000000/m", method="POST", block=True)(lean)
guarded_lean = GuardedLeanView.as_view()
# Refusal paths: the same guarded view under form keys whose policy refuses.
closed_lean = GuardedLeanView.as_view(formguard_form_key="bench-closed")
limited_lean = GuardedLeanView.as_view(formguard_form_key="bench-limited")
# The owner-taught filter switched off (its policy), beside the passing POST with it on.
nofilter_lean = GuardedLeanView.as_view(formguard_form_key="bench-nofilter")
