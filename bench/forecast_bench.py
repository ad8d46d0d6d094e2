"""`stackgen forecast` per env: offline (placement, ordering) and online against the local
endpoint (every account check, fresh clients and memo per run, as one command makes them).

Prints the median of RUNS runs, the API calls of one run and whether any call repeated
(issue 12: the whole forecast of one env under 1.5 s on the local endpoint, each AWS
call at most once per run). The endpoint is seeded like `stackgen local up` (the local
env's zone), so the other envs' zones are missing there, as in an account without them.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import boto3

from generator.forecast.account import FORECAST_CONFIG, Account
from generator.forecast.runner import Forecast, forecast
from generator.local.manager import LocalEndpoint, free_port
from generator.local.seed import seed
from generator.params import load_env
from generator.render import Rendered, render

ROOT = Path(__file__).resolve().parent.parent
ENVS = ("local", "dev", "prod", "fargate")
RUNS = 5


def _account(url: str, region: str) -> Account:
    session = boto3.session.Session(region_name=region, aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
    return Account(lambda s: session.client(s, endpoint_url=url, config=FORECAST_CONFIG),
                   "123456789012")


def _timed(rendered: Rendered, url: str | None) -> tuple[float, Forecast, Account | None]:
    start = time.perf_counter()
    account = _account(url, rendered.env.config.region) if url else None
    result = forecast(rendered, account)
    return time.perf_counter() - start, result, account


def main() -> None:
    rendered = {env: render(load_env(ROOT / "params", env, ()), ROOT / "templates")
                for env in ENVS}
    with tempfile.TemporaryDirectory() as tmp:
        manager = LocalEndpoint(Path(tmp))
        endpoint, _ = manager.up(port=free_port())
        try:
            # What `stackgen local up` seeds: the hosted zone the local env looks up.
            seed(boto3.session.Session(region_name="us-east-1", aws_access_key_id="testing",
                                       aws_secret_access_key="testing"),
                 endpoint.url, rendered["local"].env.config)
            print(f"{'env':<8} {'offline':>9} {'online':>9} {'API calls':>10} {'repeats':>8} "
                  "findings (online)")
            for env, r in rendered.items():
                offline = statistics.median(_timed(r, None)[0] for _ in range(RUNS))
                runs = [_timed(r, endpoint.url) for _ in range(RUNS)]
                online = statistics.median(t for t, _, _ in runs)
                _, result, account = runs[-1]
                assert account is not None
                repeats = len(account.calls) - account.distinct_calls
                found = ", ".join(f"{f.check_id} {f.severity}" for f in result.findings) or "-"
                print(f"{env:<8} {offline * 1000:>7.0f}ms {online * 1000:>7.0f}ms "
                      f"{result.api_calls:>10} {repeats:>8} {found}")
        finally:
            manager.down()


if __name__ == "__main__":
    main()
