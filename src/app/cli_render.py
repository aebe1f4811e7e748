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


def chains_table(chains: list[dict[str, Any]]) -> Table:
    """``stackchain chains``: one row a chain."""
    table = Table("CHAIN", "ROOT", "STATUS", "STARTED", box=None, pad_edge=False)
    for chain in chains:
        table.add_row(
            chain["chain_id"],
            chain.get("root_stack") or "-",
            _styled(chain.get("status")),
            chain.get("started_at") or "-",
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
