"""Composition in one place: settings in, the application's typed parts out.

Entrypoints (the CLI, the web app) build `Settings` once and call `bootstrap`; everything
below them receives what it needs as arguments (the database, directories, the schema) and
never reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from zhida import catalog
from zhida.accounts.oidc import Provider
from zhida.audit import keys
from zhida.audit import log as audit_log
from zhida.audit.note import Signer
from zhida.db import Database
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.matching.run import MatchSetup, load_run
from zhida.profiles.paths import store_dir
from zhida.profiles.registry import load_registry
from zhida.profiles.store import ProfileStore
from zhida.rules.lang.schema import Schema
from zhida.sealing import Sealer
from zhida.settings import Settings
from zhida.workflow.applications import ProfileFacts


@dataclass
class App:
    """The wired application: the store, the profile store, the schema, the directories."""

    settings: Settings
    _opened: list[Database] = field(default_factory=list, repr=False)

    @property
    def data_dir(self) -> Path:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return self.settings.data_dir

    @property
    def policies_dir(self) -> Path:
        return self.settings.policies

    @property
    def zones_dir(self) -> Path:
        return self.settings.zones

    @cached_property
    def database(self) -> Database:
        sealer = Sealer.from_key_file(self.settings.data_key_path(), create=True)
        db = Database.open(self.settings.database(), upgrade=self.settings.auto_upgrade, sealer=sealer)
        self._opened.append(db)
        audit_log.use_hash(db.uow(), self.settings.audit_hash)
        return db

    def oidc_provider(self) -> Provider | None:
        """The 统一身份认证 provider, when one is configured."""
        s = self.settings
        if not s.oidc_issuer:
            return None
        if not (s.oidc_client_id and s.oidc_client_secret):
            raise ZhidaError("已设置 ZHIDA_OIDC_ISSUER，但缺少 ZHIDA_OIDC_CLIENT_ID 或 "
                             "ZHIDA_OIDC_CLIENT_SECRET；请补齐。")
        return Provider(issuer=s.oidc_issuer, client_id=s.oidc_client_id, client_secret=s.oidc_client_secret,
                        label=s.oidc_label)

    def audit_signer(self) -> Signer:
        """The audit log's signing key (made on first use in the data directory)."""
        return keys.load_or_create_signer(self.settings.audit_key_path(), self.settings.audit_origin)

    def uow(self) -> UnitOfWork:
        return self.database.uow()

    @cached_property
    def schema(self) -> Schema:
        return catalog.load_schema(self.zones_dir)

    @cached_property
    def match_setup(self) -> MatchSetup:
        return MatchSetup(data_dir=self.data_dir, schema=self.schema, zones_dir=self.zones_dir)

    def profile_store(self) -> ProfileStore:
        """The profile store loaded by `zhida data load` (under the data directory)."""
        return ProfileStore(store_dir(self.data_dir))

    def matched_store(self) -> ProfileStore:
        """The profile store the latest match run read (the demo city's after `zhida run`), where
        what was paid is published for the rules; the loaded store when nothing was matched yet."""
        try:
            return ProfileStore(Path(load_run(self.uow()).snapshot.root))
        except ZhidaError:
            return self.profile_store()

    def profile_facts(self) -> ProfileFacts:
        """Where applications read a firm's facts: the matched store, the schema, the registry."""
        return ProfileFacts(store=self.matched_store(), schema=self.schema, registry=load_registry(),
                            zones_dir=self.zones_dir)

    def close(self) -> None:
        for db in self._opened:
            db.dispose()


def bootstrap(settings: Settings) -> App:
    return App(settings)
