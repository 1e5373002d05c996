"""The load generator, run in its own process: ``python -m tests.benchmarks.load < spec.json``.

N keep-alive connections (one httpx client with a pool of N; N tasks, each with at
most one request in flight) cycle through a fixed list of requests, each task
starting at its own offset. Requests that complete during the warm-up are not
counted; the measured window is the ``duration`` after it. A response is an error
unless it is HTTP 200 and its body starts with the expected prefix (so a GraphQL
``errors`` entry, which the hub writes first, or a null customer count as errors).

The spec (JSON on stdin): base_url, requests [{method, path, body}], headers,
connections, warmup, duration, expect. The result (JSON on stdout): requests,
rps, p50_ms, p99_ms, mean_ms, errors, error_samples, completed_total (warm-up
included), bytes_mean and client_cpu (CPU seconds of this process / wall seconds
of the window, to see whether the client itself was the bottleneck).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    requests = [
        (r["method"], r["path"], r["body"].encode() if r.get("body") is not None else None)
        for r in spec["requests"]
    ]
    headers = spec.get("headers") or {}
    connections = int(spec["connections"])
    warmup, duration = float(spec["warmup"]), float(spec["duration"])
    expect = spec["expect"].encode()

    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    completed = 0
    size_total = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(
        base_url=spec["base_url"], headers=headers, limits=limits, timeout=timeout
    ) as client:
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + duration
        cpu_at_window: list[float] = []

        async def worker(offset: int) -> None:
            nonlocal errors, completed, size_total
            i = offset
            n = len(requests)
            while True:
                method, path, body = requests[i % n]
                i += 1
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                try:
                    response = await client.request(method, path, content=body)
                    content = response.content
                    ok = response.status_code == 200 and content.startswith(expect)
                    problem = "" if ok else f"{response.status_code} {content[:200]!r}"
                except httpx.HTTPError as error:
                    ok, content, problem = False, b"", f"{type(error).__name__}: {error}"
                done = time.perf_counter()
                completed += 1
                if measure_from <= done <= stop_at:
                    if not cpu_at_window:
                        cpu_at_window.append(time.process_time())
                    latencies.append(done - sent)
                    size_total += len(content)
                    if not ok:
                        errors += 1
                        if len(samples) < 5:
                            samples.append(problem)
                elif not ok and len(samples) < 5:
                    errors += 1  # errors during warm-up count too: the result must be clean
                    samples.append(problem)

        stride = max(1, len(requests) // connections)
        await asyncio.gather(*(worker(k * stride) for k in range(connections)))
        cpu_end = time.process_time()

    latencies.sort()
    n = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    window_cpu = cpu_end - cpu_at_window[0] if cpu_at_window else float("nan")
    return {
        "requests": n,
        "rps": n / duration,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": (sum(latencies) / n * 1000) if n else float("nan"),
        "errors": errors,
        "error_samples": samples,
        "completed_total": completed,
        "bytes_mean": size_total / n if n else 0,
        "client_cpu": window_cpu / duration,
    }


def main() -> None:
    spec = json.load(sys.stdin)
    try:
        import uvloop  # as uvicorn uses it: the client should not be the bottleneck
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
