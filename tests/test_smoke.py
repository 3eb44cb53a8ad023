import pytest

@pytest.mark.gen_test
async def test_signup_then_home(browser):
    r = await browser.post("/signup", {"username": "alice", "password": "password1", "display_name": "Alice"})
    assert r.code == 303
    r = await browser.get("/")
    assert "Welcome, Alice" in r.text
