import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from formguard import contacts
from formguard.models import AlternativeContact

Kind = AlternativeContact.Kind

# The demo shop's other ways to be reached, so that no refusal page of the
# demo is a dead end ("please contact us another way" with nothing under it).
# Made up: a real shop replaces them in the admin (別の連絡方法).
EXAMPLE_CONTACTS = [
    # Shown to visitors of every country without rows of their own.
    {"country": "", "kind": Kind.PHONE, "value": "03-0000-0000", "hours": "10:00–18:00 JST", "order": 1},
    {"country": "", "kind": Kind.EMAIL, "value": "support@example.jp", "order": 2},
    # Visitors from mainland China: mail from Japan often does not reach them (reply hints).
    {
        "country": "CN",
        "kind": Kind.WECHAT,
        "value": "example_shop_jp",
        "text_zh": "在微信中搜索公众号 ID 并关注，即可与我们联系。",
        "text_ja": "WeChat で公式アカウントの ID を検索してフォローしてください。",
        "text_en": "Search for the official account's ID in WeChat and follow it.",
        "order": 1,
    },
    {"country": "CN", "kind": Kind.QQ, "value": "10000000", "order": 2},
    {"country": "CN", "kind": Kind.PHONE, "value": "+81 3-0000-0000", "hours": "10:00–18:00 JST", "order": 3},
]


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo's admin login and print it; add example alternative contacts "
        "if there are none. Demo only."
    )

    def handle(self, *args, **options):
        password = secrets.token_urlsafe(12)
        User = get_user_model()
        user, created = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        site = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Demo admin: {site}/admin/   user: admin   password: {password}\n  Contact form: {site}/contact/\n"
            )
        )
        # Only into an empty table: what the owner has entered is never touched.
        if not AlternativeContact.objects.exists():
            for fields in EXAMPLE_CONTACTS:
                row = AlternativeContact(**fields)
                row.full_clean()
                row.save()
            contacts.invalidate()
            self.stdout.write(
                f"  Example alternative contacts added ({len(EXAMPLE_CONTACTS)}): replace them with yours in "
                f"{site}/admin/formguard/alternativecontact/\n"
            )
