"""MCP sessions at scale: `eigendsl serve --mcp --http` under many concurrent client sessions, checked and timed.

    python benchmarks/bench_mcp.py [--sessions 1000] [--concurrency 16] [--task cancel-within-a-day]

Starts the server in a subprocess on the airline domain bound to one task, then opens
`--sessions` sessions with the mcp SDK's own client, `--concurrency` at a time. Each session
makes a few calls: even-numbered ones play the task's gold actions and read the reward (must
be 1), odd-numbered ones read the reservation and the reward without writing (must be 0 and
see the reservation untouched), so any state leaking from one session into another shows as a
wrong reward or status. Prints one JSON line: sessions, errors, wrong answers, wall seconds,
sessions per second, per-session latency (median, p95), CPU milliseconds per session of the
server and of the client process, and the server's resident memory (from /proc) after the
warm-up and after every tenth of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
from mcp import Client  # noqa: E402

import eigendsl.api as eig  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_s(pid: int) -> float:
    """A process's CPU seconds so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def one_session(url: str, n: int, task, reservation: str) -> tuple[bool, float]:
    """True when the session saw exactly its own state."""
    started = time.perf_counter()
    async with Client(url) as client:
        if n % 2 == 0:
            for call in task.gold:
                if (await client.call_tool(call.name, dict(call.args))).is_error:
                    return False, time.perf_counter() - started
            reward = await client.call_tool("episode_reward", {"messages": list(task.communicate)})
            ok = json.loads(reward.content[0].text)["reward"] == 1.0
        else:
            details = await client.call_tool("get_reservation_details", {"reservation_id": reservation})
            reward = await client.call_tool("episode_reward", {})
            ok = json.loads(details.content[0].text)["status"] != "cancelled" and \
                json.loads(reward.content[0].text)["reward"] == 0.0
    return ok, time.perf_counter() - started


async def run(url: str, sessions: int, concurrency: int, task, reservation: str, pid: int) -> dict:
    latencies: list[float] = []
    wrong, errors, memory = 0, [], []
    limiter = anyio.Semaphore(concurrency)
    done = 0

    async def session(n: int):
        nonlocal wrong, done
        async with limiter:
            try:
                ok, seconds = await one_session(url, n, task, reservation)
                latencies.append(seconds)
                wrong += not ok
            except Exception as e:  # noqa: BLE001 - every failure is counted and shown
                errors.append(f"{type(e).__name__}: {e}"[:200])
            done += 1
            if done % max(1, sessions // 10) == 0:
                memory.append(rss_mb(pid))

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for n in range(sessions):
            group.start_soon(session, n)
    wall = time.perf_counter() - started
    latencies.sort()
    return {"sessions": sessions, "concurrency": concurrency, "errors": len(errors), "first_errors": errors[:3],
            "wrong": wrong, "wall_s": round(wall, 2), "sessions_per_s": round(sessions / wall, 1),
            "latency_ms": {"median": round(1000 * statistics.median(latencies), 1),
                           "p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1)},
            "rss_mb_by_tenth": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--task", default="cancel-within-a-day")
    args = parser.parse_args()
    target = ROOT / "compiled" / "airline"
    task = eig.load(target).task(args.task)
    reservation = next(c.args["reservation_id"] for c in task.gold if "reservation_id" in c.args)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "eigendsl.cli", "serve", str(target), "--mcp", "--task", args.task,
                               "--http", "--port", str(port)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/mcp"
        anyio.run(run, url, 32, args.concurrency, task, reservation, server.pid)  # warm-up
        warm, server_cpu, client_cpu = rss_mb(server.pid), cpu_s(server.pid), cpu_s(os.getpid())
        result = anyio.run(run, url, args.sessions, args.concurrency, task, reservation, server.pid)
        result["rss_mb_after_warmup"] = warm
        result["cpu_ms_per_session"] = {"server": round(1000 * (cpu_s(server.pid) - server_cpu) / args.sessions, 1),
                                        "client": round(1000 * (cpu_s(os.getpid()) - client_cpu) / args.sessions, 1)}
        result["load_avg"] = os.getloadavg()[0]
        print(json.dumps(result))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
