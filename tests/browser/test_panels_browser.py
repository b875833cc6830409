"""The experiment panel of notebook 07 and the mistakes threshold of notebook 08 in a real JupyterLab and
Chromium: the panel's cell runs its default experiment on its own, then a learner types new settings into
the sliders, clicks Run, and a new row appears in the comparison table; typing a lower confidence threshold
shows more mistakes (screenshots in build/browser/)."""

from __future__ import annotations

import re

from .conftest import open_notebook, run_cell_containing, screenshot

#: The notebooks holding the panel cell and the mistakes-threshold cell.
NOTEBOOK = "notebooks/07_train.ipynb"
EVAL_NOTEBOOK = "notebooks/08_evaluate.ipynb"
PANEL = ".mnistlib-experiment-panel"
EXPLORER = ".mnistlib-mistakes-explorer"
ROWS = f"{PANEL} table.mnistlib-runs tbody tr"
RUN_TIMEOUT = 180_000  # ms: one short training run on a shared 2-core machine


def _slider(panel, label: str):
    return panel.locator(".widget-slider", has=panel.page.locator("label.widget-label", has_text=label))


def _type_into_slider(panel, label: str, value) -> None:
    """Set a slider the way a learner can: click its readout, type the number, press Enter."""
    readout = _slider(panel, label).locator(".widget-readout")
    readout.click()
    panel.page.keyboard.press("Control+A")
    panel.page.keyboard.type(str(value))
    panel.page.keyboard.press("Enter")
    panel.page.wait_for_function("([el, v]) => parseFloat(el.textContent.trim().replace(/,/g, '')) === v",
                                 arg=[readout.element_handle(), float(value)], timeout=10_000)


def test_run_button_adds_a_row_with_the_settings_chosen_in_the_page(lab, page):
    try:
        _run_button_adds_a_row(lab, page)
    except Exception:
        screenshot(page, "panel_failure")
        raise


def _run_button_adds_a_row(lab, page):
    open_notebook(page, lab, NOTEBOOK)
    run_cell_containing(page, "ExperimentPanel(", timeout=RUN_TIMEOUT)  # autorun: one default run, no human
    panel = page.locator(PANEL)
    panel.wait_for(timeout=30_000)
    panel.scroll_into_view_if_needed()
    page.locator(ROWS).first.wait_for(timeout=30_000)
    last_run = int(page.locator(ROWS).last.locator("td").first.inner_text())  # the cell's default run: no click
    assert "finished" in panel.locator(".mnistlib-status").inner_text()
    screenshot(page, "panel_default", panel)

    train_size = int(_slider(panel, "training images").locator(".widget-readout").inner_text().replace(",", ""))
    train_size = train_size - 500 if train_size > 1000 else train_size + 500  # a value the default run did not use
    _type_into_slider(panel, "training images", train_size)
    _type_into_slider(panel, "epochs", 1)
    panel.locator("button", has_text="Run").click()
    page.wait_for_function("""([sel, n]) => { const rows = document.querySelectorAll(sel);
                                              const last = rows.length && rows[rows.length - 1].querySelector('td');
                                              return !!last && last.textContent.trim() === String(n + 1); }""",
                           arg=[ROWS, last_run], timeout=RUN_TIMEOUT)
    cells = [c.strip() for c in page.locator(ROWS).last.locator("td").all_inner_texts()]
    headers = [h.strip() for h in panel.locator("table.mnistlib-runs thead th").all_inner_texts()]
    row = dict(zip(headers, cells))
    assert row["images"] == str(train_size) and row["epochs"] == "1" and row["epochs run"] == "1", row
    assert row["val accuracy"].endswith("%") and row["stopped"] == "", row
    status = panel.locator(".mnistlib-status").inner_text()
    assert f"run {row['run']} finished" in status, status
    assert panel.locator("button", has_text="Stop").is_disabled()
    screenshot(page, "panel_after_click", panel)

    # Stop: the click reaches the kernel while the run trains in its background thread
    _type_into_slider(panel, "epochs", 20)
    panel.locator("button", has_text="Run").click()
    page.wait_for_function("(sel) => /epoch [1-9]\\d*\\/20/.test(document.querySelector(sel).textContent)",
                           arg=f"{PANEL} .mnistlib-status", timeout=RUN_TIMEOUT)  # the status is re-rendered
    panel.locator("button", has_text="Stop").click()
    page.wait_for_function("""([sel, n]) => { const rows = document.querySelectorAll(sel);
                                              const last = rows.length && rows[rows.length - 1].querySelector('td');
                                              return !!last && last.textContent.trim() === String(n); }""",
                           arg=[ROWS, int(row["run"]) + 1], timeout=RUN_TIMEOUT)
    stopped = dict(zip(headers, [c.strip() for c in page.locator(ROWS).last.locator("td").all_inner_texts()]))
    assert stopped["stopped"] == "yes" and stopped["epochs"] == "20" and int(stopped["epochs run"]) < 20, stopped
    table = panel.locator("table.mnistlib-runs")
    table.scroll_into_view_if_needed()
    screenshot(page, "panel_table_after_click", table)


def _summary(explorer) -> tuple[int, str, int]:
    """(mistakes shown, threshold text, all mistakes) read from the explorer's line in the page."""
    text = explorer.locator(".mnistlib-summary").inner_text()
    match = re.match(r"([\d,]+) mistakes with confidence ≥ ([\d.]+) out of ([\d,]+)", text)
    assert match, text
    return int(match[1].replace(",", "")), match[2], int(match[3].replace(",", ""))


def test_lowering_the_threshold_in_the_page_shows_more_mistakes(lab, page):
    try:
        open_notebook(page, lab, EVAL_NOTEBOOK)
        run_cell_containing(page, "MistakesExplorer(", timeout=RUN_TIMEOUT)
        explorer = page.locator(EXPLORER)
        explorer.wait_for(timeout=30_000)
        explorer.scroll_into_view_if_needed()
        high, t_high, total = _summary(explorer)
        assert t_high == "0.90" and high <= total
        gallery = explorer.locator("img").get_attribute("src")
        _type_into_slider(explorer, "confidence", "0.1")
        page.wait_for_function("(sel) => document.querySelector(sel).textContent.includes('≥ 0.10')",
                               arg=f"{EXPLORER} .mnistlib-summary", timeout=30_000)
        low, t_low, total_again = _summary(explorer)
        assert t_low == "0.10" and total_again == total
        assert high <= low <= total and low > 0
        if low > high:  # the gallery is redrawn (its image arrives in its own message, maybe after the line)
            page.wait_for_function("([el, old]) => el.getAttribute('src') !== old",
                                   arg=[explorer.locator("img").element_handle(), gallery], timeout=30_000)
        screenshot(page, "mistakes_threshold_0.10", explorer)
    except Exception:
        screenshot(page, "mistakes_failure")
        raise
