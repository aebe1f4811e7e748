"""The search attributes operators filter chains by in the Temporal Web UI."""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

ROOT_STACK = SearchAttributeKey.for_keyword("StackchainRootStack")
STACKS = SearchAttributeKey.for_keyword_list("StackchainStacks")
STATUS = SearchAttributeKey.for_keyword("StackchainStatus")
ALL = (ROOT_STACK, STACKS, STATUS)

_INDEXED_TYPE = {
    "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KEYWORD_LIST": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


def dev_server_flags() -> list[str]:
    """``--search-attribute`` flags that make ``temporal server start-dev`` register them."""
    kinds = {"KEYWORD": "Keyword", "KEYWORD_LIST": "KeywordList"}
    return [
        flag
        for key in ALL
        for flag in ("--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}")
    ]


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register the attributes missing on the client's namespace; returns the names added."""
    service = client.operator_service
    existing = await service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    present = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = {
        key.name: _INDEXED_TYPE[key.indexed_value_type.name]
        for key in ALL
        if key.name not in present
    }
    if missing:
        await service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
