"""The local installer's bookkeeping on a plain directory (no Dovecot needed): what it keeps,
what it restores, and what it refuses to touch."""

from __future__ import annotations

import os

import pytest

from autoresponder.sieve import script as S
from autoresponder.sieve.install import InstallError, install, status, uninstall
from autoresponder.sieve.local import LocalStore

USER_SCRIPT = b'require "fileinto";\r\nfileinto "Work";\r\n# no final newline on purpose'


def build(state: S.State, seconds_ok: bool):
    return S.execute_script(state), []


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    h.mkdir()
    return h


def store(home) -> LocalStore:
    return LocalStore(str(home), compile=False)


def snapshot(home) -> dict:
    """Every path under home with its link target or bytes."""
    out = {}
    for dirpath, dirs, files in os.walk(home):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, home)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    out[rel] = ("file", f.read())
            else:
                out[rel] = ("dir",)
    return out


def test_no_previous_script(home):
    install(store(home), "execute", "ana@example.com", build)
    assert os.readlink(home / ".dovecot.sieve") == "sieve/autoresponder.sieve"
    text = (home / "sieve" / "autoresponder.sieve").read_text()
    assert "include" not in text and S.parse_state(text).previous is None
    res = uninstall(store(home))
    assert "none is active now" in " ".join(res.messages)
    assert not os.path.lexists(home / ".dovecot.sieve")
    assert not (home / "sieve" / "autoresponder.sieve").exists()


def test_linked_previous_is_included_and_restored(home):
    (home / "sieve").mkdir()
    (home / "sieve" / "mine.sieve").write_bytes(USER_SCRIPT)
    os.symlink("sieve/mine.sieve", home / ".dovecot.sieve")
    before = snapshot(home)
    install(store(home), "execute", "ana@example.com", build)
    text = (home / "sieve" / "autoresponder.sieve").read_text()
    assert 'include :personal "mine";' in text
    install(store(home), "execute", "ana@example.com", build)  # again: still "mine"
    assert S.parse_state((home / "sieve" / "autoresponder.sieve").read_text()).previous == "mine"
    st = status(store(home), expected=build)
    assert st["is_active"] and st["previous"] == "mine" and st["up_to_date"] is True
    uninstall(store(home))
    assert snapshot(home) == before


def test_plain_file_is_moved_aside_and_put_back_untouched(home):
    (home / ".dovecot.sieve").write_bytes(USER_SCRIPT)
    os.chmod(home / ".dovecot.sieve", 0o600)
    before = snapshot(home)
    install(store(home), "execute", "ana@example.com", build)
    assert (home / "sieve" / "dovecot.orig.sieve").read_bytes() == USER_SCRIPT
    assert 'include :personal "dovecot.orig";' in \
        (home / "sieve" / "autoresponder.sieve").read_text()
    uninstall(store(home))
    after = snapshot(home)
    after.pop("sieve")  # the (now empty) sieve directory we had to create stays
    assert after == before
    assert os.stat(home / ".dovecot.sieve").st_mode & 0o777 == 0o600


def test_someone_elses_script_with_our_name_is_left_alone(home):
    (home / "sieve").mkdir()
    (home / "sieve" / "autoresponder.sieve").write_text('keep;\n')
    with pytest.raises(InstallError, match="not written by autoresponder"):
        install(store(home), "execute", "ana@example.com", build)
    with pytest.raises(InstallError, match="not written by autoresponder"):
        uninstall(store(home))
    assert (home / "sieve" / "autoresponder.sieve").read_text() == "keep;\n"


def test_uninstall_leaves_a_later_activation_alone(home):
    install(store(home), "execute", "ana@example.com", build)
    (home / "sieve" / "later.sieve").write_text("keep;\n")
    store(home).activate("later")  # the user switched in their webmail since
    res = uninstall(store(home))
    assert "activation left as it is" in " ".join(res.messages)
    assert os.readlink(home / ".dovecot.sieve") == "sieve/later.sieve"
    assert not (home / "sieve" / "autoresponder.sieve").exists()


def test_failed_check_changes_nothing(home, monkeypatch):
    (home / ".dovecot.sieve").write_bytes(USER_SCRIPT)
    before = snapshot(home)
    s = store(home)

    def refuse(script, binary, fds=None):
        raise InstallError("sievec refused the script:\nline 1: error: nope")
    monkeypatch.setattr(s, "compile", refuse)
    with pytest.raises(InstallError, match="nope"):
        install(s, "execute", "ana@example.com", build)
    after = snapshot(home)
    after.pop("sieve")
    assert after == before


def test_active_link_outside_the_sieve_dir_is_not_touched(home, tmp_path):
    other = tmp_path / "elsewhere.sieve"
    other.write_text("keep;\n")
    os.symlink(str(other), home / ".dovecot.sieve")
    with pytest.raises(InstallError, match="outside"):
        install(store(home), "execute", "ana@example.com", build)
    assert os.readlink(home / ".dovecot.sieve") == str(other)


def test_a_dangling_active_link_is_put_back_by_uninstall(home):
    """The active link named a script that no longer exists: ours does not include it (that
    would not compile), and uninstall puts the link back exactly as it was."""
    (home / "sieve").mkdir()
    os.symlink("sieve/gone.sieve", home / ".dovecot.sieve")
    before = snapshot(home)
    install(store(home), "execute", "ana@example.com", build)
    assert os.readlink(home / ".dovecot.sieve") == "sieve/autoresponder.sieve"
    assert "include" not in (home / "sieve" / "autoresponder.sieve").read_text()
    res = uninstall(store(home))
    assert "put back the active link as it was" in " ".join(res.messages)
    assert snapshot(home) == before


def test_the_active_links_exact_text_comes_back(home):
    (home / "sieve").mkdir()
    (home / "sieve" / "mine.sieve").write_bytes(USER_SCRIPT)
    os.symlink(str(home / "sieve" / "mine.sieve"), home / ".dovecot.sieve")  # absolute
    before = snapshot(home)
    install(store(home), "execute", "ana@example.com", build)
    install(store(home), "execute", "ana@example.com", build)  # a second install keeps it
    assert status(store(home), expected=build)["up_to_date"] is True
    uninstall(store(home))
    assert snapshot(home) == before


def test_markers_without_a_link_stay_up_to_date(home):
    """Scripts written before the link was remembered still count as current."""
    (home / ".dovecot.sieve").write_bytes(USER_SCRIPT)
    install(store(home), "execute", "ana@example.com", build)
    text = (home / "sieve" / "autoresponder.sieve").read_text()
    assert "previous_link" not in text
    assert status(store(home), expected=build)["up_to_date"] is True
