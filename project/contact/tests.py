"""The demo site's own tests, as a site with formguard installed writes them.

``manage.py test project.contact`` runs them, with the demo's captcha on. Each test posts the form more
often than formguard's default limit (5 per 10 minutes) allows across the
class: ``FormGuardTestMixin`` starts every test with formguard's counters
and bans reset, so the tests do not see each other's requests.
"""

from django.core import mail
from django.test import TestCase

from formguard.testing import FormGuardTestMixin, captcha_solution, disabled, trap_fields

INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品について質問があります。"}


class ContactFormTests(FormGuardTestMixin, TestCase):
    def inquiry(self, number=0):
        # As a browser sends it: with formguard's trap fields and the demo's
        # captcha (the self-hosted proof of work) solved. Each from its own
        # address (formguard allows 3 messages per address a day).
        return {
            **INQUIRY,
            "email": f"customer{number}@example.jp",
            **trap_fields("contact"),
            **captcha_solution("contact"),
        }

    def send(self, count=3):
        return [self.client.post("/contact/", self.inquiry(n)).status_code for n in range(count)]

    def test_an_inquiry_is_mailed_to_the_staff(self):
        self.assertEqual(self.send(4), [302] * 4)
        self.assertEqual(len(mail.outbox), 4)

    def test_the_thanks_page_follows(self):
        response = self.client.post("/contact/", self.inquiry(), follow=True)
        self.assertEqual(response.redirect_chain[-1][0], "/contact/thanks/")
        self.assertEqual(self.send(3), [302] * 3)

    def test_a_message_is_required(self):
        response = self.client.post("/contact/", {**self.inquiry(), "message": ""})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.send(3), [302] * 3)

    def test_a_post_without_the_trap_fields_gets_the_form_back(self):
        response = self.client.post("/contact/", INQUIRY)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, INQUIRY["message"])
        self.assertEqual(len(mail.outbox), 0)

    @disabled()
    def test_with_formguard_switched_off_nothing_is_limited(self):
        sent = [self.client.post("/contact/", INQUIRY).status_code for _ in range(12)]
        self.assertEqual(sent, [302] * 12)
