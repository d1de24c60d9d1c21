"""The application's settings: one typed object, read from `ZHIDA_*` environment variables and
an optional `.env` file, built only by entrypoints (CLI, web) and handed down as arguments.

Every setting is listed in docs/settings.md (a test keeps the two in step).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHIDA_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    data_dir: Path = Field(Path(".zhida"), description="embedded stores, demo city, run results, pack cache")
    database_url: str | None = Field(
        None, description="transactional store; unset: SQLite file zhida.sqlite in the data directory")
    policies: Path = Field(Path("policies"), description="the policy pack (YAML files) read by publish and drafts")
    zones: Path = Field(Path("zones"), description="GeoJSON zones for within(\"…\")")
    auto_upgrade: bool | None = Field(
        None, description="migrate the schema on first use; unset: yes for SQLite, no for a server database")
    audit_hash: Literal["sha256", "sm3"] = Field(
        "sha256", description="the audit log's Merkle hash; sm3 for 国密 deployments (fixed once the log has entries)")
    audit_key: Path | None = Field(
        None, description="the audit log's Ed25519 signing key file; unset: keys/audit.key in the data dir")
    audit_origin: str = Field("zhida.local/audit", description="the audit log's name on its checkpoints (C2SP origin)")
    data_key: Path | None = Field(
        None, description="the key sealing personal data at rest (bank accounts); unset: keys/data.key in the data dir")
    public_url: str = Field("http://127.0.0.1:8000", description="the web app's address as browsers reach it")
    oidc_issuer: str | None = Field(None, description="统一身份认证 (OpenID Connect) issuer; unset: passwords only")
    oidc_client_id: str | None = Field(None, description="this app's client id at the 统一身份认证 provider")
    oidc_client_secret: str | None = Field(None, description="this app's client secret at the provider")
    oidc_label: str = Field("统一身份认证", description="the provider's name on the login page")

    def database(self) -> str:
        """The transactional store's URL (the embedded SQLite file by default)."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir.resolve() / 'zhida.sqlite'}"

    def data_key_path(self) -> Path:
        return self.data_key or self.data_dir / "keys" / "data.key"

    def audit_key_path(self) -> Path:
        return self.audit_key or self.data_dir / "keys" / "audit.key"
