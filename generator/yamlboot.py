"""PyYAML's import without its one expensive line (issue 28).

``import yaml`` compiles ``yaml.reader.Reader.NON_PRINTABLE``, a negated character class
spanning all of Unicode: the regex compiler walks each of its ~63,000 BMP code points in
Python, ~13 ms, a third of a warm render's YAML cost and 7 % of the whole process. Our
YAML is read by libyaml (CSafeLoader), which never uses that pattern; PyYAML's own
reader would, so it must stay right. ``seed`` puts the same class, written as the short
list of characters it matches, into ``re``'s pattern cache under the original's key, so
the class body's ``re.compile`` finds it instead of compiling (tests/unit/test_yamlboot.py
holds the two equal on every code point). A Python whose ``re`` keeps no such cache, or
a process that imported yaml first, just compiles the original as before.
"""

from __future__ import annotations

import re
from typing import Any

# yaml/reader.py (PyYAML 6), verbatim: the characters YAML does not allow in a stream.
NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"
# The same set, as what it matches: C0 controls but tab, LF and CR; DEL to the C1
# controls but NEL; the surrogates; U+FFFE and U+FFFF.
NON_PRINTABLE_LISTED = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"


def seed(cache: Any = None) -> None:
    """Put the listed form into ``cache`` (``re``'s own by default) under the key
    ``re.compile(NON_PRINTABLE)`` looks up: (type, pattern, flags) in CPython 3.11-3.13."""
    cache = getattr(re, "_cache", None) if cache is None else cache
    if isinstance(cache, dict):
        cache.setdefault((str, NON_PRINTABLE, 0), re.compile(NON_PRINTABLE_LISTED))


seed()
