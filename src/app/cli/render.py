"""How the operator commands show chains: rich tables for people."""

from typing import Any

from rich.table import Table
from rich.text import Text

STATE_STYLES = {
    "pending": "dim",
    "triggered": "cyan",
    "running": "blue",
    "awaiting_confirmation": "bold yellow",
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "dim",
    "canceled": "magenta",
}


def _styled(state: str | None) -> Text:
    return Text(state or "-", style=STATE_STYLES.get(state or "", ""))


def _moment(iso: str | None) -> str:
    """``2026-11-21T10:00:00.123456+00:00`` as ``2026-11-21 10:00:00``."""
    return iso[:19].replace("T", " ") if iso else "-"


def chains_table(chains: list[dict[str, Any]]) -> Table:
    """``stackchain chains``: one row a chain; ids are never cut, so they can be copied."""
    table = Table(box=None, pad_edge=False)
    widest = max((len(chain["chain_id"]) for chain in chains), default=5)
    table.add_column("CHAIN", no_wrap=True, min_width=widest)
    for header in ("ROOT", "STATUS", "STARTED (UTC)"):
        table.add_column(header, no_wrap=True)
    for chain in chains:
        table.add_row(
            chain["chain_id"],
            chain.get("root_stack") or "-",
            _styled(chain.get("status")),
            _moment(chain.get("started_at")),
        )
    return table


def chain_table(chain: dict[str, Any]) -> Table:
    """``stackchain status``: the chain's stacks, with state, attempts and run."""
    root_run = chain.get("root_run_id") or "manual"
    title = Text.assemble(
        (chain["chain_id"], "bold"),
        "  ",
        _styled(chain.get("status")),
        f"  root {chain.get('root_stack')} ({root_run})",
    )
    table = Table("STACK", "STATE", "ATTEMPTS", "RUN", title=title, title_justify="left", box=None)
    for stack_id, stack in chain.get("stacks", {}).items():
        run = stack.get("run_url") or stack.get("run_id") or "-"
        table.add_row(stack_id, _styled(stack.get("state")), str(stack.get("attempts", 0)), run)
    if chain.get("error"):
        table.caption = chain["error"]
    return table
