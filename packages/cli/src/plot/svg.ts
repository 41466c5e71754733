import { type Scene, baselineShift, fontSize } from './scene.ts';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r = (v: number) => Math.round(v * 100) / 100;

/** The scene as a standalone SVG document. */
export function renderSvg(scene: Scene, title: string): string {
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`);
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${scene.width}" height="${scene.height}" fill="${scene.background}"/>`);
  for (const item of scene.items) {
    switch (item.kind) {
      case 'rect':
        out.push(`<rect x="${r(item.x)}" y="${r(item.y)}" width="${r(item.w)}" height="${r(item.h)}" fill="${item.fill ?? 'none'}"${item.stroke ? ` stroke="${item.stroke}" stroke-width="${item.strokeWidth ?? 1}"` : ''}/>`);
        break;
      case 'line': {
        if (item.points.length < 2) break;
        const points = item.points.map(([x, y]) => `${r(x)},${r(y)}`).join(' ');
        const dash = item.dash ? ` stroke-dasharray="${item.dash.join(' ')}"` : '';
        out.push(`<polyline points="${points}" fill="none" stroke="${item.color}" stroke-width="${item.width}" stroke-linejoin="round" stroke-linecap="round"${dash}/>`);
        break;
      }
      case 'text': {
        const size = r(fontSize(item.scale));
        const capShift = baselineShift(item);
        const anchor = item.anchor === 'start' ? 'start' : item.anchor === 'middle' ? 'middle' : 'end';
        const weight = item.bold ? ' font-weight="bold"' : '';
        if (item.rotate) {
          out.push(`<text transform="translate(${r(item.x + capShift)},${r(item.y)}) rotate(-90)" text-anchor="${anchor}" font-size="${size}" fill="${item.color}"${weight}>${escapeXml(item.text)}</text>`);
        } else {
          out.push(`<text x="${r(item.x)}" y="${r(item.y + capShift)}" text-anchor="${anchor}" font-size="${size}" fill="${item.color}"${weight}>${escapeXml(item.text)}</text>`);
        }
        break;
      }
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
