"""Attribute levels and raters: equal sizes, the moved attribute tracks its level, test sets stay held out."""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy.stats import spearmanr

from ziya2lab.attributes import SimilarityRater, make_levels, rate_corpus
from ziya2lab.attributes.config import RatersConfig
from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.data.sources import iter_source
from ziya2lab.eval.heldout import build_test_sets, pool_path

LEVELS = [0.0, 0.3, 0.6, 0.9]


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return [*iter_source("peoples_daily", split="train", limit=200), *iter_source("brown", split="train", limit=12),
            *iter_source("lee_news", split="train", limit=200)]


@pytest.fixture(scope="module")
def test_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_test_sets(tmp_path_factory.mktemp("test_sets"), ["en_prose", "zh_news", "code"])


def test_test_sets_are_held_out_and_disjoint_from_their_pools(test_sets: dict[str, Path]) -> None:
    for name, path in test_sets.items():
        items, pool = read_jsonl(path), read_jsonl(pool_path(path))
        assert items and pool and {d["id"] for d in items}.isdisjoint({d["id"] for d in pool})
        if name != "code":
            train_ids = {d["id"] for d in iter_source(items[0]["source"], split="train")}
            assert train_ids.isdisjoint({d["id"] for d in items})


@pytest.fixture(scope="module")
def families(base: list[dict], test_sets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    pools = {"code": read_jsonl(pool_path(test_sets["code"]))}
    levels = {"CH": LEVELS[1:], "RA": LEVELS[1:], "SIM": [0.1, 0.3, 0.5]}
    return make_levels(base, levels, pools, tmp_path_factory.mktemp("levels"), seed=0)


def test_every_corpus_has_the_same_size(families) -> None:
    sizes = [corpus.chars for corpus in families]
    assert max(sizes) / min(sizes) < 1.15
    assert [c.name for c in families][:4] == ["base", "ch_0.3", "ch_0.6", "ch_0.9"]


@pytest.mark.slow
@pytest.mark.parametrize(("family", "attribute"), [("CH", "coherence"), ("RA", "readability")])
def test_measured_attribute_falls_as_the_corruption_rate_rises(families, family: str, attribute: str) -> None:
    corpora = [c for c in families if c.family in (family, "base")]
    values = [rate_corpus(read_jsonl(c.path), RatersConfig(sample_size=400), raters=[attribute])[attribute]
              for c in corpora]
    rho, _ = spearmanr([c.level for c in corpora], values)
    assert rho <= -0.95, values


def test_similarity_rises_with_the_mixed_pool_fraction(families, test_sets: dict[str, Path]) -> None:
    rater = SimilarityRater({n: [d["text"] for d in read_jsonl(p)] for n, p in test_sets.items()},
                            RatersConfig().similarity)
    corpora = [c for c in families if c.family in ("SIM", "base")]
    values = [rater.rate([d["text"] for d in read_jsonl(c.path)])["code"] for c in corpora]
    assert values == sorted(values) and values[-1] > 1.2 * values[0], values


def test_unknown_family_is_named(base: list[dict], tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="XX"):
        make_levels(base, {"XX": [0.1]}, {}, tmp_path)
