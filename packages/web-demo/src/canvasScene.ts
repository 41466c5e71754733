/**
 * Draws a chart scene (packages/cli/src/plot/scene.ts: the same primitives the CLI writes as SVG and PNG) on a 2D
 * canvas, in the canvas's CSS pixels (the caller sets the device-pixel transform).
 */
import { type Scene, baselineShift, fontSize } from '../../cli/src/plot/scene.ts';

const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", sans-serif';
const ALIGN = { start: 'left', middle: 'center', end: 'right' } as const;

export function drawScene(ctx: CanvasRenderingContext2D, scene: Scene): void {
  ctx.fillStyle = scene.background;
  ctx.fillRect(0, 0, scene.width, scene.height);
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  for (const item of scene.items) {
    switch (item.kind) {
      case 'rect':
        if (item.fill) {
          ctx.fillStyle = item.fill;
          ctx.fillRect(item.x, item.y, item.w, item.h);
        }
        if (item.stroke) {
          ctx.strokeStyle = item.stroke;
          ctx.lineWidth = item.strokeWidth ?? 1;
          ctx.setLineDash([]);
          ctx.strokeRect(item.x, item.y, item.w, item.h);
        }
        break;
      case 'line': {
        const [first, ...rest] = item.points;
        if (!first || rest.length === 0) break;
        if (rest.every(([x, y]) => x === first[0] && y === first[1])) {
          // A dot (a zero-length line with round caps, which canvases do not all draw).
          ctx.fillStyle = item.color;
          ctx.beginPath();
          ctx.arc(first[0], first[1], item.width / 2, 0, 2 * Math.PI);
          ctx.fill();
          break;
        }
        ctx.strokeStyle = item.color;
        ctx.lineWidth = item.width;
        ctx.setLineDash(item.dash ? [...item.dash] : []);
        ctx.beginPath();
        ctx.moveTo(first[0], first[1]);
        for (const [x, y] of rest) ctx.lineTo(x, y);
        ctx.stroke();
        break;
      }
      case 'text': {
        ctx.font = `${item.bold ? '600 ' : ''}${fontSize(item.scale).toFixed(2)}px ${FONT_FAMILY}`;
        ctx.fillStyle = item.color;
        ctx.textAlign = ALIGN[item.anchor];
        ctx.textBaseline = 'alphabetic';
        const shift = baselineShift(item);
        if (item.rotate) {
          ctx.save();
          ctx.translate(item.x + shift, item.y);
          ctx.rotate((item.rotate * Math.PI) / 180);
          ctx.fillText(item.text, 0, 0);
          ctx.restore();
        } else {
          ctx.fillText(item.text, item.x, item.y + shift);
        }
        break;
      }
    }
  }
  ctx.setLineDash([]);
}
