"""Integrations with other Django apps (Wagtail, Django REST framework), each imported only when a site uses it."""
