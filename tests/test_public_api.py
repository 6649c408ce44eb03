"""The public API is what README documents: `simulator.__all__` and README's list name the same things."""

from __future__ import annotations

import re
from pathlib import Path

import simulator

ROOT = Path(__file__).resolve().parent.parent


def documented_names() -> set[str]:
    text = (ROOT / "README.md").read_text()
    paragraph = text[text.index("The public API is what `simulator.__all__` lists") :].split("\n\n", 1)[0]
    return set(re.findall(r"`(\w+)`", paragraph))


def test_exported_names_are_the_ones_readme_documents() -> None:
    assert set(simulator.__all__) == documented_names()


def test_every_exported_name_exists() -> None:
    missing = [name for name in simulator.__all__ if not hasattr(simulator, name)]
    assert missing == []


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    assert simulator.__version__ == version("flashsim")
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", simulator.__version__)
