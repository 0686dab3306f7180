// `fromUrl(url, { cache: true })`: the model is kept in the Cache API across page loads, so a
// second load downloads nothing (counted in the test server) and reports no progress; a
// corrupt cached copy is caught by the model file's checksum, deleted and downloaded again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, openPage, fixtureModel, openHarness } from "../lib/harness.mjs";

let server, browser;

before(async () => {
  server = await serve({ extra: { "/files/model.vidt": fixtureModel("cache", { dtype: "f16" }) } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const downloads = () => server.requests.filter((p) => p === "/files/model.vidt").length;

/** Loads the model in a new page of `context` (CPU: the cache is the same on every backend)
 *  and detects once; returns the progress calls and the detections. */
async function load(context, options) {
  const page = await openHarness(context, server);
  try {
    return await page.evaluate(async (options) => {
      const progress = [];
      const det = await vidt.Detector.fromUrl("/files/model.vidt", {
        backend: "cpu",
        onProgress: (loaded, total) => progress.push([loaded, total]),
        ...options,
      });
      const dets = await det.detect({ data: new Uint8Array(64 * 48 * 4).fill(128), width: 64, height: 48 },
        { threshold: 0, topK: 5, inputSize: 64 });
      det.dispose();
      const cache = await caches.open(options.cache === true ? "vidt-models" : options.cache);
      const keys = (await cache.keys()).map((r) => new URL(r.url).pathname);
      return { progress: progress.length, dets, keys };
    }, options);
  } finally {
    await page.close();
  }
}

test("cache: the second page load downloads nothing; a corrupt entry is fetched again", async () => {
  const context = await browser.newContext();
  try {
    const first = await load(context, { cache: true });
    assert.equal(downloads(), 1, "the first load downloads the model");
    assert.ok(first.progress > 0, "and reports progress");
    assert.deepEqual(first.keys, ["/files/model.vidt"], "and keeps it in the cache vidt-models");

    const second = await load(context, { cache: true });
    assert.equal(downloads(), 1, "the second page load makes no request for the model");
    assert.equal(second.progress, 0, "nor reports download progress");
    assert.deepEqual(second.dets, first.dets, "same model, same detections");

    // One byte of the cached payload flipped: the checksum refuses it, and it is replaced.
    const page = await openPage(context, `${server.origin}/web/harness.html`);
    await page.evaluate(async () => {
      const cache = await caches.open("vidt-models");
      const bytes = new Uint8Array(await (await cache.match("/files/model.vidt")).arrayBuffer());
      bytes[bytes.length - 100] ^= 0xff;
      await cache.put("/files/model.vidt", new Response(bytes));
    });
    await page.close();
    const third = await load(context, { cache: true });
    assert.equal(downloads(), 2, "a corrupt cached copy is downloaded again");
    assert.ok(third.progress > 0);
    assert.deepEqual(third.dets, first.dets);
    const fourth = await load(context, { cache: true });
    assert.equal(downloads(), 2, "and the fresh copy replaced it in the cache");
    assert.deepEqual(fourth.dets, first.dets);

    // A named cache is its own; without the option nothing is cached or read.
    await load(context, { cache: "my-models" });
    assert.equal(downloads(), 3);
    await load(context, { cache: false });
    assert.equal(downloads(), 4, "cache: false downloads");
    console.log(`cache: ${downloads()} downloads for 6 page loads (${server.requests.length} requests in all)`);
  } finally {
    await context.close();
  }
});

test("cache: a bad cache option is refused before downloading", async () => {
  const page = await openHarness(browser, server);
  try {
    const before = downloads();
    const msgs = await page.evaluate(async () => {
      const out = [];
      for (const [fn, arg] of [["fromUrl", "/files/model.vidt"], ["fromBytes", new Uint8Array(4)]]) {
        for (const cache of [3, ""]) {
          try {
            await vidt.Detector[fn](arg, { cache: fn === "fromUrl" ? cache : true });
            out.push(null);
          } catch (e) {
            out.push(`${e.constructor.name}: ${e.message}`);
          }
        }
      }
      return out;
    });
    assert.match(msgs[0], /^Error: bad load options: cache must be true, false or a cache name/);
    assert.match(msgs[1], /^Error: bad load options: cache must be/);
    assert.match(msgs[2], /^Error: the cache option is for fromUrl/);
    assert.equal(downloads(), before, "nothing downloaded");
  } finally {
    await page.close();
  }
});
