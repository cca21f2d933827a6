// mimi serve page: microphone -> /v1/stream/roundtrip -> live codes picture + playback; file -> /v1/encode, /v1/decode.
const $ = (id) => document.getElementById(id);
const FRAME = 1920, RATE = 24000;

// Counters the end-to-end test reads (and anyone curious, from the console).
const stats = window.mimiStats = {
  framesReceived: 0, audioFramesReceived: 0, audioFramesPlayed: 0, columnsDrawn: 0,
  codesLatencyMs: [], audioLatencyMs: [], playedRms: 0, errors: [], closeCode: null, closeReason: null,
  file: { frames: 0, codebooks: 0, encodedBytes: 0, wavBytes: 0 },
};

let info = { codebooks: 32, codebook_size: 2048, token_required: false };
const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');

async function loadInfo() {
  try {
    info = await (await fetch('/healthz')).json();
    $('model').textContent = `model ${info.model} · ${info.codebooks} codebooks of ${info.codebook_size} · ${info.frame_rate} Hz frames · `
      + `${info.active_streams}/${info.max_streams} streams in use`;
    $('nq').max = info.codebooks;
    $('nq').value = Math.min(8, info.codebooks);
    if (info.token_required) $('token-row').hidden = false;
  } catch (e) {
    $('model').textContent = 'server unreachable: ' + e;
  }
  if (hashToken) $('token').value = hashToken;
}

const token = () => $('token').value.trim();
const authHeaders = () => (token() ? { Authorization: 'Bearer ' + token() } : {});
const median = (a) => { if (!a.length) return NaN; const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const hue = (code) => (code * 360 / info.codebook_size) % 360;

function setStatus(el, text, error = false) {
  el.textContent = text;
  el.classList.toggle('error', error);
}

// ---------------------------------------------------------------- live codes picture (codebooks x time, scrolling)
class CodesPicture {
  constructor(canvas, k) {
    this.c = canvas;
    this.g = canvas.getContext('2d');
    this.k = k;
    this.col = 4;
    this.rowH = Math.max(3, Math.floor(256 / k));
    canvas.height = this.rowH * k;
    this.g.fillStyle = '#111';
    this.g.fillRect(0, 0, canvas.width, canvas.height);
  }
  add(frame) {
    const { g, c, col, rowH } = this;
    g.drawImage(c, col, 0, c.width - col, c.height, 0, 0, c.width - col, c.height); // scroll left
    const x = c.width - col;
    for (let q = 0; q < frame.length; q++) {
      g.fillStyle = `hsl(${hue(frame[q])}, 75%, ${q === 0 ? 62 : 48}%)`;
      g.fillRect(x, q * rowH, col, rowH - (rowH > 4 ? 1 : 0));
    }
    stats.columnsDrawn++;
  }
}

// ---------------------------------------------------------------- microphone -> roundtrip stream
let live = null;

async function start() {
  if (info.token_required && !token()) {
    setStatus($('status'), 'this server needs its token: type it above (or open the page as /#token=...)', true);
    return;
  }
  $('start').disabled = true;
  const k = Math.max(1, Math.min(info.codebooks, parseInt($('nq').value, 10) || 8));
  try {
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const ctx = new AudioContext({ latencyHint: 'interactive' });
    await ctx.audioWorklet.addModule('capture-worklet.js');
    const src = ctx.createMediaStreamSource(media);
    const node = new AudioWorkletNode(ctx, 'mimi-capture', { numberOfInputs: 1, numberOfOutputs: 0 });
    src.connect(node);
    const url = new URL('/v1/stream/roundtrip', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (token()) url.searchParams.set('token', token());
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    live = { ctx, media, node, ws, k, picture: new CodesPicture($('codes'), k), sent: 0, frameSentAt: [], codesIn: 0, audioIn: 0,
             playAt: 0, ready: false };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'start', format: 'f32le', num_quantizers: k }));
    ws.onmessage = (ev) => onMessage(live, ev);
    ws.onclose = (ev) => {
      stats.closeCode = ev.code;
      stats.closeReason = ev.reason;
      if (live && live.ws === ws) {
        const why = ev.code === 1006 && !live.ready ? 'connection refused (wrong token, or another origin?)' : `closed by the server: ${ev.code} ${ev.reason}`;
        setStatus($('status'), ev.code === 1000 ? 'stopped' : why, ev.code !== 1000);
        teardown();
      }
    };
    ws.onerror = () => stats.errors.push('websocket error');
    node.port.onmessage = (ev) => {
      if (!live || !live.ready || ws.readyState !== WebSocket.OPEN) return;
      const chunk = ev.data; // Float32Array, 24 kHz
      ws.send(chunk.buffer);
      const before = Math.floor(live.sent / FRAME);
      live.sent += chunk.length;
      const now = performance.now();
      for (let f = before; f < Math.floor(live.sent / FRAME); f++) live.frameSentAt[f] = now;
    };
    $('stop').disabled = false;
    setStatus($('status'), `capturing at ${ctx.sampleRate} Hz → 24 kHz`);
  } catch (e) {
    setStatus($('status'), 'cannot start: ' + e.message, true);
    stats.errors.push(String(e));
    teardown();
  }
}

function onMessage(s, ev) {
  if (typeof ev.data === 'string') {
    const m = JSON.parse(ev.data);
    if (m.type === 'ready') s.ready = true;
    return;
  }
  const now = performance.now();
  const buf = ev.data;
  if (buf.byteLength === 2 * s.k) { // one code frame: K x uint16 LE
    const v = new DataView(buf);
    const frame = Array.from({ length: s.k }, (_, q) => v.getUint16(2 * q, true));
    const n = s.codesIn++;
    stats.framesReceived++;
    if (s.frameSentAt[n] !== undefined) push(stats.codesLatencyMs, now - s.frameSentAt[n]);
    s.picture.add(frame);
    $('frames').textContent = stats.framesReceived;
    $('lat-codes').textContent = `${median(stats.codesLatencyMs).toFixed(0)} ms`;
  } else { // 1920 float32 samples of decoded audio
    const pcm = new Float32Array(buf);
    const n = s.audioIn++;
    stats.audioFramesReceived++;
    if (s.frameSentAt[n] !== undefined) push(stats.audioLatencyMs, now - s.frameSentAt[n]);
    delete s.frameSentAt[n];
    $('lat-audio').textContent = `${median(stats.audioLatencyMs).toFixed(0)} ms`;
    if ($('play').checked) play(s, pcm);
  }
}

function push(a, v) {
  a.push(v);
  if (a.length > 50) a.shift();
}

function play(s, pcm) {
  const { ctx } = s;
  const b = ctx.createBuffer(1, pcm.length, RATE);
  b.copyToChannel(pcm, 0);
  const node = ctx.createBufferSource();
  node.buffer = b;
  node.connect(ctx.destination);
  const t = Math.max(s.playAt, ctx.currentTime + 0.04);
  node.start(t);
  s.playAt = t + pcm.length / RATE;
  let e = 0;
  for (const v of pcm) e += v * v;
  node.onended = () => {
    stats.audioFramesPlayed++;
    stats.playedRms = Math.sqrt(e / pcm.length);
    $('played').textContent = `${stats.audioFramesPlayed} frames`;
  };
}

function stop() {
  if (!live) return;
  const { ws } = live;
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'end' })); // the server flushes, then closes (1000)
  live.media.getTracks().forEach((t) => t.stop());
  live.node.port.onmessage = null;
  $('stop').disabled = true;
  setStatus($('status'), 'finishing…');
}

function teardown() {
  if (!live) { $('start').disabled = false; return; }
  const s = live;
  live = null;
  s.media && s.media.getTracks().forEach((t) => t.stop());
  setTimeout(() => s.ctx && s.ctx.close(), 1500); // let the last frames play
  $('start').disabled = false;
  $('stop').disabled = true;
}

// ---------------------------------------------------------------- file: encode, download, draw, decode, play
function parseCodes(buf) { // safetensors with audio_codes int64 [1, K, T]
  const v = new DataView(buf);
  const n = Number(v.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
  const t = header.audio_codes;
  const [, k, frames] = t.shape;
  const base = 8 + n + t.data_offsets[0];
  const codes = [];
  for (let q = 0; q < k; q++) {
    const row = new Int32Array(frames);
    for (let i = 0; i < frames; i++) row[i] = Number(v.getBigInt64(base + 8 * (q * frames + i), true));
    codes.push(row);
  }
  return { k, frames, codes, meta: header.__metadata__ || {} };
}

function drawFile(c) {
  const canvas = $('file-codes');
  canvas.hidden = false;
  const rowH = Math.max(2, Math.floor(128 / c.k));
  canvas.height = rowH * c.k;
  canvas.width = Math.max(1, Math.min(4096, c.frames * 2));
  const g = canvas.getContext('2d');
  const col = canvas.width / c.frames;
  for (let q = 0; q < c.k; q++) {
    for (let t = 0; t < c.frames; t++) {
      g.fillStyle = `hsl(${hue(c.codes[q][t])}, 75%, ${q === 0 ? 62 : 48}%)`;
      g.fillRect(Math.floor(t * col), q * rowH, Math.ceil(col), rowH);
    }
  }
}

async function encodeFile(file) {
  const st = $('file-status');
  const k = Math.max(1, Math.min(info.codebooks, parseInt($('nq').value, 10) || 8));
  setStatus(st, `encoding ${file.name} (${(file.size / 1024).toFixed(0)} KiB)…`);
  $('file-links').replaceChildren();
  try {
    const r = await fetch(`/v1/encode?num_quantizers=${k}`, { method: 'POST', body: file, headers: authHeaders() });
    if (!r.ok) throw new Error(`${r.status}: ${(await r.json().catch(() => ({}))).error || r.statusText}`);
    const codesBlob = await r.blob();
    const buf = await codesBlob.arrayBuffer();
    const c = parseCodes(buf);
    Object.assign(stats.file, { frames: c.frames, codebooks: c.k, encodedBytes: buf.byteLength });
    drawFile(c);
    const base = file.name.replace(/\.[^.]*$/, '');
    link(URL.createObjectURL(codesBlob), `${base}.safetensors`, `codes (${c.k} × ${c.frames}, .safetensors)`);
    setStatus(st, `${c.frames} frames × ${c.k} codebooks (${(c.frames / 12.5).toFixed(2)} s); decoding…`);
    const d = await fetch('/v1/decode', { method: 'POST', body: codesBlob, headers: authHeaders() });
    if (!d.ok) throw new Error(`decode ${d.status}: ${(await d.json().catch(() => ({}))).error || d.statusText}`);
    const wav = await d.blob();
    stats.file.wavBytes = wav.size;
    const url = URL.createObjectURL(wav);
    link(url, `${base}.mimi.wav`, 'decoded audio (.wav)');
    const audio = $('file-audio');
    audio.src = url;
    audio.hidden = false;
    setStatus(st, `${c.frames} frames × ${c.k} codebooks (${(c.frames / 12.5).toFixed(2)} s) · decoded`);
  } catch (e) {
    stats.errors.push(String(e));
    setStatus(st, 'failed: ' + e.message, true);
  }
}

function link(href, name, text) {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.textContent = text;
  $('file-links').append(a);
}

function setupDrop() {
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) encodeFile(e.dataTransfer.files[0]);
  });
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('file-input').click(); } });
  $('file-input').addEventListener('change', (e) => { if (e.target.files.length) encodeFile(e.target.files[0]); });
}

$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
setupDrop();
loadInfo();
