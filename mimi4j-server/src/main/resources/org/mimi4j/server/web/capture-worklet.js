// AudioWorklet: the microphone (first channel) resampled to 24 kHz with a windowed-sinc interpolator,
// posted to the page in chunks of 480 samples (20 ms).
const OUT_RATE = 24000;
const CHUNK = 480;

class SincResampler {
  constructor(inRate, outRate, zeroCrossings = 16) {
    this.step = inRate / outRate;                         // input samples per output sample
    this.fc = Math.min(1, outRate / inRate) * 0.92;       // cutoff (fraction of the input Nyquist), below the output Nyquist
    this.radius = Math.ceil(zeroCrossings / this.fc);     // kernel half-width in input samples
    this.buf = new Float32Array(4096);
    this.len = this.radius;                               // zeros of history before the first sample
    this.pos = this.radius;                               // input position of the next output sample
  }
  kernel(d) {
    const r = this.radius;
    if (d <= -r || d >= r) return 0;
    const x = this.fc * d;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const w = 0.42 + 0.5 * Math.cos(Math.PI * d / r) + 0.08 * Math.cos(2 * Math.PI * d / r); // Blackman
    return this.fc * sinc * w;
  }
  push(input, out) {
    if (this.len + input.length > this.buf.length) {
      const b = new Float32Array(Math.max(this.buf.length * 2, this.len + input.length));
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
    }
    this.buf.set(input, this.len);
    this.len += input.length;
    const r = this.radius;
    while (this.pos + r < this.len) {
      const c = Math.floor(this.pos);
      let acc = 0;
      for (let i = c - r + 1; i <= c + r; i++) acc += this.buf[i] * this.kernel(this.pos - i);
      out.push(acc);
      this.pos += this.step;
    }
    const drop = Math.floor(this.pos) - r;               // keep r samples of history
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.pos -= drop;
    }
  }
}

class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.rs = sampleRate === OUT_RATE ? null : new SincResampler(sampleRate, OUT_RATE);
    this.pending = [];
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) {
      if (this.rs) this.rs.push(ch, this.pending); else for (const v of ch) this.pending.push(v);
      while (this.pending.length >= CHUNK) {
        const chunk = Float32Array.from(this.pending.splice(0, CHUNK));
        this.port.postMessage(chunk, [chunk.buffer]);
      }
    }
    return true;
  }
}
registerProcessor('mimi-capture', Capture);
