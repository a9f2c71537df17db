"""Fire over HTTP: 8 concurrent clients against waitress on PostgreSQL, versus fire() in-process.

Not a test: run it by hand::

    python benchmarks/bench_api.py                       # 2,000 fires each way
    python benchmarks/bench_api.py --fires 500 --clients 8

A scratch database ``perfeval_bench_api_<pid>`` is created from ``PERFEVAL_BENCH_PG_URL``
(default: postgres@127.0.0.1), initialised and dropped at the end. Each client owns its
own performance plans in its own unit and fires them round-robin through
``submit → start_review → request_revision → submit → …`` with the version it got back
(so no request conflicts): ``submit`` with a token of the unit's head, the other two
with the office's. The server is ``waitress`` in a child process (``--threads`` = clients),
the production server ``perfeval serve`` uses; clients keep one HTTP/1.1 connection each.
The in-process run does the same fires with the same number of threads calling
``engine.fire()`` directly on other plans of the same database. Both runs end with
``verify_history``. Output: a summary, then one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import engine  # noqa: E402
from engine.models import Unit  # noqa: E402
from web.api.tokens import create_token  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CYCLE = ("submit", "start_review", "request_revision")
DATA = {"goals": "全年固定资产投资增长8%", "measures": "项目清单化管理,按季度调度"}
COMMENT = "目标需量化,请补充季度分解"
PLANS_PER_CLIENT = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(db, clients: int) -> list[dict]:
    with db.write_session() as session:
        session.add_all(Unit(code=f"B{i:02d}", name=f"基准单位{i}", category="县直单位")
                        for i in range(clients))
    engine.add_user(db, "bench_office", "bench-password-1", ["office"])
    lanes = []
    for i in range(clients):
        engine.add_user(db, f"bench_head{i}", "bench-password-1", ["unit_head"],
                        unit_code=f"B{i:02d}")
        engine.add_user(db, f"bench_staff{i}", "bench-password-1", ["unit_staff"],
                        unit_code=f"B{i:02d}")
        lanes.append({"unit": f"B{i:02d}", "head": f"bench_head{i}",
                      "staff": f"bench_staff{i}"})
    return lanes


def _plans(db, lane: dict) -> list[list[int]]:
    staff = engine.actor_for(db, lane["staff"])
    out = []
    for _ in range(PLANS_PER_CLIENT):
        r = engine.start(db, "performance_plan", staff, unit_code=lane["unit"])
        v = engine.update_data(db, r.instance_id, staff, DATA).version
        out.append([r.instance_id, v, 0])  # id, version, step in CYCLE
    return out


def _http_client(port: int, tokens: dict, plans: list, fires: int, latencies: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for n in range(fires):
        plan = plans[n % len(plans)]
        trigger = CYCLE[plan[2] % 3]
        body = {"trigger": trigger, "expected_version": plan[1]}
        if trigger == "request_revision":
            body["comment"] = COMMENT
        token = tokens["head"] if trigger == "submit" else tokens["office"]
        started = time.perf_counter()
        conn.request("POST", f"/api/v1/instances/{plan[0]}/fire", json.dumps(body),
                      {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"fire answered {response.status}: {payload}")
        plan[1], plan[2] = payload["version"], plan[2] + 1
    conn.close()


def _inproc_client(db, actors: dict, plans: list, fires: int, latencies: list) -> None:
    for n in range(fires):
        plan = plans[n % len(plans)]
        trigger = CYCLE[plan[2] % 3]
        actor = actors["head"] if trigger == "submit" else actors["office"]
        started = time.perf_counter()
        r = engine.fire(db, plan[0], trigger, actor, expected_version=plan[1],
                        comment=COMMENT if trigger == "request_revision" else None)
        latencies.append(time.perf_counter() - started)
        plan[1], plan[2] = r.version, plan[2] + 1


def _run(target, args_per_client: list[tuple]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    threads = [threading.Thread(target=target, args=(*a, latencies)) for a in args_per_client]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies


def _summary(name: str, fires: int, wall: float, latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    result = {"fires": fires, "seconds": round(wall, 3), "per_second": round(fires / wall, 1),
              "p50_ms": round(statistics.median(ordered) * 1000, 2),
              "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)}
    print(f"{name:<10} {result['fires']:>6} fires  {result['per_second']:>8} /s  "
          f"p50 {result['p50_ms']:>7} ms  p99 {result['p99_ms']:>7} ms")
    return result


def _server(url: str, port: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, PERFEVAL_DATABASE_URL=url, PERFEVAL_SECRET_KEY="bench",
               PERFEVAL_SECURE_COOKIES="0")
    process = subprocess.Popen(
        [sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}",
         f"--threads={threads}", "--call", "web.app:create_app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("waitress did not start: " + process.stderr.read().decode())


def bench(admin_url: str, fires: int, clients: int) -> dict:
    """Both runs on one scratch database; returns the JSON result."""
    name = f"perfeval_bench_api_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db, server = engine.Database(url), None
    try:
        engine.init(db)
        lanes = _setup(db, clients)
        per_client = fires // clients
        port = _free_port()
        server = _server(url, port, clients)
        office_token = create_token(db, "bench_office", "bench", created_by="bench")[1]
        http_args = [(port, {"head": create_token(db, lane["head"], "bench",
                                                  created_by="bench")[1],
                             "office": office_token}, _plans(db, lane), per_client)
                     for lane in lanes]
        office = engine.actor_for(db, "bench_office")
        inproc_args = [(db, {"head": engine.actor_for(db, lane["head"]), "office": office},
                        _plans(db, lane), per_client) for lane in lanes]
        http_wall, http_lat = _run(_http_client, http_args)
        inproc_wall, inproc_lat = _run(_inproc_client, inproc_args)
        report = engine.verify_history(db)
        print(f"{clients} clients, PostgreSQL, waitress --threads={clients}")
        result = {"benchmark": "api_fire", "database": "postgresql", "server": "waitress",
                  "clients": clients,
                  "http": _summary("http", per_client * clients, http_wall, http_lat),
                  "in_process": _summary("in-process", per_client * clients, inproc_wall,
                                         inproc_lat),
                  "chains_ok": report.ok, "history_entries": report.entries}
        result["http_to_in_process"] = round(result["http"]["per_second"]
                                             / result["in_process"]["per_second"], 3)
        return result
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=2000, help="fires per run (default 2000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--pg-url", default=os.environ.get("PERFEVAL_BENCH_PG_URL",
                                                           DEFAULT_PG_URL))
    args = parser.parse_args()
    result = bench(args.pg_url, args.fires, args.clients)
    print(json.dumps(result, ensure_ascii=False))
    if not result["chains_ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
