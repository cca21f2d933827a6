// Checks the page's 24 kHz resampler (capture-worklet.js) outside the browser: tones come out at the right
// frequency and amplitude from common device rates, and what lies above 12 kHz is filtered out rather than aliased.
//   node resampler.test.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.join(here, '../src/main/resources/org/mimi4j/server/web/capture-worklet.js');
const load = (rate) => {
  const posted = [];
  class AudioWorkletProcessor { constructor() { this.port = { postMessage: (m) => posted.push(m) }; } }
  const mod = new Function('AudioWorkletProcessor', 'registerProcessor', 'sampleRate',
    fs.readFileSync(file, 'utf8') + '\nreturn { SincResampler, Capture };')(AudioWorkletProcessor, () => {}, rate);
  return { ...mod, posted };
};

function run(inRate, freq, seconds = 1) {
  const { SincResampler } = load(inRate);
  const rs = new SincResampler(inRate, 24000);
  const n = Math.round(inRate * seconds), out = [];
  for (let i = 0; i < n; i += 128) {
    const block = new Float32Array(Math.min(128, n - i));
    for (let j = 0; j < block.length; j++) block[j] = 0.5 * Math.sin(2 * Math.PI * freq * (i + j) / inRate);
    rs.push(block, out);
  }
  return out;
}

let failures = 0;
const check = (ok, what) => { console.log((ok ? 'ok   ' : 'FAIL ') + what); if (!ok) failures++; };

for (const rate of [16000, 22050, 44100, 48000, 96000]) {
  const out = run(rate, 1000);
  const expectLen = 24000;
  check(Math.abs(out.length - expectLen) < 200, `${rate} Hz: ${out.length} samples out of 1 s (want about ${expectLen})`);
  let err = 0, ref = 0;
  for (let i = 2000; i < out.length - 2000; i++) {
    const want = 0.5 * Math.sin(2 * Math.PI * 1000 * i / 24000);
    err += (out[i] - want) ** 2;
    ref += want ** 2;
  }
  const snr = 10 * Math.log10(ref / err);
  check(snr > 40, `${rate} Hz: 1 kHz tone at 24 kHz, SNR ${snr.toFixed(1)} dB (want > 40)`);
  if (rate > 24000) {
    const alias = run(rate, 15000);
    let e = 0;
    for (let i = 2000; i < alias.length - 2000; i++) e += alias[i] ** 2;
    const rms = Math.sqrt(e / (alias.length - 4000));
    check(rms < 0.005, `${rate} Hz: a 15 kHz tone is filtered out (rms ${rms.toExponential(2)}, input 0.35)`);
  }
}

// the processor posts 480-sample chunks
const { Capture, posted } = load(48000);
const cap = new Capture();
for (let i = 0; i < 100; i++) cap.process([[new Float32Array(128).fill(0.1)]]);
check(posted.length > 0 && posted.every((c) => c.length === 480), `the worklet posts 480-sample chunks (${posted.length} of them)`);

if (failures) { console.error(`${failures} check(s) failed`); process.exit(1); }
console.log('resampler OK');
