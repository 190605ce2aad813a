"""Plumbing: database engine and sessions, HTTP errors, middleware, logging."""
