"""Helpers shared by the tests split from test_tiers.py."""

from __future__ import annotations

import socket


def _open_socket() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM):
        pass
