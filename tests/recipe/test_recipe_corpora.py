"""Stage-3 math is computed, not typed; held-out math never repeats a training question."""

from __future__ import annotations

import re

from ziya2lab.recipe.corpora import math_problems


def _check_worked_solution(problem: dict) -> None:
    steps = re.findall(r"(\d+) ([+\-×÷]) (\d+) = (\d+)", problem["text"])
    assert steps, problem
    for left, operator, right, result in steps:
        a, b, value = int(left), int(right), int(result)
        expected = {"+": a + b, "-": a - b, "×": a * b, "÷": a // b}[operator]
        assert value == expected, problem
        if operator == "÷":
            assert a % b == 0, problem
    final = int(re.findall(r"(\d+)[。.]$", problem["text"])[0])
    assert final == int(steps[-1][3])


def test_math_solutions_are_correct_and_heldout_is_disjoint() -> None:
    train = math_problems(400, seed=0)
    heldout = math_problems(100, seed=1, exclude={problem["question"] for problem in train})
    for problem in train + heldout:
        _check_worked_solution(problem)
    assert not {p["question"] for p in train} & {p["question"] for p in heldout}
    assert {p["task"] for p in train} == {"math_en", "math_zh"}
    assert len({p["question"] for p in train}) == 400
