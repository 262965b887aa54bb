"""Thai words wrap whole on a phone: "เพิกถอน" (revoked) is never split inside (issue 18)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.conftest import example_data

pytestmark = pytest.mark.browser

WORD = "เพิกถอน"

# every occurrence of WORD in the page: how many lines its characters are laid out on
_LINES_OF_WORD = """word => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    let at = node.data.indexOf(word);
    while (at >= 0) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + word.length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      out.push(tops.size);
      at = node.data.indexOf(word, at + 1);
    }
  }
  return out;
}"""


@pytest.fixture
def revoked(browser_home):
    issuer = browser_home.issuer()
    data = example_data(browser_home, "certificate", "th")
    with ThreadPoolExecutor(1) as pool:  # sealing runs its own event loop
        record = pool.submit(issuer.issue, "certificate", data, lang="th").result().record
    issuer.revoke(record.id, reason="ออกเอกสารผิดพลาด ต้องเพิกถอนและออกฉบับใหม่แทน")
    return record.id


@pytest.mark.parametrize("width", [320, 360, 390])
def test_revoked_is_not_broken_inside_the_word(browser, live_server, revoked, width):
    context = browser.new_context(viewport={"width": width, "height": 800}, device_scale_factor=2,
                                  locale="th-TH", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server}/verify/{revoked}")
    lines = page.evaluate(_LINES_OF_WORD, WORD)
    context.close()
    assert len(lines) >= 3, lines  # headline, note, dates and reason all say it
    assert all(n == 1 for n in lines), lines
