"""An async client for Spacelift's GraphQL API."""
