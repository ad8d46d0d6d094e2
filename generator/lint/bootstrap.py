"""Lint static templates that no env renders (``templates/bootstrap/``: the CI roles)
with what ``stackgen lint --strict`` applies to rendered ones: cfn-lint and stackgen's
rules, every warning failing.

    python -m generator.lint.bootstrap templates/bootstrap/ci-roles.yaml

Exit 0 when clean, 1 with findings, 2 when a file cannot be read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from generator.lint.engine import Finding, Linter, Target, failing
from generator.lint.formats import text

BOOTSTRAP = "bootstrap"


# Linted as deployed for an example env: cfn-lint checks the parameters' patterns and
# resolves the names built from them.
EXAMPLE_VALUES = {"Repository": "OWNER/REPO", "Project": "kubenews", "EnvName": "dev",
                  "CreateOidcProvider": "true"}


def targets(paths: Sequence[Path], region: str = "us-east-1") -> list[Target]:
    """One lint target per file, with the example values."""
    return [Target(BOOTSTRAP, p.stem, p, p.read_text(encoding="utf-8"), dict(EXAMPLE_VALUES),
                   region) for p in paths]


def lint(paths: Sequence[Path]) -> list[Finding]:
    """Every finding, the suppressed ones (with their written reason) included."""
    return Linter(cache_dir=None).lint(targets(paths))


def failures(found: Sequence[Finding]) -> list[Finding]:
    """What fails ``--strict``: warnings and errors, not suppressed."""
    return failing(found, "warning")


def main(argv: Sequence[str]) -> int:
    paths = [Path(a) for a in argv]
    unreadable = [p for p in paths if not p.is_file()]
    if not paths or unreadable:
        where = unreadable[0] if unreadable else "no template given"
        print(f"error: {where}: name the template files to lint "
              "(python -m generator.lint.bootstrap templates/bootstrap/ci-roles.yaml)",
              file=sys.stderr)
        return 2
    found = lint(paths)
    print(text(found, targets(paths), color=False))
    return 1 if failures(found) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
