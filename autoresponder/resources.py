"""Where the shipped data files (schema.sql, templates/) are found at run time.

In an installed wheel they live in ``autoresponder/_data``; in a source checkout (editable
installs, tests run from the tree) they are the top-level ``schema.sql`` and ``templates/``.
"""

import os

_PKG = os.path.dirname(os.path.abspath(__file__))


def data_path(name: str) -> str:
    """Path of a shipped data file or directory (``schema.sql`` or ``templates``)."""
    installed = os.path.join(_PKG, "_data", name)
    if os.path.exists(installed):
        return installed
    return os.path.join(os.path.dirname(_PKG), name)


def schema_sql() -> str:
    with open(data_path("schema.sql"), encoding="utf-8") as f:
        return f.read()


def template_dirs(config) -> "list[str]":
    """The configured template directory first, the bundled templates as fallback."""
    dirs = []
    if config.templates:
        dirs.append(config.templates)
    dirs.append(data_path("templates"))
    return dirs
