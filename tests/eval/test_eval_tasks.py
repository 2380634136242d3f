"""Generated lm-eval tasks: the YAML avoids lm-eval's known pitfalls, lm-eval itself loads every task with the
documents we wrote, and the directory is reused only for identical inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ziya2lab.common.jsonl import read_jsonl, write_jsonl
from ziya2lab.eval.config import GENERATED_TAG, GeneratedTasksConfig
from ziya2lab.eval.harness import task_manager
from ziya2lab.eval.heldout import build_test_sets
from ziya2lab.eval.tasks import (
    BITS_PER_BYTE,
    MULTIPLE_CHOICE,
    bpb_task_name,
    build_task_dir,
    choice_task_name,
)

SETTINGS = GeneratedTasksConfig(bpb_max_bytes=20_000, mc_max_items=12)


@pytest.fixture(scope="module")
def test_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_test_sets(tmp_path_factory.mktemp("test_sets"), ["en_prose", "zh_news", "qa", "code"], max_items=10)


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ZIYA2LAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_yaml_avoids_the_known_pitfalls(test_sets: dict[str, Path], cache: Path) -> None:
    task_dir = build_task_dir(test_sets, SETTINGS)
    assert task_dir.path.is_relative_to(cache)
    assert {task.kind for task in task_dir.tasks.values()} == {BITS_PER_BYTE, MULTIPLE_CHOICE}
    assert set(task_dir.tasks) == {*(bpb_task_name(name) for name in test_sets),
                                   *(choice_task_name(name) for name in ("en_next_sentence", "zh_news_cloze",
                                                                         "code_docstring", "qa_sentiment"))}
    for name, task in task_dir.tasks.items():
        config = yaml.safe_load((task_dir.path / f"{name}.yaml").read_text())
        data_files = config["dataset_kwargs"]["data_files"]
        assert isinstance(data_files, dict) and set(data_files) == {"test"} and config["test_split"] == "test"
        assert Path(data_files["test"]).is_absolute() and len(read_jsonl(data_files["test"])) == task.n_docs
        assert Path(config["dataset_kwargs"]["cache_dir"]).is_relative_to(cache)
        assert config["tag"] == GENERATED_TAG
        if task.kind == BITS_PER_BYTE:
            assert [metric["metric"] for metric in config["metric_list"]] == ["bits_per_byte", "byte_perplexity"]
        else:
            assert config["target_delimiter"] == (" " if task.test_set == "en_prose" else "")


def test_bits_per_byte_documents_are_whole_and_capped(test_sets: dict[str, Path], cache: Path) -> None:
    task_dir = build_task_dir(test_sets, SETTINGS)
    items = {item["id"]: item["text"] for item in read_jsonl(test_sets["en_prose"])}
    kept = read_jsonl(task_dir.data_file(bpb_task_name('en_prose')))
    assert 1 <= len(kept) < len(items)
    assert all(items[document["id"]] == document["text"] for document in kept)
    assert sum(len(document["text"].encode()) for document in kept) <= SETTINGS.bpb_max_bytes


def test_directory_is_reused_only_for_identical_inputs(test_sets: dict[str, Path], cache: Path,
                                                        tmp_path: Path) -> None:
    first = build_task_dir(test_sets, SETTINGS)
    stamp = (first.path / "tasks.json").stat().st_mtime_ns
    assert build_task_dir(test_sets, SETTINGS).path == first.path
    assert (first.path / "tasks.json").stat().st_mtime_ns == stamp
    reseeded = GeneratedTasksConfig(bpb_max_bytes=20_000, mc_max_items=12, seed=1)
    assert build_task_dir(test_sets, reseeded).path != first.path
    changed = tmp_path / "qa.jsonl"
    write_jsonl(changed, read_jsonl(test_sets["qa"])[:-1])
    assert build_task_dir({**test_sets, "qa": changed}, SETTINGS).path != first.path


@pytest.mark.slow
def test_lm_eval_loads_every_generated_task_as_written(test_sets: dict[str, Path], cache: Path) -> None:
    task_dir = build_task_dir(test_sets, SETTINGS)
    manager = task_manager(str(task_dir.path), False)
    loaded = manager.load([GENERATED_TAG])["tasks"]
    assert set(loaded) == set(task_dir.tasks)
    for name, task in loaded.items():
        written = read_jsonl(task_dir.data_file(name))
        docs = list(task.test_docs())
        assert len(docs) == len(written) == task_dir.tasks[name].n_docs
        if task_dir.tasks[name].kind == BITS_PER_BYTE:
            assert task.doc_to_target(docs[0]) == written[0]["text"]
            continue
        requests = task.construct_requests(doc=docs[0], ctx=task.doc_to_text(docs[0]), metadata=(name, 0, 1))
        delimiter = " " if task_dir.tasks[name].test_set == "en_prose" else ""
        assert [request.arguments for request in requests] == [
            (written[0]["question"], delimiter + choice) for choice in written[0]["choices"]]
        assert task.doc_to_target(docs[0]) == written[0]["answer"]


def test_no_test_sets_is_an_error(cache: Path) -> None:
    with pytest.raises(ValueError, match="no held-out test sets"):
        build_task_dir({}, SETTINGS)
