"""The permission table and the site scope: denied by default."""

from __future__ import annotations

from earlyphase.access import ACTIONS, EVERY_SITE, PERMISSIONS, ROLES, Grant, may, role_may, sites_for


def test_every_permitted_role_is_a_known_role():
    for action, roles in PERMISSIONS.items():
        assert roles <= set(ROLES), action


def test_unknown_role_or_action_is_denied():
    assert not role_may("superuser", "view_subjects")
    assert not role_may("coordinator", "drop_database")
    assert not may([], "view_subjects")


def test_admin_manages_users_but_never_sees_patients():
    assert role_may("admin", "manage_users")
    patient_actions = [a for a in ACTIONS if a != "manage_users"]
    assert not any(role_may("admin", a) for a in patient_actions)


def test_sponsor_sees_aggregates_only():
    assert [a for a in ACTIONS if role_may("sponsor", a)] == ["view_aggregates"]


def test_only_investigators_sign():
    assert [r for r in ROLES if role_may(r, "sign")] == ["investigator"]


def test_sites_for_follows_the_grants():
    grants = [Grant("coordinator", "S01"), Grant("monitor", "S02")]
    assert sites_for(grants, "enter_data") == frozenset({"S01"})
    assert sites_for(grants, "view_subjects") == frozenset({"S01", "S02"})
    assert sites_for(grants, "sign") == frozenset()
    assert may(grants, "enter_data", "S01") and not may(grants, "enter_data", "S02")
    assert sites_for([Grant("monitor", "ALL")], "verify_source") is EVERY_SITE
    assert may([Grant("monitor", "ALL")], "verify_source", "S99")
