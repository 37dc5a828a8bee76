"""The scheduling tests' small clinic, for importing appointments into it."""

from scheduling.tests.conftest import clinic  # noqa: F401 - a fixture, found by name
