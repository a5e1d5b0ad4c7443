"""The departments page in Chromium: group robots are chosen in the form and named in the list,
their URL tokens masked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from api.app import create_app
from service.config import AppConfig
from store.alert_tables import WebhookFormat
from store.roles import Role
from tests.fixtures.app import LiveServer
from tests.test_console import PASSWORD, browser, login

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["browser"]  # the module-scoped Chromium of the console tests

DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=dt-token-998877"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wc-key-112233"


def test_admin_adds_dingtalk_and_wecom_robots(
    browser: Browser, tmp_path: Path, plume_model_dir: Path
) -> None:
    from playwright.sync_api import expect

    config = AppConfig.model_validate(
        {"data_dir": tmp_path / "data", "detector": {"model_dir": str(plume_model_dir)}}
    )
    with LiveServer(create_app(config)) as server:
        server.app.state.auth.add_user("ada", Role.ADMIN, PASSWORD)
        page = login(browser, server.url, "ada", locale="zh-CN")
        page.click("#nav button[data-view=departments]")
        form = page.locator("#department-form")
        robots = [
            ("县应急管理局", DINGTALK, "dingtalk", "SEC" + "ab" * 32),
            ("林业站", WECOM, "wecom", ""),
        ]
        for name, url, fmt, secret in robots:
            form.locator("[name=name]").fill(name)
            form.locator("[name=webhook_url]").fill(url)
            form.locator("[name=webhook_format]").select_option(fmt)
            form.locator("[name=secret]").fill(secret)
            form.locator("button[type=submit]").click()
            expect(page.locator("#view-departments tbody tr", has_text=name)).to_have_count(1)
        rows = page.locator("#view-departments tbody")
        expect(rows).to_contain_text(
            "钉钉群机器人: https://oapi.dingtalk.com/robot/send?access_token=***"
        )
        expect(rows).to_contain_text(
            "企业微信群机器人: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"
        )
        assert "dt-token-998877" not in page.content() and "wc-key-112233" not in page.content()
        deps = {d.name: d for d in server.app.state.publish.departments.list_all()}
        assert deps["县应急管理局"].webhook_format is WebhookFormat.DINGTALK
        assert (deps["林业站"].webhook_format, deps["林业站"].secret) == (WebhookFormat.WECOM, "")
        page.context.close()
