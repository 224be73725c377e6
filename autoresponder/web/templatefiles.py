"""Reply templates as the template page edits them: list, check a draft, save, undo.

A draft is checked exactly as ``template check`` checks files (``templatecheck.check``),
against a private copy of the template directory holding the draft, so nothing is written
before the check passes. Saving writes the configured template directory only (the bundled
templates are never changed: editing one saves an override of the same name there), through
a temporary file and ``os.replace`` (readers see the old file or the new one, never half),
and keeps the file it replaced as ``NAME.LANG.EXT.prev``, which undo puts back (undo again
to redo). A save names the version it was edited from, so two admins cannot overwrite each
other's work unknowingly.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile

NAME_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.(en|pt)\.(txt|html)$")
MAX_SOURCE = 256 * 1024  # a reply template is a few KiB; this bounds a form post


class EditError(Exception):
    """Why a save or undo was refused; `key` names the message in the page's catalogue and
    `detail` is shown with it."""

    def __init__(self, key: str, detail: str = "", line: "int | None" = None):
        super().__init__(f"{key}: {detail}")
        self.key, self.detail, self.line = key, detail, line


def parse_name(filename: str) -> "tuple[str, str, str]":
    m = NAME_RE.match(filename or "")
    if not m:
        raise EditError("bad_file", filename or "")
    return m.group(1), m.group(2), m.group(3)


def digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def listing(config) -> "list[dict]":
    """The templates with their languages: one entry per name, each language with its
    files (txt, html), where each is read from, and whether the check passes."""
    from autoresponder import render, templatecheck

    results = {}
    for label, error in templatecheck.check(config):
        results[label.split(" ", 1)[0]] = error
    own = config.templates or ""
    names: dict = {}
    for name, lang, ext, path in render.list_templates(config):
        f = f"{name}.{lang}.{ext}"
        entry = names.setdefault(name, {"name": name, "languages": {}})
        entry["languages"].setdefault(lang, []).append({
            "file": f, "ext": ext, "path": path,
            "bundled": not (own and os.path.dirname(path) == own.rstrip("/")),
            "error": results.get(f),
            "undo": bool(own) and os.path.isfile(os.path.join(own, f + ".prev")),
        })
    return [names[k] for k in sorted(names)]


def read(config, filename: str) -> "tuple[str, str]":
    """(source, path) of the file delivery would use for that name."""
    from autoresponder.resources import template_dirs

    parse_name(filename)
    for d in template_dirs(config):
        p = os.path.join(d, filename)
        if os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                return f.read(), p
    raise EditError("no_such_template", filename)


class _Overlay:
    """The config with its template directory replaced (everything else delegated)."""

    def __init__(self, config, templates: str):
        self._config = config
        self.templates = templates

    def __getattr__(self, name):
        if name == "_jinja_environment":  # the overlay's own, never the real config's
            raise AttributeError(name)
        return getattr(self._config, name)


def with_draft(config, filename: str, source: str):
    """A context manager: a config whose templates are the live ones with this one file
    replaced by the draft (in a private temporary directory, removed afterwards)."""
    import contextlib

    from autoresponder.resources import template_dirs

    @contextlib.contextmanager
    def cm():
        tmp = tempfile.mkdtemp(prefix="autoresponder-draft-")
        try:
            for d in reversed(template_dirs(config)):  # the configured one wins
                if not os.path.isdir(d):
                    continue
                for f in os.listdir(d):
                    if NAME_RE.match(f) and os.path.isfile(os.path.join(d, f)):
                        shutil.copyfile(os.path.join(d, f), os.path.join(tmp, f))
            with open(os.path.join(tmp, filename), "w", encoding="utf-8") as f:
                f.write(source)
            yield _Overlay(config, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return cm()


def check_draft(config, filename: str, source: str) -> "dict | None":
    """None when the draft passes ``template check``, else {'message', 'line'}."""
    name, _lang, _ext = parse_name(filename)
    if len(source) > MAX_SOURCE:
        return {"message": f"the template is larger than {MAX_SOURCE // 1024} KiB",
                "line": None}
    from autoresponder import templatecheck

    with with_draft(config, filename, source) as draft:
        for label, error in templatecheck.check(draft, name):
            if label.split(" ", 1)[0] == filename and error:
                return {"message": _strip_paths(error, draft.templates),
                        "line": locate(draft, source, error)}
    return None


def _strip_paths(error: str, tmp: str) -> str:
    return error.replace(tmp + os.sep, "").replace(tmp, "")


def locate(config, source: str, error: str) -> "int | None":
    """The line of the draft an error points at: the parser's line for a syntax error, the
    line the message names, else the first line using an unknown name."""
    import jinja2

    from autoresponder import render

    try:
        render.environment(config).parse(source)
    except jinja2.TemplateSyntaxError as e:
        return e.lineno
    except Exception:
        pass
    m = re.search(r"\bline (\d+)", error) or re.search(r":(\d+):", error)
    if m:
        return int(m.group(1))
    m = re.search(r"unknown variable\(s\): ([\w, ]+)", error) or \
        re.search(r"'(\w+)' is undefined", error)
    if m:
        names = [n.strip() for n in m.group(1).split(",") if n.strip()]
        for i, text in enumerate(source.splitlines(), 1):
            if any(re.search(rf"\b{re.escape(n)}\b", text) for n in names):
                return i
    return None


def _writable_dir(config) -> str:
    own = config.templates or ""
    if not own:
        raise EditError("no_template_dir")
    if not os.path.isdir(own):
        raise EditError("template_dir_missing", own)
    return own


def _atomic_write(path: str, source: str) -> None:
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".edit-", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # replaces a link of that name, never writes through it
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # the rename itself survives a crash once the directory is synced
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(config, filename: str, source: str, base: str) -> str:
    """Write the draft after it passes the check; `base` is the digest of the version the
    edit started from (refused if the live file changed since). Returns the path written."""
    parse_name(filename)
    own = _writable_dir(config)
    live, _ = read(config, filename)
    if base and base != digest(live):
        raise EditError("changed_meanwhile")
    problem = check_draft(config, filename, source)
    if problem:
        raise EditError("check_failed", problem["message"], problem["line"])
    path = os.path.join(own, filename)
    _atomic_write(path + ".prev", live)
    _atomic_write(path, source)
    return path


def undo(config, filename: str) -> str:
    """Put the previous version back (the current one becomes the previous: undo again to
    redo). Returns the path written."""
    parse_name(filename)
    own = _writable_dir(config)
    path = os.path.join(own, filename)
    prev = path + ".prev"
    try:
        with open(prev, encoding="utf-8") as f:
            old = f.read()
    except FileNotFoundError:
        raise EditError("nothing_to_undo", filename) from None
    current, _ = read(config, filename)
    _atomic_write(prev, current)
    _atomic_write(path, old)
    return path
