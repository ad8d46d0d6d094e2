"""generator/local/compat/acm_keys.py's SpareKey: the key a certificate is issued with is
the one made ahead, each key is handed out once, and a take that finds none makes its own
(the endpoint half, keys through ACM, is tests/local/test_compat.py)."""

from __future__ import annotations

import itertools
import threading

from generator.local.compat.acm_keys import SpareKey


def _spares_done() -> None:
    for thread in threading.enumerate():
        if thread.name == "acm-spare-key":
            thread.join(10)


def test_a_take_hands_out_the_key_made_ahead_once_and_starts_the_next() -> None:
    numbers = itertools.count(1)
    made_in: list[str] = []

    def make() -> int:
        made_in.append(threading.current_thread().name)
        return next(numbers)

    spare = SpareKey(make)
    spare.make_ahead()
    spare.make_ahead()  # one waits (or is being made) already: not a second
    _spares_done()
    assert made_in == ["acm-spare-key"]
    assert spare.take() == 1  # the one made ahead, not one made now
    _spares_done()
    assert spare.take() == 2  # the next, made after the first was taken
    _spares_done()
    assert made_in == ["acm-spare-key"] * 3  # and the third waits


def test_a_take_that_finds_none_makes_its_key_itself() -> None:
    made_in: list[str] = []

    def make() -> str:
        made_in.append(threading.current_thread().name)
        return f"key {len(made_in)}"

    spare = SpareKey(make)
    first = spare.take()  # nothing made ahead yet: made here
    assert made_in[0] == threading.current_thread().name
    _spares_done()
    assert spare.take() != first and len(set(made_in[1:])) == 1
    _spares_done()


def test_a_failed_make_leaves_no_spare_and_the_next_take_makes_one() -> None:
    calls = itertools.count()

    def make() -> int:
        n = next(calls)
        if n == 0:
            raise OSError("no entropy today")
        return n

    spare = SpareKey(make)
    spare.make_ahead()  # fails in its thread
    _spares_done()
    assert spare.take() == 1  # made by the take itself
    _spares_done()
