"""Configuration: one TOML file, validated into plain attributes, cached for the hot path.

Where it comes from: ``--config FILE``, else ``$AUTORESPONDER_CONFIG``, else
``/etc/autoresponder/autoresponder.toml`` if it exists, else the built-in defaults.

Parsing TOML means importing tomllib, which (with ``re``, ``typing`` and ``datetime`` behind
it) costs more than the whole skip path may. Postfix starts one process per message, so the
validated result is cached with ``marshal`` in a private per-user directory, one file per
config file, and reused only while the config file holds exactly the bytes it was made from
(compared in full: any edit is seen, whatever it does to size, mtime or ctime) and the cache
passes a check of its shape (a damaged file is ignored and rebuilt); see ``_cache_path``.
"""

import os

from autoresponder.durations import DurationError, parse_duration

DEFAULT_PATH = "/etc/autoresponder/autoresponder.toml"
_CACHE_VERSION = 5  # 5: relative database paths resolved; the shape-checked cache


class ConfigError(Exception):
    """A config problem, phrased as one line: file, key, what was expected."""


def _default_database() -> str:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "/var/lib/autoresponder/autoresponder.sqlite3"
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "autoresponder", "autoresponder.sqlite3")


# key -> (kind, default, help). kinds: str, bool, int, float, duration, path, or a tuple of
# allowed strings. Tables are nested dicts of the same shape.
SCHEMA: dict = {
    "database": ("path", None, "SQLite file for accounts and the reply ledger"),
    "templates": ("path", "", "directory of Jinja2 reply templates (bundled ones if empty)"),
    "render_timeout": ("duration", 5, "longest a template may take to render (then: "
                       "template-error); more than 0"),
    "render_max_chars": ("int", 1_000_000, "most characters a template may render, and the "
                         "largest value it may make; more than 0"),
    "timezone": ("str", "UTC", "IANA zone in which dates are read and shown, and every "
                 "account's zone unless it has its own (vacation enable --timezone)"),
    "internal_domains": ("list", [], "sender domains that count as colleagues besides each "
                         "account's own: example.com, or .example.com for its subdomains"),
    "language": (("en", "pt"), "en", "reply language when neither account nor message says"),
    "dayfirst": ("bool", True, "read 01/02/2026 as 1 February (Portuguese habit)"),
    "interval": ("duration", 86400, "default window: one reply per sender per account"),
    "lease": ("duration", 300, "how long a pending claim blocks others before it expires"),
    "busy_timeout": ("duration", 10, "how long to wait for a locked database before 75"),
    "read_timeout": ("duration", 600, "deliver defers (75) a message whose input has not "
                     "ended after this long (a stalled writer); more than 0"),
    "envelope_sender": ("str", "null",
                        '"null" (<>), "account", or an address for the replies\' MAIL FROM'),
    "recipient_delimiter": ("str", "+", "characters that start a +detail in a local part"),
    "autoreply_domain": ("str", "", "domain of the Postfix copy addresses (user#dom@THIS)"),
    "log": {
        "target": (("syslog", "stderr", "file", "none"), "syslog", "where the log lines go"),
        "path": ("path", "", "log file when target = \"file\""),
        "facility": (("mail", "user", "local0", "local1", "local2", "local3", "local4",
                      "local5", "local6", "local7"), "mail", "syslog facility"),
    },
    "rate_limit": {
        "per_account": ("int", 50, "replies per account per period (0: no limit)"),
        "global": ("int", 1000, "replies for all accounts per period (0: no limit)"),
        "period": ("duration", 3600, "the rate-limit period"),
    },
    "rules": {
        "check_recipient": ("bool", True,
                            "skip mail that does not name the account in To/Cc (RFC 3834)"),
        "check_from_header": ("bool", True, "apply the system-sender rule to From: as well"),
        "spam": ("bool", True, "skip mail flagged as spam or virus"),
        "spam_score_header": ("str", "X-Spam-Score", "header holding a numeric spam score"),
        "spam_threshold": ("float", 5.0, "skip when that score is at least this"),
        "bounce_scan": ("bool", True, "run flufl.bounce on messages that look like bounces"),
        "authserv_id": ("str", "",
                        "your MTA's Authentication-Results id: skip SPF/DMARC failures (forged "
                        "senders); empty: off, as headers from others cannot be trusted"),
        "thread": ("bool", True, "skip replies to our own automatic replies"),
        "answer_group_mail": ("bool", False,
                              "answer mail that reached the account only through a group or "
                              "list address (or a Bcc): none of its addresses in To/Cc/Bcc/"
                              "Resent-*; per account: vacation enable --answer-group-mail"),
    },
    "transport": {
        "kind": (("sendmail", "smtp", "file"), "sendmail", "how replies leave"),
        "sendmail": ("path", "/usr/sbin/sendmail", "sendmail-compatible program"),
        "host": ("str", "127.0.0.1", "SMTP server"),
        "helo": ("str", "", "name to EHLO with (default: this machine's host name)"),
        "port": ("int", 25, "SMTP port"),
        "timeout": ("duration", 30, "SMTP timeout"),
        "starttls": ("bool", False, "STARTTLS before sending (submission servers)"),
        "ssl": ("bool", False, "implicit TLS (port 465)"),
        "tls_verify": ("bool", True, "verify the server's certificate and name (TLS)"),
        "ca_file": ("path", "", "CA bundle for tls_verify (default: the system's)"),
        "username": ("str", "", "SMTP AUTH user"),
        "password": ("str", "", "SMTP AUTH password"),
        "password_file": ("path", "", "file holding the SMTP AUTH password"),
        "dsn_notify_never": ("bool", True, "RCPT NOTIFY=NEVER when the server offers DSN"),
        "path": ("path", "", "directory for the file transport (one .eml per reply)"),
        "give_up_after": ("duration", 86400,
                          "after a message waited this long, a failing reply is dropped "
                          "(exit 0) instead of deferred again (0: never)"),
    },
    "serve": {
        "lmtp": ("list", ["unix:/run/autoresponder/lmtp.sock"],
                 "where `serve` listens: unix:PATH and/or inet:HOST:PORT (loopback by default)"),
        "socket_owner": ("str", "", "owner of the unix socket (user name or uid; default: us)"),
        "socket_group": ("str", "", "group of the unix socket (e.g. postfix)"),
        "socket_mode": ("str", "0660", "permissions of the unix socket, octal"),
        "allow_remote": ("bool", False,
                         "allow inet listeners on non-loopback addresses (LMTP has no auth)"),
        "workers": ("int", 0, "processes sharing the listeners (0: one per CPU core)"),
        "threads": ("int", 8, "messages decided at once per process"),
        "max_sessions": ("int", 64, "LMTP sessions per process; more get 421 and wait"),
        "idle_timeout": ("duration", 60, "close a session idle this long (421)"),
        "data_timeout": ("duration", 600, "longest time one message may take to arrive"),
        "message_timeout": ("duration", 120,
                            "longest time one copy may take to decide and reply before 451"),
        "drain_timeout": ("duration", 30,
                          "on SIGTERM, how long messages in flight may take to finish"),
        "metrics": ("str", "", "HOST:PORT for Prometheus metrics (empty: off)"),
        "http": ("list", [], "where `serve` answers HTTP (the JMAP API): unix:PATH and/or "
                 "inet:HOST:PORT; empty: off ([http] has its settings)"),
    },
    "http": {
        "tls_cert": ("path", "", "PEM certificate (chain) for HTTPS on serve.http's inet "
                     "listeners; empty: plain HTTP (loopback or a unix socket only)"),
        "tls_key": ("path", "", "PEM private key of tls_cert"),
        "public_url": ("str", "", "base URL clients reach the API at (https://host); empty: "
                       "from the request's Host"),
        "trust_forwarded": ("bool", False, "behind a reverse proxy on loopback or the unix "
                            "socket: take the client address and scheme from "
                            "X-Forwarded-For / X-Forwarded-Proto"),
        "imap_host": ("str", "", "IMAP server that checks mailbox owners' passwords (HTTP "
                      "Basic); empty: password logins off, tokens only"),
        "imap_port": ("int", 143, "its port (143 with STARTTLS, 993 with imaps)"),
        "imap_security": (("starttls", "imaps"), "starttls",
                          "TLS to the IMAP server: STARTTLS on a plain port, or implicit TLS"),
        "imap_tls_verify": ("bool", True, "verify the IMAP server's certificate and name"),
        "imap_ca_file": ("path", "", "CA bundle for imap_tls_verify (default: the system's)"),
        "imap_timeout": ("duration", 10, "longest an IMAP password check may take (then 503)"),
        "login_domain": ("str", "", "domain added to a login name without @ (alice -> "
                         "alice@DOMAIN) before it is looked up as an account"),
        "new_accounts": ("bool", True, "a mailbox owner whose address has no account yet may "
                         "create its own (its VacationResponse starts disabled)"),
        "login_cache": ("duration", 60, "how long a good password is remembered (a hash of "
                        "it, in memory) so each API call does not log in to IMAP again"),
        "max_failures_login": ("int", 5, "failed password logins per login name in "
                               "failure_window before it is refused (429)"),
        "max_failures_client": ("int", 20, "failed logins per client address in "
                                "failure_window before it is refused (429)"),
        "failure_window": ("duration", 900, "the window failed logins are counted in"),
        "max_request_size": ("int", 1_000_000, "largest JMAP request body, bytes "
                             "(maxSizeRequest)"),
        "max_calls": ("int", 16, "most method calls in one JMAP request (maxCallsInRequest)"),
        "max_body_chars": ("int", 100_000, "longest subject/textBody the API stores, "
                           "characters"),
    },
    "deliver": {
        "via": ("str", "", "relay each message to a running `serve` (unix:PATH or "
                           "inet:HOST:PORT) instead of deciding in this process"),
        "fallback": (("defer", "in-process"), "defer",
                     "when the service cannot be reached: exit 75, or decide in-process"),
    },
}


class Section:
    """Attribute access over a validated dict (cheaper to import than dataclasses)."""

    def __init__(self, values: dict):
        for k, v in values.items():
            setattr(self, k, Section(v) if isinstance(v, dict) else v)


class Config(Section):
    source: str  # the file it came from, or "(built-in defaults)"


def _expected(kind) -> str:
    if isinstance(kind, tuple):
        return "one of " + ", ".join(f'"{k}"' for k in kind)
    return {"str": "a string", "bool": "true or false", "int": "an integer",
            "float": "a number", "duration": 'a duration such as "24h", "30m" or seconds',
            "path": "a path (string)", "list": "a string or a list of strings"}[kind]


def _check(kind, value, where: str, key: str):
    bad = ConfigError(f"{where}: key '{key}': expected {_expected(kind)}, got {value!r}")
    if isinstance(kind, tuple):
        if not isinstance(value, str) or value not in kind:
            raise bad
        return value
    if kind in ("str", "path"):
        if not isinstance(value, str):
            raise bad
        return os.path.expanduser(value) if kind == "path" else value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
                or value in (float("inf"), float("-inf")):
            raise bad
        return float(value)
    if kind == "list":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad
        return list(value)
    if kind == "duration":
        try:
            return parse_duration(value)
        except DurationError:
            raise bad from None
    raise AssertionError(kind)


def _validate(schema: dict, data: dict, where: str, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        full = prefix + key
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(f"{where}: unknown key '{full}' (known here: {known})")
        spec = schema[key]
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: key '{full}': expected a table [{full}], "
                                  f"got {value!r}")
            out[key] = _validate(spec, value, where, full + ".")
        else:
            out[key] = _check(spec[0], value, where, full)
    for key, spec in schema.items():
        if key not in out:
            out[key] = _defaults(spec) if isinstance(spec, dict) else spec[1]
    return out


def _defaults(schema: dict) -> dict:
    return {k: (_defaults(v) if isinstance(v, dict) else v[1]) for k, v in schema.items()}


def _finish(values: dict, where: str) -> dict:
    """Cross-key checks and derived defaults."""
    if not values.get("database"):
        values["database"] = _default_database()
    if "://" in values["database"] or not os.path.isabs(values["database"]):
        from autoresponder.store import database_location

        try:
            values["database"] = database_location(values["database"], where)
        except ValueError as e:
            raise ConfigError(f"{where}: key 'database': {e}") from None
    _cross_check(values, where)
    if values["timezone"] not in ("UTC", "utc"):
        from dateutil import tz

        from autoresponder.schedule import ScheduleError, get_zone

        try:  # accounts' wall-clock times are read with zoneinfo: it must know the zone too
            get_zone(values["timezone"])
            known = tz.gettz(values["timezone"]) is not None
        except ScheduleError:
            known = False
        if not known:
            raise ConfigError(f"{where}: key 'timezone': expected an IANA time zone such as "
                              f"\"Europe/Lisbon\", got {values['timezone']!r}")
    if values["internal_domains"]:
        from autoresponder.audience import normalize_pattern

        try:
            values["internal_domains"] = [normalize_pattern(d)
                                          for d in values["internal_domains"]]
        except ValueError as e:
            raise ConfigError(f"{where}: key 'internal_domains': {e}") from None
    _finish_serve(values, where)
    return values


def _cross_check(values: dict, where: str) -> None:
    """The checks between keys that need no import (also run on a cached config)."""
    env = values["envelope_sender"]
    if env not in ("null", "account") and ("@" not in env or env.startswith("@")):
        raise ConfigError(f"{where}: key 'envelope_sender': expected \"null\", \"account\" "
                          f"or an address, got {env!r}")
    for key in ("read_timeout", "render_timeout"):
        if values[key] <= 0:
            raise ConfigError(f"{where}: key '{key}': expected a duration of at least 1s, "
                              f"got {values[key]!r}")
    if values["render_max_chars"] <= 0:
        raise ConfigError(f"{where}: key 'render_max_chars': expected a number of characters "
                          f"above 0, got {values['render_max_chars']!r}")
    t = values["transport"]
    if t["kind"] == "file" and not t["path"]:
        raise ConfigError(f"{where}: key 'transport.path': expected a directory for "
                          f"kind = \"file\", got nothing")
    if not 0 < t["port"] < 65536:
        raise ConfigError(f"{where}: key 'transport.port': expected a port from 1 to 65535, "
                          f"got {t['port']!r}")
    if values["log"]["target"] == "file" and not values["log"]["path"]:
        raise ConfigError(f"{where}: key 'log.path': expected a file for target = \"file\", "
                          f"got nothing")


def _shape_ok(schema: dict, values) -> bool:
    """Does values have exactly the keys and types validation produces? (For a cached
    config: a damaged or foreign cache file must never reach the delivery code.)"""
    if type(values) is not dict or values.keys() != schema.keys():
        return False
    for key, spec in schema.items():
        v = values[key]
        if isinstance(spec, dict):
            if not _shape_ok(spec, v):
                return False
            continue
        kind = spec[0]
        if isinstance(kind, tuple):
            ok = type(v) is str and v in kind
        elif kind in ("str", "path"):
            ok = type(v) is str
        elif kind == "bool":
            ok = type(v) is bool
        elif kind in ("int", "duration"):
            ok = type(v) is int and v >= 0
        elif kind == "float":
            ok = type(v) is float and v == v and v not in (float("inf"), float("-inf"))
        elif kind == "list":
            ok = type(v) is list and all(type(i) is str for i in v)
        else:  # a kind this check does not know: tests/test_config_cache.py says which
            ok = False
        if not ok:
            return False
    return bool(values.get("database", 1))


_TOML_SHORT = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"',
               0x5C: "\\\\"}


def toml_string(value: str) -> str:
    """value as a TOML basic string, for configs the agent writes (``demo``): quotes,
    backslashes and control characters escaped, so the file means exactly value. ValueError
    for text TOML cannot hold (lone surrogates: a path that is not valid UTF-8)."""
    out = []
    for ch in value:
        c = ord(ch)
        if c in _TOML_SHORT:
            out.append(_TOML_SHORT[c])
        elif c < 0x20 or c == 0x7F:
            out.append(f"\\u{c:04X}")
        elif 0xD800 <= c <= 0xDFFF:
            raise ValueError(f"{value!r} is not valid UTF-8 text, which TOML cannot hold")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _finish_serve(values: dict, where: str) -> None:
    """[serve] and [deliver] values that must parse: addresses and the socket mode."""
    from autoresponder.relay import AddressError, parse_address

    sv = values["serve"]
    for a in sv["lmtp"]:
        try:
            parse_address(a)
        except AddressError as e:
            raise ConfigError(f"{where}: key 'serve.lmtp': {e}") from None
    mode = sv["socket_mode"]
    if not (mode.isdigit() and all(c in "01234567" for c in mode) and int(mode, 8) <= 0o777):
        raise ConfigError(f"{where}: key 'serve.socket_mode': expected an octal mode such as "
                          f"\"0660\", got {mode!r}")
    if sv["metrics"]:
        try:
            parse_address("inet:" + sv["metrics"])
        except AddressError as e:
            raise ConfigError(f"{where}: key 'serve.metrics': {e}") from None
    for a in sv["http"]:
        try:
            parse_address(a)
        except AddressError as e:
            raise ConfigError(f"{where}: key 'serve.http': {e}") from None
    h = values["http"]
    if bool(h["tls_cert"]) != bool(h["tls_key"]):
        raise ConfigError(f"{where}: key 'http.tls_key': expected tls_cert and tls_key "
                          f"together, got only one")
    via = values["deliver"]["via"]
    if via:
        try:
            parse_address(via)
        except AddressError as e:
            raise ConfigError(f"{where}: key 'deliver.via': {e}") from None


def parse_toml_text(text: str, where: str) -> dict:
    """Validate a TOML document (used by load and by tests)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML: {e}") from None
    _database(data, where)
    return _finish(_validate(SCHEMA, data, where), where)


def _database(data: dict, where: str) -> None:
    """A PostgreSQL ``database`` (URL or ``[database]`` table) becomes one checked URL."""
    value = data.get("database")
    if not isinstance(value, dict) and not (isinstance(value, str)
                                            and value.startswith(("postgresql:", "postgres:"))):
        return
    from autoresponder import dburl

    try:
        if isinstance(value, dict):
            data["database"] = dburl.from_table(value, lambda k, v, key: _check(k, v, where, key))
        else:
            dburl.check_url(value)
    except dburl.DatabaseConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def _cache_path(path: str) -> "str | None":
    """The private cache file for this config file, or None if no safe place exists.

    The directory is ``$AUTORESPONDER_CACHE_DIR`` or ``/var/tmp/autoresponder-<uid>``; it must
    be a real directory owned by us and closed to others, or the cache is not used at all.
    """
    uid = os.geteuid()
    d = os.environ.get("AUTORESPONDER_CACHE_DIR") or f"/var/tmp/autoresponder-{uid}"
    try:
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        ds = os.lstat(d)
    except OSError:
        return None
    import stat as _stat

    if not _stat.S_ISDIR(ds.st_mode) or ds.st_uid != uid or ds.st_mode & 0o077:
        return None
    return os.path.join(d, f"{_cache_prefix(path)}.marshal")


def _cache_prefix(path: str) -> str:
    """``config-`` and the config file's absolute path, escaped into one file name (a long
    path is cut and completed with its checksum, so names stay under NAME_MAX)."""
    full = os.path.abspath(path)
    name = full.replace("%", "%25").replace("/", "%2F")
    if len(name) > 180:
        import zlib

        name = f"{name[:160]}~{zlib.crc32(full.encode('utf-8', 'surrogateescape')):08x}"
    return f"config-{name}"


def _context() -> tuple:
    """What the validated values depend on besides the file: paths are expanded with $HOME,
    the default database depends on the user and $XDG_STATE_HOME."""
    return (os.geteuid(), os.environ.get("HOME"), os.environ.get("XDG_STATE_HOME"))


def _read_cache(cache: str, path: str, raw: bytes) -> "dict | None":
    """The cached values for exactly these config bytes, or None (missing, stale, written by
    other code, or damaged in any way: then the caller parses the file again)."""
    import marshal

    try:
        with open(cache, "rb") as f:
            got = marshal.load(f)
        if type(got) is not tuple or len(got) != 5:
            return None
        stamp, where, content, context, values = got
        if stamp != _cache_stamp() or where != os.path.abspath(path) or content != raw \
                or context != _context() or not _shape_ok(SCHEMA, values):
            return None
        _cross_check(values, path)
        return values
    except Exception:  # noqa: BLE001 - a damaged cache is a cache miss, never an error
        return None


def load(path: "str | None" = None) -> Config:
    """Load, validate and return the config; raise ConfigError with a one-line reason."""
    explicit = path or os.environ.get("AUTORESPONDER_CONFIG") or ""
    if not explicit and not os.path.exists(DEFAULT_PATH):
        cfg = Config(_finish(_defaults(SCHEMA), "(built-in defaults)"))
        cfg.source = "(built-in defaults)"
        return cfg
    path = explicit or DEFAULT_PATH
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file: {e.strerror}") from None
    cache = _cache_path(path)
    values = _read_cache(cache, path, raw) if cache else None
    if values is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8") from None
        values = parse_toml_text(text, path)
        if cache:
            _write_cache(cache, path, raw, values)
    cfg = Config(values)
    cfg.source = path
    return cfg


def _cache_stamp() -> str:
    """Identifies the code that validated a cached config: a new version or schema of keys
    must never read values validated by another."""
    import zlib

    from autoresponder import __version__

    return f"{_CACHE_VERSION}:{__version__}:{zlib.crc32(repr(SCHEMA).encode())}"


def _write_cache(cache: str, path: str, raw: bytes, values: dict) -> None:
    """Write the cache atomically (0600, then rename) and drop this config's stale files."""
    import marshal

    d = os.path.dirname(cache)
    tmp = f"{cache}.{os.getpid()}.tmp"
    try:
        data = marshal.dumps((_cache_stamp(), os.path.abspath(path), raw, _context(), values))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, cache)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _drop_stale(d, os.path.basename(cache))


def _drop_stale(d: str, current: str) -> None:
    """Remove this config's other cache files: those of earlier releases (named with the
    file's inode, size and mtime) and temporary files a killed writer left behind."""
    import time

    prefix = current[:-len(".marshal")] + "."
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        if name == current or not name.startswith(prefix):
            continue
        rest = name[len(prefix):].split(".")
        old_key = len(rest) == 4 and rest[3] == "marshal" and all(p.isdigit() for p in rest[:3])
        tmp = len(rest) == 3 and rest[0] == "marshal" and rest[1].isdigit() and rest[2] == "tmp"
        try:
            if old_key or (tmp and time.time() - os.lstat(os.path.join(d, name)).st_mtime > 60):
                os.unlink(os.path.join(d, name))
        except OSError:
            pass
