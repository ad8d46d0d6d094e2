"""Issue 28: PyYAML's NON_PRINTABLE, compiled at its import (~13 ms of every render), is
found in re's cache in its listed form; the two must match the same characters."""

from __future__ import annotations

import re
import sys

import yaml

from generator import yamlboot


def test_the_listed_form_matches_exactly_what_pyyaml_forbids() -> None:
    original = re.compile(yamlboot.NON_PRINTABLE)
    listed = re.compile(yamlboot.NON_PRINTABLE_LISTED)
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert original.sub("", everything) == listed.sub("", everything)
    # C0 controls but tab, LF and CR (29); DEL and the C1 controls but NEL (32); the
    # surrogates (2048); U+FFFE and U+FFFF.
    assert len(everything) - len(listed.sub("", everything)) == 29 + 32 + 2048 + 2


def test_the_pattern_is_pyyamls_own_and_seeded_under_its_key() -> None:
    source = yaml.reader.Reader.NON_PRINTABLE.pattern
    assert source in (yamlboot.NON_PRINTABLE, yamlboot.NON_PRINTABLE_LISTED)
    cache: dict[object, object] = {}
    yamlboot.seed(cache)
    [(key, compiled)] = cache.items()
    assert key == (str, yamlboot.NON_PRINTABLE, 0)
    assert isinstance(compiled, re.Pattern) and compiled.pattern == yamlboot.NON_PRINTABLE_LISTED


def test_a_yaml_stream_with_a_control_character_is_still_refused() -> None:
    """PyYAML's own reader (the pure-Python loader) checks with the seeded pattern."""
    try:
        yaml.load("a: b\x07", Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:
        assert "#x0007" in str(exc)
    else:
        raise AssertionError("a BEL character was accepted")
