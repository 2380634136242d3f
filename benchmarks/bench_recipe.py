"""The recipe's speed: one training step of its model shapes with 1 and 2 intra-op threads, side by side, and
optionally ``recipe=mini`` end to end.

    .venv/bin/python benchmarks/bench_recipe.py [--presets mini,cpu] [--steps 30] [--end-to-end]

For each preset the model, sequence length and batch of ``conf/recipe/<preset>.yaml`` at its expanded vocabulary
(K = ``expansion.num_new_tokens`` or Ziya2's 7,400/32,000 of the base vocabulary, padded as the expansion pads)
train ``--steps`` steps (forward, backward, AdamW; after 3 untimed ones) with ``torch.set_num_threads(1)`` and
then ``(2)``, on random token ids (a step's cost does not depend on the ids). Wall and process CPU time per step
are reported: on a shared machine the wall time of the 2-thread step is where a second thread's per-op barrier
shows. ``--end-to-end`` then runs ``recipe=mini`` (``ziya2lab.recipe.pipeline.run_recipe``) into a fresh temporary
directory with the caches as they are and reports its wall time. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ziya2lab.common.paths import config_dir
from ziya2lab.model import Llama
from ziya2lab.recipe.config import RecipeAppConfig
from ziya2lab.recipe.expansion import num_new_tokens
from ziya2lab.tokenizer.expand import padded_vocab_size

WARM_UP_STEPS = 3


def recipe_config(preset: str, output_dir: Path) -> RecipeAppConfig:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return OmegaConf.to_object(compose(config_name="ziya2_recipe",
                                           overrides=[f"recipe={preset}", f"output_dir={output_dir}"]))


def expanded_vocab_size(cfg: RecipeAppConfig) -> int:
    return padded_vocab_size(cfg.base.vocab_size + num_new_tokens(cfg, cfg.base.vocab_size),
                             cfg.expansion.pad_to_multiple)


def step_times(cfg: RecipeAppConfig, threads: int, steps: int) -> dict[str, float]:
    """Wall and CPU milliseconds per training step of the preset's shape with ``threads`` intra-op threads."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model_config = dataclasses.replace(cfg.model, vocab_size=expanded_vocab_size(cfg))
    model = Llama(model_config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, model_config.vocab_size, (cfg.train.batch_size, cfg.train.seq_len))

    def step() -> None:
        model(ids, targets=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(WARM_UP_STEPS):
        step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    wall_ms = (time.perf_counter() - wall) / steps * 1e3
    tokens = cfg.train.batch_size * cfg.train.seq_len
    return {"wall_ms": wall_ms, "cpu_ms": (time.process_time() - cpu) / steps * 1e3,
            "tokens_per_s": tokens / wall_ms * 1e3}


def end_to_end_mini() -> float:
    from ziya2lab.recipe.pipeline import run_recipe

    with tempfile.TemporaryDirectory(prefix="bench_recipe_") as directory:
        start = time.perf_counter()
        run_recipe(recipe_config("mini", Path(directory)))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="mini,cpu")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--end-to-end", action="store_true", help="also time recipe=mini end to end")
    args = parser.parse_args()
    headline: dict[str, float] = {}
    for preset in args.presets.split(","):
        cfg = recipe_config(preset, Path(tempfile.gettempdir()))
        for threads in (1, 2):
            times = step_times(cfg, threads, args.steps)
            print(f"recipe={preset} ({cfg.model.hidden_size} wide, {cfg.model.num_hidden_layers} layers, vocab "
                  f"{expanded_vocab_size(cfg)}, {cfg.train.batch_size}x{cfg.train.seq_len}), {threads} thread(s): "
                  f"{times['wall_ms']:.1f} ms/step wall, {times['cpu_ms']:.1f} ms CPU, "
                  f"{times['tokens_per_s']:,.0f} tokens/s", flush=True)
            headline |= {f"{preset}_{key}_{threads}thread": round(value, 2) for key, value in times.items()}
        headline[f"{preset}_2threads_speedup"] = round(headline[f"{preset}_wall_ms_1thread"]
                                                       / headline[f"{preset}_wall_ms_2thread"], 3)
    if args.end_to_end:
        headline["mini_end_to_end_s"] = round(end_to_end_mini(), 1)
        print(f"recipe=mini end to end: {headline['mini_end_to_end_s']} s", flush=True)
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
