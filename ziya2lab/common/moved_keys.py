"""Renamed configuration keys fail on the command line with a message that names the new spelling.

Hydra alone would say only "Key ... is not in struct"; a user who typed a documented key of an older version deserves
to be told where it went.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def refuse_moved_keys(overrides: Sequence[str], moved: Mapping[str, str], advice: str = "") -> None:
    """Exit naming the new spelling if an override sets a key of ``moved`` (old key → new key or description).

    ``advice`` is appended, formatted with ``new`` and ``value`` (the override's value).
    """
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key in moved:
            raise SystemExit(f"Error: {key} is now {moved[key]}" + advice.format(new=moved[key], value=value))
