"""The per-process coalescer of task sends: immediate when idle, one send per window under load."""

import threading
import time

from fieldsvc.coalesce import Coalescer


def collecting(window_s: float):
    sent: list[list[int]] = []
    done = threading.Event()

    def send(ids):
        sent.append(ids)
        done.set()

    return Coalescer(send, window_s=window_s), sent, done


def test_the_first_id_goes_at_once_and_the_rest_of_the_window_together():
    coalescer, sent, done = collecting(0.3)
    coalescer.add(1)
    assert sent == [[1]]  # idle: no waiting
    done.clear()
    for pk in (2, 3, 4):
        coalescer.add(pk)
    assert sent == [[1]]  # held until the window has passed
    assert done.wait(5)
    assert sent == [[1], [2, 3, 4]]


def test_flush_sends_what_is_held_and_nothing_twice():
    coalescer, sent, _ = collecting(60)
    coalescer.add(1)
    coalescer.add(2)
    coalescer.flush()
    coalescer.flush()
    assert sent == [[1], [2]]


def test_ids_from_many_threads_are_each_sent_once():
    coalescer, sent, _ = collecting(0.05)
    threads = [threading.Thread(target=lambda base=b: [coalescer.add(base + n) for n in range(500)])
               for b in range(0, 4000, 500)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 5
    while sum(map(len, sent)) < 4000 and time.monotonic() < deadline:
        time.sleep(0.01)
    flat = [pk for ids in sent for pk in ids]
    assert sorted(flat) == list(range(4000))
    assert len(sent) < 200  # coalesced, not one send per id
