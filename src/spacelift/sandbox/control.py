"""The sandbox's REST control surface (JSON, no authentication: serve it on loopback).

Routes are listed in the package docstring. Errors are ``{"detail": ...}``: 404 for an unknown
stack or run, 409 for an action the run's state does not allow, 422 for a bad body.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spacelift.sandbox.chaos import Chaos, Fault
from spacelift.sandbox.config import WebhookTarget
from spacelift.sandbox.runs import Commit, ConflictError, NotFoundError, SimRun
from spacelift.sandbox.sandbox import PERSON, Sandbox
from spacelift.sandbox.world import StackEntry

Handler = Callable[[Sandbox, Request], Awaitable[Any]]
RUN_ACTIONS = ("confirm", "discard", "stop", "cancel")


def run_json(run: SimRun) -> dict[str, Any]:
    """A run as the control surface shows it; ``source`` says api, push or retry."""
    return {
        "id": run.id,
        "stack": run.stack_id,
        "type": run.type.value,
        "state": run.state.value,
        "state_version": run.state_version,
        "triggered_by": run.triggered_by,
        "source": run.source,
        "commit": run.commit.hash,
        "created_at": run.created_at,
        "outcome": str(run.outcome),
        "history": [
            {
                "state": entry.state.value,
                "state_version": entry.state_version,
                "timestamp": entry.timestamp,
                "note": entry.note,
                "username": entry.username,
            }
            for entry in run.history
        ],
    }


def _stack_json(entry: StackEntry) -> dict[str, Any]:
    spec = entry.spec
    return {
        "id": spec.id,
        "name": spec.display_name,
        "labels": list(spec.labels),
        "space": spec.space,
        "autodeploy": spec.autodeploy,
        "state": entry.state,
        "tracked_commit": entry.tracked_commit.hash,
        "next_outcomes": [str(outcome) for outcome in entry.next_outcomes],
        "runs": len(entry.runs),
    }


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        msg = "the body must be a JSON object"
        raise TypeError(msg)
    return data


async def _push(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401 - JSON
    body = await _body(request)
    commit = body.get("commit")
    landed = None if commit is None else Commit(**commit)
    run = sandbox.push(request.path_params["stack_id"], commit=landed)
    return JSONResponse(run_json(run), status_code=201)


def _login(body: dict[str, Any]) -> str:
    login = body.get("login", PERSON)
    if not isinstance(login, str) or not login.strip():
        msg = "login must be a non-empty string"
        raise TypeError(msg)
    return login


def _seconds(body: dict[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds"
        raise TypeError(msg)
    return float(value)


async def _person_run(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401 - JSON
    run = sandbox.trigger_as(request.path_params["stack_id"], _login(await _body(request)))
    return JSONResponse(run_json(run), status_code=201)


async def _finished_run(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401 - JSON
    body = await _body(request)
    send = body.get("send_webhook", False)
    if not isinstance(send, bool):
        msg = "send_webhook must be true or false"
        raise TypeError(msg)
    run = sandbox.record_finished_run(
        request.path_params["stack_id"],
        finished_seconds_ago=_seconds(body, "finished_seconds_ago"),
        took=_seconds(body, "took", 60.0),
        login=_login(body),
        send_webhook=send,
    )
    return JSONResponse(run_json(run), status_code=201)


async def _outcomes(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401
    stack_id = request.path_params["stack_id"]
    sandbox.set_outcomes(stack_id, (await _body(request)).get("outcomes", []))
    return _stack_json(sandbox.world.entry(stack_id))


async def _stacks(sandbox: Sandbox, _: Request) -> Any:  # noqa: ANN401
    return {"stacks": [_stack_json(entry) for entry in sandbox.world.stacks.values()]}


async def _runs(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401
    return {"runs": [run_json(run) for run in sandbox.runs(request.query_params.get("stack"))]}


async def _run(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401
    return run_json(sandbox.run(request.path_params["stack_id"], request.path_params["run_id"]))


async def _act(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401
    params = request.path_params
    if params["action"] not in RUN_ACTIONS:
        raise NotFoundError(f"no action {params['action']!r}: one of {', '.join(RUN_ACTIONS)}")
    body = await _body(request)
    action = getattr(sandbox.world, params["action"])
    return run_json(action(params["stack_id"], params["run_id"], body.get("note"), _login(body)))


async def _chaos(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401
    if request.method == "PATCH":
        sandbox.chaos.update(await _body(request))
    elif request.method == "PUT":  # every knob not given goes back to its default
        sandbox.chaos.update({**Chaos().to_dict(), **await _body(request)})
    return sandbox.chaos.knobs.to_dict()


async def _add_fault(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401
    sandbox.chaos.add_fault(Fault(**await _body(request)))
    return sandbox.chaos.knobs.to_dict()


def _target_json(target: WebhookTarget | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {"url": target.url, "shape": target.shape, "retries": target.retries}


async def _webhook(sandbox: Sandbox, request: Request) -> Any:  # noqa: ANN401
    if request.method == "PUT":
        body = await _body(request)
        sandbox.set_webhook(WebhookTarget(**body) if body else None)
    return {"target": _target_json(sandbox.webhooks.target)}


async def _webhooks(sandbox: Sandbox, _: Request) -> Any:  # noqa: ANN401
    deliveries = [delivery.to_dict() for delivery in sandbox.deliveries]
    return {"target": _target_json(sandbox.webhooks.target), "deliveries": deliveries}


async def _expire_tokens(sandbox: Sandbox, _: Request) -> Any:  # noqa: ANN401
    sandbox.tokens.expire_all()
    return Response(status_code=204)


def _route(path: str, handler: Handler, sandbox: Sandbox, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            answer = await handler(sandbox, request)
        except NotFoundError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        except ConflictError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=409)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"detail": f"bad request: {exc}"}, status_code=422)
        return answer if isinstance(answer, Response) else JSONResponse(answer)

    return Route(path, endpoint, methods=methods)


def control_routes(sandbox: Sandbox) -> list[Route]:
    """The ``/sandbox/...`` routes."""
    table: list[tuple[str, Handler, list[str]]] = [
        ("/sandbox/stacks", _stacks, ["GET"]),
        ("/sandbox/stacks/{stack_id}/push", _push, ["POST"]),
        ("/sandbox/stacks/{stack_id}/outcomes", _outcomes, ["POST", "PUT"]),
        ("/sandbox/stacks/{stack_id}/runs", _person_run, ["POST"]),
        ("/sandbox/stacks/{stack_id}/finished-runs", _finished_run, ["POST"]),
        ("/sandbox/stacks/{stack_id}/runs/{run_id}", _run, ["GET"]),
        ("/sandbox/stacks/{stack_id}/runs/{run_id}/{action}", _act, ["POST"]),
        ("/sandbox/runs", _runs, ["GET"]),
        ("/sandbox/chaos", _chaos, ["GET", "PATCH", "PUT"]),
        ("/sandbox/chaos/faults", _add_fault, ["POST"]),
        ("/sandbox/webhook", _webhook, ["GET", "PUT"]),
        ("/sandbox/webhooks", _webhooks, ["GET"]),
        ("/sandbox/tokens/expire", _expire_tokens, ["POST"]),
        # Where a run's web URL points on Spacelift (<endpoint>/stack/<id>/run/<run>): the links
        # stackchain shows lead somewhere in the sandbox too.
        ("/stack/{stack_id}/run/{run_id}", _run, ["GET"]),
    ]
    return [_route(path, handler, sandbox, methods) for path, handler, methods in table]
