"""The bench's URLconf: the demo's pages plus unguarded peers of its contact form.

``/contact/`` is the demo's guarded ``ContactView``. ``/bench/bare/`` is the
same view without formguard: the baseline every ratio is taken against.
``/bench/ratelimit/`` is that bare view under django-ratelimit alone (one
counter per IP), the peer formguard's cost is compared with. ``/bench/captcha/``
is the guarded form under a second form key, whose policy requires the captcha.
``/bench/lean/…`` and ``/bench/floor/`` are bench/lean.py's lean bare form view,
its guarded and rate-limited copies, and the floor (bench/views.py).
"""

from django.urls import path
from django_ratelimit.decorators import ratelimit

from bench import views as lean_views
from project.contact.views import ContactView, InquiryView
from project.urls import urlpatterns as demo_urlpatterns

# The demo's form without GuardedFormMixin: the same work.
bare_contact = InquiryView.as_view()
# Never refuses within a run; the cache is RATELIMIT_USE_CACHE, switched per variant.
ratelimited_contact = ratelimit(group="bench", key="ip", rate="1000000/m", method="POST", block=True)(
    InquiryView.as_view()
)

urlpatterns = [
    *demo_urlpatterns,
    path("bench/bare/", bare_contact),
    path("bench/ratelimit/", ratelimited_contact),
    # The demo's guarded form under another key, for a second policy (bench/captcha_cost.py).
    path("bench/captcha/", ContactView.as_view(formguard_form_key="contact-captcha")),
    # bench/lean.py (issue 24)
    path("bench/lean/", lean_views.lean),
    path("bench/lean/ratelimit/", lean_views.ratelimited_lean),
    path("bench/lean/guarded/", lean_views.guarded_lean),
    path("bench/lean/closed/", lean_views.closed_lean),
    path("bench/lean/limited/", lean_views.limited_lean),
    path("bench/floor/", lean_views.floor),
    # The owner-taught filter off (bench/lean.py's filter variants): the lean and the demo's views.
    path("bench/lean/nofilter/", lean_views.nofilter_lean),
    path("bench/contact-nofilter/", ContactView.as_view(formguard_form_key="bench-nofilter")),
]
