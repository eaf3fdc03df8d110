"""The form page an editor builds in Wagtail's admin, guarded by formguard."""

from django.db import models
from modelcluster.fields import ParentalKey
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField

from formguard.contrib.wagtail import GuardedFormPageMixin


class FormField(AbstractFormField):
    page = ParentalKey("ContactFormPage", on_delete=models.CASCADE, related_name="form_fields")


class ContactFormPage(GuardedFormPageMixin, AbstractEmailForm):
    intro = models.TextField(blank=True)
    thank_you_text = models.TextField(blank=True)
