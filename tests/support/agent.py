"""The agent installed as an MTA runs it: a non-editable install in a world-readable venv.

Postfix's pipe(8) and Dovecot run the agent as an unprivileged user (nobody), which cannot
enter /root (pyenv's Python lives there) or a private temporary directory. So integration tests
build, once per checkout state, a venv with Debian's /usr/bin/python3 under /var/tmp and
`pip install` this checkout into it (not editable: exactly what an admin gets).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE = Path(os.environ.get("AUTORESPONDER_TEST_VENV_BASE", "/var/tmp/autoresponder-test"))


def _fingerprint() -> str:
    h = hashlib.sha256()
    for sub in ("pyproject.toml", "schema.sql"):
        h.update((ROOT / sub).read_bytes())
    for d in ("autoresponder", "templates"):
        for p in sorted((ROOT / d).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


def system_python() -> str | None:
    for p in ("/usr/bin/python3",):
        if os.path.exists(p):
            r = subprocess.run([p, "-c", "import venv, ensurepip"], capture_output=True)
            if r.returncode == 0:
                return p
    return None


def agent_venv() -> Path:
    """Path of a venv (world-readable) with this checkout installed; built if needed.

    Returns the venv directory; the command is ``<venv>/bin/autoresponder``.
    Raises RuntimeError with the reason when it cannot be built.
    """
    py = system_python()
    if py is None:
        raise RuntimeError("no /usr/bin/python3 with venv/ensurepip (apt-get install python3-venv)")
    BASE.mkdir(parents=True, exist_ok=True)
    os.chmod(BASE, 0o755)
    fp = _fingerprint()
    venv = BASE / f"venv-{fp}"
    with open(BASE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / ".ready").exists():
            return venv
        # Other checkouts' venvs may be in use by a concurrent run: drop only stale ones.
        for old in BASE.glob("venv-*"):
            if time.time() - old.stat().st_mtime > 6 * 3600:
                shutil.rmtree(old, ignore_errors=True)
        subprocess.run([py, "-m", "venv", str(venv)], check=True)
        # A current pip writes console scripts that do not import `re` (a few ms per message).
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--upgrade", "pip"],
                       capture_output=True)
        src = BASE / f"src-{fp}"
        shutil.rmtree(src, ignore_errors=True)
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", "bench/out"))
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-cache-dir",
                            str(src)], capture_output=True, text=True)
        shutil.rmtree(src, ignore_errors=True)
        if r.returncode != 0:
            raise RuntimeError(f"pip install of the agent failed: {r.stderr[-2000:]}")
        for dirpath, dirnames, _files in os.walk(venv):
            for n in dirnames:
                os.chmod(os.path.join(dirpath, n), 0o755)
        (venv / ".ready").write_text(fp)
    return venv
