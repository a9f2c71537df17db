"""Two real processes fire conflicting triggers at the same instances at once.

Each pair of fires is released by a barrier so they really overlap. Exactly one fire
per instance wins; the loser gets :class:`engine.Conflict`; versions and sequence
numbers stay contiguous and every chain verifies.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest

from engine import (Conflict, Database, actor_for, fire, get_instance, read_history, start,
                    update_data, verify_history)

INSTANCES = 12
ROUNDS = 40


def _racer(url, username, trigger, comment, ids, barrier, results):
    db = Database(url)
    actor = actor_for(db, username)
    outcome = {}
    for pid, version in ids:
        barrier.wait(timeout=60)
        try:
            fire(db, pid, trigger, actor, comment=comment, expected_version=version)
            outcome[pid] = "won"
        except Conflict:
            outcome[pid] = "conflict"
        except Exception as exc:  # noqa: BLE001 - reported to the parent as a failure
            outcome[pid] = f"error: {exc!r}"
    db.dispose()
    results.put((trigger, outcome))


def _writer(url, username, tag, ids, barrier, results):
    db = Database(url)
    actor = actor_for(db, username)
    won = conflicts = 0
    barrier.wait(timeout=60)
    for round_ in range(ROUNDS):
        for pid in ids:
            try:
                update_data(db, pid, actor, {"goals": f"{tag}-{round_}"})
                won += 1
            except Conflict:
                conflicts += 1
    db.dispose()
    results.put((tag, won, conflicts))


def _under_review(db, actors):
    ids = []
    for _ in range(INSTANCES):
        pid = start(db, "performance_plan", actors["office"], unit_code="101",
                    data={"goals": "g", "measures": "m"}).instance_id
        fire(db, pid, "submit", actors["head101"])
        ids.append((pid, fire(db, pid, "start_review", actors["office"]).version))
    return ids


def _run(processes):
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=180)
        assert p.exitcode == 0


@pytest.mark.slow
def test_conflicting_fires_from_two_processes_have_exactly_one_winner(db, db_url, actors):
    ids = _under_review(db, actors)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    _run([ctx.Process(target=_racer, args=(db_url, "office", trigger, comment, ids,
                                           barrier, results))
          for trigger, comment in (("approve", None), ("request_revision", "请修改"))])
    outcomes = dict(results.get(timeout=10) for _ in range(2))
    for pid, version in ids:
        pair = sorted([outcomes["approve"][pid], outcomes["request_revision"][pid]])
        assert pair == ["conflict", "won"], pair
        winner = "approve" if outcomes["approve"][pid] == "won" else "request_revision"
        view = get_instance(db, pid)
        assert view.version == version + 1
        assert view.state == ("approved" if winner == "approve" else "revise")
        history = read_history(db, pid)
        assert [h["seq"] for h in history] == list(range(1, version + 2))
        assert history[-1]["trigger"] == winner
    assert verify_history(db).ok


@pytest.mark.slow
def test_racing_writers_lose_no_update(db, db_url, actors):
    ids = [start(db, "performance_plan", actors["staff101"], unit_code="101").instance_id
           for _ in range(3)]
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    _run([ctx.Process(target=_writer, args=(db_url, user, user, ids, barrier, results))
          for user in ("staff101", "head101")])
    totals = [results.get(timeout=10) for _ in range(2)]
    won = sum(t[1] for t in totals)
    assert sum(t[1] + t[2] for t in totals) == 2 * ROUNDS * len(ids)
    versions = 0
    for pid in ids:
        view = get_instance(db, pid)
        history = read_history(db, pid)
        assert [h["seq"] for h in history] == list(range(1, view.version + 1))
        assert view.data["goals"] == history[-1]["data_patch"]["goals"]
        versions += view.version - 1
    assert versions == won, "every successful write is in the history, none lost"
    assert verify_history(db).ok
