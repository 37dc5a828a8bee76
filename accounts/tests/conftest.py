import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_counters():
    """The password throttle, the reset limits and the link limiters count in the cache."""
    cache.clear()
    yield
    cache.clear()
