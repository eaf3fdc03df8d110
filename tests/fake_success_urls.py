"""A site's own inquiry views beside the demo's, for tests/test_fake_success.py.

Imported only as that test's URLconf, when its first request resolves: the
demo's URLconf then sees DEBUG as the test run sets it.
"""

from django.contrib.messages import get_messages
from django.contrib.messages.views import SuccessMessageMixin
from django.core.mail import send_mail
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.generic import FormView

from formguard import replyhints
from formguard.decorators import GuardedFormMixin, guard_form
from formguard.forms import FormGuardFormMixin
from project.contact.forms import ContactForm
from tests.urls import urlpatterns as test_urlpatterns


class SiteInquiryView(SuccessMessageMixin, GuardedFormMixin, FormView):
    """A site's own inquiry view: its form_valid, in the class itself, sends;
    Django's SuccessMessageMixin thanks the visitor on the next page."""

    formguard_form_key = "site"
    form_class = ContactForm
    template_name = "contact/form.html"
    success_url = "/t/site-thanks/"
    success_message = "Thank you, %(name)s."

    def form_valid(self, form):
        send_mail("[Inquiry]", form.cleaned_data["message"], None, ["staff@example.jp"])
        return super().form_valid(form)


class SiteForm(FormGuardFormMixin, ContactForm):
    pass


@guard_form("site-fn", form_errors=True, success_url="/t/site-thanks/")
def site_function_view(request):
    """A function view, as the docs show one: it notes the inquiry (reply hint) and redirects."""
    form = SiteForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        replyhints.note_inquiry(request, form.cleaned_data["email"], form_key="site-fn")
        send_mail("[Inquiry]", form.cleaned_data["message"], None, ["staff@example.jp"])
        return redirect("/t/site-thanks/")
    return render(request, "contact/form.html", {"form": form})


def site_thanks(request):
    hint = replyhints.remembered(request)
    return HttpResponse(f"thanks: {[str(m) for m in get_messages(request)]} hint: {hint.kind}")


urlpatterns = [
    *test_urlpatterns,
    path("t/site/", SiteInquiryView.as_view()),
    path("t/site-fn/", site_function_view),
    path("t/site-thanks/", site_thanks),
]
