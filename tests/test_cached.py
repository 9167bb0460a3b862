"""bcecli.core.cached: computed once per instance, and never a lock shared by instances
(chunks scored on two threads must not wait for each other's sums)."""

from __future__ import annotations

import threading

from bcecli.core.cached import cached


class Counted:
    calls = 0

    @cached
    def value(self) -> int:
        Counted.calls += 1
        return 42


def test_computed_once_per_instance() -> None:
    Counted.calls = 0
    first, second = Counted(), Counted()
    assert (first.value, first.value, second.value) == (42, 42, 42)
    assert Counted.calls == 2
    assert isinstance(Counted.__dict__["value"], cached)


def test_two_instances_compute_at_the_same_time_on_two_threads() -> None:
    # Each computation waits for the other to start: a lock shared by the instances
    # (functools.cached_property in Python 3.11) would make the barrier time out.
    barrier = threading.Barrier(2, timeout=5)

    class Meeting:
        @cached
        def met(self) -> bool:
            barrier.wait()
            return True

    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(Meeting().met)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True, True]
