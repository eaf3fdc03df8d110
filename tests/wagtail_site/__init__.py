"""A small Wagtail site with one form page an editor made, guarded by ``GuardedFormPageMixin``.

Its tests run with their own settings (``pytest --ds tests.wagtail_site.settings
tests/wagtail_site``; scripts/test.sh does when Wagtail is installed).
"""
