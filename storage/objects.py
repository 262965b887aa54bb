"""Content-addressed object storage: the key of an object is the SHA-256 hex of its bytes.

>>> from pathlib import Path
>>> import tempfile
>>> store = LocalObjectStore(Path(tempfile.mkdtemp()))
>>> stored = store.put(b"%PDF-1.7 example")
>>> store.get(stored.key) == b"%PDF-1.7 example"
True
>>> store.put(b"%PDF-1.7 example") == stored   # same bytes, same key, nothing new
True

Backends: :class:`LocalObjectStore` (one machine) and :class:`S3ObjectStore`
(any S3 service, with Object Lock retention). Both satisfy the same contract,
checked by one test suite.
"""

from storage._base import DEFAULT_CHUNK_SIZE, ObjectStore, StoredObject, digest_of
from storage._local import LocalObjectStore
from storage._s3 import RetentionMode, S3Config, S3ObjectStore

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "LocalObjectStore",
    "ObjectStore",
    "RetentionMode",
    "S3Config",
    "S3ObjectStore",
    "StoredObject",
    "digest_of",
]
