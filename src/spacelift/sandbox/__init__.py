"""A local stand-in for Spacelift: its GraphQL API, its runs and its webhooks.

Nobody can reach Spacelift from a laptop or CI, so the sandbox behaves like it: ``/graphql``
answers every operation of ``SpaceliftClient`` under Spacelift's names and types (ariadne,
``schema.graphql``), ``apiKeyUser`` issues tokens that expire, runs move through Spacelift's
states on asyncio tasks, and every transition is sent as a signed webhook. Chaos knobs make it
fail the way a real service does, reproducibly (seeded).

```python
config = SandboxConfig(stacks=(SandboxStack("network"), SandboxStack("app", autodeploy=False)))
async with Sandbox(config) as sandbox:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with SpaceliftClient("http://sandbox", api_key_id=DEFAULT_KEY_ID,
                               api_key_secret=DEFAULT_KEY_SECRET, transport=transport) as client:
        run = await client.trigger_run("network")
        await sandbox.wait_for_run_state("network", run.id, "FINISHED")
```

Serve it with ``serve_sandbox(config, host, port)``, or ``async with running_sandbox(config) as
served`` on a free loopback port (``served.url``). Next to ``/graphql`` and ``GET /healthz``,
a JSON control surface without authentication (bind it to loopback)::

    GET   /sandbox/stacks                          stacks, state, tracked commit, next outcomes
    POST  /sandbox/stacks/{id}/push                a commit lands: a TRACKED run starts (201);
                                                   body {"commit": {"hash", "message",
                                                   "author_login", "author_name"}}, all optional
    POST  /sandbox/stacks/{id}/outcomes            {"outcomes": ["FAILED:PLANNING", "FINISHED"]}:
                                                   how the next TRACKED runs end
    POST  /sandbox/stacks/{id}/runs                a person triggers a TRACKED run (201); body
                                                   {"login"} optional (default "sandbox-user")
    POST  /sandbox/stacks/{id}/finished-runs       a TRACKED run that FINISHED in the past, put
                                                   in the history (201); body
                                                   {"finished_seconds_ago", "took": 60, "login",
                                                   "send_webhook": false}; with send_webhook its
                                                   FINISHED event goes out now, with its old time
    GET   /sandbox/runs[?stack=ID]                 every run, oldest first, with triggered_by and
                                                   source: "api" (runTrigger), "push", "retry",
                                                   "person", "history" (finished-runs)
    GET   /sandbox/stacks/{id}/runs/{run}          one run, with its history
    POST  /sandbox/stacks/{id}/runs/{run}/{action} confirm | discard | stop | cancel, as a person
                                                   in Spacelift's UI would, with the API's state
                                                   rules (cancel: QUEUED, READY; stop: started,
                                                   not ended, not UNCONFIRMED; confirm, discard:
                                                   UNCONFIRMED); body {"note", "login"} optional
    GET   /sandbox/chaos                           the chaos knobs (see ``Chaos``), among them
                                                   webhook_drop_states ["FINISHED"] and
                                                   webhook_delay_states {"UNCONFIRMED": 2.5}
    PATCH /sandbox/chaos                           change some knobs; PUT resets the others
    POST  /sandbox/chaos/faults                    {"kind": "lose_answer", "operation":
                                                   "RunTrigger", "count": 1}: a targeted fault
    GET   /sandbox/webhooks                        the target and every delivery with its body
    GET   /sandbox/webhook, PUT /sandbox/webhook   the target: {"url", "secret", "shape":
                                                   "default" | "policy", "retries"}; PUT {} = none
    POST  /sandbox/tokens/expire                   every issued token expires now (204)

Errors are ``{"detail": ...}``: 404 unknown stack or run, 409 not allowed in the run's state,
422 a bad body.
"""

from spacelift.sandbox.chaos import Chaos, Fault
from spacelift.sandbox.config import (
    DEFAULT_KEY_ID,
    DEFAULT_KEY_SECRET,
    Delta,
    Durations,
    Outcome,
    SandboxConfig,
    SandboxContext,
    SandboxSpace,
    SandboxStack,
    WebhookTarget,
)
from spacelift.sandbox.runs import Commit, ConflictError, NotFoundError, SandboxError, SimRun
from spacelift.sandbox.runtime import Clock
from spacelift.sandbox.sandbox import Sandbox
from spacelift.sandbox.server import RunningSandbox, create_app, running_sandbox, serve_sandbox
from spacelift.sandbox.webhooks import Delivery

__all__ = [
    "DEFAULT_KEY_ID",
    "DEFAULT_KEY_SECRET",
    "Chaos",
    "Clock",
    "Commit",
    "ConflictError",
    "Delivery",
    "Delta",
    "Durations",
    "Fault",
    "NotFoundError",
    "Outcome",
    "RunningSandbox",
    "Sandbox",
    "SandboxConfig",
    "SandboxContext",
    "SandboxError",
    "SandboxSpace",
    "SandboxStack",
    "SimRun",
    "WebhookTarget",
    "create_app",
    "running_sandbox",
    "serve_sandbox",
]
