"""Three-way merge of a stale edit: the editor's changes on top of the version saved meanwhile."""

from positions.conflicts import comparable, merge
from positions.services import PositionInput

BASE = PositionInput(demand=10.0, red_line=40.0, rationale="old", source_ids=(1,))


def test_fields_only_they_changed_keep_their_value_and_mine_keep_mine():
    theirs = PositionInput(demand=10.0, red_line=40.0, rationale="their reasoning", source_ids=(1,))
    yours = PositionInput(demand=10.0, red_line=55.0, rationale="old", source_ids=(1,))
    result = merge(kind="numeric", base=BASE, theirs=theirs, yours=yours)
    assert result.merged.red_line == 55.0
    assert result.merged.rationale == "their reasoning"
    assert result.fields["red_line"].kept == "yours"
    assert result.fields["rationale"].kept == "theirs"
    assert result.fields["rationale"].differs
    assert not result.fields["rationale"].you_changed
    assert result.both_changed == []


def test_when_both_changed_a_field_mine_is_kept_and_the_clash_named():
    theirs = PositionInput(demand=10.0, red_line=45.0, rationale="old", source_ids=(1,))
    yours = PositionInput(demand=10.0, red_line=52.0, rationale="old", source_ids=(1,))
    result = merge(kind="numeric", base=BASE, theirs=theirs, yours=yours)
    assert result.merged.red_line == 52.0
    assert result.both_changed == ["red_line"]


def test_without_the_base_version_everything_of_mine_is_kept():
    theirs = PositionInput(demand=20.0, red_line=45.0)
    yours = PositionInput(demand=10.0, red_line=52.0, rationale="mine")
    result = merge(kind="numeric", base=None, theirs=theirs, yours=yours)
    assert comparable("numeric", result.merged) == comparable("numeric", yours)


def test_a_typed_new_source_keeps_the_sources_they_picked():
    theirs = PositionInput(demand=10.0, red_line=40.0, rationale="old", source_ids=(1, 2))
    yours = PositionInput(demand=10.0, red_line=40.0, rationale="old", source_ids=(1,))
    result = merge(kind="numeric", base=BASE, theirs=theirs, yours=yours, new_source=True)
    assert result.merged.source_ids == (1, 2)
    assert result.fields["sources"].you_changed
    assert result.fields["sources"].differs


def test_categorical_values_compare_as_sets_and_carry_no_red_line():
    base = PositionInput(demand="a", acceptable=frozenset({"a", "b"}))
    theirs = PositionInput(demand="a", acceptable=frozenset({"b", "a"}))
    yours = PositionInput(demand="b", acceptable=frozenset({"a", "b"}), red_line="x")
    result = merge(kind="categorical", base=base, theirs=theirs, yours=yours)
    assert not result.fields["acceptable"].they_changed
    assert result.merged.demand == "b"
    assert result.merged.red_line is None
