"""Settings for the test suite: the development branch of settings.py, whatever the shell says.

pytest-django loads settings before any conftest runs, so the environment
defaults for tests are set here rather than in conftest.py.
"""

import os

os.environ["DJANGO_DEBUG"] = "1"  # development branch: no HTTPS redirect or __Host- cookies
os.environ.setdefault("OTP_REQUIRED", "0")  # tests that need it turn it on with the settings fixture

from grace_mindcare.settings import *  # noqa: E402,F403

# The suite runs on one test database whatever the shell says: a DATABASE_REPLICA_URL (the mirror
# alias) would send the report tests' reads to a second connection outside their transaction. The
# replica tests add the alias themselves (reports/tests/test_replica.py).
DATABASES.pop("replica", None)  # noqa: F405

# Tests never send real e-mail or SMS.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Under pytest-xdist (`make test-fast`) every worker is its own process with its own test database
# (pytest-django appends the worker id to its name); what else a test writes must be its own too.
# A single-process run (`make test`) is the worker "main".
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

# The password throttle counts in the cache: a shared Redis (CACHE_URL) must not let one
# worker's counts lock out another worker's test users.
CACHES["default"]["KEY_PREFIX"] = f"test-{_WORKER}"  # noqa: F405

# Files land in a folder per worker, not in the demo's outboxes and media: two workers issue the same
# primary keys, so a document or a message keyed by one would overwrite or deduplicate the other's.
_TEST_VAR = VAR_DIR / "test" / _WORKER  # noqa: F405
MEDIA_ROOT = _TEST_VAR / "media"
EMAIL_FILE_PATH = str(_TEST_VAR / "outbox" / "email")
# A subprocess a test starts (the Celery worker of the reminder kill test) is given its own SMS outbox.
SMS_FILE_PATH = os.environ.get("TEST_SMS_FILE_PATH") or str(_TEST_VAR / "outbox" / "sms")
