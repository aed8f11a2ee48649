"""gantry: ALFWorld and code-action sessions of gantry serve from Python.

    import gantry
    with gantry.Client() as client, client.session(runtime="starlark") as s:
        print(s.observation)
        r = s.exec('print(goto("desk 1"))')
        print(r.observation, r.done, r.won)
"""

from ._local import find_binary
from .aio import AsyncClient, AsyncSession
from .client import Client, Session
from .devices import DeviceAnswer, DeviceInfo, DeviceSummary, EstopResult, EStopState, ResetResult
from .errors import (BadRequest, DeviceError, Forbidden, GantryError, NotFound, ServerStartError, SessionBusy,
                     SessionExpired, TooLarge, TooManySessions, Unauthorized, Unavailable)
from .types import AnswerResult, ExceptionInfo, ExecResult, ResetItem, SessionInfo, StepResult, ToolInfo, ToolList

__version__ = "0.1.0"

__all__ = [
    "AnswerResult", "AsyncClient", "AsyncSession", "BadRequest", "Client", "DeviceAnswer", "DeviceError", "DeviceInfo",
    "DeviceSummary", "EStopState", "EstopResult", "ExceptionInfo", "ExecResult", "Forbidden", "ResetItem", "ResetResult",
    "GantryError", "NotFound", "ServerStartError", "Session", "SessionBusy", "SessionExpired", "SessionInfo",
    "StepResult", "ToolInfo", "ToolList", "TooLarge", "TooManySessions", "Unauthorized", "Unavailable",
    "find_binary", "games",
]


def games() -> list[str]:
    """The ids of the 134 embedded ALFWorld games (valid_unseen), in MINT's run order."""
    from importlib import resources

    text = resources.files(__name__).joinpath("games.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def _register_envs() -> None:
    try:
        import gymnasium  # noqa: F401
    except ImportError:
        return
    from .envs import register

    register()


_register_envs()
