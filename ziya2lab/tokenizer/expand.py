"""Ziya2-style vocabulary expansion: frequent Chinese characters become single tokens of a LLaMA-2 tokenizer.

Why appending single characters is safe in SentencePiece BPE: encoding starts from one symbol per character,
and a merge joins two adjacent symbols only when their concatenated *string* is a piece, picking the highest
score. A single character is never the result of a merge, so adding it as a NORMAL piece changes no merge and
its score is irrelevant; all it changes is the id of a character symbol left unmerged, which was unknown and so
fell back to its UTF-8 byte tokens, and now is the character's own id. Text without such characters (English)
encodes token for token as before. The HF fast tokenizer derives its merges from pairs of vocabulary pieces; in
LLaMA-2 every character of a multi-character piece is already a piece, so a new character opens no new merge
there either (``check_no_new_merges`` keeps that an enforced precondition, not an assumption).

Padding pieces (to a multiple of 128, as Ziya2's 39,424) are UNUSED pieces none of whose two-way splits are both
pieces: they are longer than one character and no merge can build them, so no text ever encodes to them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.tokenizer.cjk import is_cjk_char
from ziya2lab.tokenizer.config import CountWeighting
from ziya2lab.tokenizer.spm_io import SPM_FILE, processor_from_proto, read_model_proto

log = logging.getLogger(__name__)
EXPANSION_FILE = "expansion.json"
# How the rows a checkpoint grows by are initialised (the trainer's ``stage.vocab_init``): ``mean`` = Ziya2's
# average of the rows of the base pieces that spelled the new token; ``frequency`` = that average weighted by the
# counts the expansion recorded (``source_weighting=frequency``); ``random`` = the model's normal init.
NEW_ROW_INITS = ("mean", "frequency", "random")
PADDING_PREFIX = "<unused_"
_SPM = sp_pb2.ModelProto.SentencePiece


@dataclass
class NewToken:
    id: int
    piece: str
    count: int
    source_ids: list[int]
    source_weights: list[float] | None = None


@dataclass
class Expansion:
    """What was added to a base tokenizer; the record embedding initialisation reads."""

    base_vocab_size: int
    vocab_size: int
    tokens: list[NewToken]
    padding_pieces: list[str] = field(default_factory=list)

    def source_ids(self) -> list[list[int]]:
        """Sources for every row from base_vocab_size to vocab_size; padding rows have none (random init)."""
        return [token.source_ids for token in self.tokens] + [[] for _ in self.padding_pieces]

    def source_weights(self) -> list[list[float]] | None:
        """Per-source weights aligned with ``source_ids``, or None when the tokens carry none (plain mean)."""
        if any(token.source_weights is None for token in self.tokens):
            return None
        return [list(token.source_weights or []) for token in self.tokens] + [[] for _ in self.padding_pieces]

    def save(self, tokenizer_dir: str | Path) -> None:
        atomic_write_json(Path(tokenizer_dir) / EXPANSION_FILE, asdict(self), indent=1)

    @classmethod
    def load(cls, tokenizer_dir: str | Path) -> Expansion:
        path = Path(tokenizer_dir) / EXPANSION_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} missing: {tokenizer_dir} is not an expanded tokenizer directory")
        record = json.loads(path.read_text(encoding="utf-8"))
        record["tokens"] = [NewToken(**token) for token in record["tokens"]]
        return cls(**record)


def combine_counts(per_source: Mapping[str, Counter[str]], weighting: CountWeighting) -> dict[str, float]:
    """Rank scores per character; per-source weighting gives each corpus an equal say whatever its size."""
    combined: dict[str, float] = {}
    for counts in per_source.values():
        total = sum(counts.values())
        if total == 0:
            continue
        scale = 1.0 / total if weighting is CountWeighting.per_source else 1.0
        for char, count in counts.items():
            combined[char] = combined.get(char, 0.0) + count * scale
    return combined


def select_new_characters(scores: Mapping[str, float], base_pieces: set[str], num_new: int) -> list[str]:
    """The ``num_new`` highest-scoring CJK characters that are not already pieces (ties: code point order)."""
    candidates = [char for char in scores if is_cjk_char(char) and char not in base_pieces]
    if len(candidates) < num_new:
        raise ValueError(
            f"the counting corpus has only {len(candidates)} CJK characters that are not already tokens, "
            f"fewer than the {num_new} requested (num_new_tokens); add corpora or lower it"
        )
    candidates.sort(key=lambda char: (-scores[char], char))
    return candidates[:num_new]


def check_no_new_merges(base_proto: sp_pb2.ModelProto, new_chars: Iterable[str]) -> None:
    """Raise if a new character occurs inside an existing multi-character piece (it would add HF merges)."""
    new = set(new_chars)
    for piece in base_proto.pieces:
        if len(piece.piece) > 1 and piece.type == _SPM.NORMAL and new.intersection(piece.piece):
            raise ValueError(
                f"new character(s) {sorted(new.intersection(piece.piece))} occur inside {piece.piece!r}"
            )


def source_token_ids(base_proto: sp_pb2.ModelProto, chars: Sequence[str]) -> list[list[int]]:
    """The base tokens each character split into in running text (no dummy ``▁`` prefix): its byte tokens."""
    mid_text = sp_pb2.ModelProto()
    mid_text.CopyFrom(base_proto)
    mid_text.normalizer_spec.add_dummy_prefix = False
    processor = processor_from_proto(mid_text)
    return [list(ids) for ids in processor.encode(list(chars))]


def is_unreachable_piece(piece: str, pieces: set[str]) -> bool:
    """True when no text can encode to ``piece``: not a single character and no split into two pieces."""
    return len(piece) > 1 and not any(
        piece[:cut] in pieces and piece[cut:] in pieces for cut in range(1, len(piece))
    )


def padding_pieces(existing: set[str], first_id: int, count: int) -> list[str]:
    """Names for the padding rows, checked unreachable against the final vocabulary."""
    names = [f"{PADDING_PREFIX}{first_id + offset}>" for offset in range(count)]
    vocabulary = existing | set(names)
    for name in names:
        if name in existing or not is_unreachable_piece(name, vocabulary):
            raise ValueError(f"padding piece {name!r} collides with or is reachable from the vocabulary")
    return names


def padded_vocab_size(size: int, pad_to_multiple: int) -> int:
    """``size`` rounded up to a multiple of ``pad_to_multiple`` (as it is; 0 or less: no padding)."""
    return -(-size // pad_to_multiple) * pad_to_multiple if pad_to_multiple > 0 else size


def expand_model_proto(
    base_proto: sp_pb2.ModelProto, new_chars: Sequence[str], pad_to_multiple: int
) -> tuple[sp_pb2.ModelProto, list[str]]:
    """Append ``new_chars`` as NORMAL pieces, then UNUSED padding up to a multiple; returns (model, padding)."""
    base_pieces = {piece.piece for piece in base_proto.pieces}
    duplicates = [char for char in new_chars if char in base_pieces]
    if duplicates or len(set(new_chars)) != len(new_chars):
        raise ValueError(f"new characters must be new and distinct; already present: {duplicates[:10]}")
    check_no_new_merges(base_proto, new_chars)

    expanded = sp_pb2.ModelProto()
    expanded.CopyFrom(base_proto)
    # Single characters never come out of a merge, so their score does not affect encoding; descending scores
    # after the last base piece keep the frequency rank visible in the model file.
    last_score = base_proto.pieces[len(base_proto.pieces) - 1].score
    for rank, char in enumerate(new_chars, start=1):
        expanded.pieces.add(piece=char, score=last_score - rank, type=_SPM.NORMAL)

    size = len(expanded.pieces)
    padded = padded_vocab_size(size, pad_to_multiple)
    padding = padding_pieces(base_pieces | set(new_chars), size, padded - size)
    for name in padding:
        expanded.pieces.add(piece=name, score=0.0, type=_SPM.UNUSED)
    expanded.trainer_spec.vocab_size = len(expanded.pieces)
    return expanded, padding


def build_expansion(
    base_proto: sp_pb2.ModelProto,
    char_counts: Counter[str],
    scores: Mapping[str, float],
    num_new: int,
    pad_to_multiple: int,
    token_frequencies: Counter[int] | None = None,
) -> tuple[sp_pb2.ModelProto, Expansion]:
    """Select, append and pad; each new token records its base source ids (and frequency weights if given)."""
    base_pieces = {piece.piece for piece in base_proto.pieces}
    chars = select_new_characters(scores, base_pieces, num_new)
    expanded, padding = expand_model_proto(base_proto, chars, pad_to_multiple)
    base_size = len(base_proto.pieces)
    tokens = []
    for offset, (char, sources) in enumerate(zip(chars, source_token_ids(base_proto, chars), strict=True)):
        weights = None
        if token_frequencies is not None:
            # +1 so a source token the corpus never produced still contributes.
            weights = [float(token_frequencies.get(source, 0) + 1) for source in sources]
        tokens.append(NewToken(base_size + offset, char, int(char_counts.get(char, 0)), sources, weights))
    return expanded, Expansion(base_size, len(expanded.pieces), tokens, padding)


def new_row_sources(
    tokenizer_dir: str | Path | None, checkpoint_dir: str | Path, checkpoint_vocab_size: int, vocab_size: int,
    init: str,
) -> tuple[list[list[int]] | None, list[list[float]] | None]:
    """``(source_ids, source_weights)`` for ``Llama.resize_token_embeddings`` when a checkpoint with
    ``checkpoint_vocab_size`` rows is continued with the ``vocab_size``-token tokenizer in ``tokenizer_dir``.

    Averaging is only meaningful when the tokenizer is an expansion of the checkpoint's own vocabulary (the source
    ids index the checkpoint's rows), so ``mean``/``frequency`` check it: ``expansion.json`` records a base of the
    checkpoint's size and this tokenizer's size, and, where the checkpoint directory has its ``tokenizer.model``,
    the expansion's first pieces are exactly that tokenizer's. Anything else is an error naming what differs,
    never a silent fall-back to random rows. ``random`` returns ``(None, None)``.
    """
    if init not in NEW_ROW_INITS:
        raise ValueError(f"stage.vocab_init={init!r}: expected one of {', '.join(NEW_ROW_INITS)}")
    if init == "random":
        return None, None
    hint = "; to grow it with random rows instead, set stage.vocab_init=random"
    if tokenizer_dir is None or not (Path(tokenizer_dir) / EXPANSION_FILE).is_file():
        raise ValueError(f"{checkpoint_dir} has {checkpoint_vocab_size} tokens and the tokenizer {vocab_size}, but "
                         f"tokenizer.path={tokenizer_dir} holds no {EXPANSION_FILE}: it is not a recorded expansion "
                         f"of the checkpoint's vocabulary, so its new rows cannot be averaged{hint}")
    expansion = Expansion.load(tokenizer_dir)
    if (expansion.base_vocab_size, expansion.vocab_size) != (checkpoint_vocab_size, vocab_size):
        raise ValueError(f"{Path(tokenizer_dir) / EXPANSION_FILE} expands {expansion.base_vocab_size} -> "
                         f"{expansion.vocab_size} tokens, but {checkpoint_dir} has {checkpoint_vocab_size} and the "
                         f"tokenizer {vocab_size}{hint}")
    _check_same_base(read_model_proto(tokenizer_dir), Path(checkpoint_dir), checkpoint_vocab_size)
    if init == "mean":
        return expansion.source_ids(), None
    weights = expansion.source_weights()
    if weights is None:
        raise ValueError(f"stage.vocab_init=frequency: {Path(tokenizer_dir) / EXPANSION_FILE} records no source "
                         f"weights (expand with source_weighting=frequency, or use stage.vocab_init=mean)")
    return expansion.source_ids(), weights


def _check_same_base(expanded: sp_pb2.ModelProto, checkpoint_dir: Path, base_size: int) -> None:
    """The expansion's first ``base_size`` pieces are the checkpoint tokenizer's, in order (when it has one)."""
    if not (checkpoint_dir / SPM_FILE).is_file():
        log.warning("%s has no %s: the expansion's base is checked by its size only", checkpoint_dir, SPM_FILE)
        return
    base = [piece.piece for piece in read_model_proto(checkpoint_dir).pieces]
    ours = [piece.piece for piece in expanded.pieces[:base_size]]
    if base != ours:
        first = next((i for i, (a, b) in enumerate(zip(base, ours, strict=False)) if a != b), min(len(base), len(ours)))
        raise ValueError(f"the expanded tokenizer is not an expansion of {checkpoint_dir / SPM_FILE}: piece {first} "
                         f"differs ({ours[first] if first < len(ours) else None!r} vs "
                         f"{base[first] if first < len(base) else None!r})")
