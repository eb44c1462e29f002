"""``baylink ids check``: output and exit codes (0 valid, 1 invalid, 2 usage error)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from baylink.cli.ids import app

runner = CliRunner()


def test_cli_valid_hkid_exits_0_and_prints_kind_normalised_form_and_valid() -> None:
    result = runner.invoke(app, ["check", "a 123456 (3)"])
    assert result.exit_code == 0, result.output
    assert "hkid" in result.output
    assert "A123456(3)" in result.output
    assert "valid" in result.output


def test_cli_wrong_check_digit_exits_1_and_prints_reason_and_message() -> None:
    result = runner.invoke(app, ["check", "A123456(4)"])
    assert result.exit_code == 1
    assert "check_digit_mismatch" in result.output
    assert "check character is 4, expected 3" in result.output


def test_cli_unrecognised_value_exits_1() -> None:
    result = runner.invoke(app, ["check", "hello"])
    assert result.exit_code == 1
    assert "unrecognised_format" in result.output


def test_cli_unknown_kind_is_a_usage_error_with_exit_2() -> None:
    result = runner.invoke(app, ["check", "--kind", "passport", "A123456(3)"])
    assert result.exit_code == 2


def test_cli_missing_value_is_a_usage_error_with_exit_2() -> None:
    assert runner.invoke(app, ["check"]).exit_code == 2


def test_cli_kind_option_overrides_detection() -> None:
    result = runner.invoke(app, ["check", "--kind", "macau_id", "12345678"])
    assert result.exit_code == 0
    assert "macau_id" in result.output
    assert "1234567(8)" in result.output


def test_cli_kind_option_is_case_insensitive() -> None:
    assert runner.invoke(app, ["check", "-k", "USCC", "914403001922038216"]).exit_code == 0


def test_cli_json_output_for_valid_value() -> None:
    result = runner.invoke(app, ["check", "--json", "H1234567801"])
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["kind"] == "travel_permit"
    assert payload["normalised"] == "H12345678"
    assert payload["valid"] is True
    assert payload["reason"] is None
    assert payload["details"]["issue_count"] == "1"


def test_cli_json_output_names_the_failed_uscc_check() -> None:
    result = runner.invoke(app, ["check", "--json", "914403001922038217"])
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["reason"] == "uscc_check_mismatch"
    assert payload["message"] == "check character at position 18 is 7, expected 6"


def test_cli_prints_brackets_literally_not_as_rich_markup() -> None:
    result = runner.invoke(app, ["check", "--kind", "hkid", "A123456[3]"])
    assert result.exit_code == 1
    assert "invalid_character" in result.output
    assert "'['" in result.output
