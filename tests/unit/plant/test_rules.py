"""Pure rules of the plant model: work-order transitions, change marks and origins, validation."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError as PydanticValidationError

from plantsync.core.models.change import OriginKind
from plantsync.core.models.maintenance import LaborCreate, WorkOrderStatus
from plantsync.core.models.plant import MachineCreate, SiteCreate
from plantsync.core.principal import Principal, PrincipalKind, Role
from plantsync.core.services.changes import ChangeMark, ChangeOrigin
from plantsync.core.services.work_orders import TRANSITIONS, check_transition
from plantsync.errors import ConflictError, ValidationError

S = WorkOrderStatus


def test_every_status_has_transitions_and_finals_are_final() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.closed] == TRANSITIONS[S.cancelled] == frozenset()
    check_transition(S.draft, S.released)
    check_transition(S.completed, S.in_progress)
    with pytest.raises(ConflictError, match="allowed: cancelled, draft, in_progress"):
        check_transition(S.released, S.closed)
    with pytest.raises(ConflictError, match="final state"):
        check_transition(S.closed, S.in_progress)


def test_change_marks_order_and_round_trip() -> None:
    assert ChangeMark(1, 99) < ChangeMark(2, 1)
    assert ChangeMark.decode(ChangeMark(7, 3).encode()) == ChangeMark(7, 3)
    for bad in ("", "1", "a.b", "-1.2", "1.2.3"):
        with pytest.raises(ValidationError):
            ChangeMark.decode(bad)


def test_origins() -> None:
    tenant = uuid.uuid4()
    key = Principal(PrincipalKind.api_key, uuid.uuid4(), tenant, Role.operator, "panel-3")
    assert ChangeOrigin.from_principal(key).kind == OriginKind.device
    user = Principal(PrincipalKind.user, uuid.uuid4(), tenant, Role.admin, "a@b.io")
    assert ChangeOrigin.from_principal(user) == ChangeOrigin(
        OriginKind.user, user.subject_id, None, "a@b.io"
    )
    conn = uuid.uuid4()
    assert ChangeOrigin.inbound_sync(conn).connection_id == conn
    assert ChangeOrigin.from_principal(Principal.system(tenant)).kind == OriginKind.system


def test_model_validation() -> None:
    with pytest.raises(PydanticValidationError):
        SiteCreate(code="S", name="S", timezone="Mars/Olympus")
    with pytest.raises(PydanticValidationError):
        MachineCreate(code="has space", name="x")
    with pytest.raises(PydanticValidationError):
        LaborCreate(worker="a", hours=25, rate_minor=1)
    assert SiteCreate(code="S", name="S", timezone="Europe/Berlin").timezone == "Europe/Berlin"
