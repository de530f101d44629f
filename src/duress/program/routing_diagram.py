"""Routing as a diagram a nurse manager can read: for each unit, which policy applies when, and who is
paged tier by tier with the waits between. Produced as Graphviz DOT (rendered to SVG or PNG by ``dot``)
and as Mermaid text (pastes into wikis and tickets)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from duress.domain.routing import HOLIDAY, Policy, Window
from duress.domain.routing_preview import describe_target
from duress.domain.site import Site

DAY_NAMES = {
    1: "Mon",
    2: "Tue",
    3: "Wed",
    4: "Thu",
    5: "Fri",
    6: "Sat",
    7: "Sun",
    HOLIDAY: "holidays",
}
TIER_COLOURS = ("#fde2e1", "#fdebd0", "#fcf3cf", "#e8f8f5", "#ebf5fb")


@dataclass(frozen=True, slots=True)
class Branch:
    policy: Policy
    condition: str


def schedule_text(windows: Iterable[Window]) -> str:
    parts = []
    for w in windows:
        parts.append(f"{_days(w.days)} {_hours(w)}".strip())
    return "; ".join(parts) if parts else "always"


def _days(days: frozenset[int]) -> str:
    if days >= frozenset(range(1, 9)):
        return "every day"
    runs: list[list[int]] = []
    for day in sorted(d for d in days if d != HOLIDAY):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    text = ", ".join(
        DAY_NAMES[r[0]] if len(r) == 1 else f"{DAY_NAMES[r[0]]}–{DAY_NAMES[r[-1]]}" for r in runs
    )
    if HOLIDAY in days:
        text = f"{text}, holidays" if text else "holidays"
    return text


def _hours(w: Window) -> str:
    if w.start == w.end:
        return ""
    return f"{w.start:%H:%M}–{w.end:%H:%M}"


def branches(site: Site, unit: str) -> list[Branch]:
    """The policies that can apply to presses in ``unit``, the most preferred first."""
    found = [p for p in site.policies if (not p.units or unit in p.units) and p.kinds != ("test",)]
    found.sort(key=lambda p: (-p.priority, -p.specificity, p.id))
    out = []
    for p in found:
        bits = []
        if p.kinds:
            bits.append("kinds: " + ", ".join(p.kinds))
        if p.areas:
            bits.append("areas: " + ", ".join(p.areas))
        bits.append(schedule_text(p.schedule))
        out.append(Branch(p, "; ".join(bits)))
    return out


def _tier_label(policy: Policy, index: int) -> str:
    tier = policy.tiers[index]
    who = " + ".join(describe_target(t) for t in tier.targets)
    repeat = f" (paged {tier.repeat + 1}×)" if tier.repeat else ""
    return f"{index + 1}. {who}{repeat}"


def _units(site: Site, unit: str | None) -> list[str]:
    if unit is not None:
        return [unit]
    return sorted(site.facility.units)


def to_dot(site: Site, unit: str | None = None) -> str:
    lines = [
        "digraph routing {",
        '  graph [rankdir=LR, fontname="Helvetica", labelloc=t, '
        f'label="Duress routing — {_q(site.facility.name)}"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for u in _units(site, unit):
        name = site.facility.units[u].name if u in site.facility.units else u
        lines.append(f'  subgraph "cluster_{_q(u)}" {{')
        lines.append(f'    label="{_q(name)}"; style=rounded; color="#999999";')
        press = f"{u}__press"
        lines.append(
            f'    "{press}" [label="Duress press in\\n{_q(name)}", shape=oval, fillcolor="#f1948a"];'
        )
        usable = branches(site, u)
        if not usable:
            none = f"{u}__none"
            lines.append(
                f'    "{none}" [label="No policy: shown on the board,\\nmarked undelivered", fillcolor="#f5b7b1"];'
            )
            lines.append(f'    "{press}" -> "{none}";')
        for b_index, branch in enumerate(usable):
            policy = branch.policy
            pnode = f"{u}__{policy.id}"
            stop = "accepted" if policy.stop_on.value == "accepted" else "on scene"
            lines.append(
                f'    "{pnode}" [label="{_q(policy.name)}\\n(stops when {stop})", shape=note, fillcolor="#eaecee"];'
            )
            cond = branch.condition if b_index == 0 else f"else, {branch.condition}"
            lines.append(f'    "{press}" -> "{pnode}" [label="{_q(cond)}"];')
            previous = pnode
            for index in range(len(policy.tiers)):
                tnode = f"{pnode}__t{index}"
                colour = TIER_COLOURS[min(index, len(TIER_COLOURS) - 1)]
                lines.append(
                    f'    "{tnode}" [label="{_q(_tier_label(policy, index))}", fillcolor="{colour}"];'
                )
                if index == 0:
                    lines.append(f'    "{previous}" -> "{tnode}" [label="at once"];')
                else:
                    wait = policy.tiers[index - 1].escalate_after_s
                    lines.append(
                        f'    "{previous}" -> "{tnode}" [label="no accept in {wait:g} s"];'
                    )
                previous = tnode
            last = policy.tiers[-1].escalate_after_s
            lines.append(
                f'    "{previous}" -> "{previous}" [label="again every {last:g} s\\nuntil accepted"];'
            )
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(site: Site, unit: str | None = None) -> str:
    lines = ["flowchart LR"]
    for u in _units(site, unit):
        name = site.facility.units[u].name if u in site.facility.units else u
        uid = _mid(u)
        lines.append(f'  subgraph {uid}["{_m(name)}"]')
        lines.append(f'    {uid}_press(["Duress press in {_m(name)}"])')
        usable = branches(site, u)
        if not usable:
            lines.append(f'    {uid}_press --> {uid}_none["No policy: marked undelivered"]')
        for b_index, branch in enumerate(usable):
            policy = branch.policy
            pid = f"{uid}_{_mid(policy.id)}"
            cond = branch.condition if b_index == 0 else f"else, {branch.condition}"
            lines.append(f'    {uid}_press -- "{_m(cond)}" --> {pid}["{_m(policy.name)}"]')
            previous = pid
            for index in range(len(policy.tiers)):
                tid = f"{pid}_t{index}"
                label = (
                    "at once"
                    if index == 0
                    else f"no accept in {policy.tiers[index - 1].escalate_after_s:g} s"
                )
                lines.append(
                    f'    {previous} -- "{label}" --> {tid}["{_m(_tier_label(policy, index))}"]'
                )
                previous = tid
        lines.append("  end")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _m(text: str) -> str:
    return text.replace('"', "'")


def _mid(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)
