"""The verification pages in a real browser: what a citizen sees on a phone after scanning a QR.

Screenshots go to ``artifacts/screenshots/``. ``EDOC_UPDATE_DOCS_IMG=1`` also
copies the Thai status page on a phone to ``docs/img/verify-th.png`` (the
README's picture), so that a normal run never changes a tracked file.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.conftest import example_data
from tests.api.test_pages import tamper

from .conftest import ROOT

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
VALID_TH = "เอกสารนี้ถูกต้อง"
FILE_VALID_TH = "ไฟล์นี้ถูกต้อง"
FILE_INVALID_TH = "ไฟล์นี้ไม่ใช่ฉบับจริงหรือถูกแก้ไข"


@pytest.fixture
def certificate(browser_home, tmp_path):
    """An issued certificate: its id, and its genuine and tampered files on disk."""
    issuer = browser_home.issuer()
    data = example_data(browser_home, "certificate", "th")
    # Sealing runs its own event loop, which cannot start on the thread where
    # Playwright's sync API keeps one running.
    with ThreadPoolExecutor(1) as pool:
        record = pool.submit(issuer.issue, "certificate", data, lang="th").result().record
    pdf = issuer.pdf(record)
    genuine = tmp_path / "certificate.pdf"
    genuine.write_bytes(pdf)
    tampered = tmp_path / "certificate-edited.pdf"
    tampered.write_bytes(tamper(pdf))
    return record.id, genuine, tampered


def _phone(browser, **options):
    return browser.new_context(
        viewport=PHONE, device_scale_factor=2, locale="th-TH", is_mobile=True, has_touch=True,
        **options,
    )


def test_citizen_checks_a_document_on_a_phone(browser, live_server, certificate, screenshots):
    from playwright.sync_api import expect

    doc_id, genuine, tampered = certificate
    context = _phone(browser)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{live_server}/verify/{doc_id}")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.locator("h1")).to_have_text(VALID_TH)
    page.screenshot(path=screenshots / "verify-th-status.png")
    if os.environ.get("EDOC_UPDATE_DOCS_IMG"):
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshots / "verify-th-status.png", ROOT / "docs/img/verify-th.png")

    result = page.locator("#result")
    page.set_input_files("#file", genuine)
    page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(result.locator("h2")).to_have_text(FILE_VALID_TH)
    page.screenshot(path=screenshots / "verify-th-genuine.png", full_page=True)

    page.set_input_files("#file", tampered)
    page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(result.locator("h2")).to_have_text(FILE_INVALID_TH)
    expect(result).not_to_contain_text(FILE_VALID_TH)
    page.screenshot(path=screenshots / "verify-th-tampered.png", full_page=True)

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("This document is valid")
    page.set_input_files("#file", genuine)
    page.get_by_role("button", name="Check file").click()
    expect(result.locator("h2")).to_have_text("This file is valid")
    page.screenshot(path=screenshots / "verify-en-genuine.png", full_page=True)

    assert not problems, problems  # no script error, nothing the CSP had to block
    context.close()


def test_file_can_be_dropped_on_the_drop_zone(browser, live_server, certificate):
    from playwright.sync_api import expect

    doc_id, genuine, _ = certificate
    context = _phone(browser)
    page = context.new_page()
    page.goto(f"{live_server}/verify/{doc_id}")
    expect(page.locator("[data-drop-hint]")).to_be_visible()  # shown only where drop works
    drop = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: "application/pdf"}));
            return dt;
        }""",
        [genuine.name, base64.b64encode(genuine.read_bytes()).decode()],
    )
    page.dispatch_event("[data-drop]", "drop", {"dataTransfer": drop})
    page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(page.locator("#result h2")).to_have_text(FILE_VALID_TH)
    context.close()


def test_status_and_upload_work_without_javascript(browser, live_server, certificate):
    from playwright.sync_api import expect

    doc_id, genuine, tampered = certificate
    context = _phone(browser, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/verify/{doc_id}?lang=en")
    expect(page.locator("h1")).to_have_text("This document is valid")
    page.set_input_files("#file", tampered)
    with page.expect_navigation():
        page.get_by_role("button", name="Check file").click()
    expect(page.locator("#result h2")).to_have_text("This file is not genuine or has been altered")
    context.close()


def test_upload_form_is_keyboard_operable(browser, live_server, certificate):
    doc_id, _, _ = certificate
    context = _phone(browser)
    page = context.new_page()
    page.goto(f"{live_server}/verify/{doc_id}")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert "file" in reached and "BUTTON" in reached, reached
    assert reached.index("file") < reached.index("BUTTON")
    context.close()


def test_pages_have_no_serious_accessibility_violations(
    browser, live_server, certificate, axe_script, screenshots
):
    doc_id, genuine, tampered = certificate
    # The pages' CSP (script-src 'self') rightly refuses an injected inline script;
    # this context lets the test inject axe-core, and nothing else differs.
    context = _phone(browser, bypass_csp=True)
    page = context.new_page()

    def audit(label: str) -> list[dict]:
        page.screenshot(path=screenshots / f"page-{label}.png", full_page=True)
        page.add_script_tag(path=str(axe_script))
        results = page.evaluate("async () => await axe.run(document)")
        (screenshots.parent / f"axe-{label}.json").write_text(
            json.dumps(results["violations"], indent=1, ensure_ascii=False), encoding="utf-8"
        )
        return [
            {"page": label, "id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]]}
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    serious: list[dict] = []
    for label, url in [
        ("status-th", f"/verify/{doc_id}"),
        ("status-en", f"/verify/{doc_id}?lang=en"),
        ("check", "/verify"),
        ("unknown", "/verify/no-such-document"),
    ]:
        page.goto(live_server + url)
        serious += audit(label)
    for label, file in [("result-valid", genuine), ("result-tampered", tampered)]:
        page.goto(f"{live_server}/verify/{doc_id}")
        page.set_input_files("#file", file)
        page.get_by_role("button", name="ตรวจสอบไฟล์").click()
        page.locator("#result h2").wait_for()
        page.locator("details summary").first.click()  # audit the opened seal details too
        serious += audit(label)
    assert not serious, json.dumps(serious, indent=1, ensure_ascii=False)
    context.close()


def test_page_weight_is_small(browser, live_server, certificate, screenshots):
    """HTML + CSS + JS: a cheap phone on a slow network loads the page quickly."""
    doc_id, _, _ = certificate
    context = _phone(browser)
    page = context.new_page()
    page.goto(f"{live_server}/verify/{doc_id}", wait_until="networkidle")
    entries = page.evaluate(
        """() => [...performance.getEntriesByType("navigation"),
                  ...performance.getEntriesByType("resource")].map(e => ({
            name: e.name.replace(location.origin, ""), sent: e.encodedBodySize,
            size: e.decodedBodySize}))"""
    )
    (screenshots.parent / "page-weight.json").write_text(json.dumps(entries, indent=1))
    names = {re.sub(r"\?.*", "", e["name"]).rsplit("/", 1)[-1] for e in entries}
    assert {"verify.css", "verify.js"} <= names, entries
    assert sum(e["size"] for e in entries) < 30 * 1024, entries  # uncompressed
    assert sum(e["sent"] for e in entries) < 12 * 1024, entries  # as sent (gzip)
    context.close()
