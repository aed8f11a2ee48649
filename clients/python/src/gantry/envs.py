"""Gymnasium environments over gantry sessions: ``gantry.envs.AlfWorld`` (``gantry/AlfWorld-v0``)
and ``gantry.envs.AlfWorldVector``, many sessions stepped (and reset) by one batch request."""

from __future__ import annotations

import string
from typing import Any, Optional, Sequence, Union

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from . import games as _games
from .client import Client, Session, reset_sessions
from .errors import GantryError
from .types import StepResult, game_id

#: Characters of observations and commands (printable ASCII, as ALFWorld's text is).
CHARSET = string.printable
MAX_OBSERVATION = 1 << 16
MAX_COMMAND = 1024

ENV_ID = "gantry/AlfWorld-v0"


def register() -> None:
    """Registers ``gantry/AlfWorld-v0`` with Gymnasium (done when gantry is imported)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="gantry.envs:AlfWorld",
                           vector_entry_point="gantry.envs:AlfWorldVector")


def _text_spaces() -> tuple[spaces.Text, spaces.Text]:
    return (spaces.Text(max_length=MAX_OBSERVATION, min_length=0, charset=CHARSET),
            spaces.Text(max_length=MAX_COMMAND, min_length=1, charset=CHARSET))


def _info(res: StepResult, game: str) -> dict[str, Any]:
    return {"admissible_commands": list(res.admissible or []), "won": res.won, "gamefile": game,
            "steps": res.steps}


class AlfWorld(gymnasium.Env[str, str]):
    """An ALFWorld game played through gantry as a Gymnasium environment.

    Observations and actions are text (``gymnasium.spaces.Text``); the reward is 1 on the step that
    wins; ``terminated`` when won, ``truncated`` when the step limit ends the episode. ``info`` holds
    ``admissible_commands``, ``won`` and ``gamefile`` (the game's id).

    ``game`` fixes the game; otherwise each ``reset`` picks one of ``games`` (default: the 134 embedded
    valid_unseen games) with the environment's seeded random generator. ``client`` is a
    :class:`gantry.Client` (default: one local server per process, shared).
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, game: Optional[str] = None, games: Optional[Sequence[str]] = None, max_steps: int = 50,
                 client: Optional[Client] = None, render_mode: Optional[str] = None) -> None:
        self.observation_space, self.action_space = _text_spaces()
        self.render_mode = render_mode
        self.client = client or shared_client()
        self.max_steps = max_steps
        self._fixed = game_id(game) if game else None
        self._games = [game_id(g) for g in games] if games else _games()
        self._session: Optional[Session] = None
        self._last = ""
        self._won = False

    @property
    def session(self) -> Optional[Session]:
        return self._session

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None
              ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        game = (options or {}).get("game") or self._fixed
        game = game_id(game) if game else self._games[int(self.np_random.integers(len(self._games)))]
        if self._session is None or self._session.game != game:
            if self._session is not None:
                self._session.close()
            self._session = self.client.session(runtime="none", game=game, max_steps=self.max_steps)
        res = self._session.reset(admissible=True)
        self._last, self._won = res.observation, res.won
        return res.observation, _info(res, game)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._session is None:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        res = self._session.step(str(action), admissible=True)
        reward = 1.0 if res.won and not self._won else 0.0
        self._last, self._won = res.observation, res.won
        return res.observation, reward, res.won, res.done and not res.won, _info(res, self._session.game)

    def render(self) -> Optional[str]:
        if self.render_mode == "human":
            print(self._last)
            return None
        return self._last

    def close(self) -> None:
        if self._session is not None:
            try:
                self._session.close()
            except GantryError:
                pass
            self._session = None
        super().close()


class AlfWorldVector(VectorEnv):
    """``num_envs`` ALFWorld sessions stepped together, one batch request per step.

    Autoreset is Gymnasium's default next-step mode: the step after an episode ends resets that
    sub-environment (its action is ignored). Observations are tuples of strings; ``infos`` holds
    arrays ``admissible_commands``, ``won`` and ``gamefile`` (with Gymnasium's ``_key`` masks).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 8, games: Optional[Sequence[str]] = None, max_steps: int = 50,
                 client: Optional[Client] = None, **kwargs: Any) -> None:
        self.num_envs = num_envs
        self.client = client or shared_client()
        self.max_steps = max_steps
        if kwargs.get("game"):
            games = [kwargs["game"]]
        self._games = [game_id(g) for g in games] if games else _games()
        self.single_observation_space, self.single_action_space = _text_spaces()
        self.observation_space = spaces.Tuple([self.single_observation_space] * num_envs)
        self.action_space = spaces.Tuple([self.single_action_space] * num_envs)
        self._sessions: list[Optional[Session]] = [None] * num_envs
        self._won = np.zeros(num_envs, dtype=bool)
        self._autoreset = np.zeros(num_envs, dtype=bool)
        self._rng = np.random.default_rng()

    @property
    def sessions(self) -> list[Optional[Session]]:
        return list(self._sessions)

    def _reset_many(self, slots: Sequence[int], want: Optional[Sequence[Optional[str]]] = None
                    ) -> dict[int, StepResult]:
        """Resets the slots' sessions with one ``POST /v1/batch/reset``; a slot whose next game is not its
        session's gets a new session (the server replaces it in the same request)."""
        games: list[str] = []
        for k in range(len(slots)):
            game = want[k] if want else None
            if game is None:
                game = self._games[int(self._rng.integers(len(self._games)))]
            games.append(game)
        out: dict[int, StepResult] = {}
        done = reset_sessions(self.client, [(self._sessions[i], g) for i, g in zip(slots, games)], self.max_steps)
        for i, (s, res) in zip(slots, done):
            self._sessions[i] = s
            self._won[i] = False
            out[i] = res
        return out

    def reset(self, *, seed: Optional[Union[int, list[int]]] = None, options: Optional[dict[str, Any]] = None
              ) -> tuple[tuple[str, ...], dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed if isinstance(seed, int) else seed[0])
        want = (options or {}).get("games")
        slots = range(self.num_envs)
        got = self._reset_many(slots, [game_id(want[i]) for i in slots] if want else None)
        results = [got[i] for i in slots]
        self._autoreset[:] = False
        return tuple(r.observation for r in results), self._infos(results)

    def _infos(self, results: Sequence[StepResult]) -> dict[str, Any]:
        n = self.num_envs
        adm = np.empty(n, dtype=object)
        for i, r in enumerate(results):
            adm[i] = list(r.admissible or [])
        games = np.array([s.game if s else "" for s in self._sessions], dtype=object)
        mask = np.ones(n, dtype=bool)
        return {"admissible_commands": adm, "_admissible_commands": mask,
                "won": np.array([r.won for r in results]), "_won": mask.copy(),
                "gamefile": games, "_gamefile": mask.copy()}

    def step(self, actions: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        n = self.num_envs
        if any(s is None for s in self._sessions):
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        results: list[Optional[StepResult]] = [None] * n
        batch = [(i, self._sessions[i], str(actions[i])) for i in range(n) if not self._autoreset[i]]
        if batch:
            answers = self.client.batch_step([(s, a) for _, s, a in batch], admissible=True)  # type: ignore[misc]
            for (i, _, _), ans in zip(batch, answers):
                if isinstance(ans, GantryError):
                    raise ans
                results[i] = ans
        for i, res in self._reset_many([i for i in range(n) if self._autoreset[i]]).items():
            results[i] = res
        rewards = np.zeros(n, dtype=np.float64)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        for i in range(n):
            if self._autoreset[i]:
                continue
            r = results[i]
            assert r is not None
            rewards[i] = 1.0 if r.won and not self._won[i] else 0.0
            self._won[i] = r.won
            terminated[i] = r.won
            truncated[i] = r.done and not r.won
        self._autoreset = terminated | truncated
        done_results = [r for r in results if r is not None]
        return (tuple(r.observation for r in done_results), rewards, terminated, truncated, self._infos(done_results))

    def close_extras(self, **kwargs: Any) -> None:
        for s in self._sessions:
            if s is not None:
                try:
                    s.close()
                except GantryError:
                    pass
        self._sessions = [None] * self.num_envs


_shared: dict[str, Client] = {}


def shared_client() -> Client:
    """One client (and local server, unless $GANTRY_URL is set) per process for environments made
    without a client; stopped at exit."""
    c = _shared.get("default")
    if c is None:
        c = _shared["default"] = Client(serve_args=["--max-sessions", "100000"])
    return c
