"""The expand-tokenizer app (Ziya2 §4) and its "lower initial loss" experiment: averaged new-token embeddings
against random ones right after expansion.

The expansion itself (count, expand, save, evaluate) is ``ziya2lab.tokenizer``'s. The experiment needs a trained
base model, and the project has one way to train: ``ziya2lab.train.run_training``, which sits above the
tokenizer package; so the experiment, and the app that runs both, live here in the study layer.

A small LLaMA is trained by the trainer on mixed English/Chinese text with the base tokenizer (its run directory is
kept), then expanded several times from the same weights: with each new row the mean of the rows of the tokens the
character used to split into (plain or frequency-weighted; or only the input rows, the output rows random or their
old centroid), and with the normal random init. All are scored, untrained further, on held-out Chinese encoded with
the expanded tokenizer (the same token sequence for all, so their per-token losses compare directly). The base
model on the base tokenization is given as nats per UTF-8 byte, a unit both tokenizations share. Why random still
wins at this scale: docs/TOKENIZER.md.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from ziya2lab.common.jsonl import write_jsonl
from ziya2lab.common.run_dir import RunDir, RunSummary
from ziya2lab.model import Llama, LlamaConfig
from ziya2lab.tokenizer.config import ExpandTokenizerConfig, InitExperimentConfig
from ziya2lab.tokenizer.corpora import iter_source_texts
from ziya2lab.tokenizer.expand import Expansion
from ziya2lab.tokenizer.expand_pipeline import base_tokenizer_dir, expand_and_evaluate, write_expansion_report
from ziya2lab.tokenizer.spm_io import HF_FILE, load_sentencepiece, read_model_proto, save_tokenizer_dir
from ziya2lab.train import run_training
from ziya2lab.train.config import (
    ComponentConfig,
    DataConfig,
    LoggerConfig,
    LoggerKind,
    Schedule,
    SourceConfig,
    TokenizerConfig,
    TrainAppConfig,
    TrainConfig,
)

INITIALISATIONS = ("mean", "frequency", "mean_input_only", "mean_input_centroid_output", "random")
INIT_EXPERIMENT_DIR = "init_experiment"  # below the app's output directory: train.jsonl, base_run/


def run_expand_tokenizer(cfg: ExpandTokenizerConfig, output_dir: str | Path) -> dict[str, Any]:
    """The app: build and evaluate the expanded tokenizer, run the initialisation experiment when enabled, and
    write ``report.json`` and ``efficiency.png``."""
    output_dir = Path(output_dir)
    report = expand_and_evaluate(cfg, output_dir)
    if cfg.init_experiment.enabled:
        report["init_experiment"] = compare_initialisations(
            cfg.init_experiment, base_tokenizer_dir(cfg), Path(report["tokenizer_dir"]),
            output_dir / INIT_EXPERIMENT_DIR,
        )
    write_expansion_report(report, output_dir)
    return report


def _texts_up_to(texts: Iterable[str], max_chars: int) -> Iterator[str]:
    total = 0
    for text in texts:
        if total >= max_chars:
            return
        total += len(text)
        yield text


def token_stream(encode: Any, texts: Iterable[str], eos_id: int) -> torch.Tensor:
    """The texts joined by ``<eos>``, as the trainer packs documents."""
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


def _hf_base_tokenizer(base_dir: Path, work_dir: Path) -> Path:
    """The trainer loads HF tokenizers: ``base_dir`` itself when it has ``tokenizer.json``, else a copy with one."""
    if (base_dir / HF_FILE).is_file():
        return base_dir
    return save_tokenizer_dir(read_model_proto(base_dir), work_dir / "base_tokenizer")


def base_model_config(
    cfg: InitExperimentConfig, tokenizer_dir: Path, train_file: Path, run_dir: Path
) -> TrainAppConfig:
    """The trainer's config for the base model: ``cfg``'s size and optimisation on ``train_file``, no eval sets,
    no logger, a fresh run every time (``resume=never``: a previous experiment's run is never silently reused).

    AdamW β₂ = 0.999 and a cosine from the peak to 0 with no warm-up keep the optimisation this experiment always
    had (``torch.optim`` defaults); the rest is the trainer's recipe (weight decay on matrices only, clip 1.0).
    """
    return TrainAppConfig(
        seed=cfg.seed,
        output_dir=str(run_dir),
        model=LlamaConfig(
            hidden_size=cfg.hidden_size,
            intermediate_size=cfg.intermediate_size,
            num_hidden_layers=cfg.num_hidden_layers,
            num_attention_heads=cfg.num_attention_heads,
            max_position_embeddings=cfg.seq_len,
        ),
        data=DataConfig(
            name="init_experiment",
            components=[
                ComponentConfig(name="zh_en", sources=[SourceConfig(path=str(train_file), prompt_field=None,
                                                                    task_field=None)])
            ],
            eval_sets={},
        ),
        tokenizer=TokenizerConfig(path=str(tokenizer_dir)),
        logger=LoggerConfig(kind=LoggerKind.none),
        train=TrainConfig(
            max_steps=cfg.train_steps,
            seq_len=cfg.seq_len,
            batch_size=cfg.batch_size,
            lr=cfg.learning_rate,
            min_lr=0.0,
            warmup_ratio=0.0,
            schedule=Schedule.cosine,
            beta2=0.999,
            log_every_steps=max(1, cfg.train_steps // 10),
            eval_every_steps=cfg.train_steps,
            ckpt_every_steps=cfg.train_steps,
            keep_checkpoints=1,
            resume="never",
        ),
    )


def train_base_model(
    cfg: InitExperimentConfig, texts: list[str], base_dir: Path, work_dir: Path
) -> tuple[Llama, RunSummary]:
    """Train the base model with the project's trainer on ``texts``; returns it (from the run's ``final/``) and the
    run's summary. ``work_dir`` keeps ``train.jsonl`` and the run directory ``base_run/``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    train_file = work_dir / "train.jsonl"
    write_jsonl(train_file, ({"text": text} for text in texts))
    run = RunDir(work_dir / "base_run")
    summary = run_training(base_model_config(cfg, _hf_base_tokenizer(base_dir, work_dir), train_file, run.path))
    if summary.status != "completed":
        raise RuntimeError(f"the init experiment's base model stopped before the end ({summary.status}): {run.path}")
    return Llama.from_pretrained(run.final), summary


def _source_frequency_weights(expansion: Expansion, train_stream: torch.Tensor) -> list[list[float]]:
    """Per new token, how often each of its source tokens occurs in the training stream (+1, never zero)."""
    frequencies = torch.bincount(train_stream, minlength=expansion.base_vocab_size)
    return [[float(frequencies[source]) + 1.0 for source in sources] for sources in expansion.source_ids()]


def expanded_model(model: Any, expansion: Expansion, init: str, train_stream: torch.Tensor, seed: int) -> Any:
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


def loss_scores(losses: torch.Tensor, eval_bytes: int, is_new: torch.Tensor | None = None) -> dict[str, float]:
    scores = {"loss_per_token": float(losses.mean()), "nats_per_byte": float(losses.sum()) / eval_bytes}
    if is_new is not None:
        scores |= {"loss_on_new_tokens": float(losses[is_new].mean()),
                   "loss_on_base_tokens": float(losses[~is_new].mean())}
    return scores


def compare_initialisations(
    cfg: InitExperimentConfig, base_dir: str | Path, expanded_dir: str | Path, work_dir: str | Path
) -> dict[str, Any]:
    """Initial held-out Chinese loss of the expanded model under each new-token initialisation."""
    base, expanded = load_sentencepiece(base_dir), load_sentencepiece(expanded_dir)
    expansion = Expansion.load(expanded_dir)
    zh_train = list(_texts_up_to(iter_source_texts(cfg.zh_source, "train"), cfg.train_chars_per_language))
    en_train = list(_texts_up_to(iter_source_texts(cfg.en_source, "train"), cfg.train_chars_per_language))
    zh_eval = list(_texts_up_to(iter_source_texts(cfg.zh_source, "heldout"), cfg.eval_chars))
    eval_bytes = sum(len(text.encode("utf-8")) + 1 for text in zh_eval)

    train_texts = _interleave(zh_train, en_train)
    train_stream = token_stream(base.encode, train_texts, base.eos_id())
    model, run_summary = train_base_model(cfg, train_texts, Path(base_dir), Path(work_dir))
    base_losses = token_losses(model, token_stream(base.encode, zh_eval, base.eos_id()), cfg.seq_len)
    expanded_stream = token_stream(expanded.encode, zh_eval, expanded.eos_id())
    targets = torch.cat(
        [
            expanded_stream[start + 1 : start + cfg.seq_len + 1]
            for start in range(0, len(expanded_stream) - 1, cfg.seq_len)
        ]
    )
    is_new = targets >= expansion.base_vocab_size

    results: dict[str, Any] = {"base_tokenizer": loss_scores(base_losses, eval_bytes)}
    for init in INITIALISATIONS:
        losses = token_losses(
            expanded_model(model, expansion, init, train_stream, cfg.seed), expanded_stream, cfg.seq_len
        )
        if not bool(torch.isfinite(losses).all()):
            raise FloatingPointError(f"non-finite initial loss under the {init!r} initialisation")
        results[init] = loss_scores(losses, eval_bytes, is_new)
    return {
        **{f"zh_initial_loss_{init}": results[init]["loss_per_token"] for init in INITIALISATIONS},
        "averaged_beats_random": results["mean"]["loss_per_token"] < results["random"]["loss_per_token"],
        "new_token_share_of_eval_tokens": float(is_new.float().mean()),
        "eval_tokens_expanded": len(targets),
        "eval_bytes": eval_bytes,
        "train_tokens_base": len(train_stream),
        "base_run": str(Path(work_dir) / "base_run"),
        "base_run_skipped_steps": run_summary.skipped_steps,
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
