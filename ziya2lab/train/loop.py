"""The training loop: one code path from a 1M-parameter CPU sweep point to 13B continual pre-training.

Everything that decides what happens at step ``s`` — the batch (a pure function of seed and ``s``), the learning
rate (a pure function of ``s``), the guard's running mean — is either recomputed or restored from the checkpoint,
which is what makes a SIGKILL-and-resume run reproduce the uninterrupted run's losses bit for bit on CPU.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import dataclasses
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType, set_seed
from omegaconf import DictConfig, OmegaConf

from ziya2lab.common.atomic import atomic_directory
from ziya2lab.common.run_dir import BranchRecord, RunDir, RunSummary
from ziya2lab.eval.harness import evaluate_model, prepare_tasks
from ziya2lab.eval.metrics import eval_columns
from ziya2lab.model import Llama, LlamaConfig, accounting
from ziya2lab.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from ziya2lab.train.compiled import compile_training_forward, should_compile
from ziya2lab.train.config import DownstreamAt, Schedule, TrainAppConfig
from ziya2lab.train.datasets import build_eval_windows, build_training_mixture, load_tokenizer
from ziya2lab.train.distributed import default_threads, make_accelerator
from ziya2lab.train.guard import StabilityGuard, TrainingDiverged
from ziya2lab.train.metrics import MetricsLog, ThroughputMeter, WandbMirror, downstream_key, eval_key
from ziya2lab.train.optim import build_optimizer, set_learning_rate
from ziya2lab.train.schedule import (
    branch_cooldown_steps,
    cooldown_lr,
    learning_rate,
    sequences_per_step,
    total_steps,
    warmup_steps,
)
from ziya2lab.train.tokens import (
    IGNORE_INDEX,
    UnsupervisedWindows,
    WindowMixture,
    collate,
    global_batch_indices,
)


@dataclass
class RunState:
    """What a checkpoint restores besides model, optimizer and RNG states."""

    step: int = 0  # optimizer steps completed (applied or skipped)
    tokens: int = 0  # tokens consumed, padding included
    loss_tokens: int = 0  # tokens that carried a loss
    window_loss_sum: float = 0.0  # applied steps since the last metrics record
    window_steps: int = 0
    last_grad_norm: float | None = None
    guard: dict = field(default_factory=dict)
    branches_done: list[int] = field(default_factory=list)
    last_eval: dict[str, float] = field(default_factory=dict)
    wall_time_s: float = 0.0


class Trainer:
    def __init__(self, cfg: TrainAppConfig, resolved: dict[str, Any]) -> None:
        self.cfg = cfg
        self.resolved = resolved
        self.run_dir = RunDir(cfg.output_dir)
        self.run_dir.path.mkdir(parents=True, exist_ok=True)
        self.ckpt_root = self.run_dir.checkpoints
        self.segment_start = time.time()
        train = cfg.train
        self.accelerator: Accelerator = make_accelerator(train.precision, cfg.accelerate)
        torch.set_num_threads(train.threads or default_threads(self.accelerator))
        self.world = self.accelerator.num_processes
        self.rank = self.accelerator.process_index
        set_seed(cfg.seed)

        with self.accelerator.main_process_first():
            self.tokenizer = load_tokenizer(cfg.tokenizer)
            self.mixture: WindowMixture = build_training_mixture(cfg.data, self.tokenizer, train.seq_len, cfg.seed)
            self.eval_sets: dict[str, UnsupervisedWindows] = build_eval_windows(
                cfg.data, self.tokenizer, train.seq_len
            )

        self.batch = sequences_per_step(train)
        self.micro = train.micro_batch_size or self.batch // self.world
        if self.batch <= 0 or self.micro <= 0 or self.batch % (self.micro * self.world):
            raise ValueError(
                f"train.batch_size/global_batch_tokens gives {self.batch} sequences per step, which is not a "
                f"multiple of train.micro_batch_size={self.micro} × {self.world} processes"
            )
        self.accum = self.batch // (self.micro * self.world)
        self.tokens_per_step = self.batch * train.seq_len
        self.total_steps = total_steps(train)
        self.fixed_decay_steps = self._fixed_decay_steps()
        self._check_branch_points()
        self.stable_end_step = self._stable_end_step() if train.export_stable else None

        self._check_downstream()
        self.model_config = self._model_config()
        self.model = self._build_model()
        self.model = self.accelerator.prepare(self.model)
        self.optimizer = self.accelerator.prepare(build_optimizer(self.model, train))
        self.compiled = should_compile(train.compile, self.total_steps * self.tokens_per_step, self.accelerator.device)
        self.train_model = compile_training_forward(self.model, train.compile_mode) if self.compiled else self.model
        self.guard = StabilityGuard(
            train.spike_factor, train.spike_window, train.guard_warmup_steps, train.max_consecutive_skips
        )
        self.state = RunState()
        self.metrics = MetricsLog(self.run_dir)
        self.flops_per_token = accounting.flops_per_token(self.model_config, train.seq_len)
        self.throughput = ThroughputMeter(self.flops_per_token, self._peak_flops())
        self.stop_requested = False

    # ----------------------------------------------------------------------------------------------- set-up
    def _fixed_decay_steps(self) -> int | None:
        """Steps of every WSD decay when ``train.wsd_decay_tokens`` fixes its length (None: a share of the steps)."""
        tokens = self.cfg.train.wsd_decay_tokens
        if tokens is None:
            return None
        steps = math.ceil(tokens / self.tokens_per_step)
        if self.cfg.train.schedule is not Schedule.wsd or not 0 < steps < self.total_steps:
            raise ValueError(f"train.wsd_decay_tokens={tokens} needs train.schedule=wsd and fewer steps than the run's "
                             f"{self.total_steps} of {self.tokens_per_step} tokens")
        return steps

    def _check_branch_points(self) -> None:
        train = self.cfg.train
        if not train.wsd_branch_at_tokens:
            return
        if train.schedule is not Schedule.wsd:
            raise ValueError("train.wsd_branch_at_tokens needs train.schedule=wsd")
        stable_end = self._stable_end_step() * self.tokens_per_step
        late = [tokens for tokens in train.wsd_branch_at_tokens if tokens > stable_end]
        if late:
            raise ValueError(
                f"train.wsd_branch_at_tokens {late} lie beyond the stable phase, which ends at {stable_end} tokens"
            )

    def _check_downstream(self) -> None:
        """Before any step: in-process downstream evaluation scores the live parameters on one process (refused where
        they are sharded), and every task must be scorable at this run's ``seq_len`` with its tokenizer."""
        downstream = self.cfg.downstream
        if not downstream.enabled:
            return
        if self.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED):
            raise ValueError(
                f"downstream.enabled=true scores the model on one process, but under "
                f"{self.accelerator.distributed_type.value} its parameters are sharded across ranks: evaluate the "
                f"run's final/ afterwards with experiments/evaluate.py instead"
            )
        with self.accelerator.main_process_first():
            try:
                prepare_tasks(list(downstream.tasks), self.tokenizer, self.cfg.train.seq_len,
                              self._downstream_test_sets(), downstream.generated())
            except ValueError as error:
                raise ValueError(f"downstream.tasks at train.seq_len={self.cfg.train.seq_len}: {error}") from error

    def _stable_end_step(self) -> int:
        """Steps done when the WSD decay begins: the first step after warmup below the peak rate, read off the
        schedule itself so that ``stable/`` and the branch points can never disagree with it (``total_steps`` when
        nothing decays)."""
        train = self.cfg.train
        if train.schedule is not Schedule.wsd:
            raise ValueError("train.export_stable needs train.schedule=wsd: only WSD has a stable phase to export")
        after_warmup = range(warmup_steps(self.total_steps, train.warmup_ratio), self.total_steps)
        return after_warmup.start + bisect.bisect_left(after_warmup, True, key=lambda step: self.lr_at(step) < train.lr)

    def _model_config(self) -> LlamaConfig:
        config = self.cfg.model
        if self.cfg.stage.init_from is not None:
            return config  # replaced by the checkpoint's own config in _build_model
        if config.max_position_embeddings < self.cfg.train.seq_len:
            raise ValueError(
                f"train.seq_len={self.cfg.train.seq_len} exceeds model.max_position_embeddings="
                f"{config.max_position_embeddings}"
            )
        return dataclasses.replace(
            config,
            vocab_size=len(self.tokenizer),
            bos_token_id=self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else 0,
            eos_token_id=self.tokenizer.eos_token_id,
            pad_token_id=self.tokenizer.pad_token_id,
        )

    def _build_model(self) -> Llama:
        if self.cfg.stage.init_from is None:
            return Llama(self.model_config)
        model = Llama.from_pretrained(self.cfg.stage.init_from)
        if len(self.tokenizer) > model.config.vocab_size:
            from ziya2lab.tokenizer.expand import (
                new_row_sources,  # new rows: Ziya2's averaging (stage.vocab_init)
            )

            model.resize_token_embeddings(len(self.tokenizer), *new_row_sources(
                self.cfg.tokenizer.path, self.cfg.stage.init_from, model.config.vocab_size, len(self.tokenizer),
                self.cfg.stage.vocab_init))
        self.model_config = model.config
        return model

    def _peak_flops(self) -> float:
        """Peak of all processes: per GPU, or on CPU the GEMM peak at this process's thread count (the processes
        split the host's cores between them, so their sum is the host's peak)."""
        device = str(self.accelerator.device)
        return accounting.device_peak_flops(device, self.cfg.train.precision.value) * self.world

    # ---------------------------------------------------------------------------------------------- resume
    def resume(self) -> None:
        resume = self.cfg.train.resume
        if self.accelerator.is_main_process:
            remove_stale_temporaries(self.ckpt_root)
        path: Path | None = None
        if resume == "auto":
            path = latest_checkpoint(self.ckpt_root)
        elif resume != "never":
            path = Path(resume)
        elif self.accelerator.is_main_process:
            import shutil

            shutil.rmtree(self.ckpt_root, ignore_errors=True)
            self.run_dir.branches.unlink(missing_ok=True)
        self.accelerator.wait_for_everyone()
        if path is not None:
            loaded = load_checkpoint(self.accelerator, path)
            self.state = RunState(**loaded["run"])
            self.guard.load_state_dict(self.state.guard)
        if self.accelerator.is_main_process:
            self.metrics.keep_through(self.state.step)
        self.resumed_from = path

    def _checkpoint(self, protected_step: int | None = None) -> Path:
        self.state.guard = self.guard.state_dict()
        now = time.time()
        self.state.wall_time_s += now - self.segment_start
        self.segment_start = now
        protected = {self._branch_step(tokens) for tokens in self.cfg.train.wsd_branch_at_tokens}
        return save_checkpoint(
            self.accelerator,
            self.ckpt_root,
            self.state.step,
            {"run": dataclasses.asdict(self.state), "config": self.resolved},
            self.cfg.train.keep_checkpoints,
            protected,
        )

    # ----------------------------------------------------------------------------------------- one update
    def _sum(self, value: torch.Tensor) -> torch.Tensor:
        value = value.to(self.accelerator.device, torch.float64)
        return self.accelerator.reduce(value, reduction="sum") if self.world > 1 else value

    def _forward(self, arrays: dict[str, np.ndarray], rows: slice):
        device = self.accelerator.device
        input_ids = torch.from_numpy(arrays["input_ids"][rows]).to(device)
        targets = torch.from_numpy(arrays["targets"][rows]).to(device)
        documents = torch.from_numpy(arrays["document_ids"][rows]).to(device) if self.cfg.data.document_mask else None
        model = self.train_model if self.model.training else self.model  # evaluation stays eager
        output = model(input_ids, document_ids=documents, targets=targets)
        return output, int((targets != IGNORE_INDEX).sum())

    def update(self, step: int, lr: float, guard: StabilityGuard) -> tuple[float, float, str | None, int]:
        """Forward/backward the global batch of ``step`` and apply it unless the guard objects.

        The loss is weighted per target token over the whole global batch, so the gradient is the same however
        the batch is split across ranks and accumulation steps.
        """
        indices = global_batch_indices(step, self.batch, self.rank, self.world)
        arrays = collate([self.mixture.sample(index) for index in indices])
        global_count = float(self._sum(torch.tensor(float((arrays["targets"] != IGNORE_INDEX).sum()))))
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.accelerator.device)
        for micro_step in range(self.accum):
            rows = slice(micro_step * self.micro, (micro_step + 1) * self.micro)
            last = micro_step == self.accum - 1
            with contextlib.nullcontext() if last else self.accelerator.no_sync(self.model):
                output, count = self._forward(arrays, rows)
                if count:
                    self.accelerator.backward(output.loss * (count * self.world / global_count))
                    loss_sum += output.loss.detach().double() * count
                else:  # nothing to learn in this micro-batch, but DDP still needs every parameter's gradient
                    self.accelerator.backward(output.logits.sum() * 0.0)
        loss = float(self._sum(loss_sum)) / max(global_count, 1.0)
        grad_norm = float(self.accelerator.clip_grad_norm_(self.model.parameters(), self.cfg.train.grad_clip))
        reason = guard.judge(loss, grad_norm)
        if reason is None:
            set_learning_rate(self.optimizer, lr)
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        guard.record(loss, skipped=reason is not None)
        return loss, grad_norm, reason, int(global_count)

    # ------------------------------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        results = {}
        for name, windows in self.eval_sets.items():
            wanted = min(len(windows), self.cfg.data.eval_max_windows)
            total = max(self.world, wanted - wanted % self.world)  # equal work per rank (FSDP needs it)
            mine = [windows.window(0, index % len(windows)) for index in range(self.rank, total, self.world)]
            loss_sum = torch.zeros((), dtype=torch.float64, device=self.accelerator.device)
            count_sum = 0
            for start in range(0, len(mine), self.micro):
                arrays = collate(mine[start : start + self.micro])
                output, count = self._forward(arrays, slice(None))
                loss_sum += output.loss.double() * count
                count_sum += count
            loss = self._sum(loss_sum) / self._sum(torch.tensor(float(count_sum)))
            results[name] = float(loss)
        self.model.train()
        return results

    def _downstream_test_sets(self) -> dict[str, Path] | None:
        files = self.cfg.downstream.test_set_files
        return {name: Path(path) for name, path in files.items()} if files else None

    def evaluate_downstream(self) -> dict[str, float]:
        """lm-eval's scores of the model as it is now on ``downstream.tasks``, as results-table columns
        (``<task>/<metric>``; empty on the other ranks).

        Scored on the main process over the live parameters (``eval.harness`` views our ``Llama`` as an HF model
        without a copy), so no checkpoint is written; the random generators are left as they were, so the run trains
        on the same stream as without it. The other ranks wait.
        """
        downstream, scores = self.cfg.downstream, {}
        if self.accelerator.is_main_process:
            harness = dataclasses.replace(downstream.harness(), device=str(self.accelerator.device))
            record = evaluate_model(self.accelerator.unwrap_model(self.model), self.tokenizer, list(downstream.tasks),
                                    self.cfg.train.seq_len, self._downstream_test_sets(), harness=harness,
                                    generated=downstream.generated())
            scores = eval_columns(record)
        self.model.train()
        self.accelerator.wait_for_everyone()
        return scores

    # ----------------------------------------------------------------------------------------- main loop
    def lr_at(self, step: int) -> float:
        train = self.cfg.train
        decay_ratio = train.wsd_decay_ratio if self.fixed_decay_steps is None else \
            self.fixed_decay_steps / self.total_steps
        return learning_rate(
            step, self.total_steps, train.lr, train.min_lr, train.schedule, train.warmup_ratio,
            decay_ratio, train.wsd_decay_shape,
        )

    def _record(self, lr: float, eval_results: dict[str, float], skipped: tuple[str, float] | None = None,
                downstream: dict[str, float] | None = None) -> None:
        """Append one metrics record (held-out losses as ``eval/<test set>``, in-process downstream scores as
        ``downstream/<task>/<metric>``); ``skipped`` = (reason, loss) when this step's update was refused."""
        state = self.state
        record: dict[str, Any] = {
            "step": state.step,
            "tokens": state.tokens,
            "loss": state.window_loss_sum / state.window_steps if state.window_steps else None,
            "lr": lr,
            "grad_norm": state.last_grad_norm,
            "skipped_steps": self.guard.skipped_total,
            **self.throughput.report(),
            **{eval_key(name): loss for name, loss in eval_results.items()},
            **(downstream or {}),
        }
        if skipped is not None:
            reason, rejected = skipped
            record.update(skip_reason=reason, rejected_loss=rejected if math.isfinite(rejected) else None)
        state.window_loss_sum, state.window_steps = 0.0, 0
        if self.accelerator.is_main_process:
            self.metrics.append(record)
            self.wandb.log(record)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self.stop_requested = True

    def _agreed_stop(self) -> bool:
        if self.world == 1:
            return self.stop_requested
        return bool(self._sum(torch.tensor(float(self.stop_requested))) > 0)

    def train(self) -> str:
        train = self.cfg.train
        self.model.train()
        self.throughput.restart()
        while self.state.step < self.total_steps:
            self._run_due_branches()
            self._export_stable_if_due()
            step = self.state.step
            lr = self.lr_at(step)
            loss, grad_norm, reason, count = self.update(step, lr, self.guard)
            self.state.step += 1
            self.state.tokens += self.tokens_per_step
            self.state.loss_tokens += count
            self.state.last_grad_norm = grad_norm if math.isfinite(grad_norm) else None
            self.throughput.add(self.tokens_per_step)
            if reason is None:
                self.state.window_loss_sum += loss
                self.state.window_steps += 1
            done = self.state.step
            eval_due = done % train.eval_every_steps == 0 or done == self.total_steps
            downstream = {}
            if eval_due:
                self.state.last_eval = self.evaluate()
                if self.cfg.downstream.enabled and train.downstream_at is DownstreamAt.evals:
                    downstream = {downstream_key(column): value for column, value in self.evaluate_downstream().items()}
            if eval_due or done % train.log_every_steps == 0 or reason is not None:
                self._record(lr, self.state.last_eval if eval_due else {}, (reason, loss) if reason else None,
                             downstream)
            if self.guard.diverged:
                path = self._checkpoint()
                raise TrainingDiverged(
                    f"{self.guard.skipped_in_a_row} updates in a row skipped (last: {reason}, loss={loss}, "
                    f"grad_norm={grad_norm}) at step {done}; checkpoint kept at {path}. Lower train.lr or "
                    f"raise train.spike_factor / train.max_consecutive_skips."
                )
            if done % train.ckpt_every_steps == 0:
                self._checkpoint()
            if self._agreed_stop():
                self._checkpoint()
                return "preempted"
        self._run_due_branches()
        self._export_stable_if_due()
        return "completed"

    # ------------------------------------------------------------------------------------ WSD branches
    def _branch_step(self, tokens: int) -> int:
        return math.ceil(tokens / self.tokens_per_step)

    def _run_due_branches(self) -> None:
        for tokens in self.cfg.train.wsd_branch_at_tokens:
            if tokens not in self.state.branches_done and self.state.step >= self._branch_step(tokens):
                self._run_branch(tokens)

    def _run_branch(self, branch_tokens: int) -> None:
        """Checkpoint, cool down a copy of the run to ``min_lr``, evaluate, record, and restore the checkpoint.

        The cooldown consumes the batches that follow the branch point (the main run sees them later too) and
        lasts ``decay_ratio/(1-decay_ratio)`` of the steps so far, so the branch is a complete WSD run; or, with
        ``train.wsd_decay_tokens``, as long as every other decay of the run.
        """
        train = self.cfg.train
        branch_step = self.state.step
        checkpoint = self._checkpoint()
        cooldown = self.fixed_decay_steps or branch_cooldown_steps(branch_step, train.wsd_decay_ratio)
        guard = copy.deepcopy(self.guard)
        losses = []
        for offset in range(cooldown):
            lr = cooldown_lr(offset, cooldown, self.lr_at(branch_step), train.min_lr, train.wsd_decay_shape)
            loss, _, reason, _ = self.update(branch_step + offset, lr, guard)
            if reason is None:
                losses.append(loss)
        record = BranchRecord(
            branch_at_tokens=branch_tokens,
            branch_step=branch_step,
            cooldown_steps=cooldown,
            steps=branch_step + cooldown,
            tokens=(branch_step + cooldown) * self.tokens_per_step,
            final_train_loss=float(np.mean(losses[-max(1, cooldown // 10) :])) if losses else None,
            skipped_steps=guard.skipped_total - self.guard.skipped_total,
            eval=self.evaluate(),
            downstream=self.evaluate_downstream() if self.cfg.downstream.enabled else {},
        )
        if self.accelerator.is_main_process:
            existing = [row for row in self.run_dir.read_branches() if row.branch_at_tokens != branch_tokens]
            self.run_dir.write_branches(sorted([*existing, record], key=lambda row: row.branch_at_tokens))
        self.accelerator.wait_for_everyone()
        load_checkpoint(self.accelerator, checkpoint)
        self.state.branches_done.append(branch_tokens)
        self.throughput.restart()

    # ------------------------------------------------------------------------------------------ outputs
    def _export_stable_if_due(self) -> None:
        """``stable/`` as the decay is about to begin; a run resumed past that point must already hold it."""
        end = self.stable_end_step
        if end is None or self.state.step < end:
            return
        if self.state.step == end:
            self.export(self.run_dir.stable)
        elif not self.run_dir.stable.is_dir():
            raise RuntimeError(
                f"{self.run_dir.stable} is missing and this run resumed at step {self.state.step}, past the end of its "
                f"stable phase (step {end}): those weights are gone; re-run it with train.resume=never"
            )

    def export(self, target: Path) -> Path:
        """An HF checkpoint (config.json + model.safetensors) and the tokenizer at ``target``, written atomically."""
        full_state = self.accelerator.get_state_dict(self.model)
        if self.accelerator.is_main_process:
            model = self.accelerator.unwrap_model(self.model)
            if self.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED):
                model = Llama(self.model_config)
                model.load_state_dict(full_state)
            with atomic_directory(target) as staging:
                model.save_pretrained(staging)
                self.tokenizer.save_pretrained(staging)
        self.accelerator.wait_for_everyone()
        return target

    def summary(self, status: str) -> RunSummary:
        return RunSummary(
            status=status,
            steps=self.state.step,
            total_steps=self.total_steps,
            tokens=self.state.tokens,
            loss_tokens=self.state.loss_tokens,
            tokens_per_step=self.tokens_per_step,
            seq_len=self.cfg.train.seq_len,
            batch_size=self.batch,
            parameters=accounting.count_parameters(self.model_config, include_embeddings=True),
            parameters_non_embedding=accounting.count_parameters(self.model_config, include_embeddings=False),
            flops_per_token=self.flops_per_token,
            eval=dict(self.state.last_eval),
            skipped_steps=self.guard.skipped_total,
            wall_time_s=self.state.wall_time_s,
            num_processes=self.world,
            precision=self.cfg.train.precision.value,
            warmup_steps=warmup_steps(self.total_steps, self.cfg.train.warmup_ratio),
            branches=self.run_dir.read_branches(),
            resumed_from=str(self.resumed_from) if self.resumed_from else None,
        )

    def run(self) -> RunSummary:
        previous_handler = None
        with contextlib.suppress(ValueError):  # only the main thread may install handlers
            previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)
        self.wandb = WandbMirror(
            self.cfg.logger,
            self.run_dir,
            self.resolved,
            fresh=self.cfg.train.resume == "never",
            enabled=self.accelerator.is_main_process,
        )
        failed = True
        try:
            self.resume()
            status = self.train()
            if status == "completed":
                self._checkpoint()
                self.export(self.run_dir.final)
            summary = self.summary(status)
            if self.accelerator.is_main_process:
                if status == "completed":
                    self.run_dir.write_summary(summary)
                self.wandb.summarize(summary)
            failed = False
            return summary
        finally:
            self.wandb.finish(failed)
            if previous_handler is not None:
                signal.signal(signal.SIGTERM, previous_handler)


def run_training(cfg: TrainAppConfig | DictConfig) -> RunSummary:
    """Train as configured, writing the run directory ``cfg.output_dir``; returns the summary."""
    if isinstance(cfg, DictConfig):
        resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
        typed: TrainAppConfig = OmegaConf.to_object(cfg)
    else:
        typed = cfg
        resolved = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)
    run = RunDir(typed.output_dir)
    run.path.mkdir(parents=True, exist_ok=True)
    run.write_config(resolved)
    return Trainer(typed, resolved).run()
