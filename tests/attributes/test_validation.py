"""Rater validation on controlled families of real edited prose: dose-response, cross-talk, flag precision."""

from __future__ import annotations

from pathlib import Path

import pytest

from ziya2lab.attributes.config import LevelsConfig, RatersConfig
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.validation import validate_raters, write_validation
from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.eval.heldout import load_test_sets, pool_path


@pytest.mark.slow
def test_raters_track_their_own_attribute_and_flag_precisely(tmp_path: Path) -> None:
    base = set_documents({"en": ["lee_news"], "zh": ["peoples_daily"]}, 90, "development")
    test_sets = load_test_sets(["zh_news"], tmp_path / "test_sets")
    result = validate_raters(
        base, LevelsConfig(CH=[0.2, 0.5, 0.8], RA=[0.2, 0.5, 0.8], SIM=[0.2, 0.5, 0.8], similarity_target="zh_news"),
        RatersConfig(sample_size=10_000),
        {name: [doc["text"] for doc in read_jsonl(path)] for name, path in test_sets.items()},
        {name: read_jsonl(pool_path(path)) for name, path in test_sets.items()},
        tmp_path,
    )
    assert all(rho >= 0.95 for rho in result.spearman.values()), result.spearman
    talk = result.cross_talk
    # a rater moves for its own family; corrupting another attribute moves it by under a quarter of that
    assert talk.loc["coherence", "RA"] < 0.25 * talk.loc["coherence", "CH"], talk
    assert talk.loc["readability", "CH"] < 0.25 * talk.loc["readability", "RA"], talk
    # SIM sees vocabulary, and junk lines or spliced passages change it (measured ~0.3 of its own movement)
    assert max(talk.loc["similarity", "CH"], talk.loc["similarity", "RA"]) < 0.5 * talk.loc["similarity", "SIM"]
    flags = result.flags.set_index(["rater", "lang"])
    assert set(flags.index) == {(r, lang) for r in ("coherence", "readability") for lang in ("en", "zh")}
    assert (flags["precision"] >= 0.8).all(), flags
    assert (flags["recall"] >= 0.4).all(), flags
    report = write_validation(result, tmp_path).read_text()
    assert "| coherence" in report and result.heatmap.stat().st_size > 0


def test_the_validations_old_level_keys_fail_naming_the_new_ones() -> None:
    from ziya2lab.attributes.config import MOVED_LEVEL_KEYS
    from ziya2lab.common.moved_keys import refuse_moved_keys

    refuse_moved_keys(["levels.CH=[0.1]", "docs_per_language=10"], MOVED_LEVEL_KEYS)
    with pytest.raises(SystemExit, match=r"levels\.levels is now one list per family: levels\.CH"):
        refuse_moved_keys(["levels.levels=[0.1,0.2]"], MOVED_LEVEL_KEYS)
    with pytest.raises(SystemExit, match=r"levels\.similarity_test_set is now levels\.similarity_target"):
        refuse_moved_keys(["levels.similarity_test_set=zh_news"], MOVED_LEVEL_KEYS)
