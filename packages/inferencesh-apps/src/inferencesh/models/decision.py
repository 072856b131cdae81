"""The decision-model contract: apps that answer typed questions with probabilities.

A decision model reads a ``state`` (text or JSON, plus images or videos for the vision and video
variants) and answers three kinds of question, each with an ``id`` unique across all three:

- ``choices``: pick one of 2 to 255 named options;
- ``scores``: place the state on a scale of 2 to 10 levels;
- ``nouls``: a probability that a statement holds (``criteria`` say what true and false mean).

The app returns a :class:`DecisionOutput`, usually built with :meth:`DecisionOutput.from_answers`.
Schemas and accepted values are those of the published SDK 0.36's ``inferencesh.models.decision``.

Example:
    >>> from inferencesh.models.decision import DecisionInput, DecisionOutput
    >>> question = {"id": "mood", "instructions": "The mood of the text",
    ...             "options": [{"name": "happy"}, {"name": "sad"}]}
    >>> data = DecisionInput(state="What a lovely day!", choices=[question])
    >>> data.questions()["mood"]["type"]
    'choice'
    >>> answers = {"mood": {"choice": "happy", "confidence": 0.93,
    ...                     "probabilities": {"happy": 0.93, "sad": 0.07}}}
    >>> output = DecisionOutput.from_answers(answers, data, model="tiny", input_tokens=9)
    >>> output.choices["mood"].choice, output.output_meta.inputs[0].tokens
    ('happy', 9)
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Union

from inferencesh.apps.app import BaseAppInput, BaseAppOutput
from inferencesh.apps.file import File
from inferencesh.apps.output_meta import OutputMeta, TextMeta
from pydantic import BaseModel, Field, model_validator

__all__ = [
    "ChoiceAnswer",
    "ChoiceOption",
    "ChoiceQuestion",
    "DecisionChoiceAnswer",
    "DecisionChoiceOption",
    "DecisionChoiceQuestion",
    "DecisionInput",
    "DecisionNoulAnswer",
    "DecisionNoulCriteria",
    "DecisionNoulQuestion",
    "DecisionOutput",
    "DecisionScoreAnswer",
    "DecisionScoreQuestion",
    "DecisionVideoInput",
    "DecisionVisionInput",
    "NoulAnswer",
    "NoulCriteria",
    "NoulQuestion",
    "ScoreAnswer",
    "ScoreQuestion",
    "Structured",
    "WireDecisionOutput",
]

Structured = Union[str, dict[str, Any], list[Any]]  # noqa: UP007 - a runtime alias
"""Text or JSON: what a state, an instruction or a level may be."""

_ID = Field(min_length=1, description="The question's id, unique across choices, scores and nouls")
_INSTRUCTIONS = Field(description="What to decide, as text or JSON")


class ChoiceOption(BaseModel):
    """One option of a choice question."""

    name: str = Field(min_length=1, description="The option's name, the answer's value")
    description: Structured | None = Field(default=None, description="What the option means")


class ChoiceQuestion(BaseModel):
    """Pick one of the options."""

    id: str = _ID
    instructions: Structured = _INSTRUCTIONS
    options: list[ChoiceOption] = Field(
        min_length=2, max_length=255, description="The options, names unique"
    )


class ScoreQuestion(BaseModel):
    """Place the state on a scale: ``levels`` from lowest to highest."""

    id: str = _ID
    instructions: Structured = _INSTRUCTIONS
    levels: list[Structured] = Field(
        min_length=2, max_length=10, description="The levels, lowest first"
    )


class NoulCriteria(BaseModel):
    """What true and false mean for a noul question."""

    true: Structured | None = Field(default=None, description="When the statement holds")
    false: Structured | None = Field(default=None, description="When it does not")


class NoulQuestion(BaseModel):
    """How likely a statement holds (a probability from 0 to 1)."""

    id: str = _ID
    instructions: Structured = _INSTRUCTIONS
    criteria: NoulCriteria | None = Field(default=None, description="What true and false mean")


class _DecisionFields(BaseModel):
    """The questions and the state of a decision input (fields only)."""

    state: Structured = Field(default="", description="What to evaluate, as text or JSON")
    choices: list[ChoiceQuestion] = Field(default_factory=list, description="Choice questions")
    scores: list[ScoreQuestion] = Field(default_factory=list, description="Score questions")
    nouls: list[NoulQuestion] = Field(default_factory=list, description="Noul questions")

    def _has_media(self) -> bool:
        return False

    def has_content(self) -> bool:
        """Whether there is something to evaluate: a non-empty ``state``, or (on the vision
        and video inputs) images or videos."""
        return self.state not in ("", {}, []) or self._has_media()

    @model_validator(mode="after")
    def _check_questions(self) -> Any:
        questions: list[ChoiceQuestion | ScoreQuestion | NoulQuestion] = [
            *self.choices,
            *self.scores,
            *self.nouls,
        ]
        if not questions:
            raise ValueError("ask at least one question in `choices`, `scores` or `nouls`")
        repeated = sorted(n for n, count in Counter(q.id for q in questions).items() if count > 1)
        if repeated:
            raise ValueError(
                f"question ids must be unique across choices, scores and nouls; repeated: {repeated}"
            )
        for question in questions:
            if question.instructions in ("", {}, []):
                raise ValueError(f"question {question.id!r} has empty instructions")
        for choice in self.choices:
            names = [option.name for option in choice.options]
            if len(set(names)) != len(names):
                raise ValueError(f"choice {choice.id!r} has repeated option names")
        if not self.has_content():
            raise ValueError("there is nothing to evaluate: send `state`")
        return self

    def questions(self) -> dict[str, dict[str, Any]]:
        """Every question by id: ``{"type": "choice"|"score"|"noul", "instructions",
        "criteria"}`` (option descriptions by name, the levels, or the noul's criteria; a noul
        without criteria has no ``criteria`` key)."""
        found: dict[str, dict[str, Any]] = {}
        for choice in self.choices:
            criteria = {option.name: option.description for option in choice.options}
            found[choice.id] = {
                "type": "choice",
                "instructions": choice.instructions,
                "criteria": criteria,
            }
        for score in self.scores:
            found[score.id] = {
                "type": "score",
                "instructions": score.instructions,
                "criteria": list(score.levels),
            }
        for noul in self.nouls:
            entry: dict[str, Any] = {"type": "noul", "instructions": noul.instructions}
            if noul.criteria is not None:
                entry["criteria"] = noul.criteria.model_dump(exclude_none=True)
            found[noul.id] = entry
        return found


class DecisionInput(_DecisionFields, BaseAppInput):
    """The input of a decision model: a ``state`` and the questions about it."""


class _VisionFields(_DecisionFields):
    images: list[File] = Field(default_factory=list, description="Images to evaluate")

    def _has_media(self) -> bool:
        return bool(self.images)


class DecisionVisionInput(_VisionFields, BaseAppInput):
    """A decision input with ``images`` to evaluate (the state may then be empty)."""


class _VideoFields(_VisionFields):
    videos: list[File] = Field(default_factory=list, description="Videos to evaluate")

    def _has_media(self) -> bool:
        return bool(self.images or self.videos)


class DecisionVideoInput(_VideoFields, BaseAppInput):
    """A decision input with ``images`` and ``videos`` to evaluate."""


class ChoiceAnswer(BaseModel):
    """The answer to a choice question."""

    choice: str = Field(description="The option picked")
    confidence: float = Field(description="The probability of the option picked")
    probabilities: dict[str, float] = Field(description="Every option's probability")


class ScoreAnswer(BaseModel):
    """The answer to a score question."""

    score: float = Field(description="The level, 0 for the lowest")
    normalized: float = Field(description="The score scaled to 0..1")
    confidence: float = Field(description="The probability of the level given")
    probabilities: dict[str, float] = Field(description="Every level's probability, by index")
    legend: dict[str, Any] = Field(description="What the levels are, by index")


class NoulAnswer(BaseModel):
    """The answer to a noul question."""

    noul: float = Field(description="The probability that the statement holds")


class _DecisionAnswers(BaseModel):
    choices: dict[str, ChoiceAnswer] = Field(default_factory=dict, description="Choice answers")
    scores: dict[str, ScoreAnswer] = Field(default_factory=dict, description="Score answers")
    nouls: dict[str, NoulAnswer] = Field(default_factory=dict, description="Noul answers")
    model: str = Field(description="The model that answered")
    input_tokens: int = Field(default=0, description="Tokens the model read")


class DecisionOutput(_DecisionAnswers, BaseAppOutput):
    """A decision model's answers, by question id."""

    @classmethod
    def from_answers(
        cls,
        answers: dict[str, Any],
        input_data: _DecisionFields,
        *,
        model: str,
        input_tokens: int,
        **extra: Any,
    ) -> DecisionOutput:
        """The output for ``answers`` (by question id, as dicts or answer models).

        Every question of ``input_data`` needs an answer (``RuntimeError`` names the missing
        ones, as in the published SDK 0.36). A score's ``normalized`` is computed as ``score / (levels - 1)``; ``output_meta``
        reports ``input_tokens`` read and no text written. ``extra`` sets further fields of a
        subclass.
        """
        missing = [q for q in input_data.questions() if q not in answers]
        if missing:
            raise RuntimeError(f"no answer for question(s) {missing}")

        def plain(value: Any) -> dict[str, Any]:
            return value.model_dump() if isinstance(value, BaseModel) else dict(value)

        scores: dict[str, Any] = {}
        for score in input_data.scores:
            answer = plain(answers[score.id])
            steps = max(len(score.levels) - 1, 1)
            answer["normalized"] = float(answer.get("score", 0)) / steps
            answer.setdefault("legend", {str(i): level for i, level in enumerate(score.levels)})
            scores[score.id] = answer
        meta = OutputMeta(inputs=[TextMeta(tokens=input_tokens)], outputs=[TextMeta(tokens=0)])
        fields: dict[str, Any] = {
            "choices": {c.id: plain(answers[c.id]) for c in input_data.choices},
            "scores": scores,
            "nouls": {n.id: plain(answers[n.id]) for n in input_data.nouls},
            "model": model,
            "input_tokens": input_tokens,
            "output_meta": meta,
        }
        return cls.model_validate(fields | extra)


# -- 0.36's `inferencesh.llm_types_gen` names ------------------------------------------------
# The questions are the same classes (an id and option names are what answers are keyed by, so
# they stay required). The answers and the output take 0.36's zero values when left out.

DecisionChoiceOption = ChoiceOption
DecisionChoiceQuestion = ChoiceQuestion
DecisionScoreQuestion = ScoreQuestion
DecisionNoulCriteria = NoulCriteria
DecisionNoulQuestion = NoulQuestion


class DecisionChoiceAnswer(ChoiceAnswer):
    """A :class:`ChoiceAnswer` whose ``choice`` and ``confidence`` default to ``""`` and 0."""

    choice: str = Field(default="", description="The option picked")
    confidence: float = Field(default=0.0, description="The probability of the option picked")


class DecisionScoreAnswer(ScoreAnswer):
    """A :class:`ScoreAnswer` whose ``score``, ``normalized`` and ``confidence`` default to 0."""

    score: float = Field(default=0.0, description="The level, 0 for the lowest")
    normalized: float = Field(default=0.0, description="The score scaled to 0..1")
    confidence: float = Field(default=0.0, description="The probability of the level given")


class DecisionNoulAnswer(NoulAnswer):
    """A :class:`NoulAnswer` whose ``noul`` defaults to 0."""

    noul: float = Field(default=0.0, description="The probability that the statement holds")


class WireDecisionOutput(DecisionOutput):
    """A :class:`DecisionOutput` whose ``model`` may be left out (``""``): 0.36's
    ``inferencesh.llm_types_gen.DecisionOutput``."""

    model: str = Field(default="", description="The model that answered")
