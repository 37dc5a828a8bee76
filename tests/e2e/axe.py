"""axe-core in the browser walks: every page a walk opens is checked for accessibility.

The engine is the copy vendored from npm by ``scripts/vendor_assets.sh`` (static/vendor/axe-core).
``watch(context)`` injects it into every document of a browser context; each page runs it
once it has loaded and after every htmx swap, and reports back through an exposed binding,
so no page of a walk escapes and no test has to remember to ask. ``check(page)`` runs it on
the page as it is now, for a state a test wants checked explicitly.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
# What blocks a person: a screen-reader user, a keyboard user, someone with low vision.
# "moderate" and "minor" findings are advice, not failures.
BLOCKING = ("serious", "critical")

_RUN = """
(() => {
  const run = () => {
    if (!window.axe || window.__axeRunning || !location.protocol.startsWith("http")) return;
    window.__axeRunning = true;
    window.axe.run(document, {resultTypes: ["violations"]}).then((results) => {
      window.__axeRunning = false;
      const found = results.violations
        .filter((v) => %s.includes(v.impact))
        .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))}));
      if (window.__axeReport) window.__axeReport(location.pathname, found);
    }).catch(() => { window.__axeRunning = false; });
  };
  window.addEventListener("load", run);
  document.addEventListener("htmx:afterSettle", run);
})();
"""


def _script() -> str:
    return AXE.read_text() + "\n" + _RUN % list(BLOCKING)


def watch(context) -> list[str]:
    """Checks every page ``context`` loads; returns the list the findings are added to.

    The suite's conftest watches every context, and a walk may ask again for the list to assert
    on at its own points: the binding can be exposed only once per context, so both get one list."""
    if (already := getattr(context, "_axe_findings", None)) is not None:
        return already
    findings: list[str] = []
    context._axe_findings = findings

    def report(_source, path, violations):
        for v in violations:
            findings.append(f"{path}: {v['impact']} {v['id']} ({v['help']}) at {', '.join(v['nodes'])}")

    context.expose_binding("__axeReport", report)
    context.add_init_script(script=_script())
    return findings


def check(page) -> list[str]:
    """The blocking violations on ``page`` as it is now."""
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(AXE.read_text())
    # axe refuses to start while the run a page load started is still going: wait for it.
    page.wait_for_function("() => !window.__axeRunning", timeout=30_000)
    violations = page.evaluate(
        """async (blocking) => {
             window.__axeRunning = true;
             let results;
             try { results = await window.axe.run(document, {resultTypes: ["violations"]}); }
             finally { window.__axeRunning = false; }
             return results.violations.filter((v) => blocking.includes(v.impact))
               .map((v) => `${v.impact} ${v.id} (${v.help}) at ` +
                           v.nodes.slice(0, 5).map((n) => n.target.join(" ")).join(", "));
           }""",
        list(BLOCKING),
    )
    path = page.evaluate("() => location.pathname")
    return [f"{path}: {v}" for v in violations]


# The public pages a patient opens answer to every finding, and to WCAG 2.2 AA's target size
# (2.5.8: 24 by 24 CSS px, or spaced as far), a rule axe-core ships switched off.
_EVERY_FINDING = """async () => {
  window.__axeRunning = true;
  let results;
  try {
    results = await window.axe.run(document, {resultTypes: ["violations"], rules: {"target-size": {enabled: true}}});
  } finally { window.__axeRunning = false; }
  return results.violations.map((v) => `${v.impact} ${v.id} at ` +
    v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
}"""


def every_finding(page) -> list[str]:
    """Every violation on ``page`` as it is now, whatever its impact, target size included."""
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(AXE.read_text())
    page.wait_for_function("() => !window.__axeRunning", timeout=30_000)
    return page.evaluate(_EVERY_FINDING)
