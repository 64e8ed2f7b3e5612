"""The worked example in docs/scoring.md is what the code computes."""

import json
import re
from pathlib import Path

import pytest

from healthdash.scoring import ScoringConfig, explain_customer, score_customers
from tests.scoring.signals import signals

DOC = (Path(__file__).parents[2] / "docs" / "scoring.md").read_text(encoding="utf-8")
EXAMPLE = DOC.split("## Worked example", 1)[1].split("## Configuration", 1)[0]


def test_worked_example_matches_the_model() -> None:
    inputs = json.loads(re.search(r"```json\n(.*?)```", EXAMPLE, re.S).group(1))  # type: ignore[union-attr]
    frame = signals(inputs)
    scored = score_customers(frame, ScoringConfig()).iloc[0]
    table = re.findall(r"^\| (\w+) \| ([\d.]+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \|$", EXAMPLE, re.M)
    assert len(table) == 5
    for key, score, weight, points, lost in table:
        assert scored[key] == pytest.approx(float(score), abs=0.005), key
        assert scored[f"{key}_points"] == pytest.approx(float(points), abs=0.005), key
        assert scored[f"{key}_lost"] == pytest.approx(float(lost), abs=0.005), key
        assert ScoringConfig().weights[key] == float(weight)
    total = re.search(r"Score = .*?\*\*([\d.]+)\*\*, tier \*\*(\w+)\*\*", EXAMPLE)
    assert total is not None
    assert scored["score"] == float(total.group(1))
    assert scored["tier"] == total.group(2)
    assert scored["main_reason"] == "login_frequency"
    sentence = explain_customer(frame.iloc[0].to_dict(), scored.to_dict())[0].explanation
    assert f'"{sentence}"' in EXAMPLE
