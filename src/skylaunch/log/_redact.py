"""Hiding secrets in connection URLs before they reach a message, a ``repr`` or a log line.

The one place that knows what a secret looks like in a URL: the password of ``user:pw@host``
and the value of a query key such as ``?password=``, ``?sslpassword=`` or ``?token=`` (database
drivers and redis-py take credentials from the query too). Every message that names a
repo's or an output's URL goes through :func:`redact_url`; text that may echo a secret (a
driver's error message) goes through :func:`redact_text`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

__all__ = ["MASK", "is_secret_key", "redact_text", "redact_url", "url_secrets"]

MASK = "***"
_MIN_SCRUBBED = 4

# Query (or key=value DSN) keys whose values are secrets, matched on the lower-cased,
# percent-decoded key with "-" read as "_": "password", "sslpassword", "db_passwd",
# "api_key", "access-token", "client_secret"...
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?$|pwd$|secret|token|(api|access|private)_?key|credential|auth$"
)

# The user information of a URL as SQLAlchemy reads it: user, ':', password up to the first '@'.
_SQLALCHEMY_USERINFO = re.compile(r"[^:/@]*:[^@]*@")
# A libpq-style "key=value" pair (value bare or single-quoted), for DSNs without "://".
_DSN_PAIR = re.compile(r"(?P<key>[\w-]+)(?P<eq>\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|\S+)")


def is_secret_key(key: str) -> bool:
    """Whether a URL query or DSN key names a secret (``password``, ``sslpassword``, ``token``...)."""
    name = unquote_plus(key).strip().lower().replace("-", "_")
    return _SECRET_KEY.search(name) is not None


def _as_text(url: Any) -> str:
    render = getattr(url, "render_as_string", None)  # a SQLAlchemy URL hides only user:pw@
    return str(render(hide_password=False) if callable(render) else url)


def _userinfo_end(rest: str) -> int:
    """Where the user information of ``rest`` (the URL after ``://``) ends: its last '@', or -1.

    Both readings are covered: SQLAlchemy's (the password runs to the first '@', so it may
    hold '/' or '?') and urllib's (user information is what precedes the last '@' of the
    part before the first '/', '?' or '#', so the password may hold '@').
    """
    ends = []
    match = _SQLALCHEMY_USERINFO.match(rest)
    if match:
        ends.append(match.end() - 1)
    netloc = re.match(r"[^/?#]*", rest)
    if netloc is not None and "@" in netloc.group():
        ends.append(netloc.group().rindex("@"))
    return max(ends, default=-1)


def _redact_query(query: str) -> str:
    pairs = []
    for pair in re.split(r"([&;])", query):
        key, eq, value = pair.partition("=")
        pairs.append(f"{key}={MASK}" if eq and value and is_secret_key(key) else pair)
    return "".join(pairs)


def redact_url(url: Any) -> str:
    """``url`` (a string or a SQLAlchemy URL) with its secrets replaced by ``***``.

    ``postgresql://me:pw@host/db?sslpassword=x&application_name=a`` becomes
    ``postgresql://me:***@host/db?sslpassword=***&application_name=a``. A string without
    ``://`` is read as a libpq ``key=value`` DSN (``host=h password=pw``); a file path has
    nothing to hide and comes back as it is.
    """
    text = _as_text(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return _DSN_PAIR.sub(
            lambda m: (
                m.group(0)
                if not is_secret_key(m.group("key"))
                else f"{m.group('key')}{m.group('eq')}{MASK}"
            ),
            text,
        )
    end = _userinfo_end(rest)
    start = 0
    if end >= 0:
        user, colon, _password = rest[:end].partition(":")
        userinfo = f"{user}:{MASK}" if colon else user
        rest = userinfo + rest[end:]
        start = len(userinfo) + 1
    path, question, query = rest[start:].partition("?")
    if question:
        query, hash_, fragment = query.partition("#")
        rest = rest[:start] + path + "?" + _redact_query(query) + hash_ + fragment
    return scheme + sep + rest


def url_secrets(url: Any) -> list[str]:
    """The secret values ``url`` holds (as written and percent-decoded), longest first."""
    text = _as_text(url)
    found: set[str] = set()
    _scheme, sep, rest = text.partition("://")
    if sep:
        end = _userinfo_end(rest)
        if end >= 0:
            _user, colon, password = rest[:end].partition(":")
            if colon and password:
                found.add(password)
        _, _, query = rest[end + 1 if end >= 0 else 0 :].partition("?")
        for pair in re.split(r"[&;]", query.partition("#")[0]):
            key, eq, value = pair.partition("=")
            if eq and value and is_secret_key(key):
                found.add(value)
    else:
        for match in _DSN_PAIR.finditer(text):
            if is_secret_key(match.group("key")):
                found.add(match.group("value").strip("'"))
    found |= {unquote_plus(value) for value in found}
    return sorted((s for s in found if s), key=len, reverse=True)


def redact_text(text: str, url: Any) -> str:
    """``text`` (an error message, say) with every secret of ``url`` replaced by ``***``.

    Secrets shorter than four characters are left alone: replacing every "ab" of a message
    would garble it, and drivers do not echo passwords anyway (this is a second line of
    defence; URLs themselves go through :func:`redact_url`).
    """
    for secret in url_secrets(url):
        if len(secret) >= _MIN_SCRUBBED:
            text = text.replace(secret, MASK)
    return text
