// End-to-end test of the mimi serve page in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core).
// The fake microphone plays a speech WAV; asserts that codes arrive and are drawn, that the reconstruction plays,
// that the round-trip latency is measured, and that a file encodes, offers its codes and plays its decode.
//
//   node page.test.mjs --url http://127.0.0.1:PORT/ --wav speech.wav --out DIR [--chromium /usr/bin/chromium] [--token T]
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const url = args.url, wav = path.resolve(args.wav), out = path.resolve(args.out || '.');
const executablePath = args.chromium || process.env.CHROMIUM || '/usr/bin/chromium';
if (!url || !args.wav) { console.error('usage: node page.test.mjs --url URL --wav FILE [--out DIR]'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });
const userDataDir = fs.mkdtempSync(path.join(out, 'profile-'));

const log = (...a) => console.log('[e2e]', ...a);
const fail = (m) => { throw new Error(m); };
let browser, page;
const problems = [];
try {
  // a fresh profile each run (--user-data-dir, which playwright takes as the persistent context's folder)
  const context = browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    viewport: { width: 1000, height: 1100 },
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required'],
  });
  await context.grantPermissions(['microphone'], { origin: new URL(url).origin });
  page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  await page.goto(url + (args.token ? `#token=${encodeURIComponent(args.token)}` : ''));
  await page.waitForFunction(() => document.getElementById('model').textContent.startsWith('model '), null, { timeout: 20000 });
  log('page loaded:', await page.textContent('#model'));

  // ---- microphone -> roundtrip stream
  await page.click('#start');
  await page.waitForFunction(() => window.mimiStats.framesReceived >= 30 && window.mimiStats.audioFramesPlayed >= 15, null,
    { timeout: 60000, polling: 250 }).catch(async () => fail('codes/audio did not arrive: ' + JSON.stringify(await page.evaluate(() => window.mimiStats))));
  const live = await page.evaluate(() => {
    const c = document.getElementById('codes');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 3 * 0x20) coloured++;
    const s = window.mimiStats;
    const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    return { coloured, pixels: c.width * c.height, frames: s.framesReceived, audioFrames: s.audioFramesReceived, played: s.audioFramesPlayed,
      columns: s.columnsDrawn, playedRms: s.playedRms, codesLatencyMs: med(s.codesLatencyMs), audioLatencyMs: med(s.audioLatencyMs),
      shownLatency: document.getElementById('lat-codes').textContent, status: document.getElementById('status').textContent };
  });
  log('live:', JSON.stringify(live));
  if (live.columns < 30) fail('too few code columns drawn: ' + live.columns);
  if (live.coloured < 30 * 4 * 2) fail('the codes picture is (nearly) empty: ' + live.coloured + ' coloured pixels');
  if (!(live.playedRms > 0)) fail('the reconstruction played silence');
  if (!(live.codesLatencyMs > 0 && live.codesLatencyMs < 5000)) fail('no sensible latency measured: ' + live.codesLatencyMs);
  if (!/\d+ ms/.test(live.shownLatency)) fail('latency not shown: ' + live.shownLatency);
  await page.screenshot({ path: path.join(out, 'page-live.png') });
  await page.click('#stop');
  await page.waitForFunction(() => window.mimiStats.closeCode !== null, null, { timeout: 20000 });
  const close = await page.evaluate(() => [window.mimiStats.closeCode, window.mimiStats.closeReason]);
  if (close[0] !== 1000) fail('stream did not end normally: ' + close);
  log('stopped, close', close);

  // ---- file: encode, codes download, decode, playback
  await page.setInputFiles('#file-input', wav);
  await page.waitForFunction(() => window.mimiStats.file.wavBytes > 0 || window.mimiStats.errors.length > 0, null, { timeout: 60000 });
  const file = await page.evaluate(() => ({
    stats: window.mimiStats.file, errors: window.mimiStats.errors, status: document.getElementById('file-status').textContent,
    links: [...document.querySelectorAll('#file-links a')].map((a) => ({ name: a.download, href: a.href.slice(0, 5) })),
    audio: !document.getElementById('file-audio').hidden && document.getElementById('file-audio').src.startsWith('blob:'),
  }));
  log('file:', JSON.stringify(file));
  if (file.errors.length) fail('file errors: ' + file.errors.join('; '));
  if (!(file.stats.frames > 10)) fail('file: no codes');
  if (!file.links.some((l) => l.name.endsWith('.safetensors'))) fail('no codes download offered');
  if (!file.audio) fail('no decoded audio to play');
  const played = await page.evaluate(async () => {
    const a = document.getElementById('file-audio');
    await a.play();
    await new Promise((r) => setTimeout(r, 1200));
    return { currentTime: a.currentTime, duration: a.duration, paused: a.paused };
  });
  log('file playback:', JSON.stringify(played));
  if (!(played.currentTime > 0.3)) fail('decoded file did not play: ' + JSON.stringify(played));
  await page.screenshot({ path: path.join(out, 'page.png'), fullPage: true });
  const serious = problems.filter((p) => !/favicon/.test(p));
  if (serious.length) fail('browser errors: ' + serious.join(' | '));
  log('OK; screenshots in', out);
  await browser.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(0);
} catch (e) {
  console.error('[e2e] FAILED:', e.message);
  if (problems.length) console.error('[e2e] browser said:', problems.join(' | '));
  if (page) await page.screenshot({ path: path.join(out, 'failure.png'), fullPage: true }).catch(() => {});
  if (browser) await browser.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}
