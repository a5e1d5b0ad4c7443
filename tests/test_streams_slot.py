"""Latest-frame slot: overwrite, drop counting, peek, notify, threads."""

from __future__ import annotations

import threading

import numpy as np

from streams.frame import Frame
from streams.slot import LatestSlot


def _frame(i: int) -> Frame:
    return Frame(camera_id="c", ts=float(i), index=i, image=np.zeros((2, 2, 3), np.uint8))


def test_empty_slot() -> None:
    slot = LatestSlot()
    assert slot.take() is None
    assert slot.peek() is None
    assert slot.dropped == 0


def test_take_returns_latest_and_counts_overwritten_frames() -> None:
    slot = LatestSlot()
    for i in range(3):
        slot.put(_frame(i))
    taken = slot.take()
    assert taken is not None and taken.index == 2
    assert slot.dropped == 2
    assert slot.take() is None
    assert slot.puts == 3


def test_taken_frames_are_not_dropped() -> None:
    slot = LatestSlot()
    for i in range(4):
        slot.put(_frame(i))
        assert slot.take() is not None
    assert slot.dropped == 0


def test_peek_keeps_last_frame_after_take() -> None:
    slot = LatestSlot()
    slot.put(_frame(7))
    assert slot.has_pending
    assert slot.take() is not None
    assert not slot.has_pending
    peeked = slot.peek()
    assert peeked is not None and peeked.index == 7


def test_notify_is_called_after_each_put_with_the_frame_visible() -> None:
    seen: list[int | None] = []
    slot: LatestSlot

    def notify() -> None:
        frame = slot.peek()
        seen.append(None if frame is None else frame.index)

    slot = LatestSlot(notify=notify)
    slot.put(_frame(1))
    slot.put(_frame(2))
    assert seen == [1, 2]


def test_concurrent_put_and_take_account_for_every_frame() -> None:
    slot = LatestSlot()
    n = 20_000
    taken: list[int] = []
    done = threading.Event()

    def consume() -> None:
        while not done.is_set() or slot.has_pending:
            frame = slot.take()
            if frame is not None:
                taken.append(frame.index)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(n):
        slot.put(_frame(i))
    done.set()
    consumer.join()
    assert len(taken) + slot.dropped == n
    assert taken == sorted(taken)
    assert taken[-1] == n - 1
