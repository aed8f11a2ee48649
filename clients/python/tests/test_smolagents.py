"""smolagents' CodeAgent acting in a gantry session through GantryExecutor, with a scripted model."""

from __future__ import annotations

from typing import Any

import pytest
from smolagents import CodeAgent
from smolagents.models import ChatMessage, MessageRole, Model

import gantry
from gantry.smolagents import GantryExecutor


class ScriptedModel(Model):
    """Answers with the next of its scripted replies and records what it was shown."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(model_id="scripted")
        self.replies = list(replies)
        self.seen: list[str] = []

    def generate(self, messages: Any, stop_sequences: Any = None, response_format: Any = None,
                 tools_to_call_from: Any = None, **kwargs: Any) -> ChatMessage:
        last = messages[-1]
        content = last["content"] if isinstance(last, dict) else last.content
        self.seen.append(content if isinstance(content, str) else str(content))
        return ChatMessage(role=MessageRole.ASSISTANT, content=self.replies.pop(0))


def code(body: str) -> str:
    return f"Thought: next.\n<code>\n{body}\n</code>"


def test_code_agent_plays_in_gantry(client: gantry.Client) -> None:
    game = "pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012"
    session = client.session(runtime="starlark", game=game)
    executor = GantryExecutor(session)
    replies = [
        code('print(goto("shelf 1"))\nx = 1/0'),   # output, then an exception the model must read
        code('y = 6 * 7\nprint("y is", y)'),       # variables persist between actions
        code('final_answer(y)'),
    ]
    model = ScriptedModel(replies)
    agent = CodeAgent(tools=[], model=model, executor=executor, instructions=executor.tools_prompt(), max_steps=5)
    out = agent.run("Go to shelf 1, then answer 42.")
    assert out == 42
    joined = "\n".join(model.seen)
    assert "On the shelf 1, you see a keychain 2." in joined
    assert "ZeroDivisionError: division by zero" in joined
    assert "y is 42" in joined
    assert "goto(receptacle: str) -> str" in agent.system_prompt  # the session's tools, in the prompt
    assert session.state().steps == 1  # the goto was an environment step of the gantry session
    agent.cleanup()
    with pytest.raises(gantry.NotFound):
        session.state()


def test_other_tools_are_refused(client: gantry.Client) -> None:
    from smolagents import tool

    @tool
    def add(a: int, b: int) -> int:
        """Adds.

        Args:
            a: one
            b: two
        """
        return a + b

    session = client.session(runtime="starlark")
    with pytest.raises(ValueError, match="cannot call smolagents tools \\['add'\\]"):
        CodeAgent(tools=[add], model=ScriptedModel([]), executor=GantryExecutor(session)).run("x", max_steps=1)
    session.close()
