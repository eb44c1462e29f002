"""The kiosk web app in headless Chromium against the whole running system (identity, registry,
payments, gateway; the real broker): a person chooses a service, identifies with documents and their
e-Cert, fills in, reviews, signs every material with the e-Cert's key inside the browser (WebCrypto),
sees the fee in HKD or MOP with its CNY equivalent, pays, gets a receipt with the case number and
tracks the case, in 繁體中文, 简体中文 and English on a Hong Kong kiosk and in Português on a Macau
kiosk. Every step's screenshot is saved under test-artifacts/screenshots/<test>/.

Also: a wrong HKID check character is caught as it is typed, the inactivity timeout warns and then
clears everything (the session is closed server-side), and a signature made with a key that is not
the e-Cert's is refused by identity and shown at the material.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from baylink.ids import check_hkid, check_macau_id, check_travel_permit
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from tests.browser.conftest import Screenshots
from tests.e2e.kiosk_user import CHAN, CHAN_MO, LEE, Person, chain_pem
from tests.e2e.stack import Stack, build_pki, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]
ITEM = "440605-HKMO-CO-EST"
STEP_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class ECertFiles:
    chain: Path
    key: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("kiosk-web")
    pki = build_pki(tmp / "testpki")
    async with running_stack(tmp, kafka_settings, pki, with_payments=True) as running:
        yield running


def ecert_files(pki: TestPKI, entity: str, directory: Path, key_of: str | None = None) -> ECertFiles:
    """What a person carries: their e-Cert chain and a PKCS#8 key (``key_of``: someone else's key)."""
    directory.mkdir(parents=True, exist_ok=True)
    chain = directory / f"{entity}-chain.pem"
    chain.write_text(chain_pem(pki, entity))
    key = directory / f"{key_of or entity}.key.pem"
    key.write_bytes((pki.directory / "keys" / f"{key_of or entity}.key.pem").read_bytes())
    return ECertFiles(chain, key)


class KioskPage:
    """A person at the kiosk screen (what they see and touch), failing on any script error."""

    def __init__(self, page: Page, shots: Screenshots, language: str):
        self.page, self.shots, self.language = page, shots, language
        self.errors: list[str] = []
        self.session_tokens: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("response", self._remember_session)

    def _remember_session(self, response: Any) -> None:
        if response.url.split("?")[0].endswith("/v1/sessions") and response.request.method == "POST":
            asyncio.get_running_loop().create_task(self._token(response))

    async def _token(self, response: Any) -> None:
        self.session_tokens.append((await response.json())["session_token"])

    async def step(self, name: str, shot: str | None = None) -> None:
        await self.page.wait_for_selector(f"main[data-step='{name}']", timeout=STEP_TIMEOUT_MS)
        await self.page.wait_for_selector("#busy", state="hidden", timeout=STEP_TIMEOUT_MS)
        assert not self.errors, self.errors
        if shot:
            await self.shots.take(self.page, f"{self.language}-{shot}")

    async def identify(self, person: Person, files: ECertFiles) -> None:
        page = self.page
        if person.hkid:
            await page.fill("#hkid", person.hkid)
        if person.macau_id:
            await page.fill("#macau_id", person.macau_id)
        await page.fill("#travel_permit", person.travel_permit)
        await page.fill("#name_zh", person.name_zh)
        await page.fill("#name_en", person.name_en)
        await page.fill("#date_of_birth", person.date_of_birth.isoformat())
        await page.set_input_files("#ecert", [str(files.chain), str(files.key)])
        await page.wait_for_selector("#err-ecert.field-ok")

    async def fill_application(self, trade_name: str, currency: str) -> None:
        page = self.page
        await page.select_option("#capital_currency", currency)
        await page.fill("#capital_amount", "1000000")
        await page.fill("#trade_name", trade_name)
        await page.fill("#industry", "贸易")
        await page.fill("#address", "佛山市南海区桂城街道灯湖东路1号")
        await page.fill("#business_scope", "贸易咨询；技术服务")


async def open_kiosk(browser: Browser, stack: Stack, kiosk_id: str, language: str, **query: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale=language)
    page = await context.new_page()
    params = "&".join(f"{k}={v}" for k, v in {"kiosk": kiosk_id, "lang": language, **query}.items())
    agent = await stack.kiosk.agent(kiosk_id)  # the kiosk's device software: mTLS to the gateway with its key
    await page.goto(f"{agent}/kiosk/?{params}")
    return page


async def start_application(kiosk: KioskPage, shots: bool = True) -> None:
    await kiosk.step("welcome", "welcome" if shots else None)
    await kiosk.page.click("#start")
    await kiosk.step("catalogue", "catalogue" if shots else None)
    await kiosk.page.click(f"[data-item='{ITEM}']")
    await kiosk.step("identify")


async def sign_all(kiosk: KioskPage) -> None:
    page = kiosk.page
    await kiosk.step("sign", "sign")
    buttons = await page.query_selector_all("main .materials button[id^='sign-']")
    assert len(buttons) == 3  # application form, articles, appointments: the signed materials
    for _ in range(len(buttons)):
        await page.click("main .materials button[id^='sign-']")
        await kiosk.step("sign")
    assert await page.locator("main .material.ok").count() == 3
    assert not await page.is_disabled("#submit-application")
    await kiosk.shots.take(page, f"{kiosk.language}-signed")


CASES = [
    pytest.param("zh-Hant", "HK-CWB-07", CHAN, "粤港通", "HKD", "費用", id="zh-Hant"),
    pytest.param("zh-Hans", "HK-TST-02", LEE, "湾区汇", "HKD", "费用", id="zh-Hans"),
    pytest.param("en", "HK-SHA-03", LEE, "港联达", "HKD", "Fee", id="en"),
    pytest.param("pt", "MO-SEN-01", CHAN_MO, "澳联通", "MOP", "Taxa", id="pt"),
]


@pytest.mark.parametrize(("language", "kiosk_id", "person", "trade_name", "currency", "fee_word"), CASES)
async def test_a_person_applies_signs_pays_and_tracks_their_case_at_the_kiosk(
    browser: Browser, stack: Stack, screenshots: Screenshots, tmp_path: Path,
    language: str, kiosk_id: str, person: Person, trade_name: str, currency: str, fee_word: str,
) -> None:  # fmt: skip
    page = await open_kiosk(browser, stack, kiosk_id, language)
    kiosk = KioskPage(page, screenshots, language)
    try:
        await start_application(kiosk)
        assert await page.get_attribute("html", "lang") == language
        assert (await page.locator("#lang-pt").count() == 1) == kiosk_id.startswith("MO-")
        await kiosk.identify(person, ecert_files(stack.pki, person.certificate, tmp_path))
        await kiosk.shots.take(page, f"{language}-identify")
        await page.click("#identify-submit")

        await kiosk.step("application")
        await kiosk.fill_application(trade_name, currency)
        await kiosk.shots.take(page, f"{language}-application")
        await page.click("#application-next")
        await kiosk.step("review", "review")
        await page.click("#review-confirm")
        await sign_all(kiosk)

        await page.click("#submit-application")
        await kiosk.step("fee", "fee")
        amounts = await page.inner_text("#fee-amount")
        assert re.search(rf"{currency} [\d.,]+\s+≈ CNY 300[.,]00", amounts), amounts  # pt writes 300,00
        assert fee_word in await page.inner_text("#steps")
        await page.click("#fee-accept")
        await kiosk.step("pay", "pay")
        await page.click("#pay-now")
        await kiosk.step("receipt", "receipt")
        case_number = (await page.inner_text("#receipt-case")).strip()
        assert case_number

        await page.click("#receipt-track")
        await kiosk.step("track")
        await page.wait_for_selector("#track-result")
        tracked = await page.inner_text("#track-result")
        assert case_number in tracked and STATE_SUBMITTED[language] in tracked, tracked
        await kiosk.shots.take(page, f"{language}-track")
    finally:
        await page.context.close()
    assert [p.name[3:] for p in screenshots.saved] == [f"{language}-{s}.png" for s in STEPS]


STEPS = [
    "welcome",
    "catalogue",
    "identify",
    "application",
    "review",
    "sign",
    "signed",
    "fee",
    "pay",
    "receipt",
    "track",
]
STATE_SUBMITTED = {"zh-Hant": "已提交", "zh-Hans": "已提交", "en": "Submitted", "pt": "Submetido"}


async def test_a_wrong_hkid_check_character_is_shown_as_it_is_typed(
    browser: Browser, stack: Stack, screenshots: Screenshots, tmp_path: Path
) -> None:
    page = await open_kiosk(browser, stack, "HK-TST-04", "zh-Hant")
    kiosk = KioskPage(page, screenshots, "zh-Hant")
    try:
        await start_application(kiosk, shots=False)
        await page.type("#hkid", "A123456(4)")
        assert "應為 3" in await page.inner_text("#err-hkid")
        assert await page.get_attribute("#hkid", "aria-invalid") == "true"
        await page.fill("#macau_id", "2234567(8)")
        assert "1、5 或 7" in await page.inner_text("#err-macau_id")
        await screenshots.take(page, "zh-Hant-wrong-check-digit")
        await page.click("#identify-submit")  # refused in the page: nothing is sent
        await kiosk.step("identify")
        assert await page.evaluate("document.activeElement.id") == "hkid"

        await page.fill("#macau_id", "")
        await page.fill("#hkid", "")
        await page.type("#hkid", "a123456 3")  # as typed: lower case, a space, no brackets
        assert "格式正確" in await page.inner_text("#err-hkid")
        assert await page.get_attribute("#hkid", "aria-invalid") is None

        # The server is the authority: a date of birth that is not the e-Cert's is refused at its field.
        await kiosk.identify(CHAN, ecert_files(stack.pki, CHAN.certificate, tmp_path))
        await page.fill("#date_of_birth", "1980-03-16")
        await page.click("#identify-submit")
        await expect(page.locator("#err-date_of_birth")).to_contain_text("出生日期")  # CSP: no string eval
        assert await page.is_visible("#banner")
        await screenshots.take(page, "zh-Hant-refused-at-field")
    finally:
        await page.context.close()


async def test_inactivity_warns_then_clears_the_page_the_key_and_the_session(
    browser: Browser, stack: Stack, screenshots: Screenshots, tmp_path: Path
) -> None:
    page = await open_kiosk(browser, stack, "HK-TST-05", "en", idle="8", warn="4")
    kiosk = KioskPage(page, screenshots, "en")
    try:
        await start_application(kiosk, shots=False)
        await kiosk.identify(LEE, ecert_files(stack.pki, LEE.certificate, tmp_path))
        await page.wait_for_selector("#idle", state="visible", timeout=9_000)
        assert "clears in" in await page.inner_text("#idle-body")
        assert await page.evaluate("document.activeElement.id") == "idle-continue"
        await screenshots.take(page, "en-idle-warning")
        await page.click("#idle-continue")  # still here: the page stays as it was
        assert await page.is_hidden("#idle") and await page.input_value("#travel_permit") == LEE.travel_permit

        await page.wait_for_selector("#idle", state="visible", timeout=9_000)
        await page.wait_for_selector("main[data-step='welcome']", timeout=9_000)
        assert await page.is_hidden("#idle")
        assert "cleared" in await page.inner_text("#notice")
        await screenshots.take(page, "en-cleared")

        # Closed server-side: the session token the page held is no longer known.
        [token] = kiosk.session_tokens
        http = stack.kiosk.as_kiosk("HK-TST-05")
        refused = await http.get("/v1/catalogue", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401 and refused.json()["code"] == "SESSION_UNKNOWN", refused.text
        # Nothing typed or loaded survives: a new start shows empty fields and no e-Cert.
        await page.click("#start")
        await kiosk.step("catalogue")
        await page.click(f"[data-item='{ITEM}']")
        await kiosk.step("identify")
        assert await page.input_value("#travel_permit") == ""
        assert await page.inner_text("#err-ecert") == ""
    finally:
        await page.context.close()


async def test_an_e_cert_loaded_with_a_key_that_is_not_its_own_cannot_identify(
    browser: Browser, stack: Stack, screenshots: Screenshots, tmp_path: Path
) -> None:
    page = await open_kiosk(browser, stack, "HK-TST-06", "en")
    kiosk = KioskPage(page, screenshots, "en")
    try:
        await start_application(kiosk, shots=False)
        # LEE's e-Cert with another P-256 key (the test PKI's organisation key): it imports and signs
        # the identify challenge, but identity finds the signature is not by LEE's certificate's key.
        await kiosk.identify(LEE, ecert_files(stack.pki, LEE.certificate, tmp_path, key_of="hk-organisation"))
        await page.click("#identify-submit")
        await expect(page.locator("#err-ecert")).to_contain_text("not this e-Cert's key")
        assert await page.get_attribute("main", "data-step") == "identify"  # nobody was identified
        assert kiosk.errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
        await screenshots.take(page, "en-possession-refused")
    finally:
        await page.context.close()


ID_SAMPLES = ["A123456(3)", "A1234563", "a123456 3", "A123456(4)", "AB987654(2)", "G123456(A)", "Z6837192",
              "ＡＢ９８７６５４（２）", "A12345(3)", "1234567(8)", "5215299(8)", "2234567(8)", "1234567",
              "H12345678", "M8765432101", "HA1234567", "X12345678", "H1234", ""]  # fmt: skip


async def test_the_pages_live_document_checks_agree_with_baylink_ids(browser: Browser, stack: Stack) -> None:
    page = await open_kiosk(browser, stack, "HK-TST-07", "en")
    try:
        found = await page.evaluate(
            """async (samples) => {
                const ids = await import("/kiosk/ids.js");
                return samples.map((s) => [ids.checkHkid(s).ok, ids.checkMacauId(s).ok, ids.checkTravelPermit(s).ok,
                                           ids.checkHkid(s).normalised || null]);
            }""",
            ID_SAMPLES,
        )
    finally:
        await page.context.close()
    expected = [
        [check_hkid(s).valid, check_macau_id(s).valid, check_travel_permit(s).valid,
         check_hkid(s).normalised if check_hkid(s).normalised else None]
        for s in ID_SAMPLES
    ]  # fmt: skip
    assert found == expected
