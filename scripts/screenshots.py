"""Takes the README screenshots from a running `make run` (default http://127.0.0.1:8000).

.venv/bin/python scripts/screenshots.py [base_url]
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
LAUNCH = {
    "executable_path": "/usr/bin/chromium",
    "args": ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
}
# (file name, demo user, path, then follow the first link matching each CSS selector in turn, or the
# next one where a later selector finds nothing on the page it leads to); a user of None is a member
# of the public, on a phone.
PHONE = {"width": 360, "height": 740}
BOARD = "main a:has-text('Midtown')"  # the demo's in-progress chairs are there
PATIENT = "main td a[href^='/patients/']"
# A visit's invoice: only a patient with one has this link.
INVOICE = "#billing tr:has-text('Visit · Infusion') a[href^='/billing/invoices/']"
TRIES = 10  # links of one selector tried before a shot is skipped
SHOTS = [
    ("front-desk-home.png", "frontdesk", "/", ()),
    ("patients.png", "frontdesk", "/patients/", ()),
    ("calendar-week.png", "frontdesk", "/schedule/?view=week", ()),
    ("calendar-day.png", "frontdesk", "/schedule/?view=day", ()),
    ("clinician-home.png", "clinician", "/", ()),
    ("chair-board.png", "clinician", "/infusions/board/", (BOARD,)),
    ("infusion-session.png", "clinician", "/infusions/board/", (BOARD, "a[href*='/infusions/sessions/']")),
    ("admin-home.png", "admin", "/", ()),
    ("report-operations.png", "admin", "/reports/", ("main a[href^='/reports/']",)),
    ("ledger.png", "admin", "/controlled-substances/", ()),
    ("prepare-tomorrow.png", "nurse", "/reports/prepare/", ()),
    ("settings.png", "admin", "/settings/", ()),
    ("settings-infusion-policy.png", "admin", "/settings/policy/infusion-policy/", ()),
    ("front-door-start.png", None, "/start/", ()),
    ("invoice.png", "frontdesk", "/patients/", (PATIENT, INVOICE)),
    ("patient-billing.png", "frontdesk", "/patients/", (PATIENT, INVOICE, "main .breadcrumb a[href$='#billing']")),
]
# Shots of one part of the page rather than the window.
ELEMENT = {"patient-billing.png": "#billing"}


def follow_links(page, selectors: tuple[str, ...]) -> bool:
    """Follow a link matching each selector in turn: the first that leads on to the rest (the
    first patient listed may have no invoice)."""
    if not selectors:
        return True
    here = page.url
    links = page.locator(selectors[0])
    hrefs = [links.nth(i).get_attribute("href") for i in range(min(links.count(), TRIES))]
    for href in hrefs:
        if href is None:
            continue
        page.goto(urljoin(here, href))
        page.wait_for_load_state("networkidle")
        if follow_links(page, selectors[1:]):
            return True
    return False


def main(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(**LAUNCH)
        for name, user, path, follow in SHOTS:
            page = browser.new_page(viewport=PHONE if user is None else {"width": 1280, "height": 800})
            if user is not None:
                page.goto(f"{base}/accounts/login/")
                page.get_by_label("Username").fill(user)
                page.get_by_label("Password").fill("grace-demo")
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state("networkidle")
            response = page.goto(f"{base}{path}")
            if response is None or response.status != 200:
                print(f"skipped {name}: {path} answered {response.status if response else 'nothing'}")
                page.close()
                continue
            page.wait_for_load_state("networkidle")
            if not follow_links(page, follow):
                print(f"skipped {name}: no page along {' → '.join(follow)}")
            elif name in ELEMENT:
                page.evaluate("window.scrollTo(0, 0)")  # the box is then in page coordinates, as clip wants
                box = page.locator(ELEMENT[name]).bounding_box()
                if box is None:
                    print(f"skipped {name}: {ELEMENT[name]} is not shown on {page.url}")
                else:
                    # At most a window's height: a long card is shown by its top (balance, latest invoices).
                    box["height"] = min(box["height"], 800)
                    page.screenshot(path=OUT / name, clip=box, full_page=True)
                    print(f"wrote {OUT / name}")
            else:
                page.screenshot(path=OUT / name, full_page=False)
                print(f"wrote {OUT / name}")
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
