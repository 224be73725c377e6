"""The config's ``database`` for PostgreSQL: a ``postgresql://`` URL or a ``[database]`` table,
checked and turned into one URL (what ``config.database`` holds and the config cache keeps).

The password never belongs in the config file: a URL with one, a ``password=`` parameter or
a ``password`` key is a config error that names the key and never repeats the value. The
password comes from libpq's own places (``~/.pgpass`` or ``passfile``, a ``service`` file,
``PGPASSWORD`` in the environment) or from ``password_file``, a file holding only the
password. ``password_file`` and ``pool_size`` are ours, not libpq's: they ride in the URL's
query and ``split`` takes them off before libpq sees it.

Imports nothing beyond ``urllib.parse``, and only when a config is validated.
"""

SCHEMES = ("postgresql://", "postgres://")
OURS = ("password_file", "pool_size")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

# [database] keys -> (kind, help). Kinds as in config.SCHEMA.
TABLE = {
    "url": ("str", "a postgresql:// URL (the other keys add to it)"),
    "host": ("str", "server name, address, or a directory holding its unix socket"),
    "port": ("int", "server port"),
    "dbname": ("str", "database name"),
    "user": ("str", "role to connect as"),
    "service": ("str", "a service in pg_service.conf"),
    "sslmode": (SSLMODES, "TLS: use verify-full across any network"),
    "sslrootcert": ("path", "CA bundle that signed the server's certificate"),
    "sslcert": ("path", "client certificate"),
    "sslkey": ("path", "client key"),
    "passfile": ("path", "libpq password file (the .pgpass format)"),
    "password_file": ("path", "a file holding only the password"),
    "connect_timeout": ("int", "seconds to wait for a connection (default: busy_timeout)"),
    "pool_size": ("int", "connections `serve` keeps open (psycopg_pool)"),
}


class DatabaseConfigError(ValueError):
    """Phrased for ``config.ConfigError``: the key, then what is wrong."""


def is_postgres(value) -> bool:
    return isinstance(value, str) and value.startswith(SCHEMES)


def _no_password(key: str) -> DatabaseConfigError:
    return DatabaseConfigError(
        f"key '{key}': a password does not belong in the config file; put it in "
        "password_file, a libpq passfile (~/.pgpass) or a service file")


def check_url(url: str, key: str = "database") -> str:
    """`url` when it is a postgresql:// URL without a password, else DatabaseConfigError."""
    from urllib.parse import parse_qsl, urlsplit

    if not is_postgres(url):
        raise DatabaseConfigError(f"key '{key}': expected a postgresql:// URL")
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises here
    except ValueError:
        raise DatabaseConfigError(f"key '{key}': not a valid postgresql:// URL") from None
    if parts.password is not None:
        raise _no_password(key)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "password":
            raise _no_password(key)
        if name == "sslmode" and value not in SSLMODES:
            raise DatabaseConfigError(f"key '{key}': sslmode must be one of "
                                      f"{', '.join(SSLMODES)}, got {value!r}")
        if name == "pool_size" and not value.isdigit():
            raise DatabaseConfigError(f"key '{key}': pool_size must be a whole number, "
                                      f"got {value!r}")
    return url


def from_table(table: dict, check) -> str:
    """The URL a ``[database]`` table stands for. `check(kind, value, key)` validates one
    value as config does (and raises its ConfigError)."""
    from urllib.parse import parse_qsl, quote, urlencode, urlsplit

    if "password" in table:
        raise _no_password("database.password")
    known = ", ".join(sorted(TABLE))
    values = {}
    for key, value in table.items():
        if key not in TABLE:
            hint = ("; a [database] table is for PostgreSQL: a SQLite file is "
                    "database = \"PATH\" at the top" if key in ("path", "file") else "")
            raise DatabaseConfigError(f"unknown key 'database.{key}' (known here: {known})"
                                      f"{hint}")
        values[key] = check(TABLE[key][0], value, f"database.{key}")
    url = values.pop("url", "") or "postgresql://"
    if not is_postgres(url):
        raise DatabaseConfigError("key 'database.url': expected a postgresql:// URL")
    check_url(url, "database.url")
    base = urlsplit(url)
    query = dict(parse_qsl(base.query, keep_blank_values=True))
    netloc = base.netloc
    path = base.path
    host = values.pop("host", None)
    if host is not None:
        if host.startswith("/"):
            query["host"] = host  # a socket directory has no place in the URL's authority
        else:
            netloc = quote(host, safe=":[]")
    if "port" in values:
        query["port"] = str(values.pop("port"))
    if "user" in values:
        query["user"] = values.pop("user")
    if "dbname" in values:
        path = "/" + quote(values.pop("dbname"), safe="")
    for key, value in values.items():
        query[key] = str(value)
    return f"postgresql://{netloc}{path}" + (f"?{urlencode(query)}" if query else "")


def split(url: str) -> "tuple[str, dict]":
    """(the URL for libpq, our own settings taken off it: password_file, pool_size)."""
    if "?" not in url:
        return url, {}
    from urllib.parse import parse_qsl, urlencode

    head, _, query = url.partition("?")
    ours, theirs = {}, []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in OURS:
            ours[name] = value
        else:
            theirs.append((name, value))
    return head + (f"?{urlencode(theirs)}" if theirs else ""), ours


def redact(url: str) -> str:
    """`url` fit for a log line: no password (were one there), no query parameters."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        where = [(k, v) for k, v in parse_qsl(parts.query)
                 if k in ("host", "port", "user", "dbname", "service")]
    except ValueError:
        return "postgresql://(unparseable URL)"
    query = urlencode(where, safe="/")
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
