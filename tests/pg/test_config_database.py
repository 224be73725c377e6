"""The config's PostgreSQL ``database``: a URL or a ``[database]`` table, one checked URL in
the end, and never a password in the file (refused without repeating it). No server needed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoresponder import dburl
from autoresponder.config import ConfigError, parse_toml_text

SECRET = "s3cret-Pa55"


def db(text: str) -> str:
    return parse_toml_text(text, "/etc/autoresponder/autoresponder.toml")["database"]


def test_a_url_is_kept_as_it_is():
    url = "postgresql://mailer@db1.example.net:5433/autoresponder?sslmode=verify-full"
    assert db(f'database = "{url}"') == url


def test_a_table_becomes_one_url_that_libpq_reads_back():
    url = db('[database]\nhost = "db1.example.net"\nport = 5433\ndbname = "mail db"\n'
             'user = "mailer"\nsslmode = "verify-full"\nsslrootcert = "/etc/ssl/db-ca.pem"\n'
             'password_file = "/etc/autoresponder/db-password"\npool_size = 8\n')
    libpq, ours = dburl.split(url)
    assert ours == {"password_file": "/etc/autoresponder/db-password", "pool_size": "8"}
    from psycopg.conninfo import conninfo_to_dict

    assert conninfo_to_dict(libpq) == {
        "host": "db1.example.net", "port": "5433", "dbname": "mail db", "user": "mailer",
        "sslmode": "verify-full", "sslrootcert": "/etc/ssl/db-ca.pem"}


def test_a_socket_directory_and_a_service():
    from psycopg.conninfo import conninfo_to_dict

    url = db('[database]\nhost = "/var/run/postgresql"\ndbname = "autoresponder"\n')
    assert conninfo_to_dict(dburl.split(url)[0]) == {"host": "/var/run/postgresql",
                                                     "dbname": "autoresponder"}
    url = db('[database]\nservice = "autoresponder"\n')
    assert conninfo_to_dict(dburl.split(url)[0]) == {"service": "autoresponder"}


@pytest.mark.parametrize("text, key", [
    (f'database = "postgresql://mailer:{SECRET}@db1/autoresponder"', "'database'"),
    (f'database = "postgresql://db1/autoresponder?password={SECRET}"', "'database'"),
    (f'[database]\nhost = "db1"\npassword = "{SECRET}"\n', "'database.password'"),
    (f'[database]\nurl = "postgresql://u:{SECRET}@db1/x"\n', "'database.url'"),
])
def test_a_password_in_the_config_is_refused_without_repeating_it(text, key):
    with pytest.raises(ConfigError) as e:
        db(text)
    message = str(e.value)
    assert SECRET not in message
    assert key in message and "password_file" in message
    assert message.startswith("/etc/autoresponder/autoresponder.toml: ")


@pytest.mark.parametrize("text, expected", [
    ('[database]\nsslmode = "verify-everything"\n', "key 'database.sslmode': expected one of"),
    ('database = "postgresql://db1/x?sslmode=sure"\n', "sslmode must be one of"),
    ('[database]\nport = "5432"\n', "key 'database.port': expected an integer"),
    ('[database]\nhostname = "db1"\n', "unknown key 'database.hostname'"),
    ('database = "postgresql://db1:port/x"\n', "not a valid postgresql:// URL"),
    ('[database]\nurl = "mysql://db1/x"\n', "expected a postgresql:// URL"),
])
def test_bad_database_settings_name_the_key(text, expected):
    with pytest.raises(ConfigError, match=expected):
        db(text)


def test_every_sslmode_up_to_verify_full_passes_through():
    from psycopg.conninfo import conninfo_to_dict

    for mode in dburl.SSLMODES:
        url = db(f'[database]\nhost = "db1"\nsslmode = "{mode}"\n')
        assert conninfo_to_dict(dburl.split(url)[0])["sslmode"] == mode


def test_a_sqlite_path_is_untouched():
    assert db('database = "/var/lib/autoresponder/a.sqlite3"') == \
        "/var/lib/autoresponder/a.sqlite3"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
def test_redact_never_shows_a_password(secret):
    from urllib.parse import quote

    q = quote(secret, safe="")
    url = f"postgresql://user:{q}@db1:5432/x?password={q}&sslmode=require&host=db1"
    assert dburl.redact(url) == "postgresql://user@db1:5432/x?host=db1"
