"""The bench's URLconf: the demo's pages plus unguarded peers of its contact form.

``/contact/`` is the demo's guarded ``ContactView``. ``/bench/bare/`` is the
same view without formguard: the baseline every ratio is taken against.
``/bench/ratelimit/`` is that bare view under django-ratelimit alone (one
counter per IP), the peer formguard's cost is compared with.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import path, reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic import FormView
from django_ratelimit.decorators import ratelimit

from project.contact.forms import ContactForm
from project.urls import urlpatterns as demo_urlpatterns


class BareContactView(FormView):
    """``project.contact.views.ContactView`` minus ``GuardedFormMixin``: the same work."""

    form_class = ContactForm
    template_name = "contact/form.html"
    success_url = reverse_lazy("contact:thanks")

    def form_valid(self, form):
        data = form.cleaned_data
        send_mail(
            subject=_("[Inquiry] from %(name)s") % {"name": data["name"]},
            message=f"{data['name']} <{data['email']}>\n\n{data['message']}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=settings.CONTACT_STAFF_EMAILS,
        )
        return super().form_valid(form)


bare_contact = BareContactView.as_view()
# Never refuses within a run; the cache is RATELIMIT_USE_CACHE, switched per variant.
ratelimited_contact = ratelimit(group="bench", key="ip", rate="1000000/m", method="POST", block=True)(
    BareContactView.as_view()
)

urlpatterns = [
    *demo_urlpatterns,
    path("bench/bare/", bare_contact),
    path("bench/ratelimit/", ratelimited_contact),
]
