from django import forms
from django.utils.translation import gettext_lazy as _

from formguard.forms import ConsentField


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    email = forms.EmailField(label=_("Email"))
    message = forms.CharField(label=_("Message"), widget=forms.Textarea, max_length=5000)
    # Opt-in, never pre-ticked: cleaned_data["news"] is when consent was given, or None.
    news = ConsentField(label=_("Send me news and offers from Example Shop by email"))

    def clean_name(self):
        # The name goes into the staff mail's Subject header, where a line
        # break would start a header of the sender's choosing ("\nBcc: …").
        # Django refuses to send such a mail (BadHeaderError, and on Django 6
        # every separator str.splitlines() knows, \x85 and U+2028 included):
        # refused here instead, with an answer. A browser never sends one from
        # a one-line field (it strips line breaks from an <input>), so no
        # person is turned away; their typed text comes back with the error.
        name = self.cleaned_data["name"]
        if len(name.splitlines()) > 1:
            raise forms.ValidationError(_("Please write your name on one line."), code="line_break")
        return name
