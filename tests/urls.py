from django import forms
from django.core.mail import send_mail
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.generic import FormView, View

from formguard.decorators import GuardedFormMixin, guard_form
from formguard.forms import FormGuardFormMixin
from project.urls import urlpatterns as demo_urlpatterns


@guard_form("plain")
def plain_view(request):
    return HttpResponse(f"plain view ran ({request.method})")


@guard_form("async")
async def async_view(request):
    return HttpResponse(f"async view ran ({request.method})")


class ClassView(GuardedFormMixin, View):
    formguard_form_key = "cbv"

    def get(self, request):
        return HttpResponse("cbv ran")

    def post(self, request):
        return HttpResponse("cbv posted")


class FunctionViewForm(FormGuardFormMixin, forms.Form):
    message = forms.CharField(widget=forms.Textarea)


@guard_form("fn", form_errors=True)
def function_form_view(request):
    form = FunctionViewForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        return redirect("/t/unguarded/")
    return render(request, "tests/fn_form.html", {"form": form})


class TwoStepForm(FormGuardFormMixin, forms.Form):
    name = forms.CharField()
    email = forms.EmailField()
    message = forms.CharField(widget=forms.Textarea)


@guard_form("two-step", form_errors=True)
def two_step_view(request):
    """入力 → 確認 → 送信: the confirmation page carries {% formguard_verified form %}."""
    form = TwoStepForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        if "send" in request.POST:
            send_mail("[Inquiry]", form.cleaned_data["message"], None, ["staff@example.jp"])
            return redirect("/contact/thanks/")
        if "confirm" in request.POST:  # the pressed button's name=value
            return render(request, "tests/two_step_confirm.html", {"form": form})
    return render(request, "tests/two_step_form.html", {"form": form})


def unguarded(request):
    return HttpResponse("unguarded")


def media(request, path):
    # The demo serves uploads only with DEBUG on; tests run with it off and
    # a MEDIA_ROOT of their own, read per request.
    from django.conf import settings
    from django.views.static import serve

    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    *demo_urlpatterns,
    path("t/plain/", plain_view),
    path("t/async/", async_view),
    path("t/cbv/", ClassView.as_view()),
    path("t/unguarded/", unguarded),
    path("t/fn-form/", function_form_view),
    path("t/two-step/", two_step_view),
    path("media/<path:path>", media),
]


class PieceByPieceView(GuardedFormMixin, FormView):
    """A site whose template renders the fields one by one and forgets formguard's."""

    formguard_form_key = "pieces"
    template_name = "tests/pieces_form.html"
    success_url = "/t/unguarded/"

    def get_form_class(self):
        class PiecesForm(forms.Form):
            message = forms.CharField(widget=forms.Textarea)

        return PiecesForm


urlpatterns.append(path("t/pieces/", PieceByPieceView.as_view()))


class QuietView(PieceByPieceView):
    """A template with formguard's field but no {{ form.non_field_errors }}."""

    formguard_form_key = "quiet"
    template_name = "tests/quiet_form.html"


urlpatterns.append(path("t/quiet/", QuietView.as_view()))
