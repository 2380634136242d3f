"""Token files and packing: no token lost or duplicated, eos separators, same-task packs, loss masks, rank-free order."""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

import ziya2lab.train.config  # registers train_schema; TokenizerConfig used below
from ziya2lab.common.paths import repo_root
from ziya2lab.train.datasets import load_tokenizer
from ziya2lab.train.tokens import (
    IGNORE_INDEX,
    SupervisedWindows,
    UnsupervisedWindows,
    WindowMixture,
    build_token_file,
    collate,
    global_batch_indices,
)

SPECIALS = ["<s>", "</s>", "<pad>"]
SHARED_CACHE = os.environ.get("ZIYA2LAB_CACHE")
BOS, EOS, PAD = 0, 1, 2


def word_tokenizer(n_words: int) -> PreTrainedTokenizerFast:
    """Whitespace word-level tokenizer: word ``w<i>`` is token ``i + 3``, so expected ids are known exactly."""
    vocab = {name: index for index, name in enumerate(SPECIALS)}
    vocab.update({f"w{i}": i + len(SPECIALS) for i in range(n_words)})
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def random_documents(rng: np.random.Generator, count: int, n_words: int, tasks: int = 1) -> list[dict]:
    documents = []
    for index in range(count):
        text_ids = rng.integers(0, n_words, size=int(rng.integers(1, 40)))
        prompt_ids = rng.integers(0, n_words, size=int(rng.integers(0, 6)))
        documents.append({
            "text": " ".join(f"w{i}" for i in text_ids),
            "prompt": " ".join(f"w{i}" for i in prompt_ids) or None,
            "task": f"task{index % tasks}",
            "ids": [int(i) + len(SPECIALS) for i in prompt_ids] + [int(i) + len(SPECIALS) for i in text_ids],
            "prompt_length": len(prompt_ids),
        })
    return documents


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZIYA2LAB_CACHE", str(tmp_path / "cache"))


def test_token_file_holds_every_document_and_is_cached_by_content() -> None:
    documents = random_documents(np.random.default_rng(0), 50, 100)
    tokenizer = word_tokenizer(100)
    corpus = build_token_file(documents, tokenizer, description="t")
    assert corpus.tokens.dtype == np.uint16 and corpus.n_documents == 50
    for index, document in enumerate(documents):
        assert corpus.document(index).tolist() == document["ids"]
        assert corpus.prompt_lengths[index] == document["prompt_length"]
    again = build_token_file(documents, tokenizer)
    assert again.directory == corpus.directory
    changed = build_token_file([*documents[:-1], {**documents[-1], "text": "w1 w2"}], tokenizer)
    assert changed.directory != corpus.directory


def test_large_vocabulary_uses_uint32() -> None:
    tokenizer = word_tokenizer(70_000)
    corpus = build_token_file([{"text": "w69999 w5"}], tokenizer)
    assert corpus.tokens.dtype == np.uint32 and corpus.document(0).tolist() == [70_002, 8]


def test_document_without_text_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="document 1 of bad"):
        build_token_file([{"text": "w1"}, {"content": "w2"}], word_tokenizer(5), description="bad")


def test_unsupervised_windows_cover_the_eos_joined_stream_exactly_once() -> None:
    documents = random_documents(np.random.default_rng(1), 80, 50)
    corpus = build_token_file(documents, word_tokenizer(50))
    seq_len = 16
    windows = UnsupervisedWindows(corpus, seq_len, EOS, seed=3)
    expected = Counter(tuple(doc["ids"]) for doc in documents)
    first_windows = []
    for epoch in (0, 1):
        samples = [windows.window(epoch, index) for index in range(len(windows))]
        first_windows.append(samples[0].input_ids.tolist())
        for sample, following in itertools.pairwise(samples):
            assert np.array_equal(sample.targets[:-1], sample.input_ids[1:]), "targets are the next tokens"
            assert sample.targets[-1] == following.input_ids[0], "windows tile the stream without gap or overlap"
        stream = [*np.concatenate([sample.input_ids for sample in samples]).tolist(), int(samples[-1].targets[-1])]
        complete: list[tuple[int, ...]] = []
        partial: list[int] = []
        for token in stream:
            if token == EOS:
                complete.append(tuple(partial))
                partial = []
            else:
                partial.append(token)
        assert not Counter(complete) - expected, "a document was duplicated or altered"
        missing = expected - Counter(complete)
        unused = corpus.n_tokens + corpus.n_documents - len(stream)
        assert 0 <= unused <= seq_len, "only the last partial window of an epoch goes unused"
        assert sum((len(doc) + 1) * count for doc, count in missing.items()) == len(partial) + unused
        assert not partial or any(list(doc[: len(partial)]) == partial for doc in missing), "a real prefix is cut"
    assert first_windows[0] != first_windows[1], "each epoch reshuffles the documents"


def test_document_ids_change_exactly_after_each_eos() -> None:
    corpus = build_token_file(random_documents(np.random.default_rng(2), 40, 30), word_tokenizer(30))
    windows = UnsupervisedWindows(corpus, 32, EOS, seed=0)
    for index in range(len(windows)):
        sample = windows.window(0, index)
        after_eos = np.flatnonzero(sample.input_ids[:-1] == EOS) + 1
        changes = np.flatnonzero(np.diff(sample.document_ids)) + 1
        assert np.array_equal(after_eos, changes)


def test_supervised_packs_one_task_per_window_and_masks_padding_and_prompts() -> None:
    documents = random_documents(np.random.default_rng(3), 60, 40, tasks=3)
    corpus = build_token_file(documents, word_tokenizer(40))
    seq_len = 48
    for mask_prompt in (False, True):
        windows = SupervisedWindows(corpus, seq_len, EOS, PAD, seed=5, mask_prompt=mask_prompt, shuffle=False)
        packed = sorted(doc for pack in windows.packs for doc in pack)
        assert packed == list(range(len(documents))), "every document packed exactly once"
        for index, pack in enumerate(windows.packs):
            assert len({documents[doc]["task"] for doc in pack}) == 1, "a window mixes tasks"
            sample = windows.window(0, index)
            inputs = sample.input_ids.tolist()
            expected_targets = np.full(seq_len, IGNORE_INDEX)
            used = 0
            for doc in pack:
                piece = [*documents[doc]["ids"], EOS][: seq_len + 1 - used]
                assert inputs[used : used + len(piece)] == piece[: seq_len - used], "documents in pack order"
                for offset, token in enumerate(piece):
                    learned = not (mask_prompt and offset < documents[doc]["prompt_length"])
                    if learned and used + offset >= 1:
                        expected_targets[used + offset - 1] = token
                used += len(piece)
            assert all(token == PAD for token in inputs[used:]), "the rest of the window is <pad>"
            assert np.array_equal(sample.targets, expected_targets), "loss only on real (and non-prompt) tokens"
            following = windows.packs[index + 1][0] if index + 1 < len(windows.packs) else None
            if following is not None and documents[following]["task"] == documents[pack[0]]["task"]:
                next_length = min(len(documents[following]["ids"]) + 1, seq_len + 1)
                assert used + next_length > seq_len + 1, "packing is greedy: the next document did not fit"
    shuffled = SupervisedWindows(corpus, seq_len, EOS, PAD, seed=5)
    assert sorted(doc for pack in shuffled.packs for doc in pack) == list(range(len(documents)))


def test_global_batch_is_the_same_samples_for_any_number_of_ranks() -> None:
    for step in (0, 7):
        single = list(global_batch_indices(step, 8, 0, 1))
        for world in (2, 4, 8):
            shares = [list(global_batch_indices(step, 8, rank, world)) for rank in range(world)]
            assert [index for share in shares for index in share] == single
    with pytest.raises(ValueError, match="not divisible"):
        global_batch_indices(0, 6, 0, 4)


def test_mixture_draws_each_component_its_share_per_epoch() -> None:
    corpus_a = build_token_file(random_documents(np.random.default_rng(4), 40, 20), word_tokenizer(20))
    corpus_b = build_token_file(random_documents(np.random.default_rng(5), 30, 20, tasks=2), word_tokenizer(20))
    unsupervised = UnsupervisedWindows(corpus_a, 8, EOS, seed=0)
    supervised = SupervisedWindows(corpus_b, 8, EOS, PAD, seed=1)
    mixture = WindowMixture([unsupervised, supervised], [10, 4], seed=2)
    batch = collate([mixture.sample(index) for index in range(len(mixture))])
    padded_rows = int(np.any(batch["targets"] == IGNORE_INDEX, axis=1).sum())
    assert len(mixture) == 14 and padded_rows <= 4
    repeat = collate([mixture.sample(index) for index in range(len(mixture))])
    assert all(np.array_equal(batch[key], repeat[key]) for key in batch), "order is a pure function of the seed"


def _tokenizer_config(*overrides: str):
    with initialize_config_dir(config_dir=str(repo_root() / "conf"), version_base="1.3"):
        return ziya2lab.train.config.TokenizerConfig(**compose("train", overrides=list(overrides)).tokenizer)


def test_tokenizer_is_chosen_by_preset_or_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    word_tokenizer(30).save_pretrained(tmp_path / "words")
    from_path = load_tokenizer(_tokenizer_config("tokenizer=pretrained", f"tokenizer.path={tmp_path / 'words'}"))
    assert len(from_path) == 33 and from_path.eos_token_id == EOS
    if SHARED_CACHE is None:
        monkeypatch.delenv("ZIYA2LAB_CACHE")
    else:
        monkeypatch.setenv("ZIYA2LAB_CACHE", SHARED_CACHE)  # where setup put the LLaMA-2 vocabulary
    llama2 = load_tokenizer(_tokenizer_config("tokenizer=llama2"))
    assert len(llama2) == 32_000 and llama2.eos_token_id == 2 and llama2.pad_token_id == 2
    monkeypatch.setenv("ZIYA2LAB_CACHE", str(tmp_path / "cache"))
    corpus = build_token_file([{"text": "Ziya2 继续预训练"}], llama2)
    assert corpus.tokens.dtype == np.uint16
    assert corpus.document(0).tolist() == llama2("Ziya2 继续预训练", add_special_tokens=False)["input_ids"]


def test_a_tokenizer_path_that_is_not_a_tokenizer_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "outputs" / "tokenizer"
    with pytest.raises(FileNotFoundError, match=f"tokenizer.path={re.escape(str(missing))} does not exist"):
        load_tokenizer(_tokenizer_config("tokenizer=pretrained", f"tokenizer.path={missing}"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="is not a tokenizer directory"):
        load_tokenizer(_tokenizer_config("tokenizer=pretrained", f"tokenizer.path={tmp_path / 'empty'}"))
