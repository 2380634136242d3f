"""Run records: the run directory's metrics log is the source of truth; wandb (offline by default) mirrors it.

On resume the log is cut back to the checkpoint's step, so a killed-and-resumed run leaves exactly the lines the
uninterrupted run would have written. The wandb run id is kept in the run directory, so every restart of the run
continues the same wandb run.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ziya2lab.common.atomic import atomic_write_text
from ziya2lab.common.jsonl import append_jsonl, write_jsonl
from ziya2lab.common.run_dir import RunDir, RunSummary
from ziya2lab.train.config import LoggerConfig, LoggerKind

log = logging.getLogger(__name__)


class MetricsLog:
    """The run's metrics log: appended one flushed line per record, cut back atomically on resume."""

    def __init__(self, run: RunDir) -> None:
        self.run = run

    def keep_through(self, step: int) -> None:
        """Drop records after ``step`` (and any torn last line)."""
        write_jsonl(self.run.metrics, [record for record in self.run.read_metrics() if record["step"] <= step])

    def append(self, record: dict[str, Any]) -> None:
        append_jsonl(self.run.metrics, record)


def eval_key(test_set: str) -> str:
    """A held-out loss's key in a metrics record (and in wandb): ``eval/<test set>``."""
    return f"eval/{test_set}"


def downstream_key(column: str) -> str:
    """An in-process downstream metric's key in a metrics record: ``downstream/<task>/<metric>``."""
    return f"downstream/{column}"


class WandbMirror:
    """Mirror of the metrics records in wandb; inert when ``logger.kind`` is ``none``."""

    def __init__(self, config: LoggerConfig, run: RunDir, run_config: dict, fresh: bool, enabled: bool) -> None:
        self.run = None
        if config.kind is LoggerKind.none or not enabled:
            return
        import wandb
        from wandb.sdk.lib.runid import generate_id

        id_file = run.wandb_id
        if fresh or not id_file.exists():
            atomic_write_text(id_file, generate_id() + "\n")
        run_id = id_file.read_text().strip()
        self.run = wandb.init(
            project=config.project,
            entity=config.entity,
            group=config.group,
            name=config.name or run.path.name,
            tags=list(config.tags),
            mode=config.mode,
            dir=str(run.path),
            id=run_id,
            resume="allow",
            config=run_config,
        )

    @property
    def run_id(self) -> str | None:
        return self.run.id if self.run is not None else None

    def _lost(self, error: ConnectionError) -> None:
        """wandb's service process is gone (a Slurm requeue, preemption or cancel sends SIGTERM to every process of
        the job): mirroring stops, and the run goes on to write its checkpoint. ``metrics.jsonl`` keeps every record,
        and the resumed run continues the same wandb run id."""
        log.warning("wandb mirror lost (%r); metrics.jsonl keeps every record, the run continues", error)
        self.run = None

    def log(self, record: dict[str, Any]) -> None:
        if self.run is not None:
            try:
                self.run.log({key: value for key, value in record.items() if key != "step"}, step=record["step"])
            except ConnectionError as error:
                self._lost(error)

    def summarize(self, summary: RunSummary) -> None:
        """The summary's scalars, and each final eval loss under the key the metrics records log it as."""
        if self.run is None:
            return
        try:
            for key, value in summary.to_dict().items():
                if isinstance(value, int | float | str):
                    self.run.summary[key] = value
            for name, loss in summary.eval.items():
                self.run.summary[eval_key(name)] = loss
        except ConnectionError as error:
            self._lost(error)

    def finish(self, failed: bool) -> None:
        if self.run is not None:
            try:
                self.run.finish(exit_code=1 if failed else 0)
            except ConnectionError as error:
                self._lost(error)
            self.run = None


class ThroughputMeter:
    """Tokens/s and MFU over the steps since the last report.

    MFU = model FLOPs per token (the model's accounting: 6N plus attention) × global tokens/s ÷ the summed peak
    FLOP/s of all processes' devices (on CPU: each process's share of the host's cores).
    """

    def __init__(self, flops_per_token: float, peak_flops: float) -> None:
        self.flops_per_token = flops_per_token
        self.peak_flops = peak_flops
        self.restart()

    def restart(self) -> None:
        self.start = time.perf_counter()
        self.tokens = 0

    def add(self, tokens: int) -> None:
        self.tokens += tokens

    def report(self) -> dict[str, float]:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        tokens_per_s = self.tokens / elapsed
        mfu = self.flops_per_token * tokens_per_s / self.peak_flops if self.peak_flops > 0 else float("nan")
        self.restart()
        return {"tokens_per_s": tokens_per_s, "mfu": mfu}
