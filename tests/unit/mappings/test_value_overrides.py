"""Value maps: SAP's reason codes fit its coding field; a connection adds or changes one entry
of a value map (``entity.field.VALUE``), checked when the connection is saved."""

from __future__ import annotations

import pytest

from plantsync.entities import Direction, EntityType
from plantsync.errors import ValidationError
from plantsync.mappings.convert import Context
from plantsync.mappings.engine import RecordMappingError, apply_overrides, to_erp
from plantsync.mappings.overrides import validate_field_mappings
from plantsync.mappings.schema import load_default_mapping


def test_sap_reason_codes_fit_the_coding_field() -> None:
    m = load_default_mapping("sap").get(EntityType.downtime, Direction.outbound)
    assert m is not None
    codes = m.values["reason_code"]
    assert {"BREAK", "BREAKDOWN", "JAM", "MATERIAL-SHORTAGE", "QUALITY-CHECK"} <= set(codes)
    assert all(len(code) <= 4 for code in codes.values())  # MaintNotificationCode: 4 chars
    fields = to_erp(m, {"reason_code": "JAM", "description": "Jam"}, Context())
    assert fields["MaintNotificationCode"] == codes["JAM"]
    assert fields["MaintNotificationCodeGroup"] == "PLNTSTOP"


def test_value_override_adds_a_plant_reason() -> None:
    mapping = apply_overrides(load_default_mapping("sap"), {"downtime.reason_code.WARMUP": "0070"})
    m = mapping.get(EntityType.downtime, Direction.outbound)
    assert m is not None
    assert to_erp(m, {"reason_code": "WARMUP"}, Context())["MaintNotificationCode"] == "0070"
    assert m.values["reason_code"]["JAM"] == "0030"  # the others are kept


def test_unknown_reason_says_how_to_map_it() -> None:
    m = load_default_mapping("sap").get(EntityType.downtime, Direction.outbound)
    assert m is not None
    with pytest.raises(RecordMappingError, match=r"'downtime\.reason_code\.WARMUP'"):
        to_erp(m, {"reason_code": "WARMUP"}, Context(), entity=EntityType.downtime)


def test_value_override_of_a_field_without_value_map_is_refused_on_save() -> None:
    assert validate_field_mappings({"downtime.reason_code.WARMUP": "0070"}, provider="sap")
    with pytest.raises(ValidationError) as info:
        validate_field_mappings({"downtime.reason_code.WARMUP": "W"}, provider="oracle")
    assert "field_mappings.downtime.reason_code.WARMUP" in info.value.errors
    assert "no value map" in info.value.message
    with pytest.raises(ValidationError):
        validate_field_mappings({"downtime.reason_code.": "W"})
