"""A smolagents code executor that runs CodeAgent's code actions in a gantry session.

    from smolagents import CodeAgent
    from gantry.smolagents import GantryExecutor

    executor = GantryExecutor(client.session(runtime="starlark", game=...))
    agent = CodeAgent(tools=[], model=model, executor=executor,
                      instructions=executor.tools_prompt())
    agent.run("Play the ALFWorld task: " + executor.session.task)

The session's own functions (goto, take_from, put, ...) are what the code calls; the prompt listing
them is ``executor.tools_prompt()``. Of smolagents' tools only ``final_answer`` is carried into the
session (as a function of the session's code); a smolagents tool is a Python object of the agent's
process and cannot be called from inside gantry's sandbox, so any other tool is refused with
ValueError.
"""

from __future__ import annotations

import ast
from typing import Any, Optional

from smolagents.local_python_executor import CodeOutput, PythonExecutor

from .client import Session

_STATE = "gantry_final_answer_state"
_DEFINE = f"""{_STATE} = {{}}
def final_answer(answer):
    {_STATE}["value"] = answer
    return answer
"""


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


class GantryExecutionError(RuntimeError):
    """A code action raised in the gantry session; the message is the session's observation
    (output and traceback), which CodeAgent shows the model."""


class GantryExecutor(PythonExecutor):  # type: ignore[misc]
    """Runs each code action of a CodeAgent in ``session`` (a :class:`gantry.Session` with a
    runtime: ``starlark`` or ``python``), keeping variables between actions."""

    def __init__(self, session: Session, close_session: bool = True) -> None:
        self.session = session
        self.close_session = close_session
        self.state: dict[str, Any] = {}
        self.last_result: Optional[Any] = None
        self._defined = False

    def tools_prompt(self) -> str:
        """The listing of the session's functions, for the agent's instructions."""
        return "In your code you can call these functions (they are already defined):\n\n" + self.session.tools().prompt

    def send_tools(self, tools: dict[str, Any]) -> None:
        others = sorted(set(tools) - {"final_answer"})
        if others:
            raise ValueError(f"gantry sessions cannot call smolagents tools {others}: their code runs in gantry's "
                             "sandbox, which calls the session's own functions (see tools_prompt())")
        self._define()

    def _define(self) -> None:
        res = self.session.exec(_DEFINE)
        if res.exception is not None:
            raise GantryExecutionError(res.observation)
        self._defined = True

    def send_variables(self, variables: dict[str, Any]) -> None:
        if not variables:
            return
        code = "\n".join(f"{name} = {value!r}" for name, value in variables.items())
        res = self.session.exec(code)
        if res.exception is not None:
            raise GantryExecutionError(f"cannot send variables: {res.observation}")

    def __call__(self, code_action: str) -> CodeOutput:
        if not self._defined:
            self._define()
        res = self.session.exec(code_action)
        self.last_result = res
        self.state["_print_outputs"] = res.stdout
        if res.exception is not None:
            raise GantryExecutionError(res.observation)
        fa = self.session.exec(f"{_STATE}.get('value')\n")
        if fa.value and fa.value != "None":
            self.session.exec(f"{_STATE}.clear()")
            return CodeOutput(output=_literal(fa.value), logs=res.stdout, is_final_answer=True)
        return CodeOutput(output=_literal(res.value) if res.value else None, logs=res.stdout, is_final_answer=False)

    def cleanup(self) -> None:
        if self.close_session:
            self.session.close()
