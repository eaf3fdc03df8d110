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
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Demo admin: http://127.0.0.1:8000/admin/   user: admin   password: "
                f"{password}\n  Contact form: http://127.0.0.1:8000/contact/\n"
            )
        )
