"""Docs rot guard: every command README.md and docs/*.md show for an app of ours composes with Hydra.

A command is any ``python experiments/<app>.py …``, ``python -m ziya2lab.<module> …`` (or the same app under
``torchrun``/``accelerate launch``) in a fenced code block (``\\`` continuations joined) or an inline code span.
Each is composed with Hydra's compose API from the app's own ``@hydra.main`` config, with the overrides exactly as
written (after shell quoting and ``# comments`` are removed), so a misspelt or renamed key, a missing group option
or a bad value fails here, naming the doc's file and line. A mandatory value (``???``) left unset fails too. For a
multirun (``-m``) every value of every swept parameter is composed at least once, so a sweep file that names a
renamed key fails as well.

Placeholders are substituted from ``PLACEHOLDERS`` (a real temporary value per kind); any other ``<…>`` or a
``...`` value is an unknown placeholder and fails: a doc must show a command that runs as written.

The commands that are cheap as written (``SMOKE_APPS``) are also run, in a temporary directory that sees the
checkout's code, configs and fixtures, so outputs never land in the checkout (marked slow).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import itertools
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, ListConfig

from ziya2lab.common.paths import repo_root

ROOT = repo_root()
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Known placeholders: the kind of value each stands for; ``_placeholder_value`` makes a real one.
PLACEHOLDERS = {
    "<dir>": "directory",
    "<multirun dir>": "directory",
    "<any multirun dir>": "directory",
    "<p>": "partition",
    "<team>": "name",
    "<n>": "integer",
}
# Apps that finish in seconds as documented; their documented commands are also run (slow).
SMOKE_APPS = {"experiments/wandb_report.py", "experiments/rope_precision.py", "experiments/fit_scaling.py"}
# What a smoke run's working directory links to, so relative paths in the docs resolve as in the checkout.
CHECKOUT_ENTRIES = ("experiments", "conf", "ziya2lab", "tests", "sweeps", "setup", "pyproject.toml")
LAUNCHERS = {"python", "python3", ".venv/bin/python", "torchrun", "accelerate"}
PROTECTED = "\x00{}\x00"


@dataclass
class DocCommand:
    doc: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


@dataclass
class ParsedCommand:
    app: Path  # the script or module file run (it holds @hydra.main, or imports the main of one that does)
    overrides: list[str]
    multirun: bool
    env: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)  # the command line, placeholders substituted


# ------------------------------------------------------------------------------------------------ extraction
def _is_command(text: str) -> bool:
    return bool(re.search(r"(^|\s)(experiments/\w+\.py|-m\s+ziya2lab[\w.]*)(\s|$)", text)) and bool(
        re.search(r"(^|\s)(python3?|\.venv/bin/python|torchrun|accelerate)\s", text)
    )


def _fenced_commands(doc: Path, lines: list[str]) -> tuple[list[DocCommand], list[int]]:
    """Commands in fenced code blocks, and the line numbers (1-based) outside any fence."""
    commands, prose, fenced, pending, start = [], [], False, "", 0
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            prose.append(number)
            continue
        stripped = line.strip().removeprefix("$ ")
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text, pending = pending + stripped, ""
        if _is_command(text):
            commands.append(DocCommand(doc, start, text))
    return commands, prose


def _inline_commands(doc: Path, lines: list[str], prose: list[int]) -> list[DocCommand]:
    """Commands in inline code spans (which may wrap onto the next line) outside fences."""
    text = "\n".join(lines[number - 1] if number in set(prose) else "" for number in range(1, len(lines) + 1))
    commands = []
    for match in re.finditer(r"`([^`]+)`", text):
        span = " ".join(match.group(1).split())
        if _is_command(span):
            commands.append(DocCommand(doc, text.count("\n", 0, match.start()) + 1, span))
    return commands


def documented_commands() -> list[DocCommand]:
    found = []
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        fenced, prose = _fenced_commands(doc, lines)
        found += fenced + _inline_commands(doc, lines, prose)
    return sorted(found, key=lambda command: (str(command.doc), command.line))


COMMANDS = documented_commands()


# -------------------------------------------------------------------------------------------------- parsing
def _placeholder_value(kind: str, scratch: Path) -> str:
    if kind == "directory":
        directory = scratch / f"placeholder_{len(list(scratch.glob('placeholder_*')))}"
        directory.mkdir(parents=True)
        return str(directory)
    return {"partition": "debug", "name": "my-team", "integer": "2"}[kind]


def _tokens(command: DocCommand, scratch: Path) -> list[str]:
    """Shell words of the command, known placeholders replaced by real values; an unknown one fails."""
    found = re.findall(r"<[^<>]+>", command.text)
    protected = command.text
    for index, placeholder in enumerate(found):
        protected = protected.replace(placeholder, PROTECTED.format(index), 1)
    tokens = shlex.split(protected, comments=True)
    words = []
    for token in tokens:
        for index, placeholder in enumerate(found):
            marker = PROTECTED.format(index)
            if marker in token:
                if placeholder not in PLACEHOLDERS:
                    pytest.fail(f"{command.where}: unknown placeholder {placeholder} in `{command.text}` "
                                f"(known: {', '.join(PLACEHOLDERS)}); show a command that runs as written")
                token = token.replace(marker, _placeholder_value(PLACEHOLDERS[placeholder], scratch))
        if "..." in token:
            pytest.fail(f"{command.where}: '{token}' is a placeholder, not a value, in `{command.text}`")
        words.append(token)
    return words


def _module_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"no module {module}")
    if spec.submodule_search_locations:  # a package: python -m runs its __main__
        return Path(spec.origin).with_name("__main__.py")
    return Path(spec.origin)


def parse(command: DocCommand, scratch: Path) -> ParsedCommand:
    words = _tokens(command, scratch)
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    argv = list(words)
    if not words or Path(words[0]).name not in {Path(launcher).name for launcher in LAUNCHERS}:
        pytest.fail(f"{command.where}: `{command.text}` does not start with python, torchrun or accelerate")
    if "-m" in words[:2] and words[0].startswith(("python", ".venv")):
        app, rest = _module_file(words[words.index("-m") + 1]), words[words.index("-m") + 2 :]
    else:
        position = next(i for i, word in enumerate(words) if re.fullmatch(r"experiments/\w+\.py", word))
        app, rest = ROOT / words[position], words[position + 1 :]
    if not app.is_file():
        pytest.fail(f"{command.where}: {app.relative_to(ROOT)} does not exist")
    flags = [word for word in rest if word.startswith("-")]
    unknown = [flag for flag in flags if flag not in ("-m", "--multirun")]
    if unknown:
        pytest.fail(f"{command.where}: the guard does not know the flag(s) {unknown}")
    overrides = [word for word in rest if not word.startswith("-")]
    return ParsedCommand(app, overrides, bool(flags), env, argv)


# ------------------------------------------------------------------------------------------------ composing
def _hydra_main_arguments(app: Path) -> dict[str, str] | None:
    """``config_path``/``config_name`` of the ``@hydra.main`` in ``app`` (string literals only), if it has one."""
    for node in ast.walk(ast.parse(app.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and any(keyword.arg == "config_name" for keyword in node.keywords):
            return {keyword.arg: keyword.value.value for keyword in node.keywords
                    if isinstance(keyword.value, ast.Constant) and keyword.arg}
    return None


def _hydra_app(app: Path, depth: int = 0) -> tuple[Path, str | None, dict[str, str]]:
    """The file holding the app's ``@hydra.main`` (following ``from M import main`` of a thin alias), its module
    name when it is a library module, and the decorator's literal arguments."""
    arguments = _hydra_main_arguments(app)
    if arguments is not None:
        return app, None, arguments
    for node in ast.walk(ast.parse(app.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and any(alias.name == "main" for alias in node.names):
            target = Path(importlib.util.find_spec(node.module).origin)
            if depth < 3:
                found, _, arguments = _hydra_app(target, depth + 1)
                return found, node.module if found == target else None, arguments
    raise AssertionError(f"{app}: no @hydra.main, nor an import of one")


def _register_schemas(app: Path, module: str | None) -> None:
    """Import the app's module as its process would (without running it), so its structured configs register."""
    if module is not None:
        importlib.import_module(module)
        return
    name = f"_documented_app_{app.stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, app)
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        spec.loader.exec_module(loaded)


def _config_dir(app: Path, arguments: dict[str, str]) -> Path:
    """A literal relative ``config_path`` from the app's folder; anything computed is the checkout's ``conf/``."""
    config_path = arguments.get("config_path")
    return (app.parent / config_path).resolve() if config_path else ROOT / "conf"


def _missing_keys(node: DictConfig | ListConfig, prefix: str = "") -> list[str]:
    """Keys whose value is ``???``, found without resolving interpolations (``${hydra:…}`` needs a running app)."""
    keys = node.keys() if isinstance(node, DictConfig) else range(len(node))
    missing = []
    for key in keys:
        child = node._get_node(key)
        name = f"{prefix}{key}"
        if isinstance(child, DictConfig | ListConfig):
            missing += [] if child._is_missing() or child._is_none() else _missing_keys(child, f"{name}.")
        if child._is_missing():
            missing.append(name)
    return missing


def _compose(config_dir: Path, name: str, overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides, return_hydra_config=True)
    missing = [key for key in _missing_keys(cfg) if not key.startswith("hydra.")]
    if missing:
        raise ValueError(f"mandatory value(s) not set: {', '.join(missing)}")
    return cfg


def _sweep_values(override: Override) -> list[str]:
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    return [override.get_value_element_as_str()]  # a sweeper parameter with a single value


def _sweeps(cfg: DictConfig, overrides: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The fixed overrides, and each swept key's values (from the command line and ``hydra.sweeper.params``)."""
    parser = OverridesParser.create()
    values = {key: _sweep_values(parser.parse_override(f"{key}={value}"))
              for key, value in (cfg.hydra.sweeper.get("params") or {}).items()}
    fixed = []
    for override in parser.parse_overrides(overrides):
        if override.is_sweep_override():
            values[override.get_key_element()] = _sweep_values(override)
        else:
            fixed.append(override.input_line)
    return fixed, values


def compose_documented(parsed: ParsedCommand) -> int:
    """Compose the command (every swept value at least once); returns the number of compositions."""
    app, module, arguments = _hydra_app(parsed.app)
    _register_schemas(app, module)
    config_dir, name = _config_dir(app, arguments), arguments["config_name"]
    if not parsed.multirun:
        _compose(config_dir, name, parsed.overrides)
        return 1
    sweepless = [word for word in parsed.overrides if not OverridesParser.create().parse_override(word)
                 .is_sweep_override()]
    fixed, values = _sweeps(_compose(config_dir, name, sweepless), parsed.overrides)
    jobs = max((len(choices) for choices in values.values()), default=1)
    cycles = {key: itertools.cycle(choices) for key, choices in values.items()}
    for _ in range(jobs):
        _compose(config_dir, name, fixed + [f"{key}={next(cycle)}" for key, cycle in cycles.items()])
    return jobs


# ---------------------------------------------------------------------------------------------------- tests
def test_the_docs_show_commands_and_the_guard_finds_them():
    places = {command.where.split(":")[0] for command in COMMANDS}
    assert len(COMMANDS) >= 20 and {"README.md", "docs/TRAINING.md", "docs/TOKENIZER.md"} <= places
    assert any("\\" not in command.text and "init_experiment.enabled=false" in command.text
               and "source_weighting=frequency" in command.text for command in COMMANDS)  # a joined continuation


def test_an_unknown_placeholder_or_key_fails(tmp_path):
    """The guard can fail: on a placeholder it does not know, and on a key the app does not have."""
    with pytest.raises(pytest.fail.Exception, match="unknown placeholder <somewhere>"):
        parse(DocCommand(ROOT / "README.md", 1, "python experiments/collect.py dir=<somewhere>"), tmp_path)
    with pytest.raises(pytest.fail.Exception, match="placeholder, not a value"):
        parse(DocCommand(ROOT / "README.md", 1, "python experiments/collect.py dir=..."), tmp_path)
    misspelt = parse(DocCommand(ROOT / "README.md", 1, "python experiments/collect.py dri=<dir>  # x"), tmp_path)
    with pytest.raises(Exception, match="dri"):
        compose_documented(misspelt)
    unset = parse(DocCommand(ROOT / "README.md", 1, "python experiments/collect.py"), tmp_path)
    with pytest.raises(ValueError, match=r"mandatory value\(s\) not set: dir"):
        compose_documented(unset)


@pytest.mark.parametrize("command", COMMANDS, ids=[command.where for command in COMMANDS])
def test_documented_command_composes(command: DocCommand, tmp_path: Path) -> None:
    parsed = parse(command, tmp_path)
    try:
        compose_documented(parsed)
    except Exception as error:  # any composition error is the finding, reported with its place
        pytest.fail(f"{command.where}: `{command.text}` does not compose: {type(error).__name__}: {error}")


def _checkout_view(directory: Path) -> Path:
    directory.mkdir()
    for entry in CHECKOUT_ENTRIES:
        if (ROOT / entry).exists():
            (directory / entry).symlink_to(ROOT / entry)
    return directory


SMOKE_COMMANDS = [command for command in COMMANDS if any(app in command.text for app in SMOKE_APPS)]


@pytest.mark.slow
@pytest.mark.parametrize("command", SMOKE_COMMANDS, ids=[command.where for command in SMOKE_COMMANDS])
def test_cheap_documented_command_runs(command: DocCommand, tmp_path: Path) -> None:
    parsed = parse(command, tmp_path / "placeholders")
    workdir = _checkout_view(tmp_path / "checkout")
    argv = [sys.executable if word.startswith(("python", ".venv")) else word for word in parsed.argv]
    result = subprocess.run(argv, cwd=workdir, env={**os.environ, "WANDB_MODE": "offline", **parsed.env},
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{command.where}: `{command.text}` failed:\n{result.stderr[-3000:]}"


def test_placeholder_values_are_real(tmp_path):
    assert Path(_placeholder_value("directory", tmp_path)).is_dir()
    assert int(_placeholder_value("integer", tmp_path)) > 0
