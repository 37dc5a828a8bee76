from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

# A Thursday morning in New York (13:00 UTC), away from any DST change.
NOW = datetime(2027, 3, 4, 13, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
