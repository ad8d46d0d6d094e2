"""Helpers shared by the tests split from test_params.py."""

from __future__ import annotations

# --- reading params files: bounded, merge keys, scalars as written ------------------

def _bomb(levels: int) -> str:
    """A "billion laughs" file: each level lists the one before nine times."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    lines.append(f"tags: {{x: *a{levels - 1}}}")
    return "\n".join(lines) + "\n"
