"""What the import contract (``lint-imports``, configured in pyproject.toml) cannot say, read from the
source with ``ast``:

- a first-party import inside a function hides an edge from anyone reading the module's head, so each
  one says why on its line or the line above (``# lazy: <why>``); an AppConfig's ``ready()`` is the
  one place that needs no comment (Django loads the models before calling it, not before importing
  the app's modules);
- rules modules are pure: besides the contract's "no models, views, forms, services or selectors",
  they touch no request or response (import-linter sees only the top of an outside package, ``django``).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The project's packages: the import contract's root packages, so the two checks read the same code.
FIRST_PARTY = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"])
REQUEST_MODULES = ("django.http", "django.shortcuts", "django.views", "django.template", "django.urls")


def _modules() -> list[Path]:
    found = []
    for package in sorted(FIRST_PARTY):
        folder = ROOT / package
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            found.append(path)
    return found


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


def _function_imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, function, module) of each first-party import inside a function without a lazy reason."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if function.name == "ready" and path.name == "apps.py":
            continue
        for node in ast.walk(function):
            for module in _imported(node):
                if module.split(".")[0] not in FIRST_PARTY:
                    continue
                said = lines[node.lineno - 1] + (lines[node.lineno - 2] if node.lineno > 1 else "")
                if "# lazy:" not in said:
                    found.append((node.lineno, function.name, module))
    return found


def test_the_scan_sees_the_code():
    modules = _modules()
    assert len(modules) > 100
    assert ROOT / "core" / "charts.py" in modules


def test_no_first_party_import_inside_a_function_without_a_lazy_reason():
    unexplained = [
        f"{path.relative_to(ROOT)}:{line} in {function}(): import {module}"
        for path in _modules()
        for line, function, module in _function_imports(path)
    ]
    assert unexplained == [], (
        "Move these imports to the top of the module, or say on the line (or the one above) why they "
        "cannot be there: `# lazy: <why>`\n" + "\n".join(unexplained)
    )


def test_the_lazy_check_finds_an_unexplained_import(tmp_path):
    module = tmp_path / "views.py"
    module.write_text(
        "def page():\n"
        "    from patients.models import Patient\n"
        "    # lazy: the ledger imports this module at start-up\n"
        "    from controlled_substances import selectors\n"
        "    from json import dumps\n"
    )
    assert _function_imports(module) == [(2, "page", "patients.models")]


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if p.stem == "rules" or p.parent.name == "rules"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_rules_modules_touch_no_request(path):
    tree = ast.parse(path.read_text())
    touched = [
        module
        for node in ast.walk(tree)
        for module in _imported(node)
        if module.startswith(REQUEST_MODULES) or module.split(".")[-1] in {"models", "views", "forms"}
    ]
    assert touched == []


WRITES = {"create", "bulk_create", "get_or_create", "update_or_create", "update", "delete", "bulk_update"}


def _view_writes(path: Path) -> list[tuple[int, str]]:
    """(line, call) of each model write in a views module: ``X.objects....create/update/delete(...)``, or
    ``obj.save()``/``obj.delete()`` with no positional argument (an image's ``save(buffer)`` is not a row)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        chain = ast.unparse(node.func.value)
        row_write = name in WRITES and ".objects" in f".{chain}"
        if row_write or (name in {"save", "delete"} and not node.args):
            found.append((node.lineno, f"{chain}.{name}()"))
    return found


def test_views_write_through_services():
    """A view binds a form and calls one service; the service writes (and locks, validates and audits)."""
    views = [p for p in _modules() if p.stem == "views" or p.parent.name == "views" or p.stem.endswith("_views")]
    assert views
    writes = [f"{path.relative_to(ROOT)}:{line} {call}" for path in views for line, call in _view_writes(path)]
    assert writes == [], "Move these writes into a service:\n" + "\n".join(writes)


def test_the_view_write_check_finds_a_write(tmp_path):
    module = tmp_path / "views.py"
    module.write_text(
        "def page(request, image, buffer, note):\n"
        "    Patient.objects.filter(pk=1).update(name='x')\n"
        "    image.save(buffer)\n"
        "    note.save(update_fields=['text'])\n"
    )
    assert [line for line, _ in _view_writes(module)] == [2, 4]


def _hand_written_append_only(path: Path) -> list[int]:
    """Lines of a ``pgtrigger.Protect`` refusing every UPDATE and DELETE without a condition: the
    trigger ``core.triggers.append_only`` builds, written out again by hand."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("pgtrigger.Protect")):
            continue
        keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
        if "condition" not in keywords and keywords.get("operation") == "pgtrigger.Update | pgtrigger.Delete":
            found.append(node.lineno)
    return found


def test_append_only_triggers_come_from_core():
    """One definition of "rows are only ever added", so every log refuses change the same way."""
    helper = ROOT / "core" / "triggers.py"
    hand = [f"{p.relative_to(ROOT)}:{line}" for p in _modules() if p != helper for line in _hand_written_append_only(p)]
    assert hand == [], "Use core.triggers.append_only(name):\n" + "\n".join(hand)


def test_the_append_only_check_finds_a_hand_written_trigger(tmp_path):
    module = tmp_path / "models.py"
    module.write_text(
        "triggers = [\n"
        "    pgtrigger.Protect(name='a', operation=pgtrigger.Update | pgtrigger.Delete),\n"
        "    pgtrigger.Protect(name='b', operation=pgtrigger.Update | pgtrigger.Delete, condition=c),\n"
        "    pgtrigger.Protect(name='c', operation=pgtrigger.Delete),\n"
        "]\n"
    )
    assert _hand_written_append_only(module) == [2]


def _on_commit_lambdas(path: Path) -> list[int]:
    """Lines of ``on_commit(lambda ...)``: a closure over whatever the names hold when the transaction
    commits, not when the callback was registered (a loop's last value), and unnamed in a traceback."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and ast.unparse(node.func).split(".")[-1] == "on_commit"
        and any(isinstance(arg, ast.Lambda) for arg in node.args)
    ]


def test_no_on_commit_lambda():
    """A task is a ``core.tasks.TransactionAwareTask`` (it waits for the commit itself); any other
    callback is ``transaction.on_commit(functools.partial(fn, *args))``."""
    found = [f"{p.relative_to(ROOT)}:{line}" for p in _modules() for line in _on_commit_lambdas(p)]
    assert found == [], "Use a TransactionAwareTask or functools.partial:\n" + "\n".join(found)


def test_the_on_commit_check_finds_a_lambda(tmp_path):
    module = tmp_path / "services.py"
    module.write_text(
        "transaction.on_commit(lambda: send(pk))\n"
        "transaction.on_commit(partial(send, pk))\n"
        "on_commit(lambda pk=pk: send(pk))\n"
    )
    assert _on_commit_lambdas(module) == [1, 3]


AUDIT_WRITERS = {"record", "record_read", "record_many", "audited_query", "record_page_opened"}


def _bare_audit_words(path: Path) -> list[int]:
    """Lines where a string literal is handed to the audit trail as a verb or category (a keyword of
    an audit writer, an event's spec dict (one with an ``action``), ``audited_query``'s category, a settings
    page's ``audit_category``): ``accounts.audit`` refuses it at run time, this finds it before."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        values: list[ast.expr] = []
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func).split(".")[-1]
            keys = {"verb", "category"} if name in AUDIT_WRITERS else set()
            values += [k.value for k in node.keywords if k.arg in keys | {"audit_category"}]
            if name == "audited_query":
                values += node.args[1:]
        elif isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "action" for k in node.keys):
            values += [
                v
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and k.value in ("verb", "category")
            ]
        for value in values:
            branches = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
            if any(isinstance(b, ast.Constant) and isinstance(b.value, str) for b in branches):
                found.append(value.lineno)
    return sorted(found)


def test_audit_verbs_and_categories_are_enum_members():
    found = [f"{p.relative_to(ROOT)}:{line}" for p in _modules() for line in _bare_audit_words(p)]
    assert found == [], "Pass a core.audit.Verb / core.audit.Category member:\n" + "\n".join(found)


def test_the_audit_word_check_finds_a_bare_string(tmp_path):
    module = tmp_path / "services.py"
    module.write_text(
        "audit.record(actor=by, action='a', verb='create', category=Category.CLINICAL)\n"
        "audit.record(actor=by, action='a', verb=Verb.CREATE, category=Category.CLINICAL)\n"
        "audit.record_many([{'action': 'a', 'verb': Verb.READ, 'category': 'clinical'}])\n"
        "@audit.audited_query('x.viewed', 'scheduling')\n"
        "def page(): pass\n"
        "audit.record(actor=by, action='a', verb=Verb.CREATE if new else 'update', category=CATEGORY)\n"
        "Page(audit_category='security')\n"
        "Reminder.objects.filter(category='clinical')\n"
        "choices = {'category': 'clinical'}\n"
    )
    assert _bare_audit_words(module) == [1, 3, 4, 6, 7]


def test_mypy_checks_every_first_party_package():
    """A new app joins the static types as it joins the import contract: `make check` runs mypy
    over `[tool.mypy] files`, and a package left out of it would be read for types but never checked."""
    checked = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"])
    assert sorted(FIRST_PARTY - checked) == []


def test_ruff_sorts_every_first_party_package_as_ours():
    """isort's sections follow `known-first-party`; an app missing from it would sort among the
    third-party imports in some files and among ours in others, depending on where ruff runs."""
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert sorted(FIRST_PARTY - set(lint["isort"]["known-first-party"])) == []
