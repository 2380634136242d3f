"""Readability error events for the Fig. 8 rubric: punctuation errors, incomplete sentences, garbled order.

Each detector returns error events (name, excerpt) for one document; the readability rater counts them. Lines
that the coherence patterns call junk (navigation bars, ad lines) are skipped: they are a coherence problem,
and counting them twice would make the two raters move together.
"""

from __future__ import annotations

import re
import unicodedata

import jieba

from ziya2lab.attributes.config import AutoReadabilityConfig
from ziya2lab.attributes.junk import prose_paragraphs
from ziya2lab.attributes.text import CJK, count_tokens, ends_terminated, sentences

# Brackets only: a quotation may run over several paragraphs (Chinese reopens it in every paragraph), so an
# unbalanced quote mark in one paragraph is not an error. A bracket may close in a later paragraph too, so brackets
# are balanced over the whole document.
PAIRS = ("()", "（）", "《》", "【】", "[]")
# ".," is left out: an abbreviation before a comma ("e.g.,", "U.S.,") is correct English.
REPEATED_PUNCT = re.compile(r"([,，、;；:：。])\1|[,，][.。]|。[,，]|[;；:：][,，.。]|[,，][;；:：]")
PROSE_MARK = re.compile(r"[,，、;；]")
# An English ellipsis followed by a lower-case word is a pause in speech ("transmission... previous figures").
EN_ELLIPSIS_CUT = re.compile(r"\b[a-z]+(?:\.\.\.|…)(?=\s+[^\sa-z]|\s*$)")
# "……" after a clause is standard Chinese (omitted list items, a trailing voice): People's Daily uses it in 9% of
# its articles. A cut-off snippet ends with the web's "..." or a single "…".
ZH_ELLIPSIS_CUT = re.compile(CJK.pattern + r"(?:\.\.\.|…(?!…))")
# Any mark or symbol ends an unpunctuated run (Chinese); an English word carrying a punctuation mark ends it.
ZH_RUN_BREAK = re.compile(r"[^\w\s]|_")
HALF_WIDTH_IN_ZH = re.compile(CJK.pattern + r"[,.;:?!]" + CJK.pattern)
# Mid-paragraph only: a paragraph that starts in lower case is usually a caption, list item or split quotation.
LOWER_START = re.compile(r"(?<!\.\.)[.!?]\s+([a-z])")  # not after an ellipsis
# An abbreviation's period before a lower-case word: short words, initials, numbers, and capitalised words of up
# to five letters ("Corp. has", "Dept. of", "Sept. and").
ABBREVIATION_END = re.compile(
    r"(?:\b[A-Za-z]{1,3}|\b[A-Z][a-z]{1,4}|\b(?:[A-Za-z]\.)+|\d+|etc|vs|approx|resp|cf)\.\s+[a-z]$")
# Not inside a compound ("anti-missile missile", "one one-thousandth") or a contraction ("you you'll").
DOUBLED_WORD = re.compile(r"(?<![-'’])\b([A-Za-z]+)\s+\1\b(?![-'’])", re.I)
# "in in" is a particle before a preposition ("let us in in the dark")
LEGIT_DOUBLES = frozenset({"that", "had", "is", "do", "very", "bye", "ha", "no", "so", "yes", "well", "hush", "in"})
# For run-on length, semicolons and colons end a clause as well as a sentence: learned prose joins independent
# clauses with them into sentences of well over a hundred words.
CLAUSE_END = re.compile(r"(?<=[;:；：])\s*")

Event = tuple[str, str]


def _unbalanced(paragraphs: list[str]) -> list[Event]:
    """A closing bracket with none open before it, or an opening one never closed, over the whole document."""
    events = []
    for opening, closing in PAIRS:
        depth = 0
        for paragraph in paragraphs:
            for char in paragraph:
                if char == opening:
                    depth += 1
                elif char == closing:
                    if depth == 0:
                        events.append(("unbalanced", f"{closing} in {paragraph[:40]}"))
                    depth = max(depth - 1, 0)
        if depth:
            events.append(("unbalanced", f"{opening} never closed"))
    return events


def _punctuation(paragraph: str, lang: str) -> list[Event]:
    events = [("repeated_punct", match.group()) for match in REPEATED_PUNCT.finditer(paragraph)]
    if lang == "zh":
        events += [("half_width_punct", match.group()) for match in HALF_WIDTH_IN_ZH.finditer(paragraph)]
    return events


def _incomplete(paragraph: str, lang: str, cfg: AutoReadabilityConfig, last: bool) -> list[Event]:
    """Cut-off sentences. Only a last paragraph of prose (one with a comma-like mark) must end terminated:
    headlines, sub-heads and list items legitimately do not, and a cut-off document shows it at its end."""
    events = []
    if (last and count_tokens(paragraph, lang) >= cfg.min_unterminated_tokens and PROSE_MARK.search(paragraph)
            and not ends_terminated(paragraph, lang)):
        events.append(("unterminated", paragraph[-30:]))
    cut = ZH_ELLIPSIS_CUT if lang == "zh" else EN_ELLIPSIS_CUT
    events += [("ellipsis_cut", match.group()) for match in cut.finditer(paragraph)]
    limit = cfg.zh_max_sentence_chars if lang == "zh" else cfg.en_max_sentence_words
    for sentence in sentences(paragraph, lang):
        if max(count_tokens(clause, lang) for clause in CLAUSE_END.split(sentence)) > limit:
            events.append(("run_on", sentence[:30]))
    return events


def longest_unpunctuated(paragraph: str, lang: str) -> int:
    """The longest run of words (en) or characters (zh) with no punctuation mark between them."""
    if lang == "zh":
        return max((sum(not char.isspace() for char in piece) for piece in ZH_RUN_BREAK.split(paragraph)), default=0)
    longest = run = 0
    for word in paragraph.split():
        run = 0 if any(unicodedata.category(char).startswith("P") for char in word) else run + 1
        longest = max(longest, run)
    return longest


def _unpunctuated(paragraph: str, lang: str, cfg: AutoReadabilityConfig) -> list[Event]:
    limit = cfg.zh_max_unpunctuated_chars if lang == "zh" else cfg.en_max_unpunctuated_words
    return [("unpunctuated", paragraph[:30])] if longest_unpunctuated(paragraph, lang) > limit else []


def _english_grammar(paragraph: str) -> list[Event]:
    events = []
    for match in LOWER_START.finditer(paragraph):
        if not ABBREVIATION_END.search(paragraph[max(0, match.start() - 12) : match.end()]):
            events.append(("lowercase_start", paragraph[match.start() : match.start() + 20]))
    events += [
        ("doubled_word", match.group())
        for match in DOUBLED_WORD.finditer(paragraph)
        if match.group(1).lower() not in LEGIT_DOUBLES
    ]
    return events


def chinese_doubled_spans(paragraphs: list[str]) -> list[str]:
    """Spans of one to three jieba words, together at least two Chinese characters, written twice in a row
    ("经济经济", "发展经济发展经济"). A single character twice is Chinese reduplication (看看, 人人) and is not
    counted; neither is a span of more than three words (parallel clauses repeat on purpose)."""
    found = []
    for paragraph in paragraphs:
        words = jieba.lcut(paragraph)
        for length in (1, 2, 3):
            for start in range(len(words) - 2 * length + 1):
                span = words[start : start + length]
                if span == words[start + length : start + 2 * length] and len(CJK.findall("".join(span))) >= 2:
                    found.append("".join(span))
    return found


def error_events(text: str, lang: str, cfg: AutoReadabilityConfig) -> list[Event]:
    """All pattern-level readability error events of one document (word order is ``word_order``'s job)."""
    events: list[Event] = []
    kept = prose_paragraphs(text)
    events += _unbalanced(kept)
    for index, paragraph in enumerate(kept):
        events += _punctuation(paragraph, lang)
        events += _incomplete(paragraph, lang, cfg, last=index == len(kept) - 1)
        events += _unpunctuated(paragraph, lang, cfg)
        if lang == "en":
            events += _english_grammar(paragraph)
    if lang == "zh" and len(doubled := chinese_doubled_spans(kept)) >= cfg.zh_doubled_spans_to_flag:
        events.append(("doubled_span", "、".join(doubled[:3])))
    return events
