"""Issue 9 item 8: control characters from a message never reach a log line or `explain`'s
output raw (terminal escapes, C1 controls, bidi overrides), in the real processes."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from autoresponder import logs
from tests.conftest import personal

# C0, DEL, C1, the line/paragraph separators and the bidi controls, spelled out here.
CONTROLS = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F,
                             *range(0x2028, 0x202F), *range(0x2066, 0x206A)]}
# What an attacker puts into a header: an OSC title change ended by BEL, a clear screen, the
# 8-bit CSI (U+009B), a right-to-left override, a line separator and DEL.
NASTY = "\x1b]0;pwned\x07\x1b[2J\u009b2J\u202egnp.exe\u2028x\x7f"


def raw_controls(text: str) -> set[str]:
    return {c for c in text if c in CONTROLS}


@given(st.text())
def test_escape_controls_leaves_no_control(text):
    out = logs.escape_controls(text)
    assert not raw_controls(out)
    if not raw_controls(text):
        assert out == text  # nothing else is touched


@given(st.text())
def test_quoted_log_values_hold_no_control_and_stay_one_field(text):
    out = logs._quote(text)
    assert not raw_controls(out)
    assert " " not in out or (out.startswith('"') and out.endswith('"'))


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=10))
def test_json_escaping_keeps_the_value(value):
    text = logs.escape_json_controls(json.dumps(value, ensure_ascii=False))
    assert not raw_controls(text)
    assert json.loads(text) == value


def test_escapes_are_readable():
    assert logs.escape_controls("a\x1b[2Jb\u202ec\td") == "a\\x1b[2Jb\\u202ec\\td"
    assert logs.escape_controls("Olá, João") == "Olá, João"  # letters are not controls


def _nasty_message() -> bytes:
    return personal(message_id=f"<{NASTY}@x.example>", subject=f"Hi {NASTY}",
                    extra=f"List-Id: {NASTY} <l.example.org>\n")


def test_log_line_escapes_header_controls(agent):
    agent.admin("vacation", "enable", "ana@example.com")
    r = agent.deliver("bob@example.org", "ana@example.com", _nasty_message())
    assert r.returncode == 0, r.stderr
    data = agent.logfile.read_bytes().decode("utf-8")
    [line] = data.splitlines()
    assert not raw_controls(line), ascii(line)
    assert "rule=list" in line
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b2J\\u202egnp.exe\\u2028x\\x7f" in line


def test_explain_text_escapes_header_controls(agent):
    agent.admin("vacation", "enable", "ana@example.com")
    r = agent.run("explain", "--sender", "bob@example.org", "--recipient", "ana@example.com",
                  input=_nasty_message())
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8")
    assert not raw_controls(out.replace("\n", "")), ascii(out)
    assert "\\x1b[2J" in out and "rule:     list" in out


def test_explain_json_escapes_header_controls_and_keeps_the_values(agent):
    agent.admin("vacation", "enable", "ana@example.com")
    r = agent.run("explain", "--json", "--sender", "bob@example.org", "--recipient",
                  "ana@example.com", input=_nasty_message())
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8")
    assert not raw_controls(out.rstrip("\n")), ascii(out)
    got = json.loads(out)
    assert got["message_id"] == f"<{NASTY}@x.example>"  # the JSON value itself is exact
    assert got["rule"] == "list" and NASTY in got["reason"]
