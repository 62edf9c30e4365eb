"""Load one URL for a few seconds and measure: wrk, or a small Python loader without it.

:func:`run_wrk` runs ``wrk`` (Debian's package) with a Lua ``done`` hook that prints the
figures as JSON. :func:`run_python` does the same with threads and ``http.client``, for
machines without wrk (the suite's smoke test): far slower as a client, so its figures are
only a check that the harness works, never a measurement.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

#: wrk's ``done`` hook: one JSON line with requests, errors and latency percentiles (µs).
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "non_2xx": %d, '
    .. '"timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %f}\\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean))
end
"""

REQUEST_TIMEOUT = 30  # seconds: slow pages (a scan of 10,000,000 rows) must still count


@dataclass(frozen=True)
class LoadResult:
    """The figures of one load run.

    Attributes:
        requests: completed requests.
        seconds: the run's length.
        errors: failed requests (connection errors, timeouts, non-2xx answers).
        p50_ms, p90_ms, p99_ms: latency percentiles, milliseconds.
    """

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    """Whether ``wrk`` is on the PATH."""
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, headers: Mapping[str, str], *, connections: int, seconds: float
) -> LoadResult:
    """Load ``url`` with wrk for ``seconds`` over ``connections`` connections (2 threads).

    Raises:
        RuntimeError: when wrk fails or prints no figures.
    """
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch, "done.lua")
        script.write_text(WRK_SCRIPT)
        command = [
            "wrk",
            f"--threads={min(2, connections)}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={REQUEST_TIMEOUT}s",
            f"--script={script}",
        ]
        for name, value in headers.items():
            command += ["--header", f"{name}: {value}"]
        result = subprocess.run(
            [*command, url], capture_output=True, text=True, check=False, timeout=seconds + 120
        )
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}{result.stderr}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        errors=figures["errors"],
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_python(
    url: str, headers: Mapping[str, str], *, connections: int, seconds: float
) -> LoadResult:
    """Load ``url`` with ``connections`` threads, each keeping one HTTP/1.1 connection.

    A stand-in for wrk where it is not installed; its own cost dominates fast pages.
    """
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        connection = HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
        mine: list[float] = []
        failed = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=dict(headers))
                response = connection.getresponse()
                response.read()
                if not 200 <= response.status < 300:
                    failed += 1
            except OSError:
                failed += 1
                connection.close()
                connection = HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
                continue
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        errors=errors[0],
        p50_ms=_percentile(latencies, 0.5) * 1000,
        p90_ms=_percentile(latencies, 0.9) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
    )
