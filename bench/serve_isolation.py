"""What isolating requests costs: per-request engine calls against coalesced micro-batches.

Run: .venv/bin/python bench/serve_isolation.py

The server scores a spec with a ``cpu`` term one request per engine call (so a hanging row
delays only its own request) unless told to coalesce (``ServeConfig.coalesce`` /
``rewardsmith serve --coalesce``). This measures both on the same `MicroBatcher` the server uses,
without HTTP, for per-sample callers (1 row per request, as OpenRLHF and slime send) with 1, 16
and 64 concurrent client threads, a cheap cpu reward (``regex``) in 2 workers and no cache, and
prints rows/s and the ratio per-request / coalesced measured in the same run, with the load
average (compare ratios only from runs on an idle machine).
"""

from __future__ import annotations

import os
import threading
import time

from rewardsmith import Engine, load_spec
from rewardsmith.engine.batcher import MicroBatcher
from rewardsmith.engine.engine import prepare_rows

SPEC = load_spec(
    {
        "name": "isolation-bench",
        "terms": [{"name": "fmt", "use": "regex", "params": {"pattern": "^[A-Z]"}}],
    }
)
ROWS_PER_SETTING = 640


def rows_per_second(engine: Engine, clients: int, *, coalesce: bool) -> float:
    """Rows/s of ``clients`` threads each submitting one-row requests, one after another."""
    batcher = MicroBatcher(engine, SPEC, coalesce=coalesce)
    per_client = max(10, ROWS_PER_SETTING // clients)
    requests = [
        prepare_rows([{"completion": f"W{client}x{index}", "n": index}])
        for client in range(clients)
        for index in range(per_client)
    ]
    batcher.submit(*prepare_rows([{"completion": "warm"}])).result(60)

    def client(number: int) -> None:
        for index in range(per_client):
            batcher.submit(*requests[number * per_client + index]).result(60)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    elapsed = time.perf_counter() - started
    batcher.close()
    return clients * per_client / elapsed


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print("clients  per-request rows/s  coalesced rows/s  ratio")
    with Engine(2, cache=False) as engine:
        engine.warm(SPEC)
        for clients in (1, 16, 64):
            isolated = rows_per_second(engine, clients, coalesce=False)
            coalesced = rows_per_second(engine, clients, coalesce=True)
            print(
                f"{clients:7d}  {isolated:19,.0f}  {coalesced:16,.0f}  {isolated / coalesced:5.2f}"
            )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
