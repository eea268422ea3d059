"""Issue 13 item 12: the README says how to change the port and how to reach the `pricewar` command."""

from pathlib import Path

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_readme_names_the_port_setting_next_to_make_run() -> None:
    first_section = README.split("## Self-hosting")[0]
    assert "PRICEWAR_PORT=8080 make run" in first_section


def test_readme_calls_the_command_where_make_run_puts_it() -> None:
    assert ".venv/bin/pricewar create-admin" in README
