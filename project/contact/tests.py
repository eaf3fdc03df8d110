"""The demo site's own tests, as a site with formguard installed writes them.

``manage.py test project.contact`` runs them, with the demo's captcha on. Each test posts the form more
often than formguard's default limit (5 per 10 minutes) allows across the
class: ``FormGuardTestMixin`` starts every test with formguard's counters
and bans reset, so the tests do not see each other's requests.
"""

from django.core import mail
from django.test import TestCase

from formguard.testing import FormGuardTestMixin, captcha_solution, disabled

INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品について質問があります。"}


class ContactFormTests(FormGuardTestMixin, TestCase):
    def send(self, count=4):
        # The demo's captcha (the self-hosted proof of work): each POST carries its own solution.
        return [
            self.client.post("/contact/", {**INQUIRY, **captcha_solution("contact")}).status_code for _ in range(count)
        ]

    def test_an_inquiry_is_mailed_to_the_staff(self):
        self.assertEqual(self.send(), [302] * 4)
        self.assertEqual(len(mail.outbox), 4)

    def test_the_thanks_page_follows(self):
        response = self.client.post("/contact/", {**INQUIRY, **captcha_solution("contact")}, follow=True)
        self.assertEqual(response.redirect_chain[-1][0], "/contact/thanks/")
        self.assertEqual(self.send(3), [302] * 3)

    def test_a_message_is_required(self):
        response = self.client.post("/contact/", {**INQUIRY, "message": ""})
        self.assertEqual(response.status_code, 200)  # the message is missing (and no captcha solved)
        self.assertEqual(self.send(3), [302] * 3)

    @disabled()
    def test_with_formguard_switched_off_nothing_is_limited(self):
        self.assertEqual(self.send(12), [302] * 12)
