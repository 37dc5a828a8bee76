"""Every browser walk is also an accessibility walk (axe-core on each page it opens)."""

from __future__ import annotations

import pytest

from tests.e2e import axe


@pytest.fixture(autouse=True)
def _axe_on_every_page(context):
    findings = axe.watch(context)
    yield
    for page in context.pages:
        if not page.is_closed() and page.url.startswith("http"):
            findings += axe.check(page)
    blocking = sorted(set(findings))
    assert not blocking, "serious or critical accessibility violations:\n" + "\n".join(blocking)
