// SPDX-License-Identifier: Apache-2.0
// Opens the OHIF Viewer's study list at BASE/ohif/, then a study by
// clicking its row and the "Basic Viewer" button, as a person would, and
// reports what it saw as one JSON line on standard output:
//
//   node ohif_study.js BASE PATIENT_NAME WORKDIR
//
// With OP_HTTP_USER and OP_HTTP_PASSWORD set, the browser logs in with
// them when the server asks (HTTP Basic authentication).
//
// - listText: the study list's text once the PATIENT_NAME row is there;
// - viewerUrl: where the click led;
// - pixels: statistics of the viewport's screenshot (the image was drawn
//   when many pixels are not black and there are many grey levels);
// - list.png and viewer.png, screenshots, in WORKDIR;
// - pageErrors, failedRequests, errorResponses: see chromium.js.
'use strict';

const fs = require('fs');
const path = require('path');
const { launch, watch } = require('./chromium');

const [base, patientName, workdir] = process.argv.slice(2);
const TIMEOUT = 90000;

// Grey-level statistics of a PNG, decoded by the browser itself.
async function pixelStats(page, png) {
  return page.evaluate(async (b64) => {
    const blob = await (await fetch(`data:image/png;base64,${b64}`)).blob();
    const bitmap = await createImageBitmap(blob);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    const levels = new Set();
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) {
      const grey = (data[i] + data[i + 1] + data[i + 2]) / 3;
      if (grey > 16) lit += 1;
      levels.add(Math.round(grey));
    }
    return { width: bitmap.width, height: bitmap.height,
             litFraction: lit / (data.length / 4), greyLevels: levels.size };
  }, png.toString('base64'));
}

(async () => {
  const login = process.env.OP_HTTP_USER
    ? { httpCredentials: { username: process.env.OP_HTTP_USER,
                           password: process.env.OP_HTTP_PASSWORD || '' } }
    : {};
  const context = await launch(fs.mkdtempSync(path.join(workdir, 'chromium-')),
                               login);
  const result = {};
  try {
    const page = context.pages()[0] || await context.newPage();
    Object.assign(result, watch(page));

    await page.goto(`${base}/ohif/`, { waitUntil: 'load', timeout: TIMEOUT });
    const row = page.getByText(patientName, { exact: true }).first();
    await row.waitFor({ timeout: TIMEOUT });
    result.listText = await page.evaluate(() => document.body.innerText);
    await page.screenshot({ path: path.join(workdir, 'list.png') });

    await row.click();
    await page.getByRole('button', { name: 'Basic Viewer' }).first().click({ timeout: TIMEOUT });
    await page.waitForURL(/\/ohif\/viewer/, { timeout: TIMEOUT });
    result.viewerUrl = page.url();
    const viewport = page.locator('canvas.cornerstone-canvas').first();
    await viewport.waitFor({ timeout: TIMEOUT });
    // OHIF greets a first visit with a guided tour over the viewport.
    const skipTour = page.getByText('Skip all', { exact: true });
    if (await skipTour.isVisible({ timeout: 5000 }).catch(() => false)) {
      await skipTour.click();
    }
    // Cornerstone draws once the frame arrived: wait for a drawn image.
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      result.pixels = await pixelStats(page, await viewport.screenshot());
      if (result.pixels.greyLevels > 32 || Date.now() > deadline) break;
      await page.waitForTimeout(500);
    }
    await page.screenshot({ path: path.join(workdir, 'viewer.png') });
    result.viewerText = await page.evaluate(() => document.body.innerText);
  } catch (e) {
    result.error = String(e && e.stack || e);
  } finally {
    await context.close();
  }
  process.stdout.write(JSON.stringify(result) + '\n');
})();
