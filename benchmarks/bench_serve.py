"""Latency and throughput of ``propclf serve`` against the in-process Python API.

Starts the service on a free loopback port (once with 1 worker, once with ``--workers 2``), sends
a bounded number of requests (batches of 1, 64 and 512 short texts, at concurrency 1, 8 and 16)
from this process, and prints a Markdown table of throughput, p50/p99 latency and CPU time per
request, with the in-process ``Scorer.score_batch`` throughput on the same batches (the same
result records, in process) and the ratio, and ``model.score`` alone on the same texts (scores
only) and the ratio to that.

    python benchmarks/bench_serve.py                          # the embedded model
    python benchmarks/bench_serve.py --model path/to/model.joblib --requests 300

Everything stays on 127.0.0.1, every cell stops after ``--requests`` requests or ``--seconds``
seconds, whichever comes first, and the servers are stopped with SIGTERM at the end. Each cell
alternates ``--rounds`` slices of HTTP requests with slices of the in-process API on the same
batches (one process, one thread), slices of ``model.score`` on the same texts, so that all see
the same load on a shared machine, and with
slices of the service's own handling of the same bodies without HTTP (JSON in and out). The
client (a minimal asyncio HTTP/1.1 client, one keep-alive connection per concurrent user) runs
on the same machine and competes with the server for the cores, so figures are a floor; its CPU
time is printed to show how much it takes. Every response is checked (status, one result per
item; every 16th is parsed in full).
Targets: p99 <= 50 ms for a single short item at concurrency 8; batch throughput >= 70% of the
in-process API's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Short, generic lines written for this benchmark (news-style and slogan-style, nothing
# operational); batches cycle through them.
TEXTS = [
    "Officials said the group claimed responsibility for the attack on Monday.",
    "The ministry condemned the violence and promised an investigation.",
    "Analysts say the movement recruits young people through online forums.",
    "Police arrested three men suspected of planning to travel abroad.",
    "The court heard that the defendant shared videos in a private channel.",
    "A new report describes how the organisation finances its operations.",
    "Residents described the scene after the explosion near the market.",
    "The government announced new measures against online radicalisation.",
    "Join our ranks, brothers, the day of victory is near.",
    "Our fighters stand firm and the enemy will be defeated.",
    "Rise up and defend the faith, glory to those who answer the call.",
    "The traitors will pay, our flag will fly over their cities.",
    "Do not sit at home while your brothers carry the burden.",
    "Victory belongs to the patient, stand with the believers.",
    "The journalist interviewed former members about life in the group.",
    "Researchers compared the rhetoric of several extremist magazines.",
    "The spokesman said the ceasefire would hold until the end of the week.",
    "Security forces reopened the road after the checkpoint was cleared.",
    "Teachers were trained to recognise signs of radicalisation among pupils.",
    "The documentary follows families of foreign fighters who returned home.",
    "Take up the fight, the time for words is over.",
    "The enemies of the faith tremble before our lions.",
    "Every believer must support the cause with wealth and word.",
    "The platform removed thousands of accounts linked to the network.",
    "Witnesses said the convoy passed through the village before dawn.",
    "The United Nations called for humanitarian access to the region.",
    "Lawmakers debated a bill on the prosecution of returning fighters.",
    "Our martyrs light the path, follow them and do not fear.",
    "The statement, which could not be verified, was posted on Telegram.",
    "Experts warned that propaganda videos were being reshared on new sites.",
    "The brigade announced its allegiance in a message to its supporters.",
    "Stand together, the caliphate of tomorrow is built today.",
]


@dataclass
class Cell:
    workers: int
    batch: int
    concurrency: int
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    server_cpu: float = 0.0  # seconds, server process and its workers
    client_cpu: float = 0.0  # seconds, this process while it sent requests
    api_batches: int = 0
    api_seconds: float = 0.0
    api_cpu: float = 0.0
    raw_batches: int = 0  # model.score alone: no thresholds, no result records
    raw_seconds: float = 0.0
    json_batches: int = 0  # the service's own work on a body, in process, without HTTP
    json_seconds: float = 0.0

    @property
    def api(self) -> float:
        return self.api_batches * self.batch / self.api_seconds if self.api_seconds else 0.0

    @property
    def raw(self) -> float:
        return self.raw_batches * self.batch / self.raw_seconds if self.raw_seconds else 0.0

    @property
    def raw_ratio(self) -> float:
        return self.items_per_s / self.raw if self.raw else float("nan")

    @property
    def in_process_json(self) -> float:
        return self.json_batches * self.batch / self.json_seconds if self.json_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.items_per_s / self.api if self.api else float("nan")

    @property
    def items_per_s(self) -> float:
        return self.requests * self.batch / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        lat = sorted(self.latencies)
        if not lat:
            return float("nan")
        return lat[min(len(lat) - 1, round(q * (len(lat) - 1)))] * 1000.0


def batch_of(n: int, start: int) -> list[dict[str, str]]:
    return [{"id": str(start + k), "text": TEXTS[(start + k) % len(TEXTS)]} for k in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_server(model: Path, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "propclf.cli", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--model", str(model), "--workers", str(workers)]
    cmd += ["--no-access-log"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    # /readyz answers as soon as one worker is up: wait for every worker's startup line too
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}:\n{log.read_text()}")
        started = log.read_text().count("Application startup complete")
        if started >= workers and ready(f"http://127.0.0.1:{port}"):
            return proc, port
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"server not ready after 120 s:\n{log.read_text()}")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, (0, 0.0))[1]
        todo += [child for child, (parent, _) in stats.items() if parent == p]
    return total


def stop_server(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


class Connection:
    """A minimal keep-alive HTTP/1.1 client connection (far cheaper per request than httpx, so
    the load generator takes less of the cores it shares with the server)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode("ascii") + body)
        status_line, *lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        length = 0
        for line in lines:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def bodies_of(batch: int) -> list[bytes]:
    return [json.dumps({"items": batch_of(batch, i * batch)}).encode() for i in range(len(TEXTS))]


def check(status: int, answer: bytes, batch: int, full: bool) -> bool:
    """One result per item: counted cheaply (every result, and only results, has an "error"
    key), or parsed in full."""
    if status != 200:
        return False
    if full:
        return len(json.loads(answer)["results"]) == batch
    return answer.count(b'"error":') == batch


async def open_connections(port: int, bodies: list[bytes], concurrency: int) -> list[Connection]:
    conns = []
    for k in range(concurrency):
        # one at a time, each used before the next opens: opened in a burst, all connections
        # would wait in the listen queue and the first worker to wake would accept them all
        conns.append(await Connection.open(port))
        await conns[-1].post("/v1/score", bodies[k % len(bodies)])
    return conns


async def http_slice(
    cell: Cell,
    conns: list[Connection],
    bodies: list[bytes],
    server_pid: int,
    max_requests: int,
    max_seconds: float,
) -> None:
    """Requests from every connection until ``max_requests`` are sent or time is up."""
    sent = 0
    cpu0, client0 = tree_cpu(server_pid), time.process_time()
    start = time.perf_counter()
    deadline = start + max_seconds

    async def user(conn: Connection) -> None:
        nonlocal sent
        while sent < max_requests and time.perf_counter() < deadline:
            body = bodies[(cell.requests + sent) % len(bodies)]
            sent += 1
            t = time.perf_counter()
            status, answer = await conn.post("/v1/score", body)
            cell.latencies.append(time.perf_counter() - t)
            if not check(status, answer, cell.batch, full=len(cell.latencies) % 16 == 1):
                cell.failures += 1

    await asyncio.gather(*(user(c) for c in conns))
    cell.seconds += time.perf_counter() - start
    cell.client_cpu += time.process_time() - client0
    cell.server_cpu += tree_cpu(server_pid) - cpu0
    cell.requests += sent


def api_slice(
    cell: Cell, scorer: Any, batches: list[Any], max_batches: int, max_seconds: float
) -> None:
    """``Scorer.score_batch`` on the same batches, in this process and thread."""
    n = 0
    cpu0 = time.process_time()
    start = time.perf_counter()
    while n < max_batches and time.perf_counter() - start < max_seconds:
        scorer.score_batch(batches[(cell.api_batches + n) % len(batches)])
        n += 1
    cell.api_seconds += time.perf_counter() - start
    cell.api_cpu += time.process_time() - cpu0
    cell.api_batches += n


def raw_slice(
    cell: Cell, model: Any, texts: list[list[str]], max_batches: int, max_seconds: float
) -> None:
    """``model.score`` on the texts of the same batches: the model alone, the strictest baseline."""
    n = 0
    start = time.perf_counter()
    while n < max_batches and time.perf_counter() - start < max_seconds:
        model.score(texts[(cell.raw_batches + n) % len(texts)])
        n += 1
    cell.raw_seconds += time.perf_counter() - start
    cell.raw_batches += n


def json_slice(
    cell: Cell, score_body: Any, bodies: list[bytes], max_batches: int, max_seconds: float
) -> None:
    """What the service does with a request body (parse, validate, score, encode), in process:
    the difference to the HTTP figures is the cost of HTTP and the event loop."""
    n = 0
    start = time.perf_counter()
    while n < max_batches and time.perf_counter() - start < max_seconds:
        score_body(bodies[(cell.json_batches + n) % len(bodies)])
        n += 1
    cell.json_seconds += time.perf_counter() - start
    cell.json_batches += n


async def run_cell(
    port: int,
    server_pid: int,
    workers: int,
    batch: int,
    concurrency: int,
    scorer: Any,
    max_requests: int,
    max_seconds: float,
    rounds: int,
) -> Cell:
    """Alternate HTTP slices and in-process API slices (``rounds`` of each) on the same batches."""
    from propclf.inputs import Item

    cell = Cell(workers, batch, concurrency)
    bodies = bodies_of(batch)
    batches = [
        [Item(d["id"], text=d["text"]) for d in batch_of(batch, i * batch)]
        for i in range(len(TEXTS))
    ]
    texts = [[it.text or "" for it in b] for b in batches]
    from propclf import serve

    # the request handler's body work, as the service runs it (a private function: benchmark only)
    info = serve._model_info(scorer.model.manifest_)
    limits = serve._Limits(serve.DEFAULT_MAX_ITEMS, 1 << 30, serve.DEFAULT_MAX_TEXT_CHARS)

    def score_body(body: bytes) -> Any:
        return serve._score_body(scorer.model, info, limits, body)

    scorer.score_batch(batches[0])  # warm
    scorer.model.score(texts[0])
    score_body(bodies[0])
    conns = await open_connections(port, bodies, concurrency)
    per_round = max(1, max_requests // rounds)
    try:
        for _ in range(rounds):
            await http_slice(cell, conns, bodies, server_pid, per_round, max_seconds / rounds)
            api_slice(cell, scorer, batches, per_round, max_seconds / rounds)
            raw_slice(cell, scorer.model, texts, per_round, max_seconds / rounds)
            json_slice(cell, score_body, bodies, per_round, max_seconds / rounds)
    finally:
        for c in conns:
            c.close()
    return cell


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="A .joblib model (default: the embedded one).")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 512])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument(
        "--requests", type=int, default=400, help="At most this many requests per cell."
    )
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="At most this long per cell (each side)."
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="Alternating HTTP and API slices per cell."
    )
    args = parser.parse_args(argv)

    from propclf.persistence import ModelError, default_model_path, load_model
    from propclf.scoring import Scorer

    load_before = os.getloadavg()[0]
    model_path = (args.model or default_model_path()).resolve()
    try:
        model = load_model(model_path)
    except (OSError, ModelError) as exc:
        sys.exit(f"cannot load the model: {exc}; pass --model PATH")
    manifest: dict[str, Any] = model.manifest_
    scorer = Scorer(model)

    cells: list[Cell] = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            proc, port = start_server(model_path, workers, Path(tmp) / f"server{workers}.log")
            try:
                for batch in args.batches:
                    for conc in args.concurrency:
                        cell = asyncio.run(
                            run_cell(
                                port,
                                proc.pid,
                                workers,
                                batch,
                                conc,
                                scorer,
                                args.requests,
                                args.seconds,
                                args.rounds,
                            )
                        )
                        cells.append(cell)
                        print(
                            f"workers={workers} batch={batch} concurrency={conc}: "
                            f"{cell.items_per_s:,.0f} items/s, API {cell.api:,.0f} items/s",
                            file=sys.stderr,
                        )
            finally:
                code = stop_server(proc)
                if code != 0:
                    print(f"server exit status {code}", file=sys.stderr)

    print(
        f"\nModel {manifest.get('model_id')} ({manifest.get('artifact_bytes', 0) / 1e6:.1f} MB); "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}; client and server on the same machine; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.\n"
    )
    print(
        "| workers | batch | concurrency | requests | items/s | p50 ms | p99 ms "
        "| API items/s | vs API | model.score items/s | vs model.score "
        "| in-process JSON items/s | server CPU ms/req | API CPU ms/batch | client CPU |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for c in cells:
        fail = f" ({c.failures} failed)" if c.failures else ""
        print(
            f"| {c.workers} | {c.batch} | {c.concurrency} | {c.requests}{fail} | "
            f"{c.items_per_s:,.0f} | {c.pct(0.5):.1f} | {c.pct(0.99):.1f} | {c.api:,.0f} | "
            f"{c.ratio:.0%} | {c.raw:,.0f} | {c.raw_ratio:.0%} | "
            f"{c.in_process_json:,.0f} | {c.server_cpu / c.requests * 1000:.2f} | "
            f"{c.api_cpu / c.api_batches * 1000:.2f} | {c.client_cpu / c.seconds:.0%} |"
        )
    print(
        "\nAPI: `Scorer.score_batch` on the same batches (the result records the service "
        "answers with) in one thread of one process, in slices alternating with the HTTP "
        f"slices ({args.rounds} of each per cell); model.score: the model alone on the same "
        "texts (scores only: no bands, labels or records), timed the same way. In-process JSON: "
        "the service's handling of the same request bodies (JSON parsing, items, scoring, "
        "result records, JSON encoding) called in process, without HTTP. Server CPU: the "
        "server process and its workers; client CPU: share of one core used by the load "
        "generator.\nTargets:"
    )
    for c in cells:
        if c.batch == 1 and c.concurrency == 8:
            verdict = "met" if c.pct(0.99) <= 50 else "missed"
            print(
                f"- p99 <= 50 ms, 1 item, concurrency 8, {c.workers} worker(s): "
                f"{c.pct(0.99):.1f} ms ({verdict})"
            )
    for workers in args.workers:
        for b in args.batches:
            if b == 1:
                continue
            best = max(
                (c for c in cells if c.workers == workers and c.batch == b), key=lambda c: c.ratio
            )
            verdict = "met" if best.ratio >= 0.7 else "missed"
            ratios = ", ".join(
                f"{c.ratio:.0%}" for c in cells if c.workers == workers and c.batch == b
            )
            raw = ", ".join(
                f"{c.raw_ratio:.0%}" for c in cells if c.workers == workers and c.batch == b
            )
            print(
                f"- batch {b}, {workers} worker(s): best {best.items_per_s:,.0f} items/s "
                f"(concurrency {best.concurrency}) = {best.ratio:.0%} of the API ({verdict}); "
                f"at each concurrency {ratios} of the API, {raw} of model.score"
            )
    if any(c.failures for c in cells):
        sys.exit(1)


if __name__ == "__main__":
    main()
