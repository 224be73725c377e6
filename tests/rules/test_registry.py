"""The rules as a registry: one module per rule, one line per rule in the order, one test
module per rule, one README row per rule, and nothing outside rules/ importing a rule module.

These are the steps of the README's "Adding a rule"; a rule added without one of them fails
here, and says which step is missing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from autoresponder.rules import ORDER, Deferred, Rule, all_rules, load, module_name
from tests.rules.support import ROOT

PACKAGE = ROOT / "autoresponder"
RULES_DIR = PACKAGE / "rules"
TESTS_DIR = ROOT / "tests" / "rules"
README = ROOT / "README.md"


def rule_modules() -> "list[str]":
    """The rule modules on disk, as rule names (file name with dashes)."""
    return sorted(p.stem.replace("_", "-") for p in RULES_DIR.glob("*.py")
                  if p.name != "__init__.py")


def test_order_names_each_rule_module_once():
    assert len(set(ORDER)) == len(ORDER), "a rule is named twice in rules.ORDER"
    assert sorted(ORDER) == rule_modules(), (
        "every autoresponder/rules/<name>.py needs its line in rules.ORDER, and every name "
        "there its module")


@pytest.mark.parametrize("name", ORDER)
def test_each_module_holds_its_rule(name):
    rule = load(name)
    assert isinstance(rule, Rule) and not isinstance(rule, Deferred)
    assert type(rule).__module__ == module_name(name), "RULE must be the module's own class"
    assert rule.name == name
    assert rule.description.strip() == rule.description and "\n" not in rule.description
    assert len(rule.description) > 20, "say what the rule skips"


def test_all_rules_are_in_order_and_load_on_first_use():
    got = all_rules()
    assert [r.name for r in got] == list(ORDER)
    for r in got:
        assert r.description == load(r.name).description
    assert all(isinstance(r, Rule) for r in got)


@pytest.mark.parametrize("name", ORDER)
def test_each_rule_has_its_test_module_with_hits_and_near_misses(name):
    """(Was: every rule of the engine is named by tests/test_rules.py.)"""
    path = TESTS_DIR / f"test_{name.replace('-', '_')}.py"
    assert path.exists(), f"no test module {path.relative_to(ROOT)} for rule {name!r}"
    source = path.read_text()
    assert f'"{name}"' in source, f"no test names rule {name!r}"
    assert "assert_skip(" in source or '== ("skip",' in source, f"no hit for {name!r}"
    assert "assert_reply(" in source or '"reply"' in source, f"no near miss for {name!r}"


def _imported_modules(path: Path) -> "set[str]":
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_nothing_outside_rules_imports_a_rule_module():
    modules = {module_name(n) for n in ORDER}
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if RULES_DIR in path.parents:
            continue
        bad = _imported_modules(path) & modules
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}, "use autoresponder.headerutil (or rules.load) instead"


def test_the_import_check_sees_a_planted_violation(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from autoresponder.rules import spam\n"
                       "from autoresponder.rules.precedence import Precedence\n")
    assert {module_name("spam"), module_name("precedence")} <= _imported_modules(planted)


def test_all_rules_imports_no_rule_module_until_it_is_used():
    """The engine stops at the first rule that objects: the rules after it are never
    imported (each module costs every process; Postfix starts one per message)."""
    probe = ("import sys\n"
             "from autoresponder.rules import all_rules\n"
             "rules = all_rules()\n"
             "def loaded():\n"
             "    return sorted(m for m in sys.modules if m.startswith('autoresponder.rules.'))\n"
             "print(loaded())\n"
             "rules[4].description\n"
             "print(loaded())\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       cwd=str(ROOT), check=True, timeout=60)
    before, after = r.stdout.splitlines()
    assert before == "[]"
    assert after == repr([module_name(ORDER[4])])


# --- the README's rule table ------------------------------------------------------------------

def readme_table() -> "list[tuple[str, str]]":
    """(name, text) of each row of the table under "## Rules", text without the backticks."""
    text = README.read_text()
    section = text.split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 2, line
        rows.append((cells[0].strip("`"), cells[1].replace("`", "")))
    return rows


def test_readme_table_has_one_row_per_rule_in_order_with_its_description():
    rows = readme_table()
    got = rows[:len(ORDER)]
    want = [(r.name, r.description) for r in all_rules()]
    for (name, text), (want_name, want_text) in zip(got, want):
        assert name == want_name, f"README row {name!r} where rule {want_name!r} goes"
        assert text == want_text, (f"README row for {name!r} differs from the rule's "
                                   f"description (backticks aside); the description is:\n"
                                   f"| `{want_name}` | {want_text} |")
    assert len(got) == len(want), "a rule has no README row"
    assert not {n for n, _ in rows[len(ORDER):]} & set(ORDER), "a rule's row is out of order"


def test_readme_rows_after_the_rules_are_outcomes_of_the_line():
    """already-replied and rate-limit end a delivery too; they are not rules."""
    names = [n for n, _ in readme_table()[len(ORDER):]]
    assert names == ["already-replied", "rate-limit"]
    from autoresponder import outcomes

    for n in names:
        assert outcomes.by_name(n).kind == "skip"


def test_readme_table_check_sees_a_wrong_row(monkeypatch, tmp_path):
    fake = tmp_path / "README.md"
    fake.write_text(README.read_text().replace("| `precedence` | `Precedence: bulk`",
                                               "| `precedence` | `Precedence: list`", 1))
    monkeypatch.setattr(sys.modules[__name__], "README", fake)
    with pytest.raises(AssertionError, match="precedence"):
        test_readme_table_has_one_row_per_rule_in_order_with_its_description()


# --- the per-message path: a skip loads only the rules up to the one that decided ------------

def _rule_modules_loaded(mods: "set[str]") -> "list[str]":
    return sorted(m for m in mods if m.startswith("autoresponder.rules."))


def _up_to(name: str) -> "list[str]":
    return sorted(module_name(n) for n in ORDER[:ORDER.index(name) + 1])


def test_a_real_skip_imports_only_the_rules_it_ran(tmp_path):
    """Through the real `deliver` command line in a fresh interpreter (tests/test_lazy_imports):
    a bulk message stopped by `precedence` and a DSN stopped by `null-sender` import the rule
    modules up to the deciding one and none after it. Whatever maps the decision to an
    outcome, a log line or an exit code must not read the other rules."""
    from tests.test_lazy_imports import BULK, DSN, World

    w = World(tmp_path)
    w.deliver("news@lists.example.org", BULK)  # fills the config cache
    rc, mods, line = w.deliver("news@lists.example.org", BULK)
    assert rc == 0 and "rule=precedence" in line
    assert _rule_modules_loaded(mods) == _up_to("precedence")
    rc, mods, line = w.deliver("", DSN)
    assert rc == 0 and "rule=null-sender" in line
    assert _rule_modules_loaded(mods) == _up_to("null-sender")
