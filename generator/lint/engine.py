"""Run cfn-lint and our policy rules in one process, with a content-hash cache.

cfn-lint is imported only when some template is not in the cache, so a fully
cached run costs little more than a render.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import msgspec

from generator.atomic import replace_atomically

RULES_DIR = Path(__file__).parent / "rules"
PROD_LIKE = "prod_like"  # the option of the prod-like rules (rules/_common.py)
SEVERITIES = ("error", "warning", "info")
_SEVERITY_OF = {"E": "error", "W": "warning", "I": "info"}


class Target(msgspec.Struct, frozen=True):
    """One rendered template and the parameter values it will deploy with."""

    env: str
    stack: str
    file: Path
    text: str
    values: dict[str, Any]
    region: str
    source: Path | None = None  # the .j2 it was rendered from
    prod_like: bool = False  # termination_protection: the prod-like rules apply


class Finding(msgspec.Struct, frozen=True):
    env: str
    stack: str
    rule_id: str
    severity: str
    message: str
    file: str
    line: int
    column: int
    resource: str | None = None
    source_file: str | None = None
    source_line: int | None = None
    suppressed: str | None = None  # the written reason, when switched off
    rule_title: str = ""
    rule_url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


def cfnlint_version_source() -> bytes:
    """cfn-lint's version module as written (its ``__version__``), read without importing
    cfn-lint or importlib.metadata: a lint answered from the cache needs neither, and
    importing them cost a warm lint ~40 ms of its start-up."""
    spec = find_spec("cfnlint")
    for folder in list(spec.submodule_search_locations or []) if spec else []:
        try:
            return (Path(folder) / "version.py").read_bytes()
        except OSError:
            continue
    from importlib.metadata import version  # another layout: ask the installed metadata

    return version("cfn-lint").encode()


def rules_fingerprint() -> str:
    """Changes whenever cfn-lint or any of our rules changes, invalidating the cache."""
    digest = hashlib.sha256(cfnlint_version_source())
    # E9101 judges secrets with generator/secrets.py, and the rules read templates with
    # generator/cfndoc.py: a change in either is a rule change.
    shared = [RULES_DIR.parent.parent / name for name in ("secrets.py", "cfndoc.py")]
    for path in [*sorted(RULES_DIR.glob("*.py")), *shared]:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def cache_key(target: Target, fingerprint: str) -> str:
    payload = json.dumps([target.text, target.values, target.region, fingerprint]
                         + ([PROD_LIKE] if target.prod_like else []), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


# --- the cache's entries: written atomically, verified before use --------------------
#
# An entry is {"key": <its cache key>, "findings": [...], "sha256": <hash of both>}. One
# that does not parse, names another key or whose hash does not match its content (a
# crash mid-write, a disk error, `[]` written over it) is ignored and the template
# linted again: a cache may make lint faster, never hide a finding or raise.


def _entry_digest(key: str, rows: Any) -> str:
    body = json.dumps([key, rows], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def read_cache_entry(path: Path, key: str) -> list[dict[str, Any]] | None:
    """The findings an entry holds, or None when it is missing or does not verify."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):  # missing, unreadable, not JSON (UnicodeDecodeError too)
        return None
    if not isinstance(doc, dict) or doc.get("key") != key:
        return None
    rows = doc.get("findings")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return None
    if doc.get("sha256") != _entry_digest(key, rows):
        return None
    return rows


def write_cache_entry(path: Path, key: str, rows: list[dict[str, Any]]) -> None:
    """Write an entry whole or not at all (a temporary file renamed over it); a cache
    that cannot be written is skipped."""
    doc = {"key": key, "findings": rows, "sha256": _entry_digest(key, rows)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, json.dumps(doc).encode())
    except OSError:
        pass


def _suppressions(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    """resource -> {rule id: reason} from ``Metadata.stackgen.suppress``."""
    out = {}
    for name, res in (template.get("Resources") or {}).items():
        meta = (res.get("Metadata") or {}).get("stackgen") or {} if isinstance(res, dict) else {}
        if isinstance(meta.get("suppress"), dict):
            out[name] = {str(k): str(v or "") for k, v in meta["suppress"].items()}
    return out


def _source_line(source: Path | None, resource: str | None) -> int | None:
    """The .j2 line that writes ``resource``: its key, or the partial call naming it."""
    if source is None or resource is None or not source.is_file():
        return None
    pattern = re.compile(rf"^\s*{re.escape(resource)}:|[\"']{re.escape(resource)}[\"']")
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        if pattern.search(line):
            return number
    return None


# cfn-lint's rules and ours, loaded once per process and rules' fingerprint: loading costs
# ~0.5 s of CPU, a deploy of several envs makes a Linter per env, and one Linter already
# runs the same loaded rules over every target (each run configures them afresh).
LOADED_RULES: dict[str, Any] = {}

# The linter that forked workers inherit: set in the parent just before the pool
# forks, so loaded rules are shared copy-on-write instead of loaded again per worker.
_FORKED: Linter | None = None


def _lint_in_worker(target: Target) -> list[Finding]:
    assert _FORKED is not None
    return list(_FORKED._run_cfn_lint(target))


class Linter:
    def __init__(self, cache_dir: Path | None = None, jobs: int | None = None,
                 read_cache: bool = True) -> None:
        """``read_cache`` False (`lint --no-cache`): every template linted, none of the
        cache read, and each entry written afresh, so a damaged cache is rebuilt."""
        self.cache_dir = cache_dir
        self.read_cache = read_cache
        self.jobs = jobs or os.cpu_count() or 1
        self.fingerprint = rules_fingerprint()
        self._rules: Any = None
        self.cache_hits = 0
        self.cache_misses = 0

    def lint(self, targets: Sequence[Target]) -> list[Finding]:
        found: dict[int, list[Finding]] = {}
        missing = []
        for i, target in enumerate(targets):
            cached = self._from_cache(target)
            if cached is None:
                missing.append(i)
            else:
                found[i] = cached
        self.cache_hits += len(found)
        self.cache_misses += len(missing)
        for i, result in zip(missing, self._run_many([targets[i] for i in missing]), strict=True):
            found[i] = result
            self._to_cache(targets[i], result)
        return [f for i in range(len(targets)) for f in found[i]]

    def _run_many(self, targets: list[Target]) -> list[list[Finding]]:
        if not targets:
            return []
        self._load_rules()
        import multiprocessing  # only a lint that runs cfn-lint forks workers
        from concurrent.futures import ProcessPoolExecutor

        workers = min(self.jobs, len(targets))
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return [list(self._run_cfn_lint(t)) for t in targets]
        global _FORKED
        _FORKED = self
        try:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                return list(pool.map(_lint_in_worker, targets))
        finally:
            _FORKED = None

    def _cache_file(self, target: Target) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{cache_key(target, self.fingerprint)}.json"

    def _from_cache(self, target: Target) -> list[Finding] | None:
        path = self._cache_file(target)
        if path is None or not self.read_cache:
            return None
        rows = read_cache_entry(path, cache_key(target, self.fingerprint))
        if rows is None:
            return None
        try:
            # The file path is not part of the key: the same text may live elsewhere.
            return [Finding(**{**r, "file": str(target.file)}) for r in rows]
        except TypeError:  # rows of another shape: lint again
            return None

    def _to_cache(self, target: Target, findings: list[Finding]) -> None:
        path = self._cache_file(target)
        if path is not None:
            write_cache_entry(path, cache_key(target, self.fingerprint),
                              [f.to_dict() for f in findings])

    def _load_rules(self) -> Any:
        if self._rules is None:
            if self.fingerprint not in LOADED_RULES:
                from cfnlint.config import _DEFAULT_RULESDIR
                from cfnlint.rules import Rules

                rules = Rules.create_from_directory(_DEFAULT_RULESDIR)
                rules.update(Rules.create_from_directory(str(RULES_DIR)))
                LOADED_RULES[self.fingerprint] = rules
            self._rules = LOADED_RULES[self.fingerprint]
        return self._rules

    def _run_cfn_lint(self, target: Target) -> Iterable[Finding]:
        from cfnlint.config import ConfigMixIn
        from cfnlint.decode.decode import decode_str
        from cfnlint.runner.template.runner import run_template_by_data

        rules = self._load_rules()
        template, errors = decode_str(target.text)
        matches = list(errors or [])
        if template is not None and not errors:
            # Rules with a prod_like option (generator/lint/rules/_common.py) learn the env's.
            configure = {rule_id: {PROD_LIKE: True} for rule_id, rule in rules.data.items()
                         if PROD_LIKE in rule.config_definition} if target.prod_like else {}
            config = ConfigMixIn([], regions=[target.region], parameters=[target.values],
                                 configure_rules=configure)
            matches = list(run_template_by_data(template, config, rules))
        # cfn-lint has parsed the template already; read the suppressions off that.
        suppress = _suppressions(template) if template is not None else {}
        spans = _resource_spans(template) if template is not None else []
        for m in matches:
            resource = _resource_of(m, spans)
            rule_id = str(m.rule.id)
            reason = suppress.get(resource or "", {}).get(rule_id) or None
            yield Finding(
                env=target.env,
                stack=target.stack,
                rule_id=rule_id,
                severity=_SEVERITY_OF.get(rule_id[:1], "error"),
                message=str(m.message),
                file=str(target.file),
                line=int(m.linenumber),
                column=int(m.columnnumber),
                resource=resource,
                source_file=str(target.source) if target.source else None,
                source_line=_source_line(target.source, resource),
                suppressed=reason,
                rule_title=str(m.rule.shortdesc),
                rule_url=str(getattr(m.rule, "source_url", "") or ""),
            )


def _resource_spans(template: Any) -> list[tuple[int, int, str]]:
    spans = []
    for name, res in (template.get("Resources") or {}).items():
        start, end = getattr(res, "start_mark", None), getattr(res, "end_mark", None)
        if start is not None and end is not None:
            spans.append((start.line + 1, end.line + 1, str(name)))
    return spans


def _resource_of(match: Any, spans: list[tuple[int, int, str]]) -> str | None:
    path = getattr(match, "path", None)
    if path and len(path) > 1 and path[0] == "Resources":
        return str(path[1])
    line = int(match.linenumber)
    # The key line sits one above the mapping's first line.
    for start, end, name in spans:
        if start - 1 <= line <= end:
            return name
    return None


def failing(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    """Unsuppressed findings at or above the ``fail_on`` severity."""
    limit = SEVERITIES.index(fail_on)
    return [f for f in findings if not f.suppressed and SEVERITIES.index(f.severity) <= limit]
