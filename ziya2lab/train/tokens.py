"""Flat token files, the paper's two packing modes, and a resumable, rank-independent sample order.

A corpus is tokenised once into ``tokens.bin`` (uint16 when the vocabulary fits, else uint32) plus a document
index, cached under a content hash of (documents, tokenizer): every run, rank and test that asks for the same text
with the same tokenizer memory-maps the same file.

Packing follows Ziya2 §3: *unsupervised* windows are cut from shuffled documents joined by ``<eos>``;
*supervised* windows hold documents of one task, packed up to ``seq_len`` and padded, with the loss masked on
padding (and optionally on prompts). A sample is addressed by a single global index, so the data order is a pure
function of (seed, index): the sampler's whole state is one integer, and the order does not depend on how many
ranks share a global batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from ziya2lab.common.atomic import atomic_directory
from ziya2lab.common.hashing import hash_bytes, hash_config
from ziya2lab.common.paths import cache_dir

IGNORE_INDEX = -100
FORMAT_VERSION = 1
ENCODE_BATCH_DOCS = 512


@dataclass(frozen=True)
class Sample:
    """One packed window: ``targets[t]`` is the token to predict at position ``t`` (``-100`` = no loss)."""

    input_ids: np.ndarray
    targets: np.ndarray
    document_ids: np.ndarray


class TokenizedCorpus:
    """A memory-mapped token file with its document index (``offsets[i]:offsets[i+1]`` is document ``i``)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.meta = json.loads((self.directory / "meta.json").read_text())
        self.offsets = np.load(self.directory / "offsets.npy")
        self.prompt_lengths = np.load(self.directory / "prompt_lengths.npy")
        self.task_ids = np.load(self.directory / "task_ids.npy")
        self.task_names: list[str] = self.meta["tasks"]
        n_tokens = int(self.offsets[-1])
        self.tokens = (
            np.memmap(self.directory / "tokens.bin", dtype=self.meta["dtype"], mode="r", shape=(n_tokens,))
            if n_tokens
            else np.zeros(0, dtype=self.meta["dtype"])
        )

    @property
    def n_documents(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    def document(self, index: int) -> np.ndarray:
        return np.asarray(self.tokens[self.offsets[index] : self.offsets[index + 1]], dtype=np.int64)

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """Content hash of the tokenizer's full definition (vocabulary, merges, normaliser, specials)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer; token files need one")
    return hash_bytes(backend.to_str().encode(), json.dumps(tokenizer.all_special_tokens).encode())


def _documents_hash(documents: Sequence[dict]) -> str:
    parts = []
    for document in documents:
        parts.append(document.get("prompt") or "")
        parts.append(document["text"])
        parts.append(document.get("task") or "")
    return hash_bytes(*(part.encode("utf-8", "surrogatepass") for part in parts))


def _encode(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> list[list[int]]:
    encodings = tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
    return [encoding.ids for encoding in encodings]


def build_token_file(
    documents: Iterable[dict], tokenizer: PreTrainedTokenizerBase, description: str = ""
) -> TokenizedCorpus:
    """Tokenise ``documents`` (dicts with ``text`` and optional ``prompt``/``task``) once, or reuse the cache.

    A document's tokens are its prompt's tokens followed by its text's tokens; ``prompt_lengths`` remembers the
    split so supervised packing can mask the loss on prompts.
    """
    docs = list(documents)
    for position, document in enumerate(docs):
        if not isinstance(document.get("text"), str):
            raise ValueError(f"document {position} of {description or 'the corpus'} has no string 'text' field")
    key = hash_config(
        {"format": FORMAT_VERSION, "tokenizer": tokenizer_fingerprint(tokenizer), "docs": _documents_hash(docs)}
    )
    directory = cache_dir("tokens") / key[:24]
    if (directory / "meta.json").exists():
        return TokenizedCorpus(directory)
    vocab_size = len(tokenizer)
    dtype = np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32
    tasks = sorted({document.get("task") or "" for document in docs})
    task_index = {name: position for position, name in enumerate(tasks)}
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    prompt_lengths = np.zeros(len(docs), dtype=np.int32)
    task_ids = np.array([task_index[document.get("task") or ""] for document in docs], dtype=np.int32)
    with atomic_directory(directory, keep_existing=True) as staging:
        with open(staging / "tokens.bin", "wb") as handle, tqdm(
            total=len(docs), desc=f"tokenising {description}".strip(), unit="doc", mininterval=1.0
        ) as progress:
            for start in range(0, len(docs), ENCODE_BATCH_DOCS):
                batch = docs[start : start + ENCODE_BATCH_DOCS]
                prompts = _encode(tokenizer, [document.get("prompt") or "" for document in batch])
                texts = _encode(tokenizer, [document["text"] for document in batch])
                for offset, (prompt_ids, text_ids) in enumerate(zip(prompts, texts, strict=True)):
                    ids = np.asarray(prompt_ids + text_ids, dtype=dtype)
                    handle.write(ids.tobytes())
                    prompt_lengths[start + offset] = len(prompt_ids)
                    offsets[start + offset + 1] = offsets[start + offset] + len(ids)
                progress.update(len(batch))
        np.save(staging / "offsets.npy", offsets)
        np.save(staging / "prompt_lengths.npy", prompt_lengths)
        np.save(staging / "task_ids.npy", task_ids)
        meta = {
            "format": FORMAT_VERSION,
            "dtype": np.dtype(dtype).name,
            "vocab_size": vocab_size,
            "n_documents": len(docs),
            "n_tokens": int(offsets[-1]),
            "tasks": tasks,
            "description": description,
        }
        (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return TokenizedCorpus(directory)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


class UnsupervisedWindows:
    """Shuffle documents, join them with ``<eos>``, cut ``seq_len`` windows (targets are the next tokens).

    Window ``i`` of an epoch takes stream positions ``[i*T, i*T+T]`` (T+1 tokens: inputs and shifted targets), so
    every stream token is an input exactly once; only the last ``< T+1`` tokens of each epoch's stream go unused.
    ``document_ids`` number the documents inside a window for the per-document attention mask.
    """

    def __init__(self, corpus: TokenizedCorpus, seq_len: int, eos_id: int, seed: int, shuffle: bool = True) -> None:
        self.corpus = corpus
        self.seq_len = seq_len
        self.eos_id = eos_id
        self.seed = seed
        self.shuffle = shuffle
        self.stream_length = corpus.n_tokens + corpus.n_documents
        self._epoch_cache: tuple[int, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(0, (self.stream_length - 1) // self.seq_len)

    def _epoch_layout(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            n_docs = self.corpus.n_documents
            order = _rng(self.seed, epoch).permutation(n_docs) if self.shuffle else np.arange(n_docs)
            starts = np.concatenate([[0], np.cumsum(self.corpus.lengths()[order] + 1)])
            self._epoch_cache = (epoch, order, starts)
        return self._epoch_cache[1], self._epoch_cache[2]

    def window(self, epoch: int, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(f"window {index} outside 0..{len(self) - 1}")
        order, starts = self._epoch_layout(epoch)
        begin, end = index * self.seq_len, index * self.seq_len + self.seq_len + 1
        first = int(np.searchsorted(starts, begin, side="right")) - 1
        pieces, doc_ids = [], []
        position, slot = first, 0
        while sum(len(piece) for piece in pieces) < end - begin:
            doc = np.append(self.corpus.document(int(order[position])), self.eos_id)
            lo = max(begin - int(starts[position]), 0)
            hi = min(end - int(starts[position]), len(doc))
            pieces.append(doc[lo:hi])
            doc_ids.append(np.full(hi - lo, slot, dtype=np.int64))
            position, slot = position + 1, slot + 1
        tokens, documents = np.concatenate(pieces), np.concatenate(doc_ids)
        return Sample(input_ids=tokens[:-1], targets=tokens[1:].copy(), document_ids=documents[:-1])


class SupervisedWindows:
    """Pack documents of the same task up to ``seq_len`` (+1 for the shifted target), pad the rest.

    Documents are ``prompt + text + <eos>``; one longer than the window is truncated on the right. The loss is
    masked where the target is padding and, with ``mask_prompt``, where the target is a prompt token. The packing
    is fixed by the seed; each epoch visits the packed windows in a new order.
    """

    def __init__(
        self,
        corpus: TokenizedCorpus,
        seq_len: int,
        eos_id: int,
        pad_id: int,
        seed: int,
        mask_prompt: bool = False,
        shuffle: bool = True,
    ) -> None:
        self.corpus = corpus
        self.seq_len = seq_len
        self.eos_id = eos_id
        self.pad_id = pad_id
        self.seed = seed
        self.mask_prompt = mask_prompt
        self.shuffle = shuffle
        self.packs = self._pack()

    def _pack(self) -> list[list[int]]:
        capacity = self.seq_len + 1
        lengths = np.minimum(self.corpus.lengths() + 1, capacity)
        packs: list[list[int]] = []
        rng = _rng(self.seed, 1_000_003)
        for task in range(len(self.corpus.task_names)):
            members = np.flatnonzero(self.corpus.task_ids == task)
            if self.shuffle:
                members = rng.permutation(members)
            current: list[int] = []
            used = 0
            for doc in members.tolist():
                if current and used + lengths[doc] > capacity:
                    packs.append(current)
                    current, used = [], 0
                current.append(doc)
                used += int(lengths[doc])
            if current:
                packs.append(current)
        return packs

    def __len__(self) -> int:
        return len(self.packs)

    def window(self, epoch: int, index: int) -> Sample:
        order = _rng(self.seed, epoch).permutation(len(self.packs)) if self.shuffle else np.arange(len(self.packs))
        capacity = self.seq_len + 1
        tokens = np.full(capacity, self.pad_id, dtype=np.int64)
        loss_on = np.zeros(capacity, dtype=bool)
        documents = np.full(capacity, len(self.packs[order[index]]), dtype=np.int64)
        used = 0
        for slot, doc in enumerate(self.packs[order[index]]):
            piece = np.append(self.corpus.document(doc), self.eos_id)[: capacity - used]
            tokens[used : used + len(piece)] = piece
            documents[used : used + len(piece)] = slot
            learn = np.ones(len(piece), dtype=bool)
            if self.mask_prompt:
                learn[: self.corpus.prompt_lengths[doc]] = False
            loss_on[used : used + len(piece)] = learn
            used += len(piece)
        targets = np.where(loss_on[1:], tokens[1:], IGNORE_INDEX)
        return Sample(input_ids=tokens[:-1], targets=targets, document_ids=documents[:-1])


Windows = UnsupervisedWindows | SupervisedWindows


class WindowMixture:
    """Several window sets mixed in fixed per-epoch amounts, in one seeded order (e.g. supervised + replay).

    Component ``c`` contributes ``counts[c]`` windows per mixture epoch, drawn in its own order and cycling
    through its own epochs, so a small replay share never repeats until the component is exhausted.
    """

    def __init__(self, components: Sequence[Windows], counts: Sequence[int], seed: int) -> None:
        if len(components) != len(counts) or not components:
            raise ValueError("a mixture needs one count per component and at least one component")
        for component, count in zip(components, counts, strict=True):
            if count > 0 and len(component) == 0:
                raise ValueError(f"a mixture component has no windows but is asked for {count} per epoch")
        self.components = list(components)
        self.counts = [int(count) for count in counts]
        self.seed = seed
        self.owner = np.repeat(np.arange(len(counts)), self.counts)
        self.rank_in_owner = np.concatenate([np.arange(count) for count in self.counts])
        self._order_cache: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(sum(self.counts))

    def _order(self, epoch: int) -> np.ndarray:
        if self._order_cache is None or self._order_cache[0] != epoch:
            self._order_cache = (epoch, _rng(self.seed, 2_000_003, epoch).permutation(len(self)))
        return self._order_cache[1]

    def sample(self, global_index: int) -> Sample:
        """The sample at position ``global_index`` of the endless, deterministic stream."""
        epoch, position = divmod(global_index, len(self))
        slot = int(self._order(epoch)[position])
        component_index = int(self.owner[slot])
        component = self.components[component_index]
        stream_index = epoch * self.counts[component_index] + int(self.rank_in_owner[slot])
        component_epoch, index = divmod(stream_index, len(component))
        return component.window(component_epoch, index)


def global_batch_indices(step: int, global_batch: int, rank: int, world_size: int) -> range:
    """Sample indices of ``rank``'s share of the global batch of ``step``.

    The global batch is the contiguous index range ``[step*B, (step+1)*B)``; ranks take contiguous slices of it.
    Changing the number of ranks re-slices the same samples, so the data seen per step is unchanged.
    """
    if global_batch % world_size:
        raise ValueError(f"global batch {global_batch} is not divisible by {world_size} ranks")
    share = global_batch // world_size
    start = step * global_batch + rank * share
    return range(start, start + share)


def collate(samples: Sequence[Sample]) -> dict[str, np.ndarray]:
    return {
        "input_ids": np.stack([sample.input_ids for sample in samples]),
        "targets": np.stack([sample.targets for sample in samples]),
        "document_ids": np.stack([sample.document_ids for sample in samples]),
    }
