"""Fixtures the held-out operator sets' tests share."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ziya2lab.data.sources import iter_source


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    """Held-out documents of the edited prose the operators corrupt: Lee news, Brown and People's Daily."""
    return [*iter_source("lee_news", split="heldout", limit=10), *iter_source("brown", split="heldout", limit=4),
            *iter_source("peoples_daily", split="heldout", limit=12)]


@pytest.fixture(scope="module")
def donors_for(documents: list[dict]) -> Callable[[dict], list[str]]:
    """A coherence operator's donors for ``doc``: the other documents of its language."""
    return lambda doc: [other["text"] for other in documents if other["lang"] == doc["lang"] and other is not doc]
