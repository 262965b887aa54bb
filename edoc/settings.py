"""Settings of an edoc installation, read only by the entry points (CLI, app factory).

Sources, strongest first: ``EDOC_*`` environment variables, the home's
``edoc.toml``, the defaults below. Library code never reads these itself; it is
handed the values it needs.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from certs.keys import KeyType

CONFIG_NAME = "edoc.toml"


def default_home() -> Path:
    """``$EDOC_HOME`` or ``~/.edoc``."""
    return Path(os.environ.get("EDOC_HOME") or Path.home() / ".edoc").expanduser()


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], path: Path):
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path.is_file():
            with path.open("rb") as fp:
                self._data = tomllib.load(fp)

    def get_field_value(self, field, field_name):  # pragma: no cover - not used
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    """Everything an installation can configure; see README for each setting."""

    model_config = SettingsConfigDict(env_prefix="EDOC_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    public_base_url: str = "http://127.0.0.1:8000"
    agency_id: str = "example-agency"
    agency_name_th: str = "หน่วยงานตัวอย่าง"
    agency_name_en: str = "Example Agency"
    agency_address_th: str | None = None
    agency_address_en: str | None = None
    emblem: Path | None = None
    key_type: KeyType = "ecdsa-p256"
    key_passphrase: SecretStr | None = None
    key_passphrase_file: Path | None = None
    signing_level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = "B-T"
    signature_size: int | None = None
    tsa_url: str | None = None
    tsa_policy_oid: str = "1.3.6.1.4.1.59999.1.1"
    # Where the seal and TSA private keys live: encrypted files in pki/ or a PKCS#11
    # token (HSM). Token keys are named by label (default edoc-seal / edoc-tsa) or id
    # (hex); the PIN comes from the environment variable or file named here, never
    # from edoc.toml or the command line.
    seal_key_source: Literal["file", "pkcs11"] = "file"
    tsa_key_source: Literal["file", "pkcs11"] = "file"
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_seal_key_label: str | None = None
    pkcs11_seal_key_id: str | None = None
    pkcs11_tsa_key_label: str | None = None
    pkcs11_tsa_key_id: str | None = None
    pkcs11_pin_env: str = "EDOC_PKCS11_PIN"
    pkcs11_pin_file: Path | None = None
    pkcs11_max_sessions: int = 4
    database_url: str | None = None
    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "edoc"
    s3_region: str | None = None
    s3_secure: bool = True
    retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None
    retention_days: int = 3650
    audit_anchor_minutes: float = 60
    idempotency_claim_seconds: float = 30
    max_upload_bytes: int = 20 * 1024 * 1024
    # -- hardening (README "Security") --
    max_json_bytes: Annotated[int, Field(ge=1024, le=8 * 1024 * 1024)] = 1024 * 1024
    """Largest JSON request body (issuance data, revocations, keys); 413 before parsing."""
    forwarded_allow_ips: str = ""
    """Proxies (comma-separated IPs/CIDRs) whose X-Forwarded-For is trusted; none by default."""
    holder_link_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """How long a holder's download link (?token=) works after the document is issued."""
    metrics_access: Literal["key", "public", "off"] = "key"
    """/metrics: "key" needs an API key with the role metrics or admin; "public"; "off" (404)."""
    rate_limit_per_minute: int = 120
    cpu_slots: Annotated[int, Field(ge=1)] = 2
    """Issuances or upload verifications one worker runs at once; more requests wait their turn."""
    # Verification of uploads (issue 17; defaults and meaning in edoc/budgets.py and README
    # "Verification budgets"): worker processes, the queue before 503, and per-file budgets.
    verify_workers: Annotated[int, Field(ge=1)] = 2
    """Processes verifying uploads (per server worker); a file past its time limit is killed."""
    verify_queue: Annotated[int, Field(ge=0)] = 8
    """Uploads waiting for a verification process; more are answered 503 with Retry-After."""
    verify_max_wall_seconds: Annotated[float, Field(gt=0)] | None = None
    """Wall-clock limit of one verification before its process is killed (None: 1.5 x CPU + 5 s)."""
    verify_max_cpu_seconds: Annotated[float, Field(gt=0)] = 20.0
    verify_max_objects: Annotated[int, Field(ge=1)] = 50_000
    verify_max_objects_per_stream: Annotated[int, Field(ge=1)] = 1_000
    verify_max_fields: Annotated[int, Field(ge=1)] = 500
    verify_max_signatures: Annotated[int, Field(ge=1)] = 20
    verify_max_revisions: Annotated[int, Field(ge=1)] = 100
    verify_max_nesting: Annotated[int, Field(ge=1)] = 32
    verify_max_decompressed_bytes: Annotated[int, Field(ge=1)] = 100 * 1024 * 1024
    # batches (edoc/batches): with broker_url (amqp://...) rows go to Celery workers
    # (`edoc worker`); without, to a local process pool of batch_workers processes
    broker_url: str | None = None
    batch_workers: Annotated[int, Field(ge=1)] = max(1, os.cpu_count() or 1)
    batch_chunk_rows: Annotated[int, Field(ge=1)] = 20
    batch_max_rows: Annotated[int, Field(ge=1)] = 200_000
    remote_status_allow: Annotated[list[str], NoDecode] = []
    """Base URLs of other edoc deployments whose public status API may be asked about
    their documents (EDOC_REMOTE_STATUS_ALLOW: comma-separated); none by default."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    @field_validator("remote_status_allow", mode="before")
    @classmethod
    def _split_urls(cls, v):
        items = v.replace(",", " ").split() if isinstance(v, str) else list(v)
        for url in items:
            if not str(url).startswith(("http://", "https://")):
                raise ValueError(f"remote_status_allow: {url!r} is not an http(s) base URL")
        return [str(u).rstrip("/") for u in items]

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("public_base_url must start with http:// or https://")
        return v.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        home = Path(
            os.environ.get("EDOC_HOME") or init_settings.init_kwargs.get("home") or default_home()
        ).expanduser()
        return (init_settings, env_settings, _TomlSource(settings_cls, home / CONFIG_NAME))

    @property
    def pki_dir(self) -> Path:
        """Where the keys and certificates live."""
        return self.home / "pki"

    @property
    def objects_dir(self) -> Path:
        """The local object store's folder."""
        return self.home / "objects"

    @property
    def templates_dir(self) -> Path:
        """The agency's own templates (added to the built-in ones)."""
        return self.home / "templates"

    @property
    def effective_database_url(self) -> str:
        """The registry database; SQLite in the home unless configured."""
        return self.database_url or f"sqlite:///{self.home / 'registry.db'}"

    def passphrase(self) -> bytes | None:
        """The key passphrase from the environment/config or the home's secret file."""
        if self.key_passphrase is not None:
            return self.key_passphrase.get_secret_value().encode()
        path = self.key_passphrase_file
        if path is not None:
            path = path if path.is_absolute() else self.home / path
            if path.exists():
                return path.read_bytes().strip()
        return None
