"""The HTTP routes: ``/webhooks``, ``/api/v1``, health and metrics."""
