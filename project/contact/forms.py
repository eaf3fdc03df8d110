from django import forms
from django.utils.translation import gettext_lazy as _

from formguard.forms import ConsentField


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    email = forms.EmailField(label=_("Email"))
    message = forms.CharField(label=_("Message"), widget=forms.Textarea, max_length=5000)
    # Opt-in, never pre-ticked: cleaned_data["news"] is when consent was given, or None.
    news = ConsentField(label=_("Send me news and offers from Example Shop by email"))
