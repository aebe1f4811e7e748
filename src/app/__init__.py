"""stackchain's composition root: settings, the dependency file, the web server and the CLI."""
