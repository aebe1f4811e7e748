"""The long-running processes: the API, the worker and the sandbox alone, and ``serve`` (all)."""
