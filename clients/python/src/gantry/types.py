"""The results gantry serve answers with, as typed Python objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union


@dataclass(frozen=True)
class ExceptionInfo:
    """The exception that ended a code action (the model's to read, not raised in Python)."""

    type: str
    message: str
    traceback: str
    line: int = 0
    source: str = ""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ExceptionInfo":
        return cls(type=d.get("type", ""), message=d.get("message", ""), traceback=d.get("traceback", ""),
                   line=int(d.get("line", 0) or 0), source=d.get("source", "") or "")


@dataclass(frozen=True)
class ExecResult:
    """The answer to a code action: what the model reads next and the episode's state."""

    observation: str
    stdout: str
    value: str = ""
    exception: Optional[ExceptionInfo] = None
    truncated: bool = False
    restarted: bool = False
    duration_ms: float = 0.0
    done: bool = False
    won: bool = False
    reward: float = 0.0
    steps: int = 0

    @property
    def error_type(self) -> Optional[str]:
        """The exception's type name (``"ZeroDivisionError"``), or None when the code ran through."""
        return self.exception.type if self.exception else None

    @property
    def traceback(self) -> Optional[str]:
        """The exception's traceback, or None."""
        return self.exception.traceback if self.exception else None

    @property
    def ok(self) -> bool:
        """Whether the code ran without an exception."""
        return self.exception is None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ExecResult":
        exc = d.get("exception")
        return cls(observation=d.get("observation", ""), stdout=d.get("stdout", ""), value=d.get("value", "") or "",
                   exception=ExceptionInfo.from_json(exc) if exc else None, truncated=bool(d.get("truncated")),
                   restarted=bool(d.get("restarted")), duration_ms=float(d.get("duration_ms", 0.0)),
                   done=bool(d.get("done")), won=bool(d.get("won")), reward=float(d.get("reward", 0.0)),
                   steps=int(d.get("steps", 0)))


@dataclass(frozen=True)
class StepResult:
    """The answer to a plain environment step or a reset."""

    observation: str
    admissible: Optional[list[str]] = None
    done: bool = False
    won: bool = False
    reward: float = 0.0
    steps: int = 0

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "StepResult":
        # Made without the frozen dataclass's __init__ (one object.__setattr__ per field): this runs
        # once per step, thousands of times a second.
        adm = d.get("admissible")
        r = object.__new__(cls)
        r.__dict__.update(observation=d.get("observation", ""),
                          admissible=adm if adm is None or type(adm) is list else list(adm),
                          done=bool(d.get("done")), won=bool(d.get("won")), reward=float(d.get("reward", 0.0)),
                          steps=int(d.get("steps", 0)))
        return r


@dataclass(frozen=True)
class ToolInfo:
    """One function a session's code can call."""

    name: str
    signature: str
    doc: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolList:
    """The tools of a session and the listing a prompt shows."""

    tools: list[ToolInfo]
    prompt: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ToolList":
        return cls(tools=[ToolInfo(name=t.get("name", ""), signature=t.get("signature", ""), doc=t.get("doc", ""),
                                   parameters=t.get("parameters") or {}) for t in d.get("tools", [])],
                   prompt=d.get("prompt", ""))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self.tools)


@dataclass(frozen=True)
class SessionInfo:
    """A session as the server describes it."""

    id: str
    runtime: str
    env: dict[str, Any]
    observation: str = ""
    done: bool = False
    won: bool = False
    reward: float = 0.0
    steps: int = 0
    devices: list[str] = field(default_factory=list)

    @property
    def game(self) -> str:
        """The ALFWorld game's id ("<task>/<trial>")."""
        return str(self.env.get("game", ""))

    @property
    def task(self) -> str:
        return str(self.env.get("task", ""))

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "SessionInfo":
        return cls(id=d["id"], runtime=d.get("runtime", ""), env=dict(d.get("env") or {}),
                   observation=d.get("observation", "") or "", done=bool(d.get("done")), won=bool(d.get("won")),
                   reward=float(d.get("reward", 0.0)), steps=int(d.get("steps", 0)),
                   devices=list(d.get("devices") or []))


@dataclass(frozen=True)
class AnswerResult:
    """The harness's verdict on a proposed answer (M3ToolEval sessions) and the episode's state."""

    correct: bool
    observation: str = ""
    """The harness's message for a wrong answer; empty for a correct one."""
    done: bool = False
    won: bool = False
    reward: float = 0.0
    steps: int = 0

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "AnswerResult":
        return cls(correct=bool(d.get("correct")), observation=d.get("observation", "") or "",
                   done=bool(d.get("done")), won=bool(d.get("won")), reward=float(d.get("reward", 0.0)),
                   steps=int(d.get("steps", 0)))


@dataclass(frozen=True)
class ResetItem:
    """One reset of a batch: the session that plays the new episode (a new one when the reset asked for
    another game: ``replaced`` is then the deleted one's id, ``env`` the new session's environment)."""

    session: str
    result: StepResult
    replaced: Optional[str] = None
    env: Optional[dict[str, Any]] = None


def env_spec(env: Union[str, dict[str, Any], None], game: Optional[str], seed: Optional[int],
             max_steps: Optional[int], task: Optional[str] = None, format: Optional[str] = None) -> dict[str, Any]:
    """The "env" object of a session request from its parts: ``env`` is a kind ("alfworld",
    "m3tooleval") or the raw object; ``task`` (an M3ToolEval task) implies "m3tooleval"."""
    spec: dict[str, Any] = {"kind": "m3tooleval" if task is not None else "alfworld"}
    if isinstance(env, str):
        spec["kind"] = env
    elif env:
        spec.update(env)
    if task is not None:
        spec["task"] = task
    if format is not None:
        spec["format"] = format
    if game is not None:
        spec["game"] = game_id(game)
    if seed is not None:
        spec["seed"] = int(seed)
    if max_steps is not None:
        spec["max_steps"] = int(max_steps)
    return spec


def game_id(game: str) -> str:
    """The id "<task>/<trial>" of a game given by id or by the path of its game.tw-pddl (or its folder)."""
    g = game.replace("\\", "/").rstrip("/")
    if g.endswith(".tw-pddl") or g.endswith(".json"):
        g = g.rsplit("/", 1)[0]
    parts = g.split("/")
    if len(parts) >= 2:
        return parts[-2] + "/" + parts[-1]
    return g
