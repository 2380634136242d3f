"""The expansion half of the expand-tokenizer app: count characters, expand the base tokenizer, save it, and
measure before/after. (The app, with its initialisation experiment, is ``ziya2lab.study.tokenizer_expansion``.)

Outputs in the run directory: ``tokenizer/`` (tokenizer.model, tokenizer.json, expansion.json), the evaluation
corpora actually used (``eval/*.jsonl`` when defaults are taken), ``report.json`` and ``efficiency.png``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.common.cjk import CJK_IDEOGRAPH
from ziya2lab.tokenizer.config import ExpandTokenizerConfig, SourceWeighting
from ziya2lab.tokenizer.corpora import iter_file_texts, iter_source_texts, write_source_jsonl
from ziya2lab.tokenizer.efficiency import EncodingStats, compare_encodings, efficiency_gain, encoding_stats
from ziya2lab.tokenizer.expand import Expansion, build_expansion, combine_counts
from ziya2lab.tokenizer.llama2 import llama2_tokenizer_dir
from ziya2lab.tokenizer.spm_io import (
    load_hf_tokenizer,
    processor_from_proto,
    read_model_proto,
    save_tokenizer_dir,
)

REPORT_FILE = "report.json"
PLOT_FILE = "efficiency.png"


def _counting_corpora(cfg: ExpandTokenizerConfig) -> dict[str, Iterable[str]]:
    corpora: dict[str, Iterable[str]] = {
        f"{name}[{cfg.corpus_split}]": iter_source_texts(name, cfg.corpus_split) for name in cfg.corpus_sources
    }
    corpora.update({str(path): iter_file_texts(path) for path in cfg.corpus_files})
    if not corpora:
        raise ValueError("no counting corpus: set corpus_sources and/or corpus_files")
    return corpora


def _eval_corpus(path: str, source: str, language: str, output_dir: Path) -> Path:
    if path:
        return Path(path)
    return write_source_jsonl(source, "heldout", output_dir / "eval" / f"{language}_{source}_heldout.jsonl")


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a ratio with a zero denominator (no CJK in English text) is written as null."""
    return None if math.isnan(value) else value


def _stats_record(stats: EncodingStats) -> dict[str, float | int | None]:
    return {
        "documents": stats.documents,
        "chars": stats.chars,
        "cjk_chars": stats.cjk_chars,
        "utf8_bytes": stats.utf8_bytes,
        "tokens": stats.tokens,
        "tokens_per_cjk_char": _finite_or_none(stats.tokens_per_cjk_char),
        "cjk_tokens_per_cjk_char": _finite_or_none(stats.cjk_tokens_per_cjk_char),
        "bytes_per_token": _finite_or_none(stats.bytes_per_token),
        "chars_per_token": _finite_or_none(stats.chars_per_token),
    }


def count_corpora(
    corpora: dict[str, Iterable[str]], base_encode: Any | None
) -> tuple[dict[str, Counter[str]], Counter[int] | None]:
    """Per-corpus CJK character counts and, when ``base_encode`` is given, base-token frequencies."""
    per_source: dict[str, Counter[str]] = {}
    token_frequencies: Counter[int] | None = Counter() if base_encode is not None else None
    for name, texts in corpora.items():
        counts: Counter[str] = Counter()
        for text in tqdm(texts, desc=f"counting {name}", unit="doc", mininterval=2.0):
            counts.update(CJK_IDEOGRAPH.findall(text))
            if token_frequencies is not None:
                token_frequencies.update(base_encode(text))
        per_source[name] = counts
    return per_source, token_frequencies


def base_tokenizer_dir(cfg: ExpandTokenizerConfig) -> Path:
    """``base_tokenizer``, or the converted LLaMA-2 tokenizer when it is empty."""
    return Path(cfg.base_tokenizer) if cfg.base_tokenizer else llama2_tokenizer_dir()


def expand_and_evaluate(cfg: ExpandTokenizerConfig, output_dir: str | Path) -> dict[str, Any]:
    """Build the expanded tokenizer into ``output_dir/tokenizer``; returns the before/after report."""
    output_dir = Path(output_dir)
    base_dir = base_tokenizer_dir(cfg)
    base_proto = read_model_proto(base_dir)
    base = processor_from_proto(base_proto)

    weighted = cfg.source_weighting is SourceWeighting.frequency
    per_source, token_frequencies = count_corpora(_counting_corpora(cfg), base.encode if weighted else None)
    char_counts: Counter[str] = sum(per_source.values(), Counter())
    expanded_proto, expansion = build_expansion(
        base_proto,
        char_counts,
        combine_counts(per_source, cfg.count_weighting),
        cfg.num_new_tokens,
        cfg.pad_to_multiple,
        token_frequencies,
    )
    tokenizer_dir = save_tokenizer_dir(expanded_proto, output_dir / "tokenizer")
    expansion.save(tokenizer_dir)

    zh_path = _eval_corpus(cfg.zh_eval, cfg.zh_eval_source, "zh", output_dir)
    en_path = _eval_corpus(cfg.en_eval, cfg.en_eval_source, "en", output_dir)
    report = evaluate_expansion(base_dir, tokenizer_dir, expansion, zh_path, en_path)
    report["counting_corpora"] = {name: sum(counts.values()) for name, counts in per_source.items()}
    report["config"] = {
        "base_tokenizer": str(base_dir),
        "num_new_tokens": cfg.num_new_tokens,
        "pad_to_multiple": cfg.pad_to_multiple,
        "count_weighting": cfg.count_weighting.value,
        "corpus_sources": list(cfg.corpus_sources),
        "source_weighting": cfg.source_weighting.value,
    }
    return report


def write_expansion_report(report: dict[str, Any], output_dir: str | Path) -> None:
    """``report.json`` and ``efficiency.png`` in ``output_dir``."""
    atomic_write_json(Path(output_dir) / REPORT_FILE, report)
    plot_efficiency(report, Path(output_dir) / PLOT_FILE)


def evaluate_expansion(
    base_dir: Path, tokenizer_dir: Path, expansion: Expansion, zh_path: Path, en_path: Path
) -> dict[str, Any]:
    """Before/after figures on both corpora, English token-for-token identity, HF vs sentencepiece agreement."""
    base = processor_from_proto(read_model_proto(base_dir))
    expanded = processor_from_proto(read_model_proto(tokenizer_dir))
    hf = load_hf_tokenizer(tokenizer_dir)
    zh_texts = list(iter_file_texts(zh_path))
    en_texts = list(iter_file_texts(en_path))

    corpora: dict[str, Any] = {}
    for language, path, texts in (("zh", zh_path, zh_texts), ("en", en_path, en_texts)):
        before = encoding_stats(base, tqdm(texts, desc=f"{language} before", mininterval=2.0))
        after = encoding_stats(expanded, tqdm(texts, desc=f"{language} after", mininterval=2.0))
        corpora[language] = {
            "path": str(path),
            "before": _stats_record(before),
            "after": _stats_record(after),
            "efficiency_gain": efficiency_gain(before, after),
            "token_reduction": 1.0 - after.tokens / before.tokens,
        }

    english = compare_encodings(base.encode, expanded.encode, en_texts)
    hf_agreement = compare_encodings(
        expanded.encode, lambda text: hf.encode(text, add_special_tokens=False), zh_texts + en_texts
    )
    first_padding_id = expansion.vocab_size - len(expansion.padding_pieces)
    padding_produced = sum(
        token >= first_padding_id for text in zh_texts + en_texts for token in expanded.encode(text)
    )
    zh = corpora["zh"]
    return {
        "tokens_per_cjk_char_before": zh["before"]["tokens_per_cjk_char"],
        "tokens_per_cjk_char_after": zh["after"]["tokens_per_cjk_char"],
        "cjk_tokens_per_cjk_char_before": zh["before"]["cjk_tokens_per_cjk_char"],
        "cjk_tokens_per_cjk_char_after": zh["after"]["cjk_tokens_per_cjk_char"],
        "bytes_per_token_zh_before": zh["before"]["bytes_per_token"],
        "bytes_per_token_zh_after": zh["after"]["bytes_per_token"],
        "efficiency_gain_zh": zh["efficiency_gain"],
        "bytes_per_token_en_before": corpora["en"]["before"]["bytes_per_token"],
        "bytes_per_token_en_after": corpora["en"]["after"]["bytes_per_token"],
        "efficiency_gain_en": corpora["en"]["efficiency_gain"],
        "zh_chars_per_cjk_char": zh["before"]["chars"] / zh["before"]["cjk_chars"],
        "added_tokens": len(expansion.tokens),
        "padding_tokens": len(expansion.padding_pieces),
        "base_vocab_size": expansion.base_vocab_size,
        "vocab_size": expansion.vocab_size,
        "english_unchanged": english.identical,
        "english_documents_compared": english.documents,
        "english_documents_differing": english.differing,
        "hf_matches_sentencepiece": hf_agreement.identical,
        "hf_documents_differing": hf_agreement.differing,
        "padding_tokens_produced": int(padding_produced),
        "tokenizer_dir": str(tokenizer_dir),
        "corpora": corpora,
    }


def format_report_table(report: dict[str, Any]) -> str:
    """A fixed-width before/after table of the report's headline figures."""
    rows = [
        ("zh tokens per CJK char (all tokens)", "tokens_per_cjk_char"),
        ("zh tokens per CJK char (CJK tokens)", "cjk_tokens_per_cjk_char"),
        ("zh bytes per token", "bytes_per_token"),
    ]
    zh, en = report["corpora"]["zh"], report["corpora"]["en"]
    lines = [f"{'metric':<40}{'before':>10}{'after':>10}", "-" * 60]
    lines += [f"{label:<40}{zh['before'][key]:>10.3f}{zh['after'][key]:>10.3f}" for label, key in rows]
    lines.append(
        f"{'en bytes per token':<40}{en['before']['bytes_per_token']:>10.3f}{en['after']['bytes_per_token']:>10.3f}"
    )
    lines += [
        "-" * 60,
        f"zh efficiency gain (bytes/token): {report['efficiency_gain_zh']:+.1%}  "
        f"(token reduction {zh['token_reduction']:.1%})",
        f"added tokens {report['added_tokens']}, padding {report['padding_tokens']}, "
        f"vocab {report['base_vocab_size']} -> {report['vocab_size']}",
        f"zh floor if every character were one token: {report['zh_chars_per_cjk_char']:.3f} tokens per CJK char",
        f"English unchanged token for token: {report['english_unchanged']} "
        f"({report['english_documents_compared']} documents); HF == sentencepiece: "
        f"{report['hf_matches_sentencepiece']}; padding ids produced: {report['padding_tokens_produced']}",
    ]
    if "init_experiment" in report:
        lines += ["-" * 60, f"{'initial zh loss of the expanded model':<40}{'nats/tok':>10}{'new tok':>10}"]
        for init, figures in report["init_experiment"]["by_init"].items():
            if "loss_on_new_tokens" in figures:
                lines.append(
                    f"{init:<40}{figures['loss_per_token']:>10.3f}{figures['loss_on_new_tokens']:>10.3f}"
                )
    return "\n".join(lines)


def plot_efficiency(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    zh, en = report["corpora"]["zh"], report["corpora"]["en"]
    panels = [
        ("zh tokens / CJK char", zh, "tokens_per_cjk_char"),
        ("zh CJK tokens / CJK char", zh, "cjk_tokens_per_cjk_char"),
        ("zh bytes / token", zh, "bytes_per_token"),
        ("en bytes / token", en, "bytes_per_token"),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2))
    for axis, (title, corpus, key) in zip(axes, panels, strict=True):
        values = [corpus["before"][key], corpus["after"][key]]
        axis.bar(["LLaMA-2", f"+{report['added_tokens']}"], values, color=["#999999", "#c0392b"])
        for x, value in enumerate(values):
            axis.text(x, value, f"{value:.2f}", ha="center", va="bottom")
        axis.set_title(title, fontsize=10)
    figure.suptitle(f"Tokenizer expansion to {report['vocab_size']} tokens")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
