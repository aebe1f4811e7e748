"""What the web server and the CLI share: settings, logs, errors, Temporal and Spacelift wiring."""
