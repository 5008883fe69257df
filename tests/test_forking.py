"""fork_split: work in child processes sharing this one's memory, progress and failures reported back."""

import os

import pytest

from fieldsvc.forking import ChildFailed, fork_split

SHARED = list(range(1000))  # built before the fork: the children read it without a copy being sent


def test_each_child_takes_its_share_and_reports_progress():
    seen = []

    def work(share, done):
        for item in share:
            done(SHARED[item] + 1)

    assert fork_split([0, 1, 2, 3, 4], work, processes=2, on_done=seen.append) == 15
    assert sorted(seen) == [1, 2, 3, 4, 5]


def test_an_exception_in_a_child_is_raised_here_with_its_traceback():
    def work(share, done):
        for item in share:
            if item == 3:
                raise KeyError("no such thing")
            done(1)

    with pytest.raises(ChildFailed, match="KeyError: 'no such thing'"):
        fork_split([0, 1, 2, 3], work, processes=2)


def test_a_child_that_dies_fails_the_call():
    def work(share, done):
        os._exit(3)

    with pytest.raises(ChildFailed, match="status 3"):
        fork_split([0, 1], work, processes=2)


def test_inside_a_transaction_it_refuses(db):
    with pytest.raises(RuntimeError, match="transaction"):
        fork_split([0, 1], lambda share, done: None, processes=2)
