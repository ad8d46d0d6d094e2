"""generator/local/threadflag: on only while the wrapped call runs, in its own thread."""

from __future__ import annotations

import threading

import pytest

from generator.local.threadflag import ThreadFlag


def test_the_flag_is_on_during_the_call_only_and_only_in_its_thread() -> None:
    flag = ThreadFlag()
    seen: dict[str, bool] = {}

    def call() -> str:
        seen["inside"] = flag.on
        other = threading.Thread(target=lambda: seen.update(other=flag.on))
        other.start()
        other.join()
        return "done"

    assert flag.around(call)() == "done"
    assert seen == {"inside": True, "other": False}
    assert flag.on is False


def test_the_flag_goes_off_when_the_call_raises() -> None:
    flag = ThreadFlag()

    def fails() -> None:
        raise ValueError("moto failed")

    with pytest.raises(ValueError, match="moto failed"):
        flag.around(fails)()
    assert flag.on is False
