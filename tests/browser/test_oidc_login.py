"""统一身份认证 in a real browser: the login page offers it when configured, the provider (a
small one started by the test) signs the user in, and the user lands on its page; an identity
bound to no account is refused on the login page in Chinese."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from zhida.accounts import SYSTEM, Role
from zhida.accounts.service import add_user
from zhida.bootstrap import bootstrap
from zhida.settings import Settings

from ..integration.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from .conftest import serve


@pytest.fixture(scope="module")
def idp() -> Iterator[Provider]:
    p = Provider()
    yield p
    p.close()


@pytest.fixture(scope="module")
def oidc_site(city, idp) -> Iterator[str]:
    settings = Settings(data_dir=city, oidc_issuer=idp.issuer, oidc_client_id=CLIENT_ID,
                        oidc_client_secret=CLIENT_SECRET, oidc_label="浙里办统一身份认证")
    wired = bootstrap(settings)
    try:
        add_user(wired.uow(), username="wang", display_name="王五（领导）", password=None, roles=[Role.LEADER],
                 oidc_subject="zjzwfw:330300-wang", actor=SYSTEM)
    finally:
        wired.close()
    gen = serve(settings)
    yield next(gen)
    gen.close()


def test_a_leader_logs_in_through_the_provincial_identity_provider(page: Page, oidc_site: str, idp: Provider):
    idp.subject = "zjzwfw:330300-wang"
    page.goto(f"{oidc_site}/login")
    page.get_by_role("link", name="使用浙里办统一身份认证登录").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator(".who")).to_contain_text("王五（领导）")


def test_an_unbound_identity_is_refused_on_the_login_page(page: Page, oidc_site: str, idp: Provider):
    idp.subject = "zjzwfw:nobody"
    page.goto(f"{oidc_site}/login")
    page.get_by_role("link", name="使用浙里办统一身份认证登录").click()
    expect(page.get_by_role("alert")).to_contain_text("尚未绑定")
