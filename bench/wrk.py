"""Load with wrk (https://github.com/wg/wrk), for the benchmarks that measure a running server.

`available()` finds wrk, installing Debian's package when it is missing and this process is root
(else it says why not and the caller skips its load runs); `run()` sends one URL's requests for a
fixed time over a number of connections, with headers set by a Lua script (wrk's own way: a
bearer token never shows in the process list), and returns what wrk printed with `--latency`:
requests per second, the latency percentiles, errors and responses that were not 2xx/3xx."""

import asyncio
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "wrk"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in (\d+(?:\.\d+)?)(us|ms|s|m|h)", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+(\d+(?:\.\d+)?)", re.MULTILINE)
_SOCKET = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)", re.MULTILINE)


def available() -> str | None:
    """The path of wrk; installed with apt-get when missing and running as root. None, with a
    message printed, when it cannot be had."""
    found = shutil.which(PACKAGE)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            "wrk is not installed and this is not a root Debian shell: "
            "`sudo apt-get install -y wrk` to measure under load; load runs skipped"
        )
        return None
    print("installing wrk (apt-get install -y wrk)…", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", PACKAGE]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            print(f"`{' '.join(command)}` failed; load runs skipped:\n{done.stderr[-1000:]}")
            return None
    return shutil.which(PACKAGE)


@dataclass(frozen=True)
class Result:
    """One wrk run: latencies in milliseconds."""

    requests: int
    seconds: float
    per_second: float
    p50: float
    p75: float
    p90: float
    p99: float
    errors: int  # connect, read, write errors and timeouts
    not_ok: int  # responses that were not 2xx or 3xx
    output: str


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse(output: str) -> Result:
    """What wrk printed with `--latency`."""
    cuts = {float(p): _ms(v, u) for p, v, u in _LATENCY.findall(output)}
    total, rate = _TOTAL.search(output), _RATE.search(output)
    if total is None or rate is None or not {50.0, 75.0, 90.0, 99.0} <= cuts.keys():
        raise ValueError(f"wrk printed no figures:\n{output[-2000:]}")
    sockets, not_ok = _SOCKET.search(output), _NON_2XX.search(output)
    return Result(
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        per_second=float(rate.group(1)),
        p50=cuts[50.0],
        p75=cuts[75.0],
        p90=cuts[90.0],
        p99=cuts[99.0],
        errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        not_ok=int(not_ok.group(1)) if not_ok else 0,
        output=output,
    )


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script(folder: Path, headers: dict[str, str], name: str = "headers") -> Path:
    """A Lua script for wrk that sets these headers on every request (in `folder`, readable by
    this user only: it may hold a token)."""
    path = folder / f"{name}.lua"
    lines = [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


async def run(
    wrk: str,
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 2,
    lua: Path | None = None,
    timeout_seconds: int = 10,
) -> Result:
    """`url` for `seconds` over `connections` connections from `threads` threads."""
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={timeout_seconds}s",
        "--latency",
    ]
    if lua is not None:
        command.append(f"--script={lua}")
    process = await asyncio.create_subprocess_exec(
        *command,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output.decode()[-2000:]}")
    return parse(output.decode())
