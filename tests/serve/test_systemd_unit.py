"""contrib/systemd/autoresponder.service: systemd accepts it, it asks for the hardening issue 11
names, and its own command lines (ExecStartPre's check, ExecStart, ExecReload's SIGHUP, the
SIGTERM of a stop) run the service as the unit says, with the installed agent.

This machine's PID 1 is not systemd, so the unit cannot be started by systemd itself here;
`systemd-analyze verify` checks it offline and the command lines are run by the test."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time

import pytest

from tests.conftest import ROOT, personal
from tests.serve import lmtp_client
from tests.serve.conftest import smtp_transport

UNIT = ROOT / "contrib" / "systemd" / "autoresponder.service"
INSTALLED = "/opt/autoresponder/bin/autoresponder"
CONFIG = "/etc/autoresponder/autoresponder.toml"


def directives(text: str) -> "dict[str, list[str]]":
    out: "dict[str, list[str]]" = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_the_unit_asks_for_the_hardening_and_restart_issue_11_names():
    d = directives(UNIT.read_text())
    assert d["User"] == ["autoresponder"] and d["Group"] == ["autoresponder"]
    assert d["NoNewPrivileges"] == ["yes"]
    assert d["ProtectSystem"] == ["strict"]
    assert d["StateDirectory"] == ["autoresponder"]  # writable under ProtectSystem=strict
    assert d["RuntimeDirectory"] == ["autoresponder"]  # the LMTP socket's directory
    assert d["Restart"] == ["on-failure"]
    assert d["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert d["KillMode"] == ["mixed"]  # SIGTERM to the supervisor, which drains its workers
    assert any("serve --check" in c for c in d["ExecStartPre"])


@pytest.fixture
def installed_unit(tmp_path):
    """The unit with the install path replaced by the test venv's agent, and its commands."""
    try:
        from tests.support.agent import agent_venv

        exe = str(agent_venv() / "bin" / "autoresponder")
    except RuntimeError as e:
        pytest.skip(f"cannot build the installed agent: {e}")
    text = UNIT.read_text().replace(INSTALLED, exe)
    assert INSTALLED not in text
    unit = tmp_path / "autoresponder.service"
    unit.write_text(text)
    return unit, exe


def test_systemd_analyze_verify_accepts_the_unit(installed_unit):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    unit, _ = installed_unit
    r = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify prints every problem it finds; warnings about this machine not running systemd
    # (no D-Bus, no /run/systemd) are not about the unit
    problems = [ln for ln in (r.stdout + r.stderr).splitlines()
                if "autoresponder.service" in ln]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr


def test_the_units_own_command_lines_run_check_serve_reload_and_stop(installed_unit, serve_factory,
                                                                      sink, tmp_path):
    unit, exe = installed_unit
    d = directives(unit.read_text())
    s = serve_factory()
    s.configure(smtp_transport(sink.port))
    s.agent.admin("vacation", "enable", "ana@example.com")
    os.chmod(tmp_path, 0o755)
    config = str(s.agent.config)

    def argv(line: str) -> "list[str]":
        return [config if a == CONFIG else a for a in shlex.split(line.lstrip("+-@!"))]

    check = next(argv(c) for c in d["ExecStartPre"] if "serve --check" in c)
    assert check[0] == exe
    r = subprocess.run(check, env=s.agent.env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr

    start = argv(d["ExecStart"][0])
    assert start[0] == exe and start[-1] == "serve"
    s.proc = subprocess.Popen(start, env=s.agent.env, stdout=subprocess.DEVNULL,
                              stderr=open(s.stderr, "ab"), start_new_session=True)
    s.wait_ready()
    assert [r.code for r in s.deliver("bob@example.org", "ana@example.com", personal())] == [250]
    assert len(sink.wait_for(1)) == 1

    reload = argv(d["ExecReload"][0].replace("$MAINPID", str(s.proc.pid)))
    assert subprocess.run(reload, timeout=10).returncode == 0
    time.sleep(0.5)
    assert s.proc.poll() is None, "SIGHUP (ExecReload) must not stop the service"
    c = lmtp_client.connect(s.address)
    try:
        assert c.reply().code == 220
    finally:
        c.close()

    # systemctl stop with KillMode=mixed: SIGTERM to the main process; it exits 0 in time
    s.proc.send_signal(signal.SIGTERM)
    timeout = float(d["TimeoutStopSec"][0])
    assert s.proc.wait(timeout) == 0
    assert not s.worker_pids()
