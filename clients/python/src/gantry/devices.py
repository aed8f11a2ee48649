"""Devices of gantry serve from Python: list and describe them, stop them, and give sessions their tools.

    import gantry
    with gantry.Client(serve_args=["--sim-rover", "rover"]) as client:
        print([d.name for d in client.devices()])           # ["rover"]
        print(client.device("rover").tools[0].signature)    # "rover.distance() -> float"
        with client.session(devices=["rover"]) as s:         # the rover's actions are the session's functions
            print(s.exec("print(rover.distance())").stdout)
        client.estop()                                       # stop every device now
        client.reset_devices()                               # release the e-stop (a person's decision)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

from .types import ToolInfo, env_spec


@dataclass(frozen=True)
class EStopState:
    """Whether the server's emergency stop holds (then only sensors and queries run), and why."""

    engaged: bool
    reason: str = ""

    @classmethod
    def from_json(cls, d: Optional[dict[str, Any]]) -> "EStopState":
        d = d or {}
        return cls(engaged=bool(d.get("engaged")), reason=str(d.get("reason", "") or ""))


@dataclass(frozen=True)
class DeviceSummary:
    """One device as ``client.devices()`` lists it."""

    name: str
    state: str
    actions: list[str]
    title: str = ""
    description: str = ""

    @property
    def online(self) -> bool:
        return self.state == "online"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DeviceSummary":
        return cls(name=d["name"], state=d.get("state", ""), actions=list(d.get("actions") or []),
                   title=d.get("title", "") or "", description=d.get("description", "") or "")


@dataclass(frozen=True)
class DeviceInfo:
    """A device's description: its actions as tools (signatures, docs, JSON Schemas), the device's own
    gantry/1 description (parameters, units, limits) and the guard's policies for it."""

    name: str
    state: str
    actions: list[str]
    tools: list[ToolInfo]
    protocol_description: dict[str, Any]
    policy: dict[str, Any]
    estop: EStopState
    token_policy: Optional[dict[str, Any]] = None
    title: str = ""
    description: str = ""

    @property
    def online(self) -> bool:
        return self.state == "online"

    def tool(self, name: str) -> ToolInfo:
        """The tool of an action, by action name ("drive") or tool name ("rover.drive")."""
        for t in self.tools:
            if t.name in (name, f"{self.name}.{name}"):
                return t
        raise KeyError(name)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DeviceInfo":
        tools = [ToolInfo(name=t.get("name", ""), signature=t.get("signature", ""), doc=t.get("doc", ""),
                          parameters=t.get("parameters") or {}) for t in d.get("tools") or []]
        return cls(name=d["name"], state=d.get("state", ""), actions=list(d.get("actions") or []), tools=tools,
                   protocol_description=dict(d.get("protocol_description") or {}), policy=dict(d.get("policy") or {}),
                   estop=EStopState.from_json(d.get("estop")), token_policy=d.get("token_policy"),
                   title=d.get("title", "") or "", description=d.get("description", "") or "")


@dataclass(frozen=True)
class DeviceAnswer:
    """One device's answer to a stop or a reset: its result, or the error that kept it from answering."""

    result: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DeviceAnswer":
        return cls(result=d.get("result"), error=str(d.get("error", "") or ""))


@dataclass(frozen=True)
class EstopResult:
    """What ``client.estop()`` did: running actions interrupted, each device's answer to stop (empty when the
    token may use no device: then no device is stopped), and the e-stop's state."""

    stopped: int
    devices: dict[str, DeviceAnswer] = field(default_factory=dict)
    estop: EStopState = EStopState(False)

    @property
    def engaged(self) -> bool:
        return self.estop.engaged

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "EstopResult":
        return cls(stopped=int(d.get("stopped", 0)),
                   devices={k: DeviceAnswer.from_json(v) for k, v in (d.get("devices") or {}).items()},
                   estop=EStopState.from_json(d.get("estop")))


@dataclass(frozen=True)
class ResetResult:
    """What ``client.reset_devices()`` did: each device's answer to reset, and the e-stop's state."""

    devices: dict[str, DeviceAnswer]
    estop: EStopState

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ResetResult":
        return cls(devices={k: DeviceAnswer.from_json(v) for k, v in (d.get("devices") or {}).items()},
                   estop=EStopState.from_json(d.get("estop")))


def session_body(runtime: str, env: Union[str, dict[str, Any], None], game: Optional[str], seed: Optional[int],
                 max_steps: Optional[int], devices: Optional[Sequence[str]], task: Optional[str] = None,
                 format: Optional[str] = None) -> dict[str, Any]:
    """The body of a session request. With devices and no environment asked for, the server gives the
    session no task environment (its code only drives the devices)."""
    body: dict[str, Any] = {"runtime": runtime}
    if devices:
        if isinstance(devices, str):
            devices = [devices]
        body["devices"] = list(devices)
        if env is None and game is None and seed is None and max_steps is None and task is None:
            return body
    body["env"] = env_spec(env, game, seed, max_steps, task, format)
    return body


def _estop_body(reason: Optional[str]) -> Optional[dict[str, Any]]:
    return {"reason": reason} if reason else None


class DeviceMethods:
    """The device methods of :class:`gantry.Client`."""

    def _request(self, method: str, path: str, json: Any = None) -> Any:  # pragma: no cover - Client's
        raise NotImplementedError

    def devices(self) -> list[DeviceSummary]:
        """The devices this client (token) may use, with their state."""
        return [DeviceSummary.from_json(d) for d in self._request("GET", "/v1/devices")["devices"]]

    def device(self, name: str) -> DeviceInfo:
        """One device's description; :class:`gantry.NotFound` for no such device, :class:`gantry.Forbidden`
        for one the token may not use."""
        return DeviceInfo.from_json(self._request("GET", f"/v1/devices/{_quote(name)}"))

    def estop(self, reason: Optional[str] = None) -> EstopResult:
        """Emergency stop: interrupts every running action of this client's sessions and, when the client may
        use devices, stops every device; the server then refuses motion until :meth:`reset_devices`."""
        return EstopResult.from_json(self._request("POST", "/v1/estop", _estop_body(reason)))

    def estop_device(self, name: str) -> Any:
        """Sends stop to one device (it refuses motion until reset); returns its answer."""
        return self._request("POST", f"/v1/devices/{_quote(name)}/estop")["result"]

    def reset_devices(self) -> ResetResult:
        """Releases the emergency stop and sends reset to every device (a token needs device_reset)."""
        return ResetResult.from_json(self._request("POST", "/v1/devices/reset"))


class AsyncDeviceMethods:
    """The device methods of :class:`gantry.AsyncClient` (coroutines)."""

    async def _request(self, method: str, path: str, json: Any = None) -> Any:  # pragma: no cover - AsyncClient's
        raise NotImplementedError

    async def devices(self) -> list[DeviceSummary]:
        return [DeviceSummary.from_json(d) for d in (await self._request("GET", "/v1/devices"))["devices"]]

    async def device(self, name: str) -> DeviceInfo:
        return DeviceInfo.from_json(await self._request("GET", f"/v1/devices/{_quote(name)}"))

    async def estop(self, reason: Optional[str] = None) -> EstopResult:
        return EstopResult.from_json(await self._request("POST", "/v1/estop", _estop_body(reason)))

    async def estop_device(self, name: str) -> Any:
        return (await self._request("POST", f"/v1/devices/{_quote(name)}/estop"))["result"]

    async def reset_devices(self) -> ResetResult:
        return ResetResult.from_json(await self._request("POST", "/v1/devices/reset"))


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
