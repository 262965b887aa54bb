"""One APIRouter per resource: documents, verify, tsa, pki, revocation, audit, keys, health."""
