"""SentMarks: the relay's published rows waiting for their "sent" stamp."""

from __future__ import annotations

import math
import time

from baylink.runtime.sent_marks import SentMarks


def test_taken_marks_stay_skipped_until_stamped_and_wait_again_in_order_when_given_back() -> None:
    marks = SentMarks()
    assert marks.due_in(0.5) == math.inf and not marks.skip()
    marks.add([3, 4])
    marks.add([7])
    taken = marks.take()
    assert taken == [3, 4, 7] and len(marks) == 0
    assert marks.skip() == {3, 4, 7}  # a transaction is stamping them: the relay must not read them
    marks.add([9])
    marks.give_back(taken)  # that transaction rolled back
    assert marks.take() == [3, 4, 7, 9]
    marks.stamped([3, 4, 7, 9])
    assert not marks.skip() and len(marks) == 0


def test_marks_fall_due_once_the_oldest_has_waited_the_delay() -> None:
    marks = SentMarks()
    marks.add([1])
    assert 0.0 < marks.due_in(60.0) <= 60.0
    assert marks.due_in(0.0) == 0.0
    time.sleep(0.02)
    marks.add([2])  # a later one does not restart the clock
    assert marks.due_in(0.01) == 0.0
    marks.stamped(marks.take())
    assert marks.due_in(0.0) == math.inf
