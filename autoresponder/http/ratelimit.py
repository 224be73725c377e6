"""Failed-login counters with a fixed memory bound.

One counter per key (a login name, a client address): the times of its recent failures in
the window. A key with `limit` failures in the window is refused until the oldest of them
leaves it. At most `max_keys` keys are kept; the least recently touched is dropped first,
so a flood of made-up names costs memory once, not without end (a dropped key forgets its
failures: the per-address counter still holds the flood's source).
"""

from __future__ import annotations

from collections import OrderedDict, deque


class FailureCounter:
    def __init__(self, limit: int, window: float, max_keys: int = 10_000):
        self.limit = max(1, limit)
        self.window = float(window)
        self.max_keys = max_keys
        self._keys: "OrderedDict[str, deque]" = OrderedDict()

    def _recent(self, key: str, now: float) -> "deque | None":
        times = self._keys.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._keys[key]
            return None
        return times

    def retry_after(self, key: str, now: float) -> float:
        """0 when `key` may try now, else the seconds until it may."""
        times = self._recent(key, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(1.0, times[0] + self.window - now)

    def fail(self, key: str, now: float) -> None:
        times = self._recent(key, now)
        if times is None:
            times = self._keys[key] = deque(maxlen=self.limit)
        times.append(now)
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def undo(self, key: str) -> None:
        """Take back the newest failure of `key` (an attempt counted before its answer,
        which then succeeded)."""
        times = self._keys.get(key)
        if times:
            times.pop()
            if not times:
                del self._keys[key]

    def clear(self, key: str) -> None:
        self._keys.pop(key, None)

    def __len__(self) -> int:
        return len(self._keys)
