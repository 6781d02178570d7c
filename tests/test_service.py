"""How the root service stops: one child after the other, bounded in time."""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.internet import reactor, task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import LogEvent
from twisted.python.threadpool import ThreadPool
from twisted.trial import unittest

from gateway.service import Gateway, ThreadPoolService


class Recorder(Service):
    """A child whose stop finishes when the test says so."""

    def __init__(self, name: str, journal: list[str]) -> None:
        self.setName(name)
        self.journal = journal
        self.stopping: Deferred[None] | None = None

    def stopService(self) -> Deferred[None]:
        super().stopService()
        self.journal.append(f"stop {self.name}")
        self.stopping = Deferred()
        self.stopping.addCallback(lambda _: self.journal.append(f"stopped {self.name}"))
        return self.stopping


def tree(clock: task.Clock, names: str, timeout: float = 30.0) -> tuple[Gateway, list[str]]:
    journal: list[str] = []
    root = Gateway(clock, timeout)
    for name in names:
        Recorder(name, journal).setServiceParent(root)
    root.startService()
    return root, journal


def finish(root: Gateway, name: str, error: Exception | None = None) -> None:
    """End the stop of child ``name`` (which must have been asked to stop)."""
    found = root.getServiceNamed(name)
    assert isinstance(found, Recorder)
    assert found.stopping is not None
    if error is None:
        found.stopping.callback(None)
    else:
        found.stopping.errback(error)


def test_children_stop_last_first_each_after_the_one_before() -> None:
    clock = task.Clock()
    root, journal = tree(clock, "abc")
    stopped = root.stopService()
    assert journal == ["stop c"]  # b waits until c has finished
    finish(root, "c")
    assert journal == ["stop c", "stopped c", "stop b"]
    finish(root, "b")
    finish(root, "a")
    assert journal[-2:] == ["stop a", "stopped a"]
    done: list[object] = []
    stopped.addCallback(done.append)
    assert done == [None]
    assert not root.running


def test_a_child_still_busy_at_the_timeout_is_left_and_the_rest_stop(
    logged: list[LogEvent],
) -> None:
    clock = task.Clock()
    root, journal = tree(clock, "ab", timeout=30.0)
    stopped = root.stopService()
    clock.advance(29.0)
    assert journal == ["stop b"]
    clock.advance(1.0)
    assert journal == ["stop b", "stop a"]
    # a's stop had the rest of the same 30 s, that is none: it is left too
    errors = [e for e in logged if "still busy" in e.get("log_format", "")]
    assert [e["service"] for e in errors] == ["Recorder b", "Recorder a"]
    assert {e["timeout"] for e in errors} == {30.0}
    done: list[object] = []
    stopped.addCallback(done.append)
    assert done == [None]
    assert clock.getDelayedCalls() == []


def test_a_child_that_fails_to_stop_does_not_keep_the_others_running(
    logged: list[LogEvent],
) -> None:
    clock = task.Clock()
    root, journal = tree(clock, "ab")
    stopped = root.stopService()
    finish(root, "b", OSError("disk gone"))
    assert journal[-1] == "stop a"
    finish(root, "a")
    failures = [e for e in logged if "failed to stop" in e.get("log_format", "")]
    assert [e["service"] for e in failures] == ["Recorder b"]
    done: list[object] = []
    stopped.addCallback(done.append)
    assert done == [None]


class TwoStepWork(Service):
    """Stands for a delivery running when the daemon stops: its stop waits
    for two steps in the thread pool, the second started by the first."""

    def __init__(self, pool: ThreadPool) -> None:
        self.pool = pool
        self.steps: list[str] = []

    def stopService(self) -> Deferred[Any]:
        super().stopService()

        def step(name: str) -> str:
            self.steps.append(name)
            return name

        first: Deferred[str] = deferToThreadPool(reactor, self.pool, step, "first")
        return first.addCallback(lambda _: deferToThreadPool(reactor, self.pool, step, "second"))


class ThreadPoolStopsLastTests(unittest.TestCase):
    # Before the ordered stop, the pool stopped alongside the work that still
    # needed it: the second step was silently dropped and the stop never ended.
    timeout = 20

    def test_work_stopping_in_the_pool_finishes_before_the_pool_stops(self) -> Deferred[None]:
        pool = ThreadPool(minthreads=1, maxthreads=1, name="test")
        root = Gateway(reactor, 10.0)
        ThreadPoolService(pool).setServiceParent(root)
        work = TwoStepWork(pool)
        work.setServiceParent(root)
        root.startService()
        stopped = root.stopService()

        def check(_: object) -> None:
            self.assertEqual(work.steps, ["first", "second"])
            self.assertFalse(pool.started)

        return stopped.addCallback(check)
