import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (or reset) the demo's admin login and print it. Demo only."

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
