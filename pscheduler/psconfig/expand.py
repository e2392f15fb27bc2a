"""Turn a validated pSConfig template into pScheduler task bodies, one per address tuple.

Follows the original agent's rules: groups give ordered address tuples (mesh: every ordered
pair; disjoint: a x b and, unless unidirectional, b x a; list: single addresses), minus
``excludes`` and self pairs (``excludes-self``: same host by default); a tuple with a disabled
address or host is dropped; the address at ``scheduled-by`` (default 0) schedules the task,
unless it is ``no-agent``: then the first address with an agent does, and ``{% flip %}`` is
true.  ``labels`` and ``remote-addresses`` pick which address a host uses towards a given
peer; the matching of "is this mine" is done on the original (parent) address.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pscheduler import catalog
from pscheduler.psconfig import classes


class ExpansionError(Exception):
    """A template that validated but cannot be expanded for one tuple (bad variable...)."""


@dataclass
class Address:
    name: str
    address: str
    parent: str | None = None  # the address the label/remote address belongs to
    host: str | None = None
    pscheduler_address: str | None = None
    lead_bind_address: str | None = None
    disabled: bool = False
    no_agent: bool = False
    contexts: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    @property
    def own(self) -> str:
        """The address an agent matches against its own addresses."""
        return (self.parent or self.address).lower()

    @property
    def api(self) -> str:
        """host[:port] of this address's pScheduler server."""
        return self.pscheduler_address or _bracket(self.address)


def _bracket(host: str) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def _layer(addr: Address, data: dict) -> Address:
    """``data`` (a label or remote address) over ``addr``: its own fields win."""
    return Address(
        name=addr.name,
        address=data["address"],
        parent=addr.parent or addr.address,
        host=addr.host,
        pscheduler_address=data.get("pscheduler-address", addr.pscheduler_address),
        lead_bind_address=data.get("lead-bind-address", addr.lead_bind_address),
        disabled=addr.disabled or bool(data.get("disabled")),
        no_agent=addr.no_agent or bool(data.get("no-agent")),
        contexts=list(data.get("contexts", addr.contexts)),
        data=data,
    )


def select_address(
    template: dict, name: str, label: str | None, remote: str | None = None
) -> Address:
    data = template["addresses"][name]
    addr = Address(
        name=name,
        address=data["address"],
        host=data.get("host"),
        pscheduler_address=data.get("pscheduler-address"),
        lead_bind_address=data.get("lead-bind-address"),
        disabled=bool(data.get("disabled")),
        no_agent=bool(data.get("no-agent")),
        contexts=list(data.get("contexts") or []),
        data=data,
    )
    labels = data.get("labels") or {}
    remote_data = (data.get("remote-addresses") or {}).get(remote) if remote else None
    if remote_data is not None:
        addr = _layer(addr, remote_data)
        labels = remote_data.get("labels") or {}
    if label and label in labels:
        addr = _layer(addr, labels[label])
    return addr


def _host(template: dict, addr: Address) -> dict:
    return (template.get("hosts") or {}).get(addr.host or "", {}) if addr.host else {}


def _disabled(template: dict, addr: Address) -> bool:
    return addr.disabled or bool(_host(template, addr).get("disabled"))


def _no_agent(template: dict, addr: Address) -> bool:
    return addr.no_agent or bool(_host(template, addr).get("no-agent"))


# ---------------------------------------------------------------------------- groups


def _label(group: dict, sel: dict) -> str | None:
    return sel.get("label") or group.get("default-address-label")


def _selectors(template: dict, sels: list, requesting: dict | None) -> list[dict]:
    """Name selectors for a selector list: a class gives its members, disabled ones go."""
    out = []
    for sel in sels:
        if sel.get("disabled"):
            continue
        if "class" in sel:
            out += [{"name": n} for n in classes.members(template, sel["class"], requesting)]
        else:
            out.append(sel)
    return out


def _key(sel: dict) -> tuple:
    return (sel["name"], sel.get("label"))


def _excluded(
    template: dict,
    group: dict,
    a_sel: dict,
    b_sel: dict,
    a: Address,
    b: Address,
    requesting: dict | None,
) -> bool:
    for excl in group.get("excludes") or []:
        local = {_key(s) for s in _selectors(template, [excl["local-address"]], requesting)}
        if _key(a_sel) in local:
            targets = _selectors(template, excl["target-addresses"], requesting)
            if _key(b_sel) in {_key(s) for s in targets}:
                return True
    scope = group.get("excludes-self") or "host"
    if scope == "host" and a.host and b.host and a.host.lower() == b.host.lower():
        return True
    return scope in ("host", "address") and a.own == b.own


def _pairs(
    template: dict, group: dict, sels_a: list, sels_b: list, requesting: dict | None
) -> list[list[Address]]:
    out = []
    for a_sel in _selectors(template, sels_a, requesting):
        for b_sel in _selectors(template, sels_b, requesting):
            a = select_address(template, a_sel["name"], _label(group, a_sel), b_sel["name"])
            b = select_address(template, b_sel["name"], _label(group, b_sel), a_sel["name"])
            if not _excluded(template, group, a_sel, b_sel, a, b, requesting):
                out.append([a, b])
    return out


def group_tuples(
    template: dict, group_name: str, requesting: dict | None = None
) -> list[list[Address]]:
    """The ordered address tuples of a group, before disabled/agent rules.  ``template`` has
    the requesting agent's addresses already (``classes.with_requesting``)."""
    group = template["groups"][group_name]
    if group["type"] == "mesh":
        return _pairs(template, group, group["addresses"], group["addresses"], requesting)
    if group["type"] == "disjoint":
        out = _pairs(template, group, group["a-addresses"], group["b-addresses"], requesting)
        if not group.get("unidirectional"):
            out += _pairs(template, group, group["b-addresses"], group["a-addresses"], requesting)
        return out
    return [
        [select_address(template, s["name"], _label(group, s))]
        for s in _selectors(template, group["addresses"], requesting)
    ]


# ---------------------------------------------------------------------------- variables

_WHOLE = re.compile(r"^\{%\s*((?:(?!%\}).)+?)\s*%\}$")
_EMBEDDED = re.compile(r"\{%\s*(.+?)\s*%\}")
_INDEXED = re.compile(r"^(address|pscheduler_address|lead_bind_address)\[(\d+)\]$")


class _Vars:
    def __init__(self, addrs: list[Address], scheduled_by: Address, flip: bool, jq_obj: dict):
        self.addrs, self.scheduled_by, self.flip, self.jq_obj = addrs, scheduled_by, flip, jq_obj

    def value(self, name: str) -> Any:
        match = _INDEXED.match(name)
        if match:
            index = int(match.group(2))
            if index >= len(self.addrs):
                raise ExpansionError(f"{{% {name} %}}: the group has {len(self.addrs)} address(es)")
            addr = self.addrs[index]
            if match.group(1) == "address":
                return addr.address
            if match.group(1) == "pscheduler_address":
                return addr.pscheduler_address or _bracket(addr.address)
            return addr.lead_bind_address or addr.address
        if name == "scheduled_by_address":
            return self.scheduled_by.address
        if name == "flip":
            return self.flip
        if name == "localhost":
            return self.scheduled_by.address if self.flip else "localhost"
        if name.startswith("jq "):
            import jq

            try:
                return jq.compile(name[3:]).input(self.jq_obj).first()
            except Exception as exc:  # noqa: BLE001 - jq raises ValueError and others
                raise ExpansionError(f"{{% {name} %}}: {exc}") from None
        raise ExpansionError(f"unknown template variable {{% {name} %}}")

    def expand(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: self.expand(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.expand(v) for v in obj]
        if isinstance(obj, str):
            whole = _WHOLE.match(obj)
            if whole:
                return self.value(whole.group(1))
            return _EMBEDDED.sub(lambda m: _text(self.value(m.group(1))), obj)
        return obj


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


# ---------------------------------------------------------------------------- tasks


def _strip_meta(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k != "_meta"}


def _archives(template: dict, task: dict, scheduled_by: Address) -> list[dict]:
    names = list(task.get("archives") or []) + list(
        _host(template, scheduled_by).get("archives") or []
    )
    out, seen = [], set()
    for name in names:
        archive = _strip_meta(template["archives"][name])
        key = json.dumps(archive, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(archive)
    return out


def _lead(body: dict, addrs: list[Address], scheduled_by: Address) -> str:
    """The pScheduler server to post to: the test's first participant (None means the host
    the task is posted to, i.e. the scheduling address)."""
    first = None
    try:
        found = catalog.participants(body["test"]["type"], body["test"]["spec"])["participants"]
        first = found[0] if found else None
    except Exception:  # noqa: BLE001 - unknown test or invalid spec: the lead decides
        first = None
    if first is None:
        return scheduled_by.api
    for addr in [scheduled_by, *addrs]:
        if first in (addr.address, addr.parent, addr.pscheduler_address):
            return addr.api
    return _bracket(first)


def expand_task(
    template: dict, task_name: str, addrs: list[Address], mine: set[str] | None = None
) -> dict | None:
    """One task tuple as ``{task, addresses, scheduled-by, flip, lead, body}``; None when the
    tuple is skipped (disabled address or host, nobody with an agent, or -- with ``mine`` --
    scheduled by another host: checked before the costly part, since an agent of a 16-node
    mesh would otherwise build and validate all 480 tasks to keep its 30)."""
    task = template["tasks"][task_name]
    if any(_disabled(template, a) for a in addrs):
        return None
    index = task.get("scheduled-by", 0)
    if index >= len(addrs):
        raise ExpansionError(f"tasks.{task_name}.scheduled-by: {index} is too big")
    scheduled_by, flip = addrs[index], False
    if _no_agent(template, scheduled_by):
        flip = True
        agents = [a for a in addrs if not _no_agent(template, a)]
        if not agents:
            return None
        scheduled_by = agents[0]
    if mine is not None and scheduled_by.own not in mine:
        return None
    test = template["tests"][task["test"]]
    archives = _archives(template, task, scheduled_by)
    contexts = [[_strip_meta(template["contexts"][c]) for c in a.contexts] for a in addrs]
    schedule = template.get("schedules", {}).get(task.get("schedule") or "", None)
    jq_obj = {
        "addresses": [a.data for a in addrs],
        "archives": archives,
        "contexts": contexts,
        "hosts": [_host(template, a) for a in addrs],
        "task": task,
        "test": test,
    }
    if schedule is not None:
        jq_obj["schedule"] = schedule
    variables = _Vars(addrs, scheduled_by, flip, jq_obj)
    body: dict[str, Any] = {"test": variables.expand(_strip_meta(copy.deepcopy(test)))}
    if schedule is not None:
        body["schedule"] = _strip_meta(schedule)
    if archives:
        body["archives"] = [variables.expand(a) for a in archives]
    if any(contexts):
        body["contexts"] = {"contexts": variables.expand(contexts)}
    if task.get("tools"):
        body["tools"] = list(task["tools"])
    if "priority" in task:
        body["priority"] = task["priority"]
    if task.get("reference"):
        body["reference"] = variables.expand(task["reference"])
    return {
        "task": task_name,
        "addresses": [a.address for a in addrs],
        "scheduled-by": scheduled_by.address,
        "scheduled-by-own": scheduled_by.own,
        "flip": flip,
        "lead": _lead(body, addrs, scheduled_by),
        "lead-bind-address": scheduled_by.lead_bind_address,
        "body": body,
    }


def expand(
    template: dict, host: set[str] | str | None = None, requesting: dict[str, dict] | None = None
) -> tuple[list[dict], list[str]]:
    """Every task tuple of an already validated template, or only those ``host`` (one address
    or a set) must schedule; with the per-tuple errors as ``task=..,addresses=..: why``.
    ``requesting`` (name -> address object) are the reading agent's own addresses, the
    members of ``requesting-agent`` address classes."""
    mine = {host} if isinstance(host, str) else host
    mine = {h.lower() for h in mine} if mine else None
    template = classes.with_requesting(template, requesting)
    items, errors = [], []
    for name, task in (template.get("tasks") or {}).items():
        if task.get("disabled"):
            continue
        try:
            tuples = group_tuples(template, task["group"], requesting)
        except classes.ClassError as exc:
            errors.append(f"task={name},group={task['group']}: {exc}")
            continue
        for addrs in tuples:
            try:
                item = expand_task(template, name, addrs, mine)
            except ExpansionError as exc:
                errors.append(f"task={name},addresses={'->'.join(a.address for a in addrs)}: {exc}")
                continue
            if item is None:
                continue
            if mine is not None and item["scheduled-by-own"] not in mine:
                continue
            items.append(item)
    return items, errors
