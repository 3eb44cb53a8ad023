"""The accessibility helper itself: axe-core loads under the pages' strict CSP and
reports a violation when there is one (so a clean result means something)."""
from conftest import axe_violations


def test_axe_runs_under_the_csp_and_finds_a_planted_violation(new_page, server):
    page = new_page()
    page.goto(server.url("/login"))
    assert axe_violations(page) == []
    page.evaluate("() => { const i = document.createElement('input'); document.querySelector('main').append(i); }")
    found = axe_violations(page, impacts=("critical", "serious", "moderate", "minor"))
    assert any(v["id"] == "label" for v in found), found
