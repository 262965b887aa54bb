"""Objects in an S3 bucket (AWS, MinIO, Ceph...) through the minio SDK, with Object Lock."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import MinioException, S3Error
from minio.retention import Retention

from storage._base import (
    ObjectStore,
    StoredObject,
    check_key,
    check_retain_until,
    digest_of,
)
from storage.errors import (
    ObjectNotFound,
    RetentionViolation,
    StorageError,
    StorageUnavailable,
)

RetentionMode = Literal["GOVERNANCE", "COMPLIANCE"]

# A single PUT carries objects up to 5 GiB; asking minio for parts this large keeps
# every upload a single request, so the whole-object checksum header stays valid.
_MAX_SINGLE_PUT = 5 * 1024**3
_LOCK_MODE = "x-amz-object-lock-mode"
_LOCK_UNTIL = "x-amz-object-lock-retain-until-date"
_MISSING_CODES = {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}


@dataclass(frozen=True)
class S3Config:
    """Where and how to reach the bucket that holds the objects."""

    endpoint: str
    """``host[:port]`` of the S3 service, without a scheme (``s3.ap-southeast-1.amazonaws.com``)."""
    access_key: str
    """Access key id."""
    secret_key: str = field(repr=False)
    """Secret access key (never shown in reprs or logs)."""
    bucket: str
    """Bucket name; it must exist (with Object Lock enabled if ``retention_mode`` is set)."""
    region: str | None = None
    """Region of the bucket; None asks the service once (one extra request)."""
    secure: bool = True
    """Use HTTPS. Only a loopback test server should ever run without it."""
    retention_mode: RetentionMode | None = None
    """Object Lock mode every put sets: COMPLIANCE (nobody can shorten it),
    GOVERNANCE (privileged users can), or None for no lock."""
    retention_days: int = 0
    """How long each new object stays locked, in days, when ``retention_mode`` is set."""
    prefix: str = ""
    """Prefix of the object names in the bucket, e.g. ``"objects/"``; empty puts keys at the root."""
    timeout: float = 30.0
    """Connect and read timeout per request, in seconds."""
    ca_file: str | None = None
    """PEM bundle of CAs to trust for HTTPS; None uses certifi's bundle."""

    def __post_init__(self) -> None:
        if "://" in self.endpoint:
            raise ValueError(
                f"S3Config.endpoint is host[:port] without a scheme, got {self.endpoint!r};"
                " use secure=False for plain http"
            )
        if self.retention_mode not in (None, GOVERNANCE, COMPLIANCE):
            raise ValueError(
                f"retention_mode must be 'GOVERNANCE', 'COMPLIANCE' or None, got {self.retention_mode!r}"
            )
        if self.retention_mode is not None and self.retention_days <= 0:
            raise ValueError("retention_days must be positive when retention_mode is set")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")


class S3ObjectStore(ObjectStore):
    """Objects in an S3 bucket; with Object Lock each put sets a retention date.

    >>> cfg = S3Config(endpoint="127.0.0.1:9000", access_key="k", secret_key="s",
    ...                bucket="edoc", secure=False, retention_mode="COMPLIANCE",
    ...                retention_days=3650)                       # doctest: +SKIP
    >>> store = S3ObjectStore.from_config(cfg)                    # doctest: +SKIP
    >>> store.put(b"%PDF-1.7 ...").key                            # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        client: Minio,
        bucket: str,
        retention_mode: RetentionMode | None = None,
        retention_days: int = 0,
        prefix: str = "",
    ):
        self._client = client
        self.bucket = bucket
        self.retention_mode = retention_mode
        self.retention_days = retention_days
        self.prefix = prefix

    @classmethod
    def from_config(cls, cfg: S3Config, *, check_bucket: bool = True) -> S3ObjectStore:
        """A store for ``cfg``; by default fails early if the bucket cannot be reached."""
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=cfg.timeout, read=cfg.timeout),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=cfg.ca_file or certifi.where(),
            retries=urllib3.Retry(
                total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        client = Minio(
            cfg.endpoint,
            access_key=cfg.access_key,
            secret_key=cfg.secret_key,
            secure=cfg.secure,
            region=cfg.region,
            http_client=http,
        )
        store = cls(
            client=client,
            bucket=cfg.bucket,
            retention_mode=cfg.retention_mode,
            retention_days=cfg.retention_days,
            prefix=cfg.prefix,
        )
        if check_bucket:
            with _s3_errors(store):
                found = client.bucket_exists(cfg.bucket)
                if found and cfg.retention_mode:
                    store._require_object_lock()
            if not found:
                raise StorageUnavailable(f"S3 bucket {cfg.bucket!r} does not exist at {cfg.endpoint}")
        return store

    def __repr__(self) -> str:
        return f"S3ObjectStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _name(self, key: str) -> str:
        return self.prefix + key

    def put(
        self,
        data: bytes,
        *,
        content_type: str = "application/pdf",
        retain_until: datetime | None = None,
    ) -> StoredObject:
        explicit = check_retain_until(retain_until)
        if len(data) > _MAX_SINGLE_PUT:
            raise ValueError("objects larger than 5 GiB are not supported")
        key = digest_of(data)
        stored = StoredObject(key=key, size=len(data), sha256=key)
        with _s3_errors(self, key, writing=True):
            headers = self._stat_headers(key)
            if headers is not None and self._intact(key):
                # Already stored: same bytes. Only an explicit, later date is news;
                # the configured default applies to new objects and is not renewed.
                current = _lock_until(headers)
                if explicit and (current is None or explicit > current):
                    # keep the object's own mode: COMPLIANCE must never become GOVERNANCE
                    mode = headers.get(_LOCK_MODE) or self.retention_mode or GOVERNANCE
                    self._client.set_object_retention(
                        self.bucket, self._name(key), Retention(mode, explicit)
                    )
                return stored
            # absent, or its newest version was damaged: upload the good bytes
            until = explicit
            if until is None and self.retention_mode:
                until = datetime.now(UTC) + timedelta(days=self.retention_days)
            lock = Retention(self.retention_mode or GOVERNANCE, until) if until else None
            checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
            self._client.put_object(
                self.bucket,
                self._name(key),
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                # S3 checks the upload against this digest; Object Lock puts need it
                metadata={
                    "x-amz-sdk-checksum-algorithm": "SHA256",
                    "x-amz-checksum-sha256": checksum,
                },
                retention=lock,
                part_size=_MAX_SINGLE_PUT,
            )
        return stored

    def _read(self, key: str) -> bytes:
        with _s3_errors(self, key):
            response = self._client.get_object(self.bucket, self._name(key))
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def _stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        with _s3_errors(self, key):
            response = self._client.get_object(self.bucket, self._name(key))
        return self._chunks(response, key, chunk_size)

    def _chunks(self, response, key: str, chunk_size: int) -> Iterator[bytes]:
        try:
            with _s3_errors(self, key):
                yield from response.stream(chunk_size)
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        with _s3_errors(self, check_key(key)):
            return self._stat_headers(key) is not None

    def iter_keys(self) -> Iterator[str]:
        with _s3_errors(self):
            for obj in self._client.list_objects(self.bucket, prefix=self.prefix, recursive=True):
                key = (obj.object_name or "")[len(self.prefix) :]
                with contextlib.suppress(StorageError):
                    yield check_key(key)

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        if not timedelta(seconds=1) <= expires <= timedelta(days=7):
            raise ValueError("presigned URLs expire after between 1 second and 7 days")
        with _s3_errors(self, check_key(key)):
            if self._stat_headers(key) is None:
                raise ObjectNotFound(key)
            return self._client.presigned_get_object(self.bucket, self._name(key), expires=expires)

    def retention(self, key: str) -> datetime | None:
        # moto's GetObjectRetention is broken in server mode; the lock headers of a
        # HEAD request carry the same facts on every S3 implementation
        with _s3_errors(self, check_key(key)):
            headers = self._stat_headers(key)
        if headers is None:
            raise ObjectNotFound(key)
        return _lock_until(headers)

    def modified_at(self, key: str) -> datetime:
        with _s3_errors(self, check_key(key)):
            try:
                stat = self._client.stat_object(self.bucket, self._name(key))
            except S3Error as exc:
                if exc.code in _MISSING_CODES:
                    raise ObjectNotFound(key) from None
                raise
        if stat.last_modified is None:
            raise StorageError(f"the S3 service gave no time for object {key}")
        return stat.last_modified.astimezone(UTC)

    def remove(self, key: str) -> None:
        with _s3_errors(self, check_key(key)):
            if self._stat_headers(key) is None:
                raise ObjectNotFound(key)
            # versioned (Object Lock) buckets keep the locked version behind a delete marker
            self._client.remove_object(self.bucket, self._name(key))

    def _require_object_lock(self) -> None:
        try:
            self._client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code != "ObjectLockConfigurationNotFoundError":
                raise
            raise StorageError(
                f"retention_mode is set but S3 bucket {self.bucket!r} has no Object Lock;"
                " Object Lock can only be enabled when a bucket is created"
            ) from exc

    def _intact(self, key: str) -> bool:
        hasher = hashlib.sha256()
        response = self._client.get_object(self.bucket, self._name(key))
        try:
            for chunk in response.stream(1024 * 1024):
                hasher.update(chunk)
        finally:
            response.close()
            response.release_conn()
        return hasher.hexdigest() == key

    def _stat_headers(self, key: str) -> dict[str, str] | None:
        """Response headers of a HEAD on the object (lower-cased names), None if missing."""
        try:
            stat = self._client.stat_object(self.bucket, self._name(key))
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                return None
            raise
        return {name.lower(): value for name, value in (stat.metadata or {}).items()}


def _lock_until(headers: dict[str, str]) -> datetime | None:
    value = headers.get(_LOCK_UNTIL)
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@contextlib.contextmanager
def _s3_errors(
    store: S3ObjectStore, key: str | None = None, *, writing: bool = False
) -> Iterator[None]:
    """Turn minio and urllib3 errors into StorageError subclasses."""
    try:
        yield
    except StorageError:
        raise
    except S3Error as exc:
        where = f"bucket {store.bucket!r}"
        if exc.code in _MISSING_CODES and key is not None:
            raise ObjectNotFound(key) from exc
        if exc.code == "NoSuchBucket":
            raise StorageUnavailable(f"S3 {where} does not exist") from exc
        if exc.code == "AccessDenied" and writing:
            raise RetentionViolation(
                f"S3 refused the change to object {key} in {where}: it is locked or the"
                " credentials lack permission"
            ) from exc
        if exc.code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}:
            raise StorageUnavailable(f"S3 refused the credentials for {where}") from exc
        if exc.code in {"InvalidRequest", "ObjectLockConfigurationNotFoundError"}:
            raise StorageError(
                f"S3 {where} refused the request ({exc.message}); a retention needs a bucket"
                " created with Object Lock enabled"
            ) from exc
        raise StorageError(f"S3 error {exc.code} in {where}: {exc.message}") from exc
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise StorageUnavailable(f"S3 service for bucket {store.bucket!r} is unreachable") from exc
