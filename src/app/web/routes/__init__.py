"""The web server's HTTP routes: ``/webhooks``, ``/api/v1``, health and metrics."""
