"""make check's pip-audit step: a vulnerability fails it; an unreachable database is a notice, never a pass
dressed as "no known vulnerabilities" and never a failed build."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "audit_dependencies.py"


@pytest.fixture
def script():
    spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answers(monkeypatch, script, by_service):
    def run(argv, **kwargs):
        service = argv[argv.index("-s") + 1]
        stdout, stderr = by_service[service]
        return subprocess.CompletedProcess(argv, 0, stdout=stdout, stderr=stderr)

    monkeypatch.setattr(script.subprocess, "run", run)


UNREACHABLE_OSV = ("", "requests.exceptions.ConnectionError: Max retries exceeded (NameResolutionError)")
MIRROR_KNOWS_NOTHING = (json.dumps({"dependencies": [{"name": "django", "skip_reason": "not found"}]}), "")


def test_pip_audit_unreachable_database_is_skipped_with_a_notice(monkeypatch, script, capsys):
    _answers(monkeypatch, script, {"osv": UNREACHABLE_OSV, "pypi": MIRROR_KNOWS_NOTHING})
    assert script.main() == 0
    out = capsys.readouterr().out
    assert "NOTICE: pip-audit SKIPPED" in out
    assert "NOT checked" in out


def test_pip_audit_a_known_vulnerability_fails_the_check(monkeypatch, script, capsys):
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["5.2.1"]}]},
            {"name": "qrcode", "version": "8.2", "vulns": []},
        ]
    }
    _answers(monkeypatch, script, {"osv": (json.dumps(report), ""), "pypi": MIRROR_KNOWS_NOTHING})
    assert script.main() == 1
    assert "VULNERABLE django 5.2.0: PYSEC-1 (fixed in 5.2.1)" in capsys.readouterr().out


def test_pip_audit_a_clean_answer_passes(monkeypatch, script, capsys):
    report = {"dependencies": [{"name": "qrcode", "version": "8.2", "vulns": []}]}
    _answers(monkeypatch, script, {"osv": UNREACHABLE_OSV, "pypi": (json.dumps(report), "")})
    assert script.main() == 0
    assert "pip-audit (pypi): 1 packages audited, 0 with known vulnerabilities" in capsys.readouterr().out
