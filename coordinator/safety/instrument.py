"""The risk instrument as versioned data (instruments/v<N>.json) and the pure scoring of one set of answers.

Each item has answers with weights; some answers are red flags that make the level prohibitive; thresholds map
the score to low, moderate or high. An assessment stores the version it used and its results, so a new version
never changes what an earlier assessment said.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from coordinator.safety.models import RiskLevel

INSTRUMENTS = Path(__file__).resolve().parent / "instruments"


@dataclass(frozen=True)
class Answer:
    """One possible answer of an item."""

    code: str
    weight: int
    red_flag: bool
    label: dict[str, str]


@dataclass(frozen=True)
class Item:
    """One question of the instrument."""

    code: str
    question: dict[str, str]
    answers: tuple[Answer, ...]

    def answer(self, code: str) -> Answer | None:
        """The answer with this code, if the item has it."""
        return next((answer for answer in self.answers if answer.code == code), None)


@dataclass(frozen=True)
class Instrument:
    """One version of the instrument."""

    version: str
    title: dict[str, str]
    items: tuple[Item, ...]
    thresholds: tuple[tuple[str, int | None], ...]

    def item(self, code: str) -> Item | None:
        """The item with this code."""
        return next((item for item in self.items if item.code == code), None)


@dataclass(frozen=True)
class Result:
    """What a complete set of answers gives."""

    score: int
    level: RiskLevel
    red_flags: tuple[str, ...]


def _load(path: Path) -> Instrument:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = tuple(
        Item(code=item["code"], question=item["question"],
             answers=tuple(Answer(answer["code"], answer["weight"], answer.get("red_flag", False), answer["label"])
                           for answer in item["answers"]))
        for item in data["items"]
    )
    thresholds = tuple((threshold["level"], threshold["max_score"]) for threshold in data["thresholds"])
    return Instrument(version=data["version"], title=data["title"], items=items, thresholds=thresholds)


@functools.cache
def instruments() -> dict[str, Instrument]:
    """Every version on disk."""
    return {path.stem: _load(path) for path in sorted(INSTRUMENTS.glob("v*.json"))}


def current_instrument() -> Instrument:
    """The newest version: new assessments use it."""
    return instruments()[max(instruments(), key=lambda version: int(version[1:]))]


def unanswered(instrument: Instrument, answers: dict[str, str]) -> dict[str, str]:
    """Items without a valid answer, as {item code: problem} ("missing" or "unknown answer")."""
    problems = {}
    for item in instrument.items:
        given = answers.get(item.code)
        if given is None or given == "":
            problems[item.code] = "missing"
        elif item.answer(given) is None:
            problems[item.code] = "unknown answer"
    for code in answers:
        if instrument.item(code) is None:
            problems[code] = "not an item of this instrument"
    return problems


def score(instrument: Instrument, answers: dict[str, str]) -> Result:
    """Score complete answers: the sum of weights, red flags first, then the thresholds."""
    chosen = []
    for item in instrument.items:
        answer = item.answer(answers[item.code])
        if answer is None:
            raise ValueError(f"{item.code}: {answers[item.code]!r} is no answer of instrument {instrument.version}")
        chosen.append((item, answer))
    total = sum(answer.weight for _item, answer in chosen)
    red_flags = tuple(item.code for item, answer in chosen if answer.red_flag)
    if red_flags:
        return Result(total, RiskLevel.prohibitive, red_flags)
    for level, ceiling in instrument.thresholds:
        if ceiling is None or total <= ceiling:
            return Result(total, RiskLevel(level), ())
    raise ValueError(f"instrument {instrument.version} has no threshold for a score of {total}")


def in_language(text: dict[str, str], language: str) -> str:
    """A translated text of the instrument, English when the language is missing."""
    return text.get(language) or text["en"]
