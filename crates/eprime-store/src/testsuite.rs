//! Shared storage tests (filled in with the SQLite implementation).
