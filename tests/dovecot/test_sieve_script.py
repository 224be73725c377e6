"""Scripts built from hostile account data: Pigeonhole compiles every one of them, and what it
reads back (sieve-test prints the vacation action it would take) is exactly our data."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoresponder.sieve import script as S
from tests.dovecot.lab import NOBODY, dovecot_missing

TRICKY = ['"', "\\", "\n", "\r\n", "\r", ".", "\n.\n", "\n..\n", ".\n", "\0", "\t", "${hex:41}",
          "${unicode:263a}", "text:", "\n.\r\n;", "}", "{", ";", "#", "/*", "*/", "ação", "日本",
          "\u2028", "\x7f", "\x1b[31m", "=?utf-8?b?QQ==?=", "<", ">", "@", ",", "(", ")"]
hostile = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(TRICKY)), max_size=12) \
    .map("".join)
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- without Dovecot: the escaping itself ---------------------------------------------------

def unquote(s: str) -> str:
    """RFC 5228 §2.4.2 quoted-string value (the two escapes we emit, any other is literal)."""
    assert s[0] == '"' and s[-1] == '"'
    out, i, body = [], 0, s[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\":
            out.append(body[i + 1])
            i += 2
            continue
        assert c != '"', "unescaped quote"
        out.append(c)
        i += 1
    return "".join(out)


def untext(block: str) -> str:
    lines = block.split("\n")
    assert lines[0] == "text:" and lines[-2] == "." and lines[-1] == ""
    body = lines[1:-2]
    assert "." not in body, "an unstuffed terminator inside the block"
    return "".join((ln[1:] if ln.startswith(".") else ln) + "\n" for ln in body)


@given(hostile)
def test_quote_round_trips_and_never_ends_early(value):
    clean = S.one_line(value)
    q = S.quote(clean)
    assert unquote(q) == clean
    assert "\n" not in clean and "\r" not in clean and "\0" not in clean


@given(hostile)
def test_text_block_round_trips_modulo_line_ends(value):
    block = S.text_block(value)
    assert "\r" not in block and "\0" not in block
    assert untext(block) == S.body_text(value)
    norm = value.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    assert S.body_text(value) in (norm, norm + "\n")


def test_marker_survives_names_with_newlines_and_quotes():
    st_ = S.State(flavour="execute", account='a"b\n@x', previous='we"ird\nname')
    text = S.execute_script(st_)
    assert S.parse_state(text) == st_
    assert S.parse_state("require \"fileinto\";\n") is None
    assert S.parse_state(S.MARKER + "{not json\n") is None


def test_period_uses_days_seconds_or_rounds_up():
    assert S.period(86400 * 3, False) == (":days 3", None)
    assert S.period(3600, True) == (":seconds 3600", None)
    when, warn = S.period(36 * 3600, False)
    assert when == ":days 2" and "rounded up" in warn


# -- with Pigeonhole: sievec compiles, sieve-test reads our values back -----------------------

@pytest.fixture(scope="module")
def pigeonhole():
    why = dovecot_missing()
    if why:
        pytest.skip(why)
    d = Path(tempfile.mkdtemp(prefix="sieve-unit-", dir="/var/tmp"))
    os.chmod(d, 0o777)
    conf = d / "dovecot.conf"
    conf.write_text(f"base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/log\n"
                    "ssl = no\nmail_location = maildir:~/Maildir\n"
                    "plugin {\n  sieve_extensions = +vacation-seconds\n"
                    "  sieve_vacation_min_period = 0\n}\n")
    msg = d / "msg.eml"
    msg.write_bytes(b"From: bob@example.org\r\nTo: ana@example.com\r\nSubject: hi\r\n\r\nhi\r\n")
    yield d, conf, msg
    import shutil

    shutil.rmtree(d, ignore_errors=True)


def run_sieve(pigeonhole, text: str) -> str:
    """Compile with sievec (must succeed), then what sieve-test would do (its stdout)."""
    d, conf, msg = pigeonhole
    fd, path = tempfile.mkstemp(suffix=".sieve", dir=d)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o644)
    try:
        r = subprocess.run(["sievec", "-c", str(conf), path, path + ".bin"],
                           capture_output=True, text=True)
        assert r.returncode == 0, (r.stderr, text)
        ids = ["-o", f"mail_uid={NOBODY}", "-o", f"mail_gid={NOBODY}"] \
            if os.geteuid() == 0 else []
        r = subprocess.run(["/usr/bin/sieve-test", "-c", str(conf), *ids, "-a", "ana@example.com",
                            "-f", "bob@example.org", path, str(msg)],
                           capture_output=True, env={"HOME": str(d), "PATH": "/usr/bin:/bin"})
        assert r.returncode == 0, (r.stderr, text)
        return r.stdout.decode("utf-8")
    finally:
        for p in (path, path + ".bin"):
            if os.path.exists(p):
                os.unlink(p)


def field(out: str, name: str) -> "str | None":
    for line in out.split("\n"):
        if line.strip().startswith(f"=> {name}"):
            return line.split(":", 1)[1][1:]
    return None


def reason(out: str) -> str:
    start = out.index("START MESSAGE\n") + len("START MESSAGE\n")
    return out[start:out.index("\nEND MESSAGE", start)]


@SETTINGS
@given(subject=hostile, text=hostile, name=hostile, days=st.integers(1, 30))
def test_hostile_text_compiles_and_round_trips(pigeonhole, subject, text, name, days):
    v = S.Vacation(address="ana@example.com", subject=subject, text=text, from_name=name,
                   aliases=["ana.silva@example.com"], interval=days * 86400, handle="h1")
    script, warnings = S.vacation_script(S.State("vacation", "ana@example.com"), v)
    assert warnings == []
    out = run_sieve(pigeonhole, script)
    assert "send vacation message" in out
    if S.one_line(subject):
        assert field(out, "subject") == S.one_line(subject)
    assert field(out, "from") == S.format_from(name, "ana@example.com")
    assert reason(out) == S.body_text(text).replace("\n", "\r\n")


@SETTINGS
@given(text=hostile, html=hostile)
def test_hostile_mime_reason_compiles_and_parses_back(pigeonhole, text, html):
    v = S.Vacation(address="ana@example.com", subject="s", text=text, html=html,
                   interval=3600)
    script, _ = S.vacation_script(S.State("vacation", "ana@example.com"), v, seconds_ok=True)
    assert ":seconds 3600" in script and ":mime" in script
    out = run_sieve(pigeonhole, script)
    entity = email.message_from_string(reason(out).replace("\r\n", "\n"),
                                       policy=email.policy.default)
    plain = entity.get_body(("plain",)).get_content()
    assert plain.replace("\r\n", "\n") == S.body_text(text).replace("\r\n", "\n")
    got_html = entity.get_body(("html",)).get_content().replace("\r\n", "\n")
    want_html = S.body_text(html)
    assert got_html.rstrip("\n") == want_html.rstrip("\n")


@pytest.mark.parametrize("start,end,replies", [
    ("2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z", True),
    ("2999-01-01T00:00:00Z", None, False),
    (None, "2000-01-01T00:00:00Z", False),
    (None, None, True),
])
def test_date_window_is_enforced_by_sieve(pigeonhole, start, end, replies):
    v = S.Vacation(address="ana@example.com", subject="s", text="t", start_at=start,
                   end_at=end)
    script, _ = S.vacation_script(S.State("vacation", "ana@example.com"), v)
    assert ("send vacation message" in run_sieve(pigeonhole, script)) is replies


def test_execute_script_compiles(pigeonhole):
    d, conf, _ = pigeonhole
    text = S.execute_script(S.State("execute", "ana@example.com"))
    p = d / "exec.sieve"
    p.write_text(text)
    r = subprocess.run(["sievec", "-c", str(conf), "-x", "+vnd.dovecot.execute", str(p),
                        str(d / "exec.svbin")], capture_output=True, text=True)
    # extprograms is a plugin: load it the way the admin's config does
    if r.returncode != 0 and "unknown Sieve capability" in r.stderr:
        r = subprocess.run(["sievec", "-c", str(conf), "-P", "sieve_extprograms", "-x",
                            "+vnd.dovecot.execute", str(p), str(d / "exec.svbin")],
                           capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
