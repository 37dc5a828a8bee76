"""Settings for the test suite: the development branch of settings.py, whatever the shell says.

pytest-django loads settings before any conftest runs, so the environment
defaults for tests are set here rather than in conftest.py.
"""

import os

os.environ["DJANGO_DEBUG"] = "1"  # development branch: no HTTPS redirect or __Host- cookies
os.environ.setdefault("OTP_REQUIRED", "0")  # tests that need it turn it on with the settings fixture

from grace_mindcare.settings import *  # noqa: E402,F403

# Tests never send real e-mail or SMS.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
