"""How chains present themselves to Temporal's visibility."""

import json

from temporal.client import SEARCH_ATTRIBUTE_BYTES, listed_stacks
from temporal.inputs import ChainInput, ChainStack


def _chain(count: int) -> ChainInput:
    return ChainInput("root", [ChainStack(f"stack-number-{i:05d}", ["root"]) for i in range(count)])


def test_a_small_chain_lists_every_stack_root_first() -> None:
    """StackchainStacks holds the root and every stack of a chain that fits."""
    assert listed_stacks(_chain(3)) == [
        "root",
        "stack-number-00000",
        "stack-number-00001",
        "stack-number-00002",
    ]


def test_a_large_chain_lists_what_fits_temporals_limit() -> None:
    """A chain of 2,000 stacks lists a prefix whose encoded size stays within 2 KB."""
    listed = listed_stacks(_chain(2_000))
    assert listed[0] == "root"
    assert 50 < len(listed) < 2_000
    assert len(json.dumps(listed, separators=(",", ":"))) <= SEARCH_ATTRIBUTE_BYTES
