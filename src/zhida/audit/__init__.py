"""The tamper-evident audit log: an RFC 6962 Merkle log with signed checkpoints (docs/audit.md)."""
