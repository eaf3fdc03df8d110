from django.http import HttpResponse
from django.urls import path
from django.views.generic import View

from formguard.decorators import GuardedFormMixin, guard_form
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


def unguarded(request):
    return HttpResponse("unguarded")


urlpatterns = [
    *demo_urlpatterns,
    path("t/plain/", plain_view),
    path("t/async/", async_view),
    path("t/cbv/", ClassView.as_view()),
    path("t/unguarded/", unguarded),
]
