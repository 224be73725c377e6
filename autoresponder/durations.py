"""Durations as admins write them: ``24h``, ``7d``, ``90s``, ``1h30m``, ``2w`` or plain seconds."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class DurationError(ValueError):
    pass


def parse_duration(text: "str | int | float") -> int:
    """Return whole seconds; raise DurationError with a message an admin can act on."""
    if isinstance(text, bool):
        raise DurationError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if text != text or text in (float("inf"), float("-inf")):
            raise DurationError(f"not a duration: {text!r}")
        if text < 0:
            raise DurationError(f"a duration cannot be negative: {text!r}")
        return int(text)
    s = str(text).strip().lower().replace(" ", "")
    if not s:
        raise DurationError("empty duration")
    if s.isascii() and s.isdigit():
        return int(s)
    total, number = 0, ""
    for ch in s:
        if "0" <= ch <= "9":
            number += ch
        elif ch in _UNITS and number:
            total += int(number) * _UNITS[ch]
            number = ""
        else:
            raise DurationError(
                f"not a duration: {text!r} (use e.g. 90s, 30m, 24h, 7d, 1h30m or seconds)")
    if number:
        raise DurationError(f"not a duration: {text!r} (a number needs a unit: s, m, h, d or w)")
    return total


def format_duration(seconds: int) -> str:
    """The shortest exact spelling: 86400 -> '1d', 5400 -> '1h30m'."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)
