"""An MCP client made with the official Python SDK (pip install 'mcp>=2,<3') that
exercises gantry's MCP server: list the tools, run code twice (state kept),
raise an error. It prints one JSON report for the Go test to check.

Usage: mcp_client.py stdio COMMAND [ARGS...]
       mcp_client.py http URL [TOKEN]

With GANTRY_MCP_DEVICES=1 it exercises a server with a device named rover
instead: the device resources, run_code's listing, a device call and estop.
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
import httpx2


def text(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def exercise(session):
    await session.initialize()
    tools = (await session.list_tools()).tools
    run_code = next(t for t in tools if t.name == "run_code")
    first = await session.call_tool("run_code", {"code": "x = 20\nprint(goto('shelf 1'))"})
    second = await session.call_tool("run_code", {"code": "print(x + 1)"})
    error = await session.call_tool("run_code", {"code": "1/0"})
    print(json.dumps({
        "tools": sorted(t.name for t in tools),
        "has_goto": "goto(receptacle: str) -> str" in run_code.description,
        "first": text(first),
        "second": text(second),
        "error_is_error": bool(error.is_error),
        "error": text(error),
    }))


async def exercise_devices(session):
    await session.initialize()
    tools = (await session.list_tools()).tools
    run_code = next(t for t in tools if t.name == "run_code")
    resources = (await session.list_resources()).resources
    read = await session.read_resource("gantry://devices/rover")
    desc = json.loads(read.contents[0].text)
    call = await session.call_tool("run_code", {"code": "print(rover.distance() > 0)"})
    stop = await session.call_tool("estop", {})
    print(json.dumps({
        "resources": sorted(str(r.uri) for r in resources),
        "has_drive": "rover.drive(speed: float, ms: int = 500)" in run_code.description,
        "resource_tools": sorted(t["name"] for t in desc["tools"]),
        "call": text(call),
        "estop": text(stop),
    }))


async def main(argv):
    if argv[1] == "stdio":
        params = StdioServerParameters(command=argv[2], args=argv[3:], env=dict(os.environ))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await exercise(session)
    else:
        headers = {"Authorization": "Bearer " + argv[3]} if len(argv) > 3 else None
        client = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
        async with client, streamable_http_client(argv[2], http_client=client) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                if os.environ.get("GANTRY_MCP_DEVICES") == "1":
                    await exercise_devices(session)
                else:
                    await exercise(session)


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
