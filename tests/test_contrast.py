"""The stylesheet's colours meet WCAG 2.2 AA in both themes (SPEC §2; issue 19 item 6):
text 4.5:1 (1.4.3), field borders and focus rings 3:1 against what surrounds them (1.4.11).
Read from fync.css itself, so a changed colour is checked; the browser tests check the
colours pages end up with (tests/browser/test_look.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).parent.parent / "gancio_like" / "static" / "fync.css").read_text()

# (foreground, background, minimum): every pair the stylesheet puts together.
TEXT = [(fg, bg, 4.5) for fg, bg in [
    ("fg", "bg"), ("fg", "card"), ("fg", "field"), ("fg", "secondary"), ("fg", "notice"),
    ("muted", "bg"), ("muted", "card"), ("muted", "notice"), ("muted", "field"),
    ("accent", "bg"), ("accent", "card"), ("accent", "notice"), ("accent", "secondary"),
    ("on-accent", "accent"), ("on-danger", "danger"), ("error-fg", "error-bg"),
]]
NON_TEXT = [(fg, bg, 3.0) for fg, bg in [
    ("field-line", "field"), ("field-line", "card"), ("field-line", "bg"),
    ("focus", "bg"), ("focus", "card"), ("accent", "card"), ("danger", "card"), ("danger", "bg"),
]]


def palette(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", block))


def themes() -> dict[str, dict[str, str]]:
    """The light palette (the first :root) and the dark one (:root inside the dark media query)."""
    light = re.search(r":root\s*{(.*?)}", CSS, re.S).group(1)
    dark = re.search(r"prefers-color-scheme:\s*dark\)\s*{\s*:root\s*{(.*?)}", CSS, re.S).group(1)
    return {"light": palette(light), "dark": palette(dark)}


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.2, "relative luminance")."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the well-known lightest AA grey on white


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_pair_meets_aa(theme):
    colours = themes()[theme]
    assert set(colours) == set(themes()["light"]), "both themes set the same colours"
    low = [(fg, bg, round(contrast(colours[fg], colours[bg]), 2), minimum)
           for fg, bg, minimum in TEXT + NON_TEXT if contrast(colours[fg], colours[bg]) < minimum]
    assert not low, low


def test_dark_theme_is_dark():
    dark = themes()["dark"]
    assert luminance(dark["bg"]) < 0.02 and luminance(dark["card"]) < 0.03 and luminance(dark["fg"]) > 0.7
    assert "color-scheme: light dark" in CSS  # form controls and scrollbars follow
