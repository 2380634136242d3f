"""Ziya2's "lower initial loss" claim: averaged new-token embeddings beat random ones right after expansion.

A small LLaMA is trained on mixed English/Chinese text with the base tokenizer, then expanded several times from
the same weights: with each new row the mean of the rows of the tokens the character used to split into (plain or
frequency-weighted; or only the input rows, the output rows random or their old centroid), and with the normal
random init. All are scored, untrained further, on held-out Chinese encoded with the expanded tokenizer (the same
token sequence for all, so their per-token losses compare directly). The base model on the base tokenization is
given as nats per UTF-8 byte, a unit both tokenizations share. Why random still wins at this scale:
docs/TOKENIZER.md.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ziya2lab.tokenizer.config import InitExperimentConfig
from ziya2lab.tokenizer.corpora import iter_source_texts
from ziya2lab.tokenizer.expand import Expansion
from ziya2lab.tokenizer.spm_io import load_sentencepiece


def _texts_up_to(texts: Iterable[str], max_chars: int) -> Iterator[str]:
    total = 0
    for text in texts:
        if total >= max_chars:
            return
        total += len(text)
        yield text


def _token_stream(encode: Any, texts: Iterable[str], eos_id: int) -> torch.Tensor:
    ids: list[int] = []
    for text in texts:
        ids.extend(encode(text))
        ids.append(eos_id)
    return torch.tensor(ids, dtype=torch.long)


def _interleave(first: list[str], second: list[str]) -> list[str]:
    mixed = [text for pair in zip(first, second, strict=False) for text in pair]
    longer = first if len(first) > len(second) else second
    return mixed + longer[min(len(first), len(second)) :]


@torch.no_grad()
def token_losses(model: Any, stream: torch.Tensor, seq_len: int, batch_size: int = 32) -> torch.Tensor:
    """Next-token cross-entropy (nats) of every token after the first of each window of ``seq_len + 1``."""
    model.eval()
    windows = [stream[start : start + seq_len + 1] for start in range(0, len(stream) - 1, seq_len)]
    losses = []
    for first in range(0, len(windows), batch_size):
        batch = windows[first : first + batch_size]
        width = max(len(window) for window in batch)
        padded = torch.full((len(batch), width), -100, dtype=torch.long)
        for row, window in enumerate(batch):
            padded[row, : len(window)] = window
        logits = model(padded[:, :-1].clamp(min=0)).logits.float()
        targets = padded[:, 1:]
        per_token = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), targets.flatten(), ignore_index=-100, reduction="none"
        )
        losses.append(per_token[targets.flatten() != -100])
    return torch.cat(losses)


def train_base_model(cfg: InitExperimentConfig, stream: torch.Tensor, vocab_size: int) -> Any:
    """A small LLaMA trained on random windows of ``stream`` with AdamW and cosine decay."""
    from ziya2lab.model import Llama, LlamaConfig

    torch.manual_seed(cfg.seed)
    model = Llama(
        LlamaConfig(
            vocab_size=vocab_size,
            hidden_size=cfg.hidden_size,
            intermediate_size=cfg.intermediate_size,
            num_hidden_layers=cfg.num_hidden_layers,
            num_attention_heads=cfg.num_attention_heads,
            max_position_embeddings=cfg.seq_len,
        )
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.train_steps)
    generator = torch.Generator().manual_seed(cfg.seed)
    if len(stream) <= cfg.seq_len + 1:
        raise ValueError(f"training stream of {len(stream)} tokens is shorter than seq_len={cfg.seq_len}")
    model.train()
    progress = tqdm(range(cfg.train_steps), desc="training base model", mininterval=2.0)
    for _ in progress:
        starts = torch.randint(0, len(stream) - cfg.seq_len - 1, (cfg.batch_size,), generator=generator)
        batch = torch.stack([stream[start : start + cfg.seq_len + 1] for start in starts.tolist()])
        loss = model(batch[:, :-1], targets=batch[:, 1:]).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        progress.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    return model


def _source_frequency_weights(expansion: Expansion, train_stream: torch.Tensor) -> list[list[float]]:
    """Per new token, how often each of its source tokens occurs in the training stream (+1, never zero)."""
    frequencies = torch.bincount(train_stream, minlength=expansion.base_vocab_size)
    return [[float(frequencies[source]) + 1.0 for source in sources] for sources in expansion.source_ids()]


def _expanded(model: Any, expansion: Expansion, init: str, train_stream: torch.Tensor, seed: int) -> Any:
    """A copy of ``model`` grown to the expanded vocabulary with the named initialisation of the new rows."""
    torch.manual_seed(seed)
    candidate = copy.deepcopy(model)
    if init == "random":
        candidate.resize_token_embeddings(expansion.vocab_size)
        return candidate
    weights = _source_frequency_weights(expansion, train_stream) if init == "frequency" else None
    candidate.resize_token_embeddings(expansion.vocab_size, expansion.source_ids(), weights)
    new_rows = candidate.lm_head.weight[expansion.base_vocab_size :]
    # Averaged output rows inherit the lead UTF-8 byte's logit, so every new character with that lead byte
    # competes for the same probability mass; these two variants keep the averaged input rows only.
    with torch.no_grad():
        if init == "mean_input_only":
            new_rows.normal_(mean=0.0, std=candidate.config.initializer_range)
        elif init == "mean_input_centroid_output":
            # Hewitt (2021): the centroid of the old output rows gives every new token about the average logit.
            new_rows.copy_(candidate.lm_head.weight[: expansion.base_vocab_size].mean(0, keepdim=True))
    return candidate


INITIALISATIONS = ("mean", "frequency", "mean_input_only", "mean_input_centroid_output", "random")


def compare_initialisations(
    cfg: InitExperimentConfig, base_dir: str | Path, expanded_dir: str | Path
) -> dict[str, Any]:
    """Initial held-out Chinese loss of the expanded model under each new-token initialisation."""
    base, expanded = load_sentencepiece(base_dir), load_sentencepiece(expanded_dir)
    expansion = Expansion.load(expanded_dir)
    zh_train = list(_texts_up_to(iter_source_texts(cfg.zh_source, "train"), cfg.train_chars_per_language))
    en_train = list(_texts_up_to(iter_source_texts(cfg.en_source, "train"), cfg.train_chars_per_language))
    zh_eval = list(_texts_up_to(iter_source_texts(cfg.zh_source, "heldout"), cfg.eval_chars))
    eval_bytes = sum(len(text.encode("utf-8")) + 1 for text in zh_eval)

    train_stream = _token_stream(base.encode, _interleave(zh_train, en_train), base.eos_id())
    model = train_base_model(cfg, train_stream, base.get_piece_size())
    base_losses = token_losses(model, _token_stream(base.encode, zh_eval, base.eos_id()), cfg.seq_len)
    expanded_stream = _token_stream(expanded.encode, zh_eval, expanded.eos_id())
    targets = torch.cat(
        [
            expanded_stream[start + 1 : start + cfg.seq_len + 1]
            for start in range(0, len(expanded_stream) - 1, cfg.seq_len)
        ]
    )
    is_new = targets >= expansion.base_vocab_size

    results: dict[str, Any] = {
        "base_tokenizer": {
            "loss_per_token": float(base_losses.mean()),
            "nats_per_byte": float(base_losses.sum()) / eval_bytes,
        }
    }
    for init in INITIALISATIONS:
        losses = token_losses(
            _expanded(model, expansion, init, train_stream, cfg.seed), expanded_stream, cfg.seq_len
        )
        if not bool(torch.isfinite(losses).all()):
            raise FloatingPointError(f"non-finite initial loss under the {init!r} initialisation")
        results[init] = {
            "loss_per_token": float(losses.mean()),
            "nats_per_byte": float(losses.sum()) / eval_bytes,
            "loss_on_new_tokens": float(losses[is_new].mean()),
            "loss_on_base_tokens": float(losses[~is_new].mean()),
        }
    return {
        "zh_initial_loss_mean": results["mean"]["loss_per_token"],
        "zh_initial_loss_frequency": results["frequency"]["loss_per_token"],
        "zh_initial_loss_mean_input_only": results["mean_input_only"]["loss_per_token"],
        "zh_initial_loss_mean_input_centroid_output": results["mean_input_centroid_output"]["loss_per_token"],
        "zh_initial_loss_random": results["random"]["loss_per_token"],
        "averaged_beats_random": results["mean"]["loss_per_token"] < results["random"]["loss_per_token"],
        "new_token_share_of_eval_tokens": float(is_new.float().mean()),
        "eval_tokens_expanded": len(targets),
        "eval_bytes": eval_bytes,
        "train_tokens_base": len(train_stream),
        "settings": {
            "train_steps": cfg.train_steps,
            "hidden_size": cfg.hidden_size,
            "num_hidden_layers": cfg.num_hidden_layers,
            "seq_len": cfg.seq_len,
            "batch_size": cfg.batch_size,
            "zh_source": cfg.zh_source,
            "en_source": cfg.en_source,
        },
        "by_init": results,
    }
