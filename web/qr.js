// The page's QR codes, made by lean-qr (npm, pinned in web/package-lock.json; bundled into
// pkg/app.js by `cargo xtask build`). lean-qr picks the smallest encoding per segment, so an
// activation request (upper-case letters, digits and hyphens) is encoded in alphanumeric
// mode: a smaller code than byte mode for the same text.
import { correction, generate } from 'lean-qr';
import { toSvg } from 'lean-qr/extras/svg';

/**
 * The QR code of `text` (error correction level M at least; L when M does not fit), or
 * `null` when it does not fit in a QR code at all. `size` is in modules.
 */
export function qrCode(text) {
  for (const level of [correction.M, correction.L]) {
    try {
      return generate(text, { minCorrectionLevel: level, maxCorrectionLevel: level === correction.L ? correction.L : correction.H });
    } catch {
      // Too long at this level: try the next.
    }
  }
  return null;
}

/** An SVG element showing the QR code of `text` (4-module quiet zone), or `null`. */
export function qrSvg(text, label) {
  const code = qrCode(text);
  if (!code) return null;
  const svg = toSvg(code, document, { on: '#000', off: '#fff', pad: 4 });
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  svg.dataset.size = String(code.size);
  return svg;
}
