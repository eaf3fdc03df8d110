from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from formguard import mail
from formguard.decorators import GuardedFormMixin

from .forms import ContactForm


class InquiryView(FormView):
    """The site's own inquiry form, as it was before formguard."""

    form_class = ContactForm
    template_name = "contact/form.html"
    success_url = reverse_lazy("contact:thanks")

    def form_valid(self, form):
        data = form.cleaned_data
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
            subject=mail.subject(self.request, _("[Inquiry] from %(name)s") % {"name": data["name"]}),
            message=render_to_string("contact/mail.txt", {**data, "consent": consent}, request=self.request),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=mail.recipients(self.request, settings.CONTACT_STAFF_EMAILS),
        )
        return super().form_valid(form)


class ContactView(GuardedFormMixin, InquiryView):
    """The same form, guarded: formguard only marks it."""

    formguard_form_key = "contact"


class ThanksView(TemplateView):
    template_name = "contact/thanks.html"
