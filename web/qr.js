// A small QR code encoder (ISO/IEC 18004): byte mode, error correction level M (level L when
// the text does not fit at M), versions 1–40, automatic mask choice. Written for this page
// so it needs no third-party code; tests/browser/qr.test.mjs decodes its output.

// Error correction codewords per block and number of blocks, versions 1–40, for levels
// L and M (from the standard's block table).
const EC_PER_BLOCK = {
  L: [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
    28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  M: [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
    26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
};
const BLOCKS = {
  L: [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
    8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
  M: [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
    17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
};
// The two format-information bits naming the level.
const LEVEL_BITS = { L: 1, M: 0 };

// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
for (let i = 0, v = 1; i < 255; i++) {
  EXP[i] = EXP[i + 255] = v;
  LOG[v] = i;
  v <<= 1;
  if (v & 0x100) v ^= 0x11d;
}
const mul = (a, b) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);

/** Reed–Solomon: the `n` check codewords of `data` (generator roots α^0 … α^(n-1)). */
function reedSolomon(data, n) {
  // Generator polynomial, highest coefficient (always 1) left out.
  let gen = [1];
  for (let i = 0; i < n; i++) {
    const next = new Array(gen.length + 1).fill(0);
    gen.forEach((g, j) => {
      next[j] ^= g;
      next[j + 1] ^= mul(g, EXP[i]);
    });
    gen = next;
  }
  gen = gen.slice(1);
  const rem = new Array(n).fill(0);
  for (const byte of data) {
    const factor = byte ^ rem.shift();
    rem.push(0);
    gen.forEach((g, j) => { rem[j] ^= mul(g, factor); });
  }
  return rem;
}

/** A square grid of modules, with a parallel grid marking function patterns. */
class Grid {
  constructor(version) {
    this.version = version;
    this.size = 17 + 4 * version;
    this.dark = new Uint8Array(this.size * this.size);
    this.fixed = new Uint8Array(this.size * this.size);
  }

  set(row, col, dark) {
    const i = row * this.size + col;
    this.dark[i] = dark ? 1 : 0;
    this.fixed[i] = 1;
  }

  /** Finder, separator, timing and alignment patterns, and reserved format/version areas. */
  drawFunctionPatterns() {
    const n = this.size;
    for (let i = 0; i < n; i++) {
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    for (const [r, c] of [[3, 3], [3, n - 4], [n - 4, 3]]) {
      for (let dr = -4; dr <= 4; dr++) {
        for (let dc = -4; dc <= 4; dc++) {
          const row = r + dr;
          const col = c + dc;
          if (row < 0 || col < 0 || row >= n || col >= n) continue;
          const ring = Math.max(Math.abs(dr), Math.abs(dc));
          this.set(row, col, ring !== 2 && ring !== 4);
        }
      }
    }
    const centres = alignmentCentres(this.version);
    for (const r of centres) {
      for (const c of centres) {
        // Skip the three that would overlap finder patterns.
        if ((r === 6 && c === 6) || (r === 6 && c === n - 7) || (r === n - 7 && c === 6)) continue;
        for (let dr = -2; dr <= 2; dr++) {
          for (let dc = -2; dc <= 2; dc++) {
            this.set(r + dr, c + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
          }
        }
      }
    }
    this.drawFormat(0); // reserves the areas; the real bits come after masking
    this.drawVersion();
  }

  /** The 15 format bits (level and mask, BCH-protected), twice, and the dark module. */
  drawFormat(bits) {
    const n = this.size;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    // Around the top-left finder: bits 0–7 down column 8, bits 8–14 along row 8.
    for (let i = 0; i <= 5; i++) this.set(i, 8, bit(i));
    this.set(7, 8, bit(6));
    this.set(8, 8, bit(7));
    this.set(8, 7, bit(8));
    for (let i = 9; i < 15; i++) this.set(8, 14 - i, bit(i));
    // Split between the other two finders.
    for (let i = 0; i < 8; i++) this.set(8, n - 1 - i, bit(i));
    for (let i = 8; i < 15; i++) this.set(n - 15 + i, 8, bit(i));
    this.set(n - 8, 8, true);
  }

  /** Versions 7 and up: 18 version bits (BCH-protected) in two 6×3 blocks. */
  drawVersion() {
    if (this.version < 7) return;
    let rem = this.version;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    const bits = (this.version << 12) | rem;
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = this.size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      this.set(a, b, dark);
      this.set(b, a, dark);
    }
  }

  /** Places codewords in the two-column zigzag from the bottom-right corner. */
  drawCodewords(codewords) {
    const n = this.size;
    let bit = 0;
    const total = codewords.length * 8;
    for (let right = n - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5; // the vertical timing pattern is skipped
      const upward = ((n - 1 - right) >> 1) % 2 === 0;
      for (let step = 0; step < n; step++) {
        const row = upward ? n - 1 - step : step;
        for (const col of [right, right - 1]) {
          const i = row * n + col;
          if (this.fixed[i]) continue;
          if (bit < total) {
            this.dark[i] = (codewords[bit >>> 3] >>> (7 - (bit & 7))) & 1;
            bit++;
          } // remainder bits stay light
        }
      }
    }
  }

  /** Flips every non-function module the mask selects (masks are their own inverse). */
  applyMask(mask) {
    const n = this.size;
    const rule = MASKS[mask];
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const i = r * n + c;
        if (!this.fixed[i] && rule(r, c)) this.dark[i] ^= 1;
      }
    }
  }

  /** The standard's penalty score: long runs, 2×2 blocks, finder look-alikes, imbalance. */
  penalty() {
    const n = this.size;
    const at = (r, c) => this.dark[r * n + c];
    let score = 0;
    const lines = (get) => {
      for (let a = 0; a < n; a++) {
        let run = 1;
        for (let b = 1; b <= n; b++) {
          if (b < n && get(a, b) === get(a, b - 1)) {
            run++;
          } else {
            if (run >= 5) score += run - 2;
            run = 1;
          }
        }
        // 1:1:3:1:1 dark-light pattern with four light modules on one side.
        for (let b = 0; b + 6 < n; b++) {
          if (get(a, b) && !get(a, b + 1) && get(a, b + 2) && get(a, b + 3) && get(a, b + 4)
            && !get(a, b + 5) && get(a, b + 6)) {
            const lightBefore = [1, 2, 3, 4].every((k) => b - k < 0 || !get(a, b - k));
            const lightAfter = [7, 8, 9, 10].every((k) => b + k >= n || !get(a, b + k));
            if (lightBefore || lightAfter) score += 40;
          }
        }
      }
    };
    lines((r, c) => at(r, c));
    lines((c, r) => at(r, c));
    let dark = 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        dark += at(r, c);
        if (r + 1 < n && c + 1 < n) {
          const v = at(r, c);
          if (v === at(r + 1, c) && v === at(r, c + 1) && v === at(r + 1, c + 1)) score += 3;
        }
      }
    }
    score += 10 * Math.floor(Math.abs((dark * 100) / (n * n) - 50) / 5);
    return score;
  }
}

const MASKS = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (r, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

/** Row/column centres of the alignment patterns: evenly spaced (even steps) from the end. */
function alignmentCentres(version) {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const last = 4 * version + 10;
  const step = version === 32 ? 26 : Math.ceil((last - 6) / (count - 1) / 2) * 2;
  const centres = [6];
  for (let k = count - 2; k >= 0; k--) centres.push(last - k * step);
  return centres;
}

/** Codewords the version holds (data + error correction), counted from its free modules. */
const capacityCache = new Map();
function totalCodewords(version) {
  if (!capacityCache.has(version)) {
    const g = new Grid(version);
    g.drawFunctionPatterns();
    const free = g.fixed.reduce((sum, f) => sum + (f ? 0 : 1), 0);
    capacityCache.set(version, Math.floor(free / 8));
  }
  return capacityCache.get(version);
}

function dataCodewords(version, level) {
  return totalCodewords(version) - EC_PER_BLOCK[level][version - 1] * BLOCKS[level][version - 1];
}

/** Mode, count, bytes, terminator and padding, as codewords. */
function dataStream(bytes, version, level) {
  const bits = [];
  const put = (value, length) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  const capacity = dataCodewords(version, level) * 8;
  put(0b0100, 4);
  put(bytes.length, version < 10 ? 8 : 16);
  bytes.forEach((b) => put(b, 8));
  put(0, Math.min(4, capacity - bits.length));
  put(0, (8 - (bits.length % 8)) % 8);
  for (let pad = 0xec; bits.length < capacity; pad ^= 0xec ^ 0x11) put(pad, 8);
  const out = [];
  for (let i = 0; i < bits.length; i += 8) {
    out.push(bits.slice(i, i + 8).reduce((acc, b) => (acc << 1) | b, 0));
  }
  return out;
}

/** Splits into blocks, adds error correction, interleaves. */
function withErrorCorrection(data, version, level) {
  const blocks = BLOCKS[level][version - 1];
  const ecLen = EC_PER_BLOCK[level][version - 1];
  const total = totalCodewords(version);
  const shortBlocks = blocks - (total % blocks);
  const shortData = Math.floor(total / blocks) - ecLen;
  const dataBlocks = [];
  const ecBlocks = [];
  for (let b = 0, pos = 0; b < blocks; b++) {
    const len = shortData + (b < shortBlocks ? 0 : 1);
    const block = data.slice(pos, pos + len);
    pos += len;
    dataBlocks.push(block);
    ecBlocks.push(reedSolomon(block, ecLen));
  }
  const out = [];
  for (let i = 0; i <= shortData; i++) {
    for (const block of dataBlocks) if (i < block.length) out.push(block[i]);
  }
  for (let i = 0; i < ecLen; i++) {
    for (const block of ecBlocks) out.push(block[i]);
  }
  return out;
}

function formatBits(level, mask) {
  const data = (LEVEL_BITS[level] << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  return ((data << 10) | rem) ^ 0x5412;
}

/**
 * Encodes `text` (UTF-8, byte mode). Returns `{version, level, size, modules}` where
 * `modules[row * size + col]` is 1 for dark, or `null` when it does not fit in version 40.
 */
export function encodeQr(text) {
  const bytes = Array.from(new TextEncoder().encode(text));
  for (const level of ['M', 'L']) {
    for (let version = 1; version <= 40; version++) {
      const needed = 4 + (version < 10 ? 8 : 16) + 8 * bytes.length;
      if (needed > dataCodewords(version, level) * 8) continue;
      const codewords = withErrorCorrection(dataStream(bytes, version, level), version, level);
      const grid = new Grid(version);
      grid.drawFunctionPatterns();
      grid.drawCodewords(codewords);
      let best = null;
      for (let mask = 0; mask < 8; mask++) {
        grid.applyMask(mask);
        grid.drawFormat(formatBits(level, mask));
        const score = grid.penalty();
        if (best === null || score < best.score) best = { score, mask };
        grid.applyMask(mask);
      }
      grid.applyMask(best.mask);
      grid.drawFormat(formatBits(level, best.mask));
      return { version, level, size: grid.size, modules: grid.dark };
    }
  }
  return null;
}

/** An SVG element showing the QR code of `text` (4-module quiet zone), or `null`. */
export function qrSvg(text, label) {
  const qr = encodeQr(text);
  if (!qr) return null;
  const { size, modules } = qr;
  let path = '';
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size;) {
      if (!modules[r * size + c]) { c++; continue; }
      let run = 1;
      while (c + run < size && modules[r * size + c + run]) run++;
      path += `M${c + 4} ${r + 4}h${run}v1h-${run}z`;
      c += run;
    }
  }
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const full = size + 8;
  svg.setAttribute('viewBox', `0 0 ${full} ${full}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.dataset.version = String(qr.version);
  const bg = document.createElementNS(ns, 'rect');
  bg.setAttribute('width', String(full));
  bg.setAttribute('height', String(full));
  bg.setAttribute('fill', '#fff');
  const fg = document.createElementNS(ns, 'path');
  fg.setAttribute('d', path);
  fg.setAttribute('fill', '#000');
  svg.append(bg, fg);
  return svg;
}
