"""Issue 9 item 10: `demo --dir` writes the directory into its TOML exactly (quotes,
backslashes, tabs, brackets), and never removes anything it did not make itself."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoresponder.config import toml_string
from tests.conftest import ROOT


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_toml_string_means_exactly_the_text(text):
    assert tomllib.loads(f"x = {toml_string(text)}\n")["x"] == text


def test_toml_string_refuses_what_toml_cannot_hold():
    with pytest.raises(ValueError):
        toml_string("/tmp/\udcff")


def demo(tmp_path, d) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "AUTORESPONDER_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "autoresponder", "demo", "--dir", str(d)],
                          capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=120)


@pytest.mark.parametrize("name", ['d"q', "d\\tx", "d\\", "d[1]*?", "d 'x' # y", "dé\u00a0z"])
def test_any_directory_name_is_used_as_it_is(tmp_path, name):
    d = tmp_path / name
    r = demo(tmp_path, d)
    assert r.returncode == 0, r.stderr
    assert "# 1 new reply file(s)" in r.stdout
    assert len(list((d / "outbox").glob("*.eml"))) == 1
    assert (d / "demo.sqlite3").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cache", name])  # nowhere else


def test_a_directory_the_demo_did_not_make_is_left_alone(tmp_path):
    d = tmp_path / "mine"
    (d / "outbox" / "important").mkdir(parents=True)
    (d / "outbox" / "important" / "thesis.txt").write_text("years of work")
    (d / "demo.sqlite3").write_text("not a demo database")
    r = demo(tmp_path, d)
    assert r.returncode == 65 and "not made by `autoresponder demo`" in r.stderr
    assert (d / "outbox" / "important" / "thesis.txt").read_text() == "years of work"
    assert (d / "demo.sqlite3").read_text() == "not a demo database"
    assert sorted(p.name for p in d.iterdir()) == ["demo.sqlite3", "outbox"]


def test_running_again_starts_afresh_and_keeps_what_is_not_the_demos(tmp_path):
    d = tmp_path / "demo"
    assert demo(tmp_path, d).returncode == 0
    (d / "outbox" / "notes.txt").write_text("mine")
    (d / "notes.txt").write_text("mine too")
    r = demo(tmp_path, d)
    assert r.returncode == 0, r.stderr
    assert "# 1 new reply file(s)" in r.stdout  # a new database: it replied again
    assert (d / "outbox" / "notes.txt").read_text() == "mine"
    assert (d / "notes.txt").read_text() == "mine too"
    assert len(list((d / "outbox").glob("*.eml"))) == 2  # earlier replies are kept


def test_an_empty_directory_and_an_earlier_releases_demo_are_accepted(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert demo(tmp_path, empty).returncode == 0
    old = tmp_path / "old"  # what the demo of an earlier release left: no marker
    (old / "outbox").mkdir(parents=True)
    (old / "outbox" / "20261128T101500-1-00aa11bb.eml").write_text("reply")
    (old / "demo.toml").write_text("")
    r = demo(tmp_path, old)
    assert r.returncode == 0, r.stderr
    assert (old / ".autoresponder-demo").exists()


def test_a_database_name_that_is_a_link_is_not_followed(tmp_path):
    d = tmp_path / "demo"
    assert demo(tmp_path, d).returncode == 0
    precious = tmp_path / "precious.sqlite3"
    precious.write_text("keep")
    (d / "demo.sqlite3").unlink()
    (d / "demo.sqlite3").symlink_to(precious)
    r = demo(tmp_path, d)
    assert r.returncode == 65 and "not a file the demo made" in r.stderr
    assert precious.read_text() == "keep" and (d / "demo.sqlite3").is_symlink()
