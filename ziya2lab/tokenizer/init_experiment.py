"""Ziya2's "lower initial loss" claim: averaged new-token embeddings beat random ones right after expansion.

A small LLaMA is trained on mixed English/Chinese text with the base tokenizer, then expanded twice from the same
weights: once with each new row the mean of the rows of the tokens the character used to split into, once with
the normal random init. Both are scored, untrained further, on held-out Chinese encoded with the expanded
tokenizer (the same token sequence for both, so their per-token losses compare directly). The base model on the
base tokenization is given as nats per UTF-8 byte, the unit all three share.
"""

from __future__ import annotations

import copy
import math
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
def summed_loss(model: Any, stream: torch.Tensor, seq_len: int) -> tuple[float, int]:
    """Total next-token cross-entropy (nats) and number of predicted tokens over consecutive windows."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(stream) - 1, seq_len):
        window = stream[start : start + seq_len + 1]
        if len(window) < 2:
            break
        out = model(window[None, :-1], targets=window[None, 1:])
        predicted = len(window) - 1
        total += float(out.loss) * predicted
        count += predicted
    return total, count


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


def compare_initialisations(
    cfg: InitExperimentConfig, base_dir: str | Path, expanded_dir: str | Path
) -> dict[str, Any]:
    """Initial held-out Chinese loss of the expanded model under averaged vs random new-token init."""
    base, expanded = load_sentencepiece(base_dir), load_sentencepiece(expanded_dir)
    expansion = Expansion.load(expanded_dir)
    zh_train = list(_texts_up_to(iter_source_texts(cfg.zh_source, "train"), cfg.train_chars_per_language))
    en_train = list(_texts_up_to(iter_source_texts(cfg.en_source, "train"), cfg.train_chars_per_language))
    zh_eval = list(_texts_up_to(iter_source_texts(cfg.zh_source, "heldout"), cfg.eval_chars))
    eval_bytes = sum(len(text.encode("utf-8")) + 1 for text in zh_eval)

    train_stream = _token_stream(base.encode, _interleave(zh_train, en_train), base.eos_id())
    model = train_base_model(cfg, train_stream, base.get_piece_size())
    base_total, base_count = summed_loss(model, _token_stream(base.encode, zh_eval, base.eos_id()), cfg.seq_len)
    expanded_stream = _token_stream(expanded.encode, zh_eval, expanded.eos_id())
    new_token_share = float((expanded_stream >= expansion.base_vocab_size).float().mean())

    results: dict[str, Any] = {
        "base_tokenizer": {"loss_per_token": base_total / base_count, "nats_per_byte": base_total / eval_bytes}
    }
    for name, sources, weights in (
        ("averaged", expansion.source_ids(), expansion.source_weights()),
        ("random", None, None),
    ):
        torch.manual_seed(cfg.seed)
        candidate = copy.deepcopy(model)
        candidate.resize_token_embeddings(expansion.vocab_size, sources, weights)
        total, count = summed_loss(candidate, expanded_stream, cfg.seq_len)
        results[name] = {"loss_per_token": total / count, "nats_per_byte": total / eval_bytes}
    averaged, random_init = results["averaged"]["loss_per_token"], results["random"]["loss_per_token"]
    if not (math.isfinite(averaged) and math.isfinite(random_init)):
        raise FloatingPointError(f"non-finite initial loss: averaged={averaged} random={random_init}")
    return {
        "zh_initial_loss_averaged": averaged,
        "zh_initial_loss_random": random_init,
        "averaged_beats_random": averaged < random_init,
        "new_token_share_of_eval_tokens": new_token_share,
        "eval_tokens_expanded": len(expanded_stream),
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
