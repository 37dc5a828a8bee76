"""The app's settings, plus the bench's own URL: the floor every page is compared with."""

from grace_mindcare.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
