"""The web server's memory of recent webhooks and chains: a set of only its newest members."""

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class BoundedSet(Generic[T]):
    """Membership of the last ``size`` items added; the oldest are forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[T, None] = OrderedDict()

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: T) -> None:
        """Remember ``item`` as the newest, forgetting the oldest past the size."""
        self._items[item] = None
        self._items.move_to_end(item)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
