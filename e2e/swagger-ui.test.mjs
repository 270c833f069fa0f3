// Swagger UI in a real browser: Debian's headless Chromium (never a
// downloaded build) driven by playwright-core against a running taskman.
//
//   TASKMAN_URL=http://127.0.0.1:8080 node --test e2e/
//
// Env:
//   TASKMAN_URL        base URL of the server (required)
//   TASKMAN_API_TOKEN  bearer token; when set, the test clicks "Authorize"
//                      and enters it before trying operations out
//   CHROMIUM_PATH      browser binary (default /usr/bin/chromium)
//   E2E_SCREENSHOT_DIR when set, a screenshot is also saved there after each
//                      "Execute" (failures always save one to the temp dir)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = (process.env.TASKMAN_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.TASKMAN_API_TOKEN || '';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOT_DIR = process.env.E2E_SCREENSHOT_DIR || '';
const TIMEOUT_MS = 20_000;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// Unique per run, so the GET can't be satisfied by an older task.
const MARKER = `e2e-swagger-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;

if (!BASE_URL) {
  throw new Error('TASKMAN_URL is not set (e.g. TASKMAN_URL=http://127.0.0.1:8080)');
}
const ORIGIN = new URL(BASE_URL).origin;

/** Whether the browser may load this URL: the server itself, or an in-page scheme. */
function isLocal(url) {
  if (/^(data|blob|about|chrome-error):/i.test(url)) return true;
  try {
    return new URL(url).origin === ORIGIN;
  } catch {
    return false;
  }
}

describe('Swagger UI at /docs', { timeout: 180_000 }, () => {
  let userDataDir;
  let context;
  let page;
  let spec;
  let created;
  const foreignRequests = [];
  const pageErrors = [];

  before(async () => {
    const headers = TOKEN ? { authorization: `Bearer ${TOKEN}` } : {};
    const res = await fetch(`${BASE_URL}/openapi.json`, { headers });
    assert.equal(res.status, 200, `GET /openapi.json answered ${res.status}`);
    spec = await res.json();

    userDataDir = await mkdtemp(path.join(tmpdir(), 'taskman-e2e-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 1024 },
    });
    context.setDefaultTimeout(TIMEOUT_MS);
    // Record every request to anywhere but the server, and never let it out.
    context.on('request', (req) => {
      if (!isLocal(req.url())) foreignRequests.push(`${req.method()} ${req.url()}`);
    });
    await context.route((url) => !isLocal(url.href), (route) => route.abort('blockedbyclient'));

    page = context.pages()[0] ?? (await context.newPage());
    page.on('websocket', (ws) => {
      if (!isLocal(ws.url())) foreignRequests.push(`WEBSOCKET ${ws.url()}`);
    });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
  });

  after(async () => {
    await context?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  /** Runs a step; on failure saves a screenshot to the temp dir and says where. */
  async function step(name, fn) {
    try {
      await fn();
    } catch (err) {
      if (page) {
        const file = path.join(tmpdir(), `taskman-swagger-ui-${name}-${Date.now()}.png`);
        try {
          await page.screenshot({ path: file, fullPage: true });
          console.error(`screenshot of the failing page: ${file}`);
        } catch (shotErr) {
          console.error(`could not save a screenshot: ${shotErr}`);
        }
      }
      if (pageErrors.length) console.error(`page errors:\n${pageErrors.join('\n')}`);
      throw err;
    }
  }

  /** With E2E_SCREENSHOT_DIR, a screenshot with `scrollTo` at the top. */
  async function checkpoint(name, scrollTo) {
    if (!SHOT_DIR) return;
    await mkdir(SHOT_DIR, { recursive: true });
    if (scrollTo) await scrollTo.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    const file = path.join(SHOT_DIR, `swagger-ui-${name}.png`);
    await page.screenshot({ path: file, fullPage: false });
    console.log(`screenshot: ${file}`);
  }

  /** Method and path of every operation in the spec. */
  function specOperations() {
    const ops = [];
    for (const [p, item] of Object.entries(spec.paths ?? {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const tags = op.operationId ? (op.tags?.length ? op.tags : ['default']) : [];
        ops.push({ method, path: p, operationId: op.operationId, tags });
      }
    }
    return ops;
  }

  /** The opblock of one operation, found by method and exact path. */
  function opblock(method, p) {
    return page
      .locator(`.opblock.opblock-${method}`)
      .filter({ has: page.locator(`.opblock-summary-path[data-path="${p}"]`) })
      .first();
  }

  /** Expands an operation, clicks "Try it out", and returns its opblock. */
  async function openTryItOut(method, p) {
    const block = opblock(method, p);
    await block.scrollIntoViewIfNeeded();
    if (!(await block.evaluate((el) => el.classList.contains('is-open')))) {
      // Swagger UI 4+/5 has a button for the summary; older ones a clickable div.
      const control = block.locator('.opblock-summary-control');
      await ((await control.count()) ? control.first() : block.locator('.opblock-summary').first()).click();
    }
    await block.locator('.opblock-body').waitFor({ state: 'visible' });
    const tryOut = block.locator('.try-out__btn');
    if (!/cancel/i.test(await tryOut.innerText())) await tryOut.click();
    await block.locator('.execute').waitFor({ state: 'visible' });
    return block;
  }

  /** Clicks "Execute" and returns the status and body Swagger UI shows. */
  async function execute(block) {
    await block.locator('.execute').click();
    const row = block.locator('.live-responses-table tbody .response').first();
    const status = row.locator('.response-col_status');
    await status.waitFor({ state: 'visible' });
    await assertEventually(async () => /\d{3}/.test(await status.innerText()), 'a response status');
    // The "Response body" block (the headers block has no .highlight-code).
    const body = row.locator('.response-col_description .highlight-code pre').first();
    await body.waitFor({ state: 'visible' });
    const requestUrl = block.locator('.request-url pre');
    return {
      status: (await status.innerText()).trim(),
      body: await body.innerText(),
      requestUrl: (await requestUrl.count()) ? (await requestUrl.first().innerText()).trim() : '',
    };
  }

  async function assertEventually(cond, what) {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('renders and lists every operation of /openapi.json', async () => {
    await step('render', async () => {
      const res = await page.goto(`${BASE_URL}/docs`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200, `GET /docs answered ${res?.status()}`);
      await page.locator('.swagger-ui .information-container .title').waitFor({ state: 'visible' });
      await page.locator('.swagger-ui .opblock').first().waitFor({ state: 'visible' });
      // Open any collapsed tag section so that all opblocks are in the DOM.
      for (const section of await page.locator('.opblock-tag-section:not(.is-open) .opblock-tag').all()) {
        await section.click();
      }

      const expected = specOperations();
      assert.ok(expected.length > 0, 'the spec has no operations');
      const shown = await page.$$eval('.opblock', (blocks) =>
        blocks.map((b) => {
          const method = b.querySelector('.opblock-summary-method')?.textContent.trim().toLowerCase();
          const pathEl = b.querySelector('.opblock-summary-path');
          const p = pathEl?.getAttribute('data-path') ?? pathEl?.textContent.replace(/[\u200b\s]/g, '');
          return `${method} ${p}`;
        }),
      );
      const missing = expected
        .map((op) => `${op.method} ${op.path}`)
        .filter((key) => !shown.includes(key));
      assert.deepEqual(missing, [], `operations in the spec but not in Swagger UI: ${missing.join(', ')}`);
      for (const op of expected) {
        const block = opblock(op.method, op.path);
        assert.ok(await block.isVisible(), `${op.method.toUpperCase()} ${op.path} is not visible`);
        // Swagger UI's deep-link id, operations-<tag>-<operationId>, for each tag.
        for (const tag of op.tags) {
          const id = `operations-${tag}-${op.operationId}`.replace(/\s/g, '_');
          const count = await page.locator(`[id="${id}"]`).count();
          assert.ok(count > 0, `no opblock #${id} for ${op.method.toUpperCase()} ${op.path}`);
        }
      }
      console.log(`${expected.length} operations listed`);
    });
  });

  test('authorizes with TASKMAN_API_TOKEN', { skip: TOKEN ? false : 'no TASKMAN_API_TOKEN' }, async () => {
    await step('authorize', async () => {
      const open = page.locator('.auth-wrapper .btn.authorize').first();
      await open.waitFor({ state: 'visible' });
      await open.click();
      const modal = page.locator('.dialog-ux .modal-ux');
      await modal.waitFor({ state: 'visible' });
      // Prefer the bearer scheme's field; else the first field of the dialog.
      const bearer = modal.locator('input[aria-label="auth-bearer-value"]');
      const field = (await bearer.count())
        ? bearer.first()
        : modal.locator('.auth-container input[type="text"], .auth-container input[type="password"]').first();
      await field.fill(TOKEN);
      await field
        .locator('xpath=ancestor::*[contains(concat(" ", normalize-space(@class), " "), " auth-container ")]')
        .locator('button.authorize')
        .first()
        .click();
      await modal.locator('button.btn-done, .close-modal').first().click();
      await modal.waitFor({ state: 'hidden' });
      await page.locator('.auth-wrapper .btn.authorize.locked').first().waitFor({ state: 'visible' });
    });
  });

  test('POST /v1/tasks: Try it out, Execute, shows 201 and the task', async () => {
    await step('post-tasks', async () => {
      const block = await openTryItOut('post', '/v1/tasks');
      const textarea = block.locator('.opblock-section-request-body textarea, .body-param textarea').first();
      await textarea.waitFor({ state: 'visible' });
      const task = { title: `Swagger UI ${MARKER}`, description: 'created by e2e/swagger-ui.test.mjs' };
      await textarea.fill(JSON.stringify(task, null, 2));
      const shown = await execute(block);
      await checkpoint('after-post', block.locator('.request-url').first());
      assert.match(shown.status, /^201\b/, `status shown: ${shown.status}; body: ${shown.body}`);
      assert.ok(shown.body.includes(MARKER), `response body shown lacks the marker: ${shown.body}`);
      created = JSON.parse(shown.body);
      // Under a prefix (behind nginx) too: Swagger UI follows the spec's server.
      if (shown.requestUrl) assert.ok(shown.requestUrl.startsWith(`${BASE_URL}/v1/tasks`), shown.requestUrl);
    });
  });

  test('GET /v1/tasks: Try it out, Execute, shows 200 and the new task', async () => {
    await step('get-tasks', async () => {
      const block = await openTryItOut('get', '/v1/tasks');
      const shown = await execute(block);
      await checkpoint('after-get', block.locator('.request-url').first());
      assert.match(shown.status, /^200\b/, `status shown: ${shown.status}; body: ${shown.body}`);
      assert.ok(
        shown.body.includes(MARKER),
        `response body shown (request ${shown.requestUrl}) lacks the marker: ${shown.body}`,
      );
    });
  });

  test('lists the operation that can delete every task last under Tasks', async () => {
    await step('delete-all-last', async () => {
      const ids = await page.$$eval('.opblock-tag-section', (sections) =>
        sections
          .filter((s) => s.querySelector('.opblock-tag')?.getAttribute('data-tag') === 'Tasks')
          .flatMap((s) => [...s.querySelectorAll('.opblock')].map((b) => b.id)),
      );
      assert.ok(ids.length > 1, `no Tasks operations found: ${ids}`);
      assert.equal(ids.at(-1), 'operations-Tasks-delete_tasks', `order shown: ${ids.join(', ')}`);
    });
  });

  test('PATCH /v1/tasks/{id}: the prefilled example changes only what it names', async () => {
    await step('patch-example', async () => {
      assert.ok(created, 'the POST test made no task');
      const block = await openTryItOut('patch', '/v1/tasks/{id}');
      await block.locator('.parameters input[placeholder="id"], tr[data-param-name="id"] input').first().fill(String(created.id));
      const textarea = block.locator('.opblock-section-request-body textarea, .body-param textarea').first();
      const example = JSON.parse(await textarea.inputValue());
      const shown = await execute(block);
      assert.match(shown.status, /^200\b/, `status shown: ${shown.status}; body: ${shown.body}`);
      const after = JSON.parse(shown.body);
      // Times compare as instants (the example has an offset, answers are UTC).
      const same = (a, b) => a === b || (a !== null && b !== null && Date.parse(a) === Date.parse(b));
      for (const field of ['title', 'description', 'expiry_dt']) {
        const expected = field in example ? example[field] : created[field];
        assert.ok(same(after[field], expected),
          `${field} after the example ${JSON.stringify(example)}: ${shown.body}`);
      }
      assert.equal(after.description, created.description, 'the example cleared the description');
    });
  });

  test('DELETE /v1/tasks: Execute with nothing filled in deletes nothing', async () => {
    await step('delete-empty', async () => {
      const headers = TOKEN ? { authorization: `Bearer ${TOKEN}` } : {};
      const count = async () =>
        (await (await fetch(`${BASE_URL}/v1/tasks?count=true`, { headers })).json()).total;
      const before = await count();
      assert.ok(before > 0, 'no task to keep');
      const block = await openTryItOut('delete', '/v1/tasks');
      const shown = await execute(block);
      assert.match(shown.status, /^400\b/, `status shown: ${shown.status}; body: ${shown.body}`);
      assert.equal(await count(), before, 'tasks were deleted');
    });
  });

  test('loaded nothing from any host but the server', () => {
    assert.deepEqual(foreignRequests, [], `requests to other hosts:\n${foreignRequests.join('\n')}`);
  });
});
