"""wrk, the load generator of the HTTP benchmarks: a C program that keeps many connections busy
from one thread, so the figures are the server's and not the client's (an httpx client in Python
spends about as much CPU per request as the server does).

`ensure()` finds wrk or installs Debian's package (as root); `Script` is a Lua script for one
kind of request, with a reporter appended that counts the statuses and prints the summary as
one JSON line; `measure()` runs it against a server and parses that line.
"""

import json
import os
import shutil
import statistics
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Appended to every script: statuses counted per thread, gathered and printed by done().
_REPORTER = r"""
local tequio_threads = {}
function setup(thread)
  thread:set("tequio_tid", #tequio_threads)
  table.insert(tequio_threads, thread)
end
tequio_statuses = {}
function response(status, headers, body)
  tequio_statuses[status] = (tequio_statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local counted, spare = {}, 0
  for _, thread in ipairs(tequio_threads) do
    for status, n in pairs(thread:get("tequio_statuses")) do
      counted[#counted + 1] = string.format('{"%d": %d}', status, n)
    end
    spare = spare + (thread:get("tequio_spare") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "statuses": [%s], ' ..
    '"spare": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, table.concat(counted, ", "), spare))
end
"""

# Each thread takes every n-th request of a file of requests (one JSON array per line: method,
# path, headers, body), so threads never send the same one; past the end it sends /healthz/live
# and counts those apart, so a run that ran out says so.
_FROM_FILE = r"""
local tequio_requests = {}
local tequio_next = 1
tequio_spare = 0
function init(args)
  local tid, threads = tequio_tid, tonumber(args[2]) or 1
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == tid then
      local method, path, auth, key, body = line:match("^(%S+)\t(%S+)\t(%S*)\t(%S*)\t(.*)$")
      local headers = {}
      if auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
      if key ~= "" then headers["Idempotency-Key"] = key end
      if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
      tequio_requests[#tequio_requests + 1] = wrk.format(method, path, headers, body)
    end
    n = n + 1
  end
  tequio_spare_request = wrk.format("GET", "/healthz/live")
end
function request()
  local r = tequio_requests[tequio_next]
  if r == nil then
    tequio_spare = tequio_spare + 1
    return tequio_spare_request
  end
  tequio_next = tequio_next + 1
  return r
end
"""


@dataclass(frozen=True)
class Line:
    """One request of a request file."""

    method: str
    path: str
    token: str = ""
    idempotency_key: str = ""
    body: str = ""

    def render(self) -> str:
        if "\t" in self.body or "\n" in self.body:
            raise ValueError("a request body in a request file is one line without tabs")
        return "\t".join((self.method, self.path, self.token, self.idempotency_key, self.body))


def write_requests(path: Path, lines: list[Line]) -> Path:
    path.write_text("".join(line.render() + "\n" for line in lines))
    return path


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: Counter[str] = field(default_factory=Counter)
    errors: dict[str, int] = field(default_factory=dict)
    spare: int = 0  # requests sent after a request file ran out (GET /healthz/live)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU per request, by meter

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def row(self, ceiling: float | None = None) -> str:
        ratio = f"{self.rate / ceiling:8.2f}" if ceiling else f"{'':>8}"
        cpu = "".join(f" {self.cpu_ms[name]:9.2f}" for name in self.cpu_ms)
        return (
            f"  {self.label:<30} {self.requests:>8,} {self.rate:9,.0f} {self.p50_ms:8.1f} "
            f"{self.p99_ms:8.1f} {ratio}{cpu}"
        )

    def outcome(self) -> str:
        """The answers by status, and what else went on: requests to spare, socket errors."""
        statuses = ", ".join(f"{s} × {n:,}" for s, n in sorted(self.statuses.items()))
        spare = f"; ran out of requests: {self.spare:,} spare" if self.spare else ""
        errors = f"; socket errors {self.errors}" if self.errors else ""
        return statuses + spare + errors


LIVE = "GET /healthz/live"
HEADER = f"  {'':<30} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x live':>8}"
Meters = dict[str, Callable[[], float]]  # name: CPU seconds used so far by something


def header(meters: Meters) -> str:
    """The table's header, with a column of CPU milliseconds per request for each meter."""
    return (
        HEADER
        + "".join(f" {name[:9]:>9}" for name in meters)
        + (f"\n  {'':<75}" + "".join(f" {'CPU ms':>9}" for _ in meters) if meters else "")
    )


def ensure() -> str | None:
    """The path of wrk; installed from Debian's package when missing and running as root. None
    (and a message saying what to do) when it cannot be had."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            "wrk is not installed: `sudo apt-get install -y wrk` (Debian's package) and run the "
            "benchmark again; the HTTP load benchmarks need it"
        )
        return None
    print("installing wrk (Debian's package) for the HTTP load benchmarks")
    for command in ("install", "update", "install"):  # an old package list: update, try again
        _apt_get(command)
        if shutil.which("wrk"):
            break
    found = shutil.which("wrk")
    if found is None:
        print("wrk could not be installed (apt-get install -y wrk failed)")
    return found


def _apt_get(command: str) -> None:
    arguments = ["apt-get", command, "-qq", *(["-y", "wrk"] if command == "install" else [])]
    subprocess.run(  # noqa: S603
        arguments,
        env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        check=False,
    )


def script(folder: Path, name: str, body: str) -> Path:
    """A Lua script `name`.lua in `folder`: `body` and the reporter."""
    path = folder / f"{name}.lua"
    path.write_text(body + _REPORTER)
    return path


def get_script(folder: Path, path: str) -> Path:
    """The same GET, over and over."""
    return script(folder, "get-" + path.strip("/").replace("/", "-"), f'wrk.path = "{path}"\n')


def file_script(folder: Path) -> Path:
    """Requests taken in order from a request file (see `write_requests`)."""
    return script(folder, "from-file", _FROM_FILE)


def measure(
    wrk: str,
    base: str,
    label: str,
    lua: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    args: tuple[str, ...] = (),
) -> Result:
    """Run wrk for `seconds` with `connections` kept busy, and read its report."""
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(lua),
        base,
        *args,  # the script's init(args) has them from args[1] (args[0] is the address)
    ]
    done = subprocess.run(  # noqa: S603  (wrk, found by `ensure`)
        command, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    reported = [line for line in done.stdout.splitlines() if line.startswith("WRK_RESULT ")]
    if done.returncode != 0 or not reported:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    summary = json.loads(reported[-1].removeprefix("WRK_RESULT "))
    statuses: Counter[str] = Counter()
    for entry in summary["statuses"]:
        statuses.update({str(k): int(v) for k, v in entry.items()})
    return Result(
        label=label,
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        statuses=statuses,
        errors={k: v for k, v in summary["errors"].items() if v},
        spare=summary["spare"],
    )


def beside_live(
    wrk: str,
    base: str,
    folder: Path,
    measured: list[tuple[str, Path, tuple[str, ...]]],
    *,
    connections: int,
    seconds: float,
    meters: Meters | None = None,
) -> tuple[list[Result], float]:
    """Each of `measured` (label, script, its arguments), with GET /healthz/live of the same
    server run before the first and after each: the results in order, and the live rate they
    are compared with (the mean of the live runs). `meters` say how much CPU something (the
    server, the database) used during each run, per request."""
    live_lua = get_script(folder, "/healthz/live")
    runs: list[tuple[str, Path, tuple[str, ...]]] = [(LIVE, live_lua, ())]
    for label, lua, args in measured:
        runs += [(label, lua, args), (LIVE, live_lua, ())]
    results = []
    for label, lua, args in runs:
        before = {name: meter() for name, meter in (meters or {}).items()}
        result = measure(wrk, base, label, lua, connections=connections, seconds=seconds, args=args)
        for name, meter in (meters or {}).items():
            used = meter() - before[name]
            result.cpu_ms[name] = used * 1000 / result.requests if result.requests else 0.0
        results.append(result)
    ceiling = statistics.mean(r.rate for r in results if r.label == LIVE)
    return results, ceiling
