"""The bounded set behind duplicate webhooks and finished-chain counts."""

from app.web.bounded import BoundedSet


def test_the_oldest_member_is_forgotten_first() -> None:
    """Past its size the set forgets the least recently added item; re-adding refreshes one."""
    seen = BoundedSet[str](2)
    seen.add("a")
    seen.add("b")
    seen.add("a")  # a is the newest again
    seen.add("c")
    assert "a" in seen
    assert "c" in seen
    assert "b" not in seen
    assert len(seen) == 2
