"""The web server: the FastAPI app, its routes, auth, the webhook intake and the operator API."""
