"""A drop-in for alfworld's batched text environment, played by gantry.

An ALFWorld loop written for ``alfworld.agents.environment.AlfredTWEnv`` runs on gantry by changing
its import::

    from gantry.alfworld import AlfredTWEnv          # was: from alfworld.agents.environment import ...
    env = AlfredTWEnv(config, train_eval="eval_out_of_distribution").init_env(batch_size=1)
    obs, infos = env.reset()
    obs, scores, dones, infos = env.step(["go to desk 1"])
    infos["won"][0], infos["admissible_commands"][0], infos["extra.gamefile"][0]

The games are the 134 ``valid_unseen`` games embedded in gantry (the split ReAct, Reflexion and
MINT evaluate on), or the game files a caller names; a game file path is matched to the embedded
game by its ``<task>/<trial>`` folders.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Optional, Sequence

from . import games as _games
from .client import Client, Session, reset_sessions
from .errors import GantryError
from .types import StepResult, game_id

DEFAULT_MAX_STEPS = 50


def _gamefile(game: str) -> str:
    """The game file path alfworld would report for a game given by id or path."""
    if game.endswith(".tw-pddl"):
        return game
    root = os.environ.get("ALFWORLD_DATA", "")
    rel = f"json_2.1.1/valid_unseen/{game}/game.tw-pddl"
    return f"{root}/{rel}" if root else rel


class AlfredTWEnv:
    """The interface of alfworld's ``AlfredTWEnv``: configure, then ``init_env(batch_size)``.

    ``config`` (alfworld's configuration dict, optional) supplies the step limit
    (``rl.training.max_nb_steps_per_episode``, 50 by default) and ``dataset.num_eval_games``;
    ``train_eval`` is accepted for compatibility (every split plays the embedded valid_unseen games
    unless ``game_files`` names others). ``client`` is a :class:`gantry.Client` (default: a local
    server of its own).
    """

    def __init__(self, config: Optional[dict[str, Any]] = None, train_eval: str = "eval_out_of_distribution", *,
                 game_files: Optional[Sequence[str]] = None, client: Optional[Client] = None,
                 max_steps: Optional[int] = None) -> None:
        self.config = config or {}
        self.train_eval = train_eval
        self.client = client
        files = list(game_files) if game_files else [_gamefile(g) for g in _games()]
        n = int(((self.config.get("dataset") or {}).get("num_eval_games") or -1))
        if n > 0:
            files = files[:n]
        self.game_files = files
        self.num_games = len(files)
        if max_steps is None:
            max_steps = int((((self.config.get("rl") or {}).get("training") or {})
                             .get("max_nb_steps_per_episode")) or DEFAULT_MAX_STEPS)
        self.max_steps = max_steps

    def init_env(self, batch_size: int) -> "BatchEnv":
        """The batched environment over this environment's games."""
        return BatchEnv(self.game_files, batch_size=batch_size, max_steps=self.max_steps,
                        client=self.client or Client(serve_args=["--max-sessions", "100000"]),
                        owns_client=self.client is None)


class BatchEnv:
    """alfworld's batched text environment: ``reset() -> (obs, infos)``,
    ``step(actions) -> (obs, scores, dones, infos)``, every value a list with one item per slot.

    Each ``reset`` loads the next ``batch_size`` games in TextWorld's order: the game files shuffled by
    ``numpy.random.RandomState(seed)`` (seed 1234 unless ``seed()`` is called), then reshuffled by the
    same generator at the end of each pass, so the same files give the same games as alfworld. ``infos`` holds ``won``,
    ``admissible_commands`` and ``extra.gamefile``. A slot whose episode is done is not stepped
    again; it repeats its last answer, as TextWorld's batch environment does.
    """

    def __init__(self, game_files: Sequence[str], batch_size: int = 1, max_steps: int = DEFAULT_MAX_STEPS,
                 client: Optional[Client] = None, owns_client: bool = False) -> None:
        if not game_files:
            raise ValueError("no game files")
        self.game_files = list(game_files)
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.client = client or Client()
        self._owns = owns_client or client is None
        self._order: Iterator[str] = iter(())
        self.seed(1234)
        self._sessions: list[Optional[Session]] = [None] * batch_size
        self._files: list[str] = [""] * batch_size
        self._last: list[Optional[StepResult]] = [None] * batch_size
        self._won_before: list[bool] = [False] * batch_size

    def seed(self, seed: Optional[int] = None) -> list[Optional[int]]:
        """Seeds the order of the games, as TextWorld's batch environment does."""
        import numpy as np

        rng = np.random.RandomState(seed)
        files = list(self.game_files)
        rng.shuffle(files)
        self._order = _shuffled_cycle(files, rng)
        return [seed]

    def _infos(self) -> dict[str, list[Any]]:
        return {"won": [bool(r.won) if r else False for r in self._last],
                "admissible_commands": [list(r.admissible or []) if r else [] for r in self._last],
                "extra.gamefile": list(self._files)}

    def reset(self) -> tuple[list[str], dict[str, list[Any]]]:
        """Starts the next batch of games."""
        files = [next(self._order) for _ in range(self.batch_size)]
        done = reset_sessions(self.client, [(self._sessions[i], game_id(f)) for i, f in enumerate(files)],
                              self.max_steps)  # one batch request
        for i, (f, (s, res)) in enumerate(zip(files, done)):
            self._sessions[i], self._files[i], self._last[i] = s, f, res
        return [r.observation if r else "" for r in self._last], self._infos()

    def step(self, actions: Sequence[str]) -> tuple[list[str], list[int], list[bool], dict[str, list[Any]]]:
        """Plays one command per slot (one batch request)."""
        if len(actions) != self.batch_size:
            raise ValueError(f"{len(actions)} actions for a batch of {self.batch_size}")
        if any(s is None for s in self._sessions):
            raise RuntimeError("call reset() before step()")
        todo = [i for i in range(self.batch_size) if not (self._last[i] and self._last[i].done)]  # type: ignore[union-attr]
        if todo:
            answers = self.client.batch_step([(self._sessions[i], str(actions[i])) for i in todo],  # type: ignore[misc]
                                             admissible=True)
            for i, a in zip(todo, answers):
                if isinstance(a, GantryError):
                    raise a
                self._last[i] = a
        obs = [r.observation if r else "" for r in self._last]
        scores = [int(r.reward) if r else 0 for r in self._last]
        dones = [bool(r.done) if r else False for r in self._last]
        return obs, scores, dones, self._infos()

    def close(self) -> None:
        for s in self._sessions:
            if s is not None:
                try:
                    s.close()
                except GantryError:
                    pass
        self._sessions = [None] * self.batch_size
        if self._owns:
            self.client.close()




def _shuffled_cycle(files: list[str], rng: Any) -> Iterator[str]:
    """The files, then the files reshuffled by rng at each further pass, forever."""
    yield from files
    while True:
        rng.shuffle(files)
        yield from files
