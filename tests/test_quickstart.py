"""README's quick start and CI agree: CI runs the README's test line verbatim."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quickstart_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```", 2)[1]
    return [line for line in block.splitlines()[1:] if line.strip()]


def test_readme_quick_start_is_two_lines_and_ci_runs_the_test_line():
    lines = quickstart_lines()
    assert len(lines) == 2
    assert "flashsim run scenarios/xiaomi-thursday-flash.yaml" in lines[0]
    assert "pytest" in lines[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert lines[1] in ci


def test_results_directory_holds_only_its_readme_in_git():
    ignore = (ROOT / ".gitignore").read_text().splitlines()
    assert "results/*" in ignore and "!results/README.md" in ignore
