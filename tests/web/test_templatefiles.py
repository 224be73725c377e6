"""Template editing: a draft is checked like `template check`; a failing one is never
written; saving is atomic and keeps the previous version; undo puts it back."""

import os
from pathlib import Path

import pytest

from autoresponder import config as config_mod
from autoresponder.resources import data_path
from autoresponder.web import templatefiles as tf


@pytest.fixture
def cfg(tmp_path):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "default.en.txt").write_text("Hello, away until {{ account.end }}.\n")
    p = tmp_path / "ar.toml"
    p.write_text(f'database = "{tmp_path}/db.sqlite3"\ntemplates = "{tdir}"\n'
                 '[log]\ntarget = "none"\n')
    return config_mod.load(str(p))


def test_a_draft_with_a_syntax_error_fails_with_its_line(cfg):
    p = tf.check_draft(cfg, "default.en.txt", "Hello\n\n{{ account.address }\nBye\n")
    assert p is not None and p["line"] == 3
    assert p["message"].startswith("TemplateSyntaxError")


def test_a_draft_with_an_unknown_name_fails_on_the_line_using_it(cfg):
    p = tf.check_draft(cfg, "default.en.txt", "Hi\n{{ account.address }}\n{{ nope }}\n")
    assert p == {"message": "unknown variable(s): nope", "line": 3}


def test_a_good_draft_passes(cfg):
    assert tf.check_draft(cfg, "default.en.txt", "Hi {{ account.address }}\n") is None


def test_a_failing_template_is_never_written(cfg):
    path = Path(cfg.templates) / "default.en.txt"
    before = path.read_text()
    with pytest.raises(tf.EditError) as e:
        tf.save(cfg, "default.en.txt", "{{ broken", tf.digest(before))
    assert e.value.key == "check_failed" and e.value.line == 1
    assert path.read_text() == before
    assert not (Path(cfg.templates) / "default.en.txt.prev").exists()
    assert [f for f in os.listdir(cfg.templates) if f.startswith(".edit-")] == []


def test_save_keeps_the_previous_version_and_undo_toggles(cfg):
    path = Path(cfg.templates) / "default.en.txt"
    v1 = path.read_text()
    v2 = "Away. {{ account.address }}\n"
    ino = path.stat().st_ino
    tf.save(cfg, "default.en.txt", v2, tf.digest(v1))
    assert path.read_text() == v2 and path.stat().st_ino != ino  # replaced, not rewritten
    assert (Path(cfg.templates) / "default.en.txt.prev").read_text() == v1
    tf.undo(cfg, "default.en.txt")
    assert path.read_text() == v1
    tf.undo(cfg, "default.en.txt")  # undo again: redo
    assert path.read_text() == v2


def test_a_save_over_someone_elses_change_is_refused(cfg):
    path = Path(cfg.templates) / "default.en.txt"
    opened = tf.digest(path.read_text())
    path.write_text("Someone else's words {{ account.address }}\n")
    with pytest.raises(tf.EditError) as e:
        tf.save(cfg, "default.en.txt", "Mine {{ account.address }}\n", opened)
    assert e.value.key == "changed_meanwhile"
    assert "Someone else's" in path.read_text()


def test_editing_a_bundled_template_saves_an_override(cfg):
    bundled = Path(data_path("templates")) / "default.pt.txt"
    text = bundled.read_text()
    tf.save(cfg, "default.pt.txt", text + "\nAté breve.\n", tf.digest(text))
    assert (Path(cfg.templates) / "default.pt.txt").read_text().endswith("Até breve.\n")
    assert bundled.read_text() == text


@pytest.mark.parametrize("name", ["../x.en.txt", "default.en.txt/../../etc", "a.fr.txt",
                                  ".hidden.en.txt", "default.en.sh", "default.en.txt.prev"])
def test_only_template_file_names(cfg, name):
    with pytest.raises(tf.EditError) as e:
        tf.save(cfg, name, "x", "")
    assert e.value.key == "bad_file"


def test_without_a_template_directory_nothing_is_saved(tmp_path):
    p = tmp_path / "ar.toml"
    p.write_text(f'database = "{tmp_path}/db.sqlite3"\n[log]\ntarget = "none"\n')
    cfg = config_mod.load(str(p))
    text, _ = tf.read(cfg, "default.en.txt")
    with pytest.raises(tf.EditError) as e:
        tf.save(cfg, "default.en.txt", text, tf.digest(text))
    assert e.value.key == "no_template_dir"


def test_the_listing_shows_languages_and_check_results(cfg):
    (Path(cfg.templates) / "bad.en.txt").write_text("{{ nope }}\n")
    items = {i["name"]: i for i in tf.listing(cfg)}
    assert set(items["default"]["languages"]) == {"en", "pt"}
    own = items["default"]["languages"]["en"][0]
    assert own["file"] == "default.en.txt" and not own["bundled"] and own["error"] is None
    assert items["default"]["languages"]["pt"][0]["bundled"]
    assert "nope" in items["bad"]["languages"]["en"][0]["error"]
