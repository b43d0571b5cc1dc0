"""A status life cycle declared in a mapping: which ERP action sets which status, from where.

Some ERPs refuse a status written as a field; each status is set by an action (SAP: a
function import) that is only allowed from certain statuses. A mapping declares that
life cycle under ``options.status_actions``::

    status_actions:
      field: SystemStatusText          # the ERP field the status value map targets
      initial: CRTD                    # the status a new record has
      actions:                         # status -> the action setting it, allowed from
        REL: {call: ReleaseMaintenanceOrder, from: [CRTD]}
        TECO: {call: SetMaintOrdToTechCompleted, from: [REL]}
        CLSD: {call: SetMaintOrderStatusToClosed, from: [TECO]}

A push walks the shortest chain of actions from the record's current status to the target
(CRTD -> REL -> TECO -> CLSD), skipping the steps already done; a target that cannot be
reached (a change backwards, CLSD -> REL) is a ``StatusChangeError``. The declaration is
checked when the mapping loads: every ``from`` status is known and every status reachable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

OPTION = "status_actions"


class StatusChangeError(ValueError):
    """The target status cannot be reached from the current one."""


class StatusAction(BaseModel):
    """The action (``call``) that sets a status, and the statuses it is allowed from."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    call: str = Field(min_length=1)
    allowed_from: tuple[str, ...] = Field(alias="from", min_length=1)


class StatusStep(BaseModel):
    """One step of a status change: ``call`` moves the record to ``status``."""

    model_config = ConfigDict(frozen=True)

    status: str
    call: str


class StatusLifecycle(BaseModel):
    """A declared life cycle (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1)
    initial: str = Field(min_length=1)
    actions: dict[str, StatusAction] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        known = set(self.statuses())
        if self.initial in self.actions:
            raise ValueError(f"the initial status {self.initial} cannot also be an action target")
        for status, action in self.actions.items():
            unknown = [s for s in action.allowed_from if s not in known]
            if unknown:
                raise ValueError(
                    f"actions.{status}.from names unknown status(es) {', '.join(unknown)} "
                    f"(known: {', '.join(self.statuses())})"
                )
        reachable = self._reachable(self.initial)
        stranded = [s for s in self.actions if s not in reachable]
        if stranded:
            raise ValueError(
                f"status(es) {', '.join(stranded)} cannot be reached from {self.initial}"
            )
        return self

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> StatusLifecycle | None:
        """The life cycle under ``options.status_actions``, or None when there is none.

        Raises:
            pydantic.ValidationError: the declaration is invalid.
        """
        raw = options.get(OPTION)
        return None if raw is None else cls.model_validate(raw)

    def statuses(self) -> list[str]:
        """Every status of the life cycle: the initial one, then the action targets."""
        return [self.initial, *self.actions]

    def calls(self) -> list[str]:
        """The actions the life cycle uses."""
        return [a.call for a in self.actions.values()]

    def describe(self) -> str:
        """The allowed transitions, e.g. ``CRTD -> REL, REL -> TECO, TECO -> CLSD``."""
        return ", ".join(
            f"{'/'.join(a.allowed_from)} -> {status}" for status, a in self.actions.items()
        )

    def current(self, text: Any) -> str:
        """The life-cycle status in an ERP status text (SAP lists several: ``REL  PRC``).

        The furthest along wins; an empty text or one naming no known status is ``initial``.
        """
        tokens = [t for t in str(text or "").split() if t == self.initial or t in self.actions]
        if not tokens:
            return self.initial
        depth = self._depths()
        return max(reversed(tokens), key=lambda t: depth.get(t, 0))

    def steps(self, current: str, target: str) -> list[StatusStep]:
        """The shortest chain of actions from ``current`` to ``target`` (empty if there).

        Raises:
            StatusChangeError: ``target`` is not a status of the life cycle, or cannot be
                reached from ``current`` (the life cycle only goes forward).
        """
        if target not in self.statuses():
            raise StatusChangeError(
                f"no action sets {self.field} to {target} (known: {', '.join(self.statuses())})"
            )
        if current == target:
            return []
        previous: dict[str, str] = {}
        queue = deque([current])
        while queue:
            status = queue.popleft()
            for nxt in self._successors(status):
                if nxt not in previous and nxt != current:
                    previous[nxt] = status
                    queue.append(nxt)
        if target not in previous:
            raise StatusChangeError(
                f"{self.field} cannot change from {current} to {target}: the life cycle "
                f"allows only {self.describe()}"
            )
        chain = [target]
        while chain[-1] != current:
            chain.append(previous[chain[-1]])
        return [StatusStep(status=s, call=self.actions[s].call) for s in reversed(chain[:-1])]

    def _successors(self, status: str) -> list[str]:
        return [s for s, a in self.actions.items() if status in a.allowed_from]

    def _reachable(self, start: str) -> set[str]:
        return set(self._depths(start))

    def _depths(self, start: str | None = None) -> dict[str, int]:
        origin = start or self.initial
        depth = {origin: 0}
        queue = deque([origin])
        while queue:
            status = queue.popleft()
            for nxt in self._successors(status):
                if nxt not in depth:
                    depth[nxt] = depth[status] + 1
                    queue.append(nxt)
        return depth
