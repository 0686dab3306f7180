// `fromUrl(url, { cache: true })`: the model is kept in the Cache API across page loads, so a
// second load downloads nothing (counted in the test server: it answers the revalidation with
// a 304) and reports no progress; a corrupt cached copy is caught by the model file's checksum,
// deleted and downloaded again; a model replaced on the server is downloaded again; offline,
// the cached copy is used.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { serve, launch, openPage, fixtureModel, openHarness, scratch } from "../lib/harness.mjs";

let server, browser;
// Two different models, and the file the server serves at /files/changing.vidt.
const modelA = fixtureModel("cache", { dtype: "f16" });
const modelB = fixtureModel("cache-b", { dtype: "f16", decLayers: 3 });
const changing = path.join(scratch("cache-changing"), "served.vidt");

before(async () => {
  fs.copyFileSync(modelA, changing);
  server = await serve({
    extra: { "/files/model.vidt": modelA, "/files/b.vidt": modelB, "/files/changing.vidt": changing },
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const downloads = (p = "/files/model.vidt") => server.bodies.filter((b) => b === p).length;

/** Loads the model in a new page of `context` (CPU: the cache is the same on every backend)
 *  and detects once; returns the progress calls and the detections. */
async function load(context, options, { url = "/files/model.vidt", offline = false } = {}) {
  const page = await openHarness(context, server);
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  if (offline) await context.setOffline(true);
  try {
    return await page.evaluate(async ([url, options]) => {
      const progress = [];
      const det = await vidt.Detector.fromUrl(url, {
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
    }, [url, options]).then((r) => ({ ...r, warnings }));
  } finally {
    if (offline) await context.setOffline(false);
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

test("cache: a model replaced on the server is downloaded again; offline, the cached one is used", async () => {
  const context = await browser.newContext();
  const url = "/files/changing.vidt";
  try {
    const a = await load(context, { cache: true }, { url });
    const b = await load(context, {}, { url: "/files/b.vidt" });
    assert.notDeepEqual(a.dets, b.dets, "the two models detect differently");
    assert.equal(downloads(url), 1);
    const again = await load(context, { cache: true }, { url });
    assert.equal(downloads(url), 1, "unchanged on the server: not downloaded again (a 304)");
    assert.deepEqual(again.dets, a.dets);

    // The server's file replaced (a new ETag and length): the next page load takes the new one.
    fs.copyFileSync(modelB, changing);
    const changed = await load(context, { cache: true }, { url });
    assert.equal(downloads(url), 2, "changed on the server: downloaded again");
    assert.ok(changed.progress > 0);
    assert.deepEqual(changed.dets, b.dets, "and the new model detects");
    const kept = await load(context, { cache: true }, { url });
    assert.equal(downloads(url), 2, "the new copy replaced the old in the cache");
    assert.deepEqual(kept.dets, b.dets);

    // Offline (the server unreachable): the cached copy, with a warning saying why.
    const offline = await load(context, { cache: true }, { url, offline: true });
    assert.deepEqual(offline.dets, b.dets, "offline: the cached model");
    assert.ok(offline.warnings.some((w) => w.includes("using the cached copy")), offline.warnings.join("\n"));
    assert.equal(downloads(url), 2);
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
