"""Reward server and Ray backend against in-process scoring, on loopback, bounded in time.

Run: .venv/bin/python bench/serve.py [--quick] [--no-ray]

Prints, from one run on this machine:
- rows/s and p50/p99 request latency of ``rewardsmith serve`` (a subprocess on 127.0.0.1, run
  log on, as by default) for a cheap inline reward (exact_match) at batch sizes 1, 32 and 256
  with 16 and 64 concurrent clients, and at batch 1 with one client (idle-machine latency);
- rows/s of the same spec scored in-process by `Engine.score` at the same batch sizes, and the
  ratio server / in-process (target: >= 0.70 at batch 256; p99 at batch 1 < 10 ms);
- the Ray backend: ``ray.init`` time, and per-batch time of `RayEngine` against the local
  engine for batches of 256 rows (overhead per batch).

The load generator is a minimal keep-alive HTTP/1.1 client on asyncio streams, so that the
client's own cost (it shares the 2 cores with the server) stays small next to the server's.
Warm server, cold cache: the server and its workers are started and warmed up first, but every
row of every phase (warm-up included) has content of its own, so the engine's cache (keyed by
completion and reference) cannot answer; each line prints the cache hits of its timed phase,
read from the server's /metrics (and from the engine in-process), which must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time

import msgspec

from rewardsmith import Engine, load_spec

SPEC = "exact_match"


def _rows(count: int, salt: str) -> list[dict[str, str]]:
    return [
        {
            "id": f"{salt}-{i}",
            "completion": f"The answer is {i % 97} {salt}",
            "reference": f"the answer is {i % 89} {salt}",
        }
        for i in range(count)
    ]


def _request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _one_client(port: int, requests: list[bytes], latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if status != 200:
                raise RuntimeError(f"server answered {status}")
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


async def _load(
    port: int, batch: int, clients: int, requests_per_client: int, phase: str
) -> tuple[float, list[float]]:
    bodies = [
        [
            _request(
                "/v1/score",
                msgspec.json.encode(
                    {"samples": _rows(batch, f"{phase}c{c}r{r}b{batch}n{clients}")}
                ),
            )
            for r in range(requests_per_client)
        ]
        for c in range(clients)
    ]
    latencies: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(_one_client(port, bodies[c], latencies) for c in range(clients)))
    elapsed = time.perf_counter() - start
    return clients * requests_per_client * batch / elapsed, latencies


_calls = iter(range(1_000_000))


def _engine_cache_hits(engine: Engine) -> int:
    cache = getattr(engine, "cache", None)
    return int(getattr(cache, "hits", 0) or 0)


def _in_process(engine: Engine, batch: int, total_rows: int) -> tuple[float, int]:
    """Rows/s of `Engine.score` on fresh rows, and the cache hits of the timed phase."""
    spec = load_spec(SPEC)
    call = next(_calls)  # fresh rows every call: the engine's cache must not answer
    batches = [_rows(batch, f"local{call}i{i}b{batch}") for i in range(max(1, total_rows // batch))]
    engine.score(_rows(batch, f"localwarm{call}b{batch}"), spec)  # warm, on rows of its own
    hits = _engine_cache_hits(engine)
    start = time.perf_counter()
    for rows in batches:
        engine.score(rows, spec)
    rate = len(batches) * batch / (time.perf_counter() - start)
    return rate, _engine_cache_hits(engine) - hits


def _server_cache_hits(port: int) -> int:
    """``rewardsmith_cache_hits_total`` from the server's /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(r"^rewardsmith_cache_hits_total(?:\{[^}]*\})? (\S+)$", text, re.MULTILINE)
    return int(float(match.group(1))) if match else 0


def _start_server(log_dir: str, log: bool = True) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardsmith.cli",
            "serve",
            "--reward",
            SPEC,
            "--port",
            "0",
            "--workers",
            "1",
            "--log-dir",
            log_dir,
            "--max-queue-rows",
            "1000000",
            *([] if log else ["--no-log"]),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        if match:
            return proc, int(match.group(1))
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("server did not start")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_server(quick: bool) -> None:
    import tempfile

    scale = 0.3 if quick else 1.0
    plan = [  # (batch, clients, requests per client)
        (1, 1, int(2000 * scale)),
        (1, 16, int(300 * scale)),
        (1, 64, int(80 * scale)),
        (32, 16, int(40 * scale)),
        (32, 64, int(10 * scale)),
        (256, 16, int(8 * scale) or 2),
        (256, 64, int(3 * scale) or 1),
    ]
    header = (
        f"{'batch':>5} {'clients':>7} {'log':>4} {'requests':>8} {'rows/s':>10} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'in-proc rows/s':>14} {'ratio':>6} {'cache hits':>10}"
    )
    print(f"\nserver vs in-process, spec {SPEC!r} (inline), loopback, {os.cpu_count()} cores")
    print(
        "warm server and engine, cold cache: every timed row is new (cache hits: server + in-process)"
    )
    print(header)
    with Engine(1) as engine, tempfile.TemporaryDirectory() as log_dir:
        for log in (True, False):
            proc, port = _start_server(log_dir, log)
            try:
                # Warm up (20k rows, a first log flush) on rows no timed phase repeats.
                asyncio.run(_load(port, 256, 16, 5, f"warm{log}"))
                time.sleep(1.2)
                for batch, clients, per_client in plan if log else plan[-2:]:
                    # In-process right before each row: the machine's load drifts.
                    local, local_hits = _in_process(engine, batch, int(20_000 * scale))
                    hits = _server_cache_hits(port)
                    rate, latencies = asyncio.run(
                        _load(port, batch, clients, per_client, f"timed{log}")
                    )
                    hits = _server_cache_hits(port) - hits + local_hits
                    print(
                        f"{batch:>5} {clients:>7} {'on' if log else 'off':>4} {len(latencies):>8} "
                        f"{rate:>10,.0f} {1000 * statistics.median(latencies):>8.2f} "
                        f"{1000 * _pct(latencies, 0.99):>8.2f} {local:>14,.0f} {rate / local:>6.2f} "
                        f"{hits:>10}"
                    )
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)


def bench_ray(quick: bool) -> None:
    import ray

    from rewardsmith.integrations.ray import RayEngine

    spec = load_spec(SPEC)
    from rewardsmith.core.spec import resolve_terms
    from rewardsmith.engine.engine import prepare_rows

    terms = resolve_terms(spec)
    repeats = 5 if quick else 15
    batches = [prepare_rows(_rows(256, f"ray{i}")) for i in range(repeats + 1)]
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - start
    try:
        with Engine(1) as local:
            remote = RayEngine(actors=2)
            start = time.perf_counter()
            remote.score_prepared(*batches[0], spec, terms)  # starts the actors
            actors_s = time.perf_counter() - start
            local.score_prepared(*batches[0], spec, terms)
            local_times, ray_times = [], []
            for rows, ids in batches[1:]:
                t0 = time.perf_counter()
                local_batch = local.score_prepared(rows, ids, spec, terms)
                t1 = time.perf_counter()
                ray_batch = remote.score_prepared(rows, ids, spec, terms)
                t2 = time.perf_counter()
                assert [s.value for s in local_batch] == [s.value for s in ray_batch]
                local_times.append(t1 - t0)
                ray_times.append(t2 - t1)
            remote.close()  # its actors hold the CPUs Ray Data's actors need
            # Ray Data mode (offline files): one pipeline per call, 16,384 rows as the CLI uses.
            big = prepare_rows(_rows(4096 if quick else 16384, "raydata"))
            with RayEngine(actors=2, data=True) as data_engine:
                t0 = time.perf_counter()
                data_batch = data_engine.score_prepared(*big, spec, terms)
                data_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            local_batch = local.score_prepared(*big, spec, terms)
            local_big_s = time.perf_counter() - t0
            assert [s.value for s in data_batch] == [s.value for s in local_batch]
    finally:
        ray.shutdown()
    local_ms = 1000 * statistics.median(local_times)
    ray_ms = 1000 * statistics.median(ray_times)
    print(
        f"\nRay backend (ray.init(num_cpus=2), 2 actors), batches of 256 rows, median of {repeats}; "
        "actors started and warmed up first, cold caches: every batch has rows of its own"
    )
    print(
        f"{'ray.init s':>10} {'actors start s':>14} {'local ms/batch':>14} {'ray ms/batch':>12} {'overhead ms/batch':>17}"
    )
    print(
        f"{init_s:>10.2f} {actors_s:>14.2f} {local_ms:>14.2f} {ray_ms:>12.2f} {ray_ms - local_ms:>17.2f}"
    )
    print(
        f"Ray Data mode (--backend ray), one call of {len(big[0])} rows: {data_s:.2f} s "
        f"(local {local_big_s:.2f} s): {data_s - local_big_s:.2f} s per call"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray part")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} (1 min)")
    bench_server(args.quick)
    if not args.no_ray:
        bench_ray(args.quick)


if __name__ == "__main__":
    main()
