"""Entry point of the local endpoint's own process: moto's server plus our fixes.

Run by ``generator.local.manager``; binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="stackgen local AWS endpoint (moto)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    from moto import server

    from generator.local import compat

    compat.apply()
    server.main(["--host", "127.0.0.1", "--port", str(args.port)])


if __name__ == "__main__":
    main()
