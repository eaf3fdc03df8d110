from django.conf import settings
from django.core.mail import send_mail
from django.http import JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from formguard import mail
from formguard.decorators import GuardedFormMixin, guard_form
from formguard.forms import install_field
from formguard.submitted import submitted

from .forms import ContactForm


def send_inquiry(request, data):
    """The staff's mail for one inquiry (the form page's and the JSON endpoint's)."""
    if data.get("news"):
        consent = _("News by email: consent given at %(time)s") % {
            "time": timezone.localtime(data["news"]).strftime("%Y-%m-%d %H:%M:%S %Z")
        }
    else:
        consent = _("News by email: no consent")
    # formguard's mail helpers: the filter's 【営業】/【迷惑】 mark and other
    # address, and (in the template) the label links; unchanged where
    # formguard did not act.
    send_mail(
        subject=mail.subject(request, _("[Inquiry] from %(name)s") % {"name": data["name"]}),
        message=render_to_string("contact/mail.txt", {**data, "consent": consent}, request=request),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=mail.recipients(request, settings.CONTACT_STAFF_EMAILS),
    )


class InquiryView(FormView):
    """The site's own inquiry form, as it was before formguard."""

    form_class = ContactForm
    template_name = "contact/form.html"
    success_url = reverse_lazy("contact:thanks")

    def form_valid(self, form):
        send_inquiry(self.request, form.cleaned_data)
        return super().form_valid(form)


class ContactView(GuardedFormMixin, InquiryView):
    """The same form, guarded: formguard only marks it."""

    formguard_form_key = "contact"


class ThanksView(TemplateView):
    template_name = "contact/thanks.html"


def api_sent(request):
    """What the JSON endpoint answers a sent inquiry (and so what formguard's fake success answers)."""
    return JsonResponse({"ok": True, "message": _("Thank you for your message")})


@guard_form("api-contact", traps=True, json_success=api_sent)
def contact_api(request):
    """The same inquiry, sent by the page's own script as JSON (``fetch()``).

    GET: the page, whose form carries formguard's field (the traps and the
    self-hosted captcha); its script (contact/api.js, with formguard/fetch.js)
    posts the fields as JSON to this same URL. POST: the JSON endpoint;
    formguard has judged it before it gets here, and answers its refusals as
    problem+json itself.
    """
    if request.method == "POST":
        form = ContactForm(submitted(request))
        if not form.is_valid():
            return JsonResponse({"ok": False, "errors": form.errors.get_json_data()}, status=400)
        send_inquiry(request, form.cleaned_data)
        return api_sent(request)
    form = ContactForm()
    install_field(form, request)
    return render(request, "contact/api.html", {"form": form})
