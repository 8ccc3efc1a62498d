//! Shared helpers for the end-to-end tests: build the CLI, start a sandbox, read results.
