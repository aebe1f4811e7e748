"""An async client for Spacelift's GraphQL API.

```python
async with SpaceliftClient(endpoint, api_key_id=..., api_key_secret=...) as client:
    run = await client.trigger_run("network")
```
"""

from spacelift._client import SpaceliftClient
from spacelift.errors import (
    AuthenticationError,
    ContextNotFoundError,
    GraphQLError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RunNotFoundError,
    SpaceliftError,
    SpaceNotFoundError,
    StackNotFoundError,
    TransientError,
    UnexpectedResponseError,
)
from spacelift.models import (
    Context,
    ContextAttachment,
    Run,
    RunDelta,
    RunState,
    RunStateTransition,
    RunType,
    Space,
    Stack,
    StackOutput,
    run_url,
)

__all__ = [
    "AuthenticationError",
    "Context",
    "ContextAttachment",
    "ContextNotFoundError",
    "GraphQLError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "Run",
    "RunDelta",
    "RunNotFoundError",
    "RunState",
    "RunStateTransition",
    "RunType",
    "Space",
    "SpaceNotFoundError",
    "SpaceliftClient",
    "SpaceliftError",
    "Stack",
    "StackNotFoundError",
    "StackOutput",
    "TransientError",
    "UnexpectedResponseError",
    "run_url",
]
