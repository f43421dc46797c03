"""Secrets in URLs are masked, in both places a URL can hold them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from skylaunch.log._redact import is_secret_key, redact_text, redact_url, url_secrets


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # the user:pw@ form, as SQLAlchemy and urllib read it
        ("postgresql://me:pw@host/db", "postgresql://me:***@host/db"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://:p@ss@h:1/0", "redis://:***@h:1/0"),
        ("postgresql://u:pa/ss?x@host/db", "postgresql://u:***@host/db"),
        ("postgresql://me@host/db", "postgresql://me@host/db"),
        # secrets in the query, whatever the case or the encoding of the key
        (
            "postgresql://me@host/db?password=pw&application_name=a",
            "postgresql://me@host/db?password=***&application_name=a",
        ),
        ("redis://h:1/0?PASSWORD=pw", "redis://h:1/0?PASSWORD=***"),
        ("redis://h/0?pass%77ord=pw", "redis://h/0?pass%77ord=***"),
        (
            "postgresql://h/db?sslpassword=a&passwd=b&pwd=c&token=d&client_secret=e&api-key=f",
            (
                "postgresql://h/db?sslpassword=***&passwd=***&pwd=***&token=***&client_secret=***"
                "&api-key=***"
            ),
        ),
        (
            "postgresql://h/db?sslmode=require&passfile=/x",
            "postgresql://h/db?sslmode=require&passfile=/x",
        ),
        (
            "postgresql://u:pw@h/db?application_name=a@b&password=q#frag",
            "postgresql://u:***@h/db?application_name=a@b&password=***#frag",
        ),
        ("postgresql://h/db?password=", "postgresql://h/db?password="),
        # both at once
        ("redis://u:one@h/0?token=two", "redis://u:***@h/0?token=***"),
        # libpq key=value DSNs and plain paths
        ("host=h password='a b' user=u", "host=h password=*** user=u"),
        ("sqlite:///tmp/app.db", "sqlite:///tmp/app.db"),
        ("/var/log/tasks.csv", "/var/log/tasks.csv"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_sqlalchemy_url_is_redacted_in_full() -> None:
    url = sa.make_url("postgresql+psycopg://me:pw1@h/db?sslpassword=pw2")
    assert repr(url).count("pw2") == 1  # SQLAlchemy itself hides only the first form
    assert redact_url(url) == "postgresql+psycopg://me:***@h/db?sslpassword=***"


@pytest.mark.parametrize(
    "key", ["password", "Password", "sslpassword", "db_pass", "PWD", "auth", "x-api-key", "token"]
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["user", "host", "sslmode", "passfile", "sslkey", "options"])
def test_other_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_url_secrets_lists_both_forms_decoded_too() -> None:
    assert set(url_secrets("redis://u:p%40ss@h/0?password=tok%26en")) == {
        "p%40ss",
        "p@ss",
        "tok%26en",
        "tok&en",
    }


def test_redact_text_scrubs_what_a_driver_echoed() -> None:
    url = "postgresql://u:hunter22@h/db?sslpassword=longsecret"
    text = "auth failed for 'hunter22' (sslpassword longsecret), x"
    assert redact_text(text, url) == "auth failed for '***' (sslpassword ***), x"
    # short secrets would garble ordinary words; URLs still hide them (redact_url)
    assert redact_text("a bcd", "postgresql://u:bcd@h/db") == "a bcd"
