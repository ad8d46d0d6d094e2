"""One test for "this looks like a secret", shared by the params check, lint rule E9101
and the masking of plans and reviews, so that all three agree.

A value is secret when the name that holds it looks secret (``DB_PWD``,
``apiKey``, ``DATABASE_URL``, ``--db-password``), or when the value itself does:
credentials in a URL (``postgres://u:pw@h/db``), a secret-named flag inside a
command (``--password=x``, ``env DB_PASS=x``), or a long high-entropy token.
References to secrets (an ARN, ``{{resolve:…}}``, ``${…}``) are not secrets, but only
when the whole value is one: ``arn:aws:x hunter2`` is not a reference.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import shlex
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

MASK = "****"

Path = tuple[str | int, ...]

# Words that make a name secret wherever they stand in it ("DBPASSWORD", "clientSecret").
_SECRET_INFIXES = ("passw", "passphrase", "secret", "credential", "apikey", "privatekey",
                   "accesskey", "connectionstring", "connstr", "sessionkey", "signingkey")
# Short words that only count as whole words ("DB_PASS", "db-pwd", "authToken"):
# "pass" inside "bypass" or "passthrough" does not.
_SECRET_WORDS = {"pass", "pwd", "pw", "passwd", "token", "tokens", "creds", "cred", "dsn",
                 "secrets", "apitoken", "mnemonic"}
# Words that make a name secret when they end it ("DB_AUTH", "REPORT_AUTH", "BASIC_AUTH"),
# not when a qualifier follows ("AUTH_PROVIDER", "AUTH_MODE").
_SECRET_LAST_WORDS = {"auth", "authorization", "passcode"}
_SECRET_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"),
                 ("signing", "key"), ("encryption", "key"), ("session", "key"),
                 ("connection", "string"), ("conn", "string"), ("auth", "key"),
                 ("ssh", "key"), ("gpg", "key"), ("pgp", "key"), ("rsa", "key"), ("hmac", "key"),
                 ("jwt", "key"), ("master", "key"), ("deploy", "key"), ("app", "key"),
                 ("license", "key"), ("tls", "key"), ("ssl", "key"), ("client", "key"),
                 ("cipher", "key"), ("shared", "key"), ("seed", "phrase"),
                 ("recovery", "phrase")}
# DATABASE_URL and its kin: a data store's URL usually carries the login.
_STORE_WORDS = {"database", "db", "postgres", "postgresql", "pg", "psql", "mysql", "mariadb",
                "mongo", "mongodb", "redis", "amqp", "rabbitmq", "rabbit", "jdbc", "sql",
                "elasticsearch", "es", "broker", "cache", "memcached", "sqlalchemy", "celery"}
_URL_WORDS = {"url", "uri", "urls", "uris"}
# A trailing word that makes the name a pointer to a secret, not the secret itself.
_REFERENCE_WORDS = {"arn", "id", "name", "path", "ref", "file", "param", "parameter", "length",
                    "ttl", "version", "source", "from", "type", "mode", "template", "policy"}
# Names that match the words above but are not secrets: the shell's working directory,
# and the instance metadata option (MetadataOptions.HttpTokens, asg.http_tokens), whose
# value is "required" or "optional".
_NOT_SECRET_NAMES = {"pwd", "httptokens"}

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_|$)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(name: str) -> list[str]:
    """``dbPassword`` → db, password; ``DB_PWD`` → db, pwd; ``HTTPTokens`` → http, tokens."""
    return [w.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for w in _WORD.findall(part)]


@functools.lru_cache(maxsize=4096)  # templates repeat the same keys many times
def secret_name(name: str) -> bool:
    """True when a key, variable, parameter or flag name says its value is secret."""
    parts = words(name)
    if not parts or "".join(parts) in _NOT_SECRET_NAMES or parts[-1] in _REFERENCE_WORDS:
        return False
    joined = "".join(parts)
    if any(infix in joined for infix in _SECRET_INFIXES):
        return True
    if any(p in _SECRET_WORDS for p in parts) or parts[-1] in _SECRET_LAST_WORDS:
        return True
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(parts)):
        return True
    return parts[-1] in _URL_WORDS and any(p in _STORE_WORDS for p in parts[:-1])


# --- values ---------------------------------------------------------------------------

# The whole value, never a prefix: "arn:aws:x hunter2" or "{{resolve:x}}hunter2" is not one.
_REFERENCE = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12}|aws)?:[^\s\"']+"
                        r"|\{\{resolve:[^{}\s]+\}\}|(?:\$\{[^}\s]+\})+")
# scheme://user:password@host (a password of references only, ${...}, is a template). A
# password may hold '/'; "host:8443/path@x" is a port and a path, not a login.
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^\s:/@]*):(?P<pw>[^\s@]+)@")
_PORT_AND_PATH = re.compile(r"\d{1,5}(?:[/?#].*)?")
# ?token=x or &api_key=x in a URL or a path (a health check's, a probe's).
_QUERY = re.compile(r"[?&;](?P<name>[A-Za-z0-9_.\-\[\]]+)=(?P<value>[^&#\s\"']*)")
# MySQL's and MariaDB's clients take the password glued to -p ("-phunter2").
_MYSQL = re.compile(r"(?:.*/)?(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|"
                    r"mysqlslap|mariadb[a-z-]*)")
_GLUED_P = re.compile(r"-p(?P<pw>[^\s\"';&|]+)[;&|]*")
_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64,}")  # 256 bits and more: a key, not a commit id
# --db-password=x, -password=x, or NAME=x inside a command or a shell line.
_ASSIGNED = re.compile(r"(?P<flag>-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)", re.S)
_FLAG = re.compile(r"^-{1,2}(?P<name>[A-Za-z][A-Za-z0-9_.-]*)$")

# High entropy. Thresholds chosen against random tokens (AWS secret keys, GitHub tokens,
# 20-character generated passwords) and every value the shipped params and templates hold
# (image references, hostnames, ARNs, SSM paths, identifiers): see tests/unit/test_secrets.py.
MIN_ENTROPY_LENGTH = 20
ENTROPY_RATIO = 0.8  # of log2(length), the most a string of that length can reach
ENTROPY_CAP = 4.5  # bits per character; random base64 reaches ~5 at 40+ characters
# Identifiers (ECSServiceAverageCPUUtilization, kubenews-dev-migrate) have high entropy
# too, but are made of words; random tokens switch letter case and digits every 1-3
# characters. The mean length of those runs separates the two.
MAX_MEAN_RUN = 3.0
# Tokens made of these characters only are judged; '.', ':', '@' mark hostnames, image
# references, ARNs and addresses, which are not judged by entropy.
_TOKEN = re.compile(r"^[A-Za-z0-9+/=_\-!#$%&*?~^]+$")
# Known non-secrets of high entropy: AWS resource ids, digests, UUIDs, SSM and file paths.
_KNOWN_NOT_SECRET = re.compile(
    r"^(?:(?:ami|vpc|subnet|sg|igw|nat|rtb|eni|i|vol|snap|lt|eipalloc|acl|pcx|tgw|vpce|"
    r"fs|db|cluster|key)-[0-9a-f]{8,32}"
    r"|(?:sha(?:1|256|384|512)|md5)[:=-]?[0-9a-f]{32,128}"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|/.*)$"
)


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s own character distribution."""
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def high_entropy(token: str) -> bool:
    """A long random-looking token: near-maximal entropy, in short runs of one class.

    Hex-only strings (hashes, commit ids, resource ids) are not judged: they cannot reach
    the threshold with 16 symbols, and those that are secrets carry a secret name.
    """
    if len(token) < MIN_ENTROPY_LENGTH or not _TOKEN.match(token):
        return False
    if _KNOWN_NOT_SECRET.match(token) or re.fullmatch(r"[0-9a-fA-F]+", token):
        return False
    runs = words(token)
    if not runs or sum(map(len, runs)) / len(runs) > MAX_MEAN_RUN:
        return False
    threshold = min(ENTROPY_RATIO * math.log2(len(token)), ENTROPY_CAP)
    return shannon_entropy(token) >= threshold


def is_reference(value: str) -> bool:
    """The whole value is an ARN, a dynamic reference or ``${...}`` templates: it points
    at a secret. A value that merely starts like one is judged like any other."""
    return bool(_REFERENCE.fullmatch(value.strip()))


def _url_password(value: str) -> str | None:
    for m in _URL_CREDENTIALS.finditer(value):
        pw = m["pw"]
        if _PORT_AND_PATH.fullmatch(pw):
            continue
        if not re.fullmatch(r"(\$\{[^}]+\})+|\{\{resolve:[^}]+\}\}", pw):
            return pw
    return None


def ends_command(previous: list[Any]) -> bool:
    """The argument before this one ended a shell command (``;``, ``&&``, ``|``, ``x;``)."""
    return bool(previous) and isinstance(previous[0], str) and previous[0].endswith((";", "&", "|"))


def _tokens(value: str) -> list[str]:
    """A value read as a shell line (quotes honoured); word by word when it is not one."""
    if "=" not in value and "-" not in value:
        return value.split()  # no flag, no assignment: words are enough (shlex is slow)
    try:
        return shlex.split(value)
    except ValueError:  # unbalanced quotes
        return [word.strip("\"'") for word in value.split()]


def _token_secret(tokens: list[str]) -> tuple[str, str] | None:
    """``NAME=x`` or ``--flag=x``, ``--flag x``, and a MySQL client's ``-px``."""
    mysql = False  # inside a MySQL client's arguments (after its name, before ; && || |)
    for i, token in enumerate(tokens):
        mysql = bool(_MYSQL.fullmatch(token)) or (mysql and not ends_command(tokens[i - 1:i]))
        m = _ASSIGNED.fullmatch(token)
        if m and secret_name(m["flag"]) and m["value"] and not is_reference(m["value"]):
            return f"a secret in '{m['flag']}='", m["value"]
        flag = _FLAG.match(token)
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if (flag and secret_name(flag["name"]) and following and not following.startswith("-")
                and not is_reference(following)):
            return f"the value of '{token}'", following
        glued = _GLUED_P.fullmatch(token)
        if mysql and glued:
            return "a MySQL client's -p<password>", glued["pw"]
    return None


@functools.lru_cache(maxsize=4096)
def secret_value(value: str) -> tuple[str, str] | None:
    """Why ``value`` itself looks secret, and the secret part of it; None when it does not."""
    if not value or is_reference(value):
        return None
    if _PRIVATE_KEY.search(value):
        return "a private key", value
    pw = _url_password(value)
    if pw is not None:
        return "credentials in a URL", pw
    for m in _QUERY.finditer(value):
        if secret_name(m["name"]) and m["value"] and not is_reference(m["value"]):
            return f"a secret in the query's '{m['name']}='", m["value"]
    tokens = _tokens(value)
    found = _token_secret(tokens)
    if found:
        return found
    for token in tokens:
        token = token.strip("\"'")
        if _HEX_KEY.fullmatch(token):
            return "a hex key (256 bits or more)", token
        if high_entropy(token):
            return "a high-entropy string", token
    return None


# --- trees (params, templates, property values) -----------------------------------------


class SecretHit(msgspec.Struct, frozen=True):
    """One secret found: where, under which name, why, and its text (for masking only)."""

    path: Path
    name: str  # the key, variable or flag that holds it
    reason: str
    value: str

    def __repr__(self) -> str:  # never print the secret itself
        return f"SecretHit(path={self.path!r}, name={self.name!r}, reason={self.reason!r})"


def where(path: Path) -> str:
    """A path as the error names it: ``ecs.container.environment[0].Value``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)


def _named(path: Path, name: str, value: Any) -> Iterator[SecretHit]:
    """A value held under ``name``: secret by its name, else by its own look."""
    text = _scalar(value)
    if text is None:
        yield from scan(value, path)
    elif secret_name(name) and text.strip() and not is_reference(text):
        yield SecretHit(path, name, f"the name '{name}' says it is secret", text)
    elif isinstance(value, str):
        found = secret_value(value)
        if found:
            yield SecretHit(path, name, found[0], found[1])


def scan_args(args: list[Any], path: Path) -> Iterator[SecretHit]:
    """A command list: ``--password=x``, or ``--password`` followed by ``x``, or a MySQL
    client's ``-px``; each argument is judged as a value too (``sh -c "..."``)."""
    mysql = False
    for i, arg in enumerate(args):
        if isinstance(arg, str):
            mysql = bool(_MYSQL.fullmatch(arg)) or (mysql and not ends_command(args[i - 1:i]))
        glued = _GLUED_P.fullmatch(arg) if mysql and isinstance(arg, str) else None
        if glued:
            yield SecretHit((*path, i), arg[:2], "a MySQL client's -p<password>", glued["pw"])
            continue
        if not isinstance(arg, str):
            yield from scan(arg, (*path, i))
            continue
        flag = _FLAG.match(arg)
        following = args[i + 1] if i + 1 < len(args) else None
        if (flag and secret_name(flag["name"]) and isinstance(following, str)
                and following and not following.startswith("-") and not is_reference(following)):
            yield SecretHit((*path, i + 1), arg, f"the value of '{arg}'", following)
            continue
        if i and isinstance(args[i - 1], str) and _FLAG.match(args[i - 1]) \
                and secret_name(_FLAG.match(args[i - 1])["name"]):  # type: ignore[index]
            continue  # reported with its flag above
        found = secret_value(arg)
        if found:
            yield SecretHit((*path, i), str(path[-1]) if path else "", found[0], found[1])


def scan(tree: Any, path: Path = ()) -> Iterator[SecretHit]:
    """Every secret in a nested structure of dicts, lists and scalars.

    ``{Name: X, Value: v}`` and ``{Key: X, Value: v}`` pairs (ECS environment, tags) are
    judged by X; a list of strings is judged as a command line.
    """
    if isinstance(tree, dict):
        pair_name = tree.get("Name", tree.get("Key"))
        for key, value in tree.items():
            sub = (*path, key)
            if key == "Value" and isinstance(pair_name, str):
                yield from _named(sub, pair_name, value)
            else:
                yield from _named(sub, str(key), value)
    elif isinstance(tree, list):
        yield from scan_args(tree, path)
    elif isinstance(tree, str):
        found = secret_value(tree)
        if found:
            yield SecretHit(path, str(path[-1]) if path else "", found[0], found[1])


def mask_text(text: str, known: set[str]) -> str:
    """``text`` with every whole occurrence of each secret (and its JSON-escaped form) masked."""
    for secret in sorted(known, key=len, reverse=True):
        if len(secret) < 2:
            continue  # a single character hides nothing and would shred the text
        escaped = secret.encode("unicode_escape").decode().replace('"', '\\"')
        for form in {secret, escaped}:
            # Not inside a longer word: a secret "abc" leaves "abcd" alone.
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", MASK, text)
    return text


def mask_tree(tree: Any, secrets: set[str] = frozenset()) -> Any:  # type: ignore[assignment]
    """A copy of ``tree`` with secret values, and any string containing a known secret, masked."""
    known = set(secrets) | {hit.value for hit in scan(tree)}
    return _mask(tree, known)


def _mask(tree: Any, known: set[str]) -> Any:
    if isinstance(tree, dict):
        return {k: _mask(v, known) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_mask(v, known) for v in tree]
    if isinstance(tree, str):
        return mask_text(tree, known)
    if _scalar(tree) is not None and str(tree) in known:
        return MASK
    return tree


def refuse_in_command(args: Sequence[str], where: str) -> None:
    """``run-task -- CMD``: a secret among the arguments is refused like one in params
    (the overrides are kept in the task's description and CloudTrail, readable by anyone
    who may describe tasks), before any AWS call and without repeating it."""
    from generator.errors import UsageError

    for hit in scan_args(list(args), ("command",)):
        index = hit.path[-1] if isinstance(hit.path[-1], int) else 0
        raise UsageError(
            f"{where}: argument {index + 1} of the command holds a secret value ({hit.reason}); "
            "never pass secrets on the command line: store it in Secrets Manager or SSM, "
            "reference it under the workload's secrets and read that variable in the command")
