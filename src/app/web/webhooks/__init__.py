"""The web server's webhook intake: Spacelift's bodies, their events, and the handler."""
