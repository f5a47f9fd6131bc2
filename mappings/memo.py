"""Remembered answers for text a caller sends, bounded by bytes.

A chart repeats the same texts and codes from call to call, so `mappings` remembers what it found
in them. The keys are the caller's own strings: a memo bounded only by its number of entries
keeps whatever a caller sends for the life of the process (patients' free text included) and
grows with the length of the texts. A `Memo` keeps only keys up to `max_key_chars` characters and
at most `max_bytes` of keys and answers together, dropping the oldest answers first when full.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# What an entry costs besides its key and value: its dict hash slot and index, with the spare room
# a dict keeps, and its place in the eviction queue. An estimate on the high side, so the bound
# holds.
_ENTRY_BYTES = 120


def size_of(value: Any) -> int:
    """Bytes of the strings and containers in `value` (an upper bound: a string shared with the
    tables is counted as if it were a copy); other objects are the tables' own and count 0."""
    kind = value.__class__
    if kind is str:
        return sys.getsizeof(value)
    if kind is tuple or kind is list or kind is frozenset:
        return sys.getsizeof(value) + sum(size_of(item) for item in value)
    if kind is dict:
        return sys.getsizeof(value) + sum(size_of(k) + size_of(v) for k, v in value.items())
    return 0


def chars_of(key: Any) -> int:
    """Characters of the caller's text in a key (a string, or tuples and sets of strings)."""
    kind = key.__class__
    if kind is str:
        return len(key)
    if kind is tuple or kind is frozenset:
        return sum(chars_of(item) for item in key)
    return 0


class Memo(Generic[K, V]):
    """A dict of answers bounded by key length and by bytes.

    `get` is the dict's own method (the lookups are on the hot path); `remember` is the only way
    in. Safe to share between threads: lookups read the dict as it is, and `remember` holds a lock
    while it adds and evicts. The keys wait in a queue, oldest first, for their eviction: finding
    a dict's first key after many were popped walks over every popped slot until the dict is
    resized, which made each eviction cost as much as a fraction of the memo.
    """

    __slots__ = ("_answers", "_lock", "_order", "get", "max_bytes", "max_key_chars", "used_bytes")

    def __init__(self, *, max_bytes: int, max_key_chars: int) -> None:
        self._answers: dict[K, V] = {}
        self._order: deque[tuple[K, int]] = deque()  # each key with what it was counted
        self._lock = threading.Lock()
        self.get = self._answers.get
        self.max_bytes = max_bytes
        self.max_key_chars = max_key_chars
        self.used_bytes = 0

    def __len__(self) -> int:
        return len(self._answers)

    def __contains__(self, key: object) -> bool:
        return key in self._answers

    def remember(self, key: K, value: V, value_bytes: int | None = None) -> None:
        """Keep `value` for `key`, unless the key is too long to be worth keeping.

        `value_bytes`: the answer's own bytes, when the caller can count them for less than
        `size_of` would (an answer made of the tables' own objects and a few new ones)."""
        if chars_of(key) > self.max_key_chars:
            return
        answer = size_of(value) if value_bytes is None else value_bytes
        cost = _ENTRY_BYTES + size_of(key) + answer
        if cost > self.max_bytes:
            return
        answers, order = self._answers, self._order
        with self._lock:
            if key in answers:
                return
            while order and self.used_bytes + cost > self.max_bytes:
                oldest, its_cost = order.popleft()
                del answers[oldest]
                self.used_bytes -= its_cost
            answers[key] = value
            order.append((key, cost))
            self.used_bytes += cost

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self._order.clear()
            self.used_bytes = 0


__all__ = ["Memo", "chars_of", "size_of"]
