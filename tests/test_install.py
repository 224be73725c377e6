"""A non-editable `pip install .` into a fresh venv works from any directory: schema.sql,
templates/ and the example message ship inside the package."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.agent import agent_venv


@pytest.fixture(scope="module")
def venv():
    try:
        return agent_venv()
    except (RuntimeError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot build a venv with this checkout installed: {e}")


def test_installed_package_runs_the_quick_start_from_another_directory(venv, tmp_path):
    exe = venv / "bin" / "autoresponder"
    r = subprocess.run([str(exe), "demo", "--dir", str(tmp_path / "demo")], cwd="/",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "# 1 new reply file(s)" in r.stdout
    assert "Auto-Submitted: auto-replied" in r.stdout
    assert "rule=already-replied" in r.stderr
    r = subprocess.run([str(exe), "template", "check"], cwd="/", capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "_data/templates/default.pt.txt" in r.stdout


def test_console_script_does_not_import_re(venv):
    # Every message starts this script; a current pip writes one without `import re`.
    assert "import re" not in (venv / "bin" / "autoresponder").read_text()
