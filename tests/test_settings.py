import pytest

from triage.settings import Settings


@pytest.mark.parametrize("value", ["off", "null", "None", ""])
def test_rules_can_be_turned_off_from_the_environment(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_TIER_UNDER_COST", value)
    monkeypatch.setenv("TRIAGE_PRIORITY_GUARD", value)
    settings = Settings()
    assert settings.tier_under_cost is None and settings.priority_guard is None


def test_rule_settings_parse_numbers_and_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_TIER_UNDER_COST", "3.5")
    monkeypatch.setenv("TRIAGE_TIER_ORDER", '["Service Desk", "Network Ops"]')
    settings = Settings()
    assert settings.tier_under_cost == 3.5 and settings.tier_over_cost == 1.0
    assert settings.tier_order == ["Service Desk", "Network Ops"]
    monkeypatch.setenv("TRIAGE_TIER_UNDER_COST", "-1")
    with pytest.raises(ValueError, match="tier_under_cost"):
        Settings()
