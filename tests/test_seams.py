"""The seams hold (issue 10): SQL lives in the store backends only, each statement in one
module; exit codes are spelled and chosen only in autoresponder/outcomes.py; the store's
contract imports nothing of the delivery line; outcomes are one registry.

The source checks read the package with ``ast`` (a grep that understands Python), and each
checker is first shown to catch a planted violation, so that it cannot pass vacuously.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "autoresponder"
# Each backend speaks its own dialect; nothing else may hold SQL.
BACKENDS = {"store/sqlite.py", "store/postgres.py"}
OUTCOMES = "outcomes.py"

SQL = re.compile(r"\b(SELECT\s.+?\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|"
                 r"DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|DROP\s+TABLE|PRAGMA\s+\w+|"
                 r"BEGIN\s+IMMEDIATE)\b", re.S)
EXIT_CALLS = {"exit", "_exit", "SystemExit"}


def modules() -> "dict[str, ast.Module]":
    return {str(p.relative_to(PKG)): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(PKG.rglob("*.py"))}


def sql_statements(tree: ast.Module) -> "set[str]":
    """Every string constant that holds an SQL statement, whitespace-normalised."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and SQL.search(node.value):
            out.add(" ".join(node.value.split()))
    return out


CODES = {64, 65, 69, 70, 73, 74, 75, 76, 77, 78}  # sysexits.h: `return 0` is too common to mean one


def exit_codes(tree: ast.Module) -> "list[tuple[int, str]]":
    """(line, what) for each place that picks a process exit code with a number: ``return
    N``, ``sys.exit(N)``/``SystemExit(N)``, ``x.code == N`` / ``x.code in (N, ...)``, and a
    parameter named ``code`` defaulting to N."""
    hits = []

    def is_int(n) -> bool:
        return isinstance(n, ast.Constant) and type(n.value) is int

    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and is_int(node.value) and node.value.value in CODES:
            hits.append((node.lineno, f"return {node.value.value}"))
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in EXIT_CALLS and any(is_int(a) for a in node.args):
                hits.append((node.lineno, f"{name}(...)"))
        elif isinstance(node, ast.Compare) and getattr(node.left, "attr", "") == "code":
            for c in node.comparators:
                elts = c.elts if isinstance(c, (ast.Tuple, ast.List, ast.Set)) else [c]
                if any(is_int(e) for e in elts):
                    hits.append((node.lineno, "code compared with a number"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + \
                list(node.args.defaults) + list(node.args.kw_defaults)
            for a, d in zip(args, defaults):
                if a.arg == "code" and d is not None and is_int(d):
                    hits.append((node.lineno, f"default code={d.value}"))
    return hits


def test_the_checkers_catch_what_they_look_for():
    planted = ast.parse(
        'Q = "SELECT a FROM b WHERE c = ?"\n'
        "def f(code=65):\n    return 75\n"
        "def g(e):\n    if e.code in (0, 75):\n        raise SystemExit(78)\n")
    assert sql_statements(planted) == {"SELECT a FROM b WHERE c = ?"}
    assert sorted(w for _, w in exit_codes(planted)) == sorted(
        ["default code=65", "return 75", "code compared with a number", "SystemExit(...)"])
    assert sql_statements(ast.parse('"""Selected from the list; an update set."""')) == set()


def test_sql_lives_only_in_store_backends_and_no_statement_in_two_modules():
    seen: "dict[str, str]" = {}
    for name, tree in modules().items():
        stmts = sql_statements(tree)
        if name not in BACKENDS:
            assert not stmts, f"SQL outside the store backends, in {name}: {sorted(stmts)[:3]}"
        for s in stmts:
            assert s not in seen, f"the same statement in {seen[s]} and {name}: {s}"
            seen[s] = name
    assert any(v == "store/sqlite.py" for v in seen.values())


def test_no_exit_code_outside_the_one_mapping():
    found = {name: exit_codes(tree) for name, tree in modules().items() if name != OUTCOMES}
    assert {k: v for k, v in found.items() if v} == {}


def test_exit_codes_are_spelled_once():
    """The sysexits numbers are assigned in outcomes.Exit and nowhere else."""
    from autoresponder.outcomes import Exit

    codes = {v for k, v in vars(Exit).items() if k.isupper()}
    names = {k for k in vars(Exit) if k.isupper()}
    for name, tree in modules().items():
        if name == OUTCOMES:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                    type(node.value.value) is int and node.value.value in codes - {0}:
                targets = [getattr(t, "id", "") for t in node.targets]
                # a constant named like an exit code (OK, TEMPFAIL, EX_CONFIG, EXIT_...);
                # other numbers that happen to equal one (MAX_LOCAL = 64) are not codes
                assert not any(t.isupper() and (t in names or t.startswith("EX"))
                               for t in targets), (name, node.lineno, targets)


def test_exit_code_mapping(monkeypatch):
    from autoresponder import outcomes
    from autoresponder.outcomes import Exit, exit_code

    monkeypatch.delenv("MAIL_CONFIG", raising=False)
    for o in outcomes.registry():
        want = {"reply": Exit.OK, "skip": Exit.OK, "defer": Exit.TEMPFAIL,
                "config": Exit.CONFIG}[o.kind]
        assert exit_code(o) == want, o
    monkeypatch.setenv("MAIL_CONFIG", "/etc/postfix")  # Postfix's pipe(8) bounces 78
    assert exit_code(outcomes.CONFIG_ERROR) == Exit.TEMPFAIL
    assert {exit_code(o) for o in outcomes.registry()} <= {Exit.OK, Exit.TEMPFAIL}


def test_the_registry_has_every_ending_once_and_each_rule_with_its_description():
    from autoresponder import outcomes
    from autoresponder.rules import all_rules

    reg = outcomes.registry()
    names = [o.name for o in reg]
    assert len(names) == len(set(names))
    for rule in all_rules():
        o = outcomes.for_rule(rule.name)
        assert (o.name, o.kind, o.description) == (rule.name, "skip", rule.description)
    for name in ("reply", "already-replied", "rate-limit", "template-error", "rejected",
                 "tempfail", "gave-up", "config-error"):
        assert outcomes.by_name(name).description
    with pytest.raises(AttributeError):
        outcomes.REPLY.name = "x"


def test_the_store_contract_imports_nothing_of_the_line():
    tree = modules()["store/base.py"]
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    line_parts = {"autoresponder.line", "autoresponder.outcomes", "autoresponder.decision",
                  "autoresponder.engine", "autoresponder.rules", "autoresponder.deliver"}
    assert not {m for m in imported if any(m.startswith(p) for p in line_parts)}, imported
