"""Every GraphQL document the client sends, parsed once at import.

Shapes follow Spacelift's public GraphQL API as spacectl and the Terraform provider use it (see
``shared/reference/spacelift.md``). Each document is a single named operation, so the name shows
in the request body and in Spacelift's own logs.
"""

from gql import GraphQLRequest
from graphql import OperationDefinitionNode, parse


def _document(source: str) -> GraphQLRequest:
    """Parse one named operation (and its fragments); the request carries the operation name."""
    document = parse(source)
    names = [
        node.name.value
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode) and node.name is not None
    ]
    return GraphQLRequest(document, operation_name=names[0])


_RUN_FIELDS = """
fragment RunFields on Run {
  id
  state
  type
  createdAt
  triggeredBy
  finished
  delta { addCount changeCount deleteCount }
  history { state stateVersion timestamp terminal }
}
"""

_STACK_FIELDS = """
fragment StackFields on Stack {
  id
  name
  description
  labels
  branch
  state
  space
  trackedCommit { hash }
  isDisabled
  lockedBy
  outputs { id value sensitive }
  dependsOn { dependsOnStack { id } }
  isDependedOnBy { stack { id } }
}
"""

_CONTEXT_FIELDS = "fragment ContextFields on Context { id name description labels space }"

_SPACE_FIELDS = """
fragment SpaceFields on Space { id name description parentSpace inheritEntities labels }
"""

API_KEY_USER = _document("""
mutation ApiKeyUser($id: ID!, $secret: String!) {
  apiKeyUser(id: $id, secret: $secret) { jwt validUntil }
}
""")

SEARCH_STACKS = _document(
    """
query SearchStacks($input: SearchInput!) {
  searchStacks(input: $input) {
    edges { node { ...StackFields } }
    pageInfo { endCursor hasNextPage }
  }
}
"""
    + _STACK_FIELDS
)

STACKS = _document("query Stacks { stacks { ...StackFields } }" + _STACK_FIELDS)

STACK = _document("query Stack($id: ID!) { stack(id: $id) { ...StackFields } }" + _STACK_FIELDS)

RUN_TRIGGER = _document(
    """
mutation RunTrigger($stack: ID!, $commitSha: String, $runType: RunType) {
  runTrigger(stack: $stack, commitSha: $commitSha, runType: $runType) { ...RunFields }
}
"""
    + _RUN_FIELDS
)

RUN = _document(
    """
query Run($stack: ID!, $run: ID!) {
  stack(id: $stack) { id run(id: $run) { ...RunFields } }
}
"""
    + _RUN_FIELDS
)

RUNS = _document(
    """
query Runs($stack: ID!, $before: ID) {
  stack(id: $stack) { id runs(before: $before) { ...RunFields } }
}
"""
    + _RUN_FIELDS
)


def _run_action(mutation: str) -> GraphQLRequest:
    name = mutation[0].upper() + mutation[1:]
    return _document(
        f"""
mutation {name}($stack: ID!, $run: ID!, $note: String) {{
  {mutation}(stack: $stack, run: $run, note: $note) {{ ...RunFields }}
}}
"""
        + _RUN_FIELDS
    )


RUN_CONFIRM = _run_action("runConfirm")
RUN_DISCARD = _run_action("runDiscard")
RUN_STOP = _run_action("runStop")
RUN_CANCEL = _run_action("runCancel")

CONTEXTS = _document("query Contexts { contexts { ...ContextFields } }" + _CONTEXT_FIELDS)

CONTEXT = _document(
    "query Context($id: ID!) { context(id: $id) { ...ContextFields } }" + _CONTEXT_FIELDS
)

CONTEXT_ATTACH = _document("""
mutation ContextAttach($id: ID!, $stack: ID!, $priority: Int!) {
  contextAttach(id: $id, stack: $stack, priority: $priority) { id stackId priority }
}
""")

CONTEXT_DETACH = _document("mutation ContextDetach($id: ID!) { contextDetach(id: $id) { id } }")

SPACES = _document("query Spaces { spaces { ...SpaceFields } }" + _SPACE_FIELDS)

SPACE = _document("query Space($id: ID!) { space(id: $id) { ...SpaceFields } }" + _SPACE_FIELDS)

STACK_CONFIG_ADD = _document("""
mutation StackConfigAdd($stack: ID!, $config: ConfigInput!) {
  stackConfigAdd(stack: $stack, config: $config) { id }
}
""")
