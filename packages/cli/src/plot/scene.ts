/**
 * A chart as a list of drawing primitives in pixel coordinates (origin top left): the one description of a chart
 * that every output draws. The CLI writes it as SVG (svg.ts) and rasterises it to PNG (raster.ts); the web demo
 * draws it on a canvas (packages/web-demo/src/canvasScene.ts). This module and chart.ts (the layout) import no
 * Node or DOM API: the demo's browser bundle includes them, and its Node-import guard would refuse anything else.
 */
export type Color = string; // #rrggbb

export type TextPrimitive = {
  readonly kind: 'text';
  readonly x: number;
  readonly y: number;
  readonly text: string;
  /** Pixel scale of the 5×7 bitmap font (the SVG and the canvas use a matching font size, {@link fontSize}). */
  readonly scale: number;
  readonly anchor: 'start' | 'middle' | 'end';
  /** Vertical placement of the cap height relative to y. */
  readonly baseline: 'top' | 'middle' | 'bottom';
  readonly color: Color;
  readonly rotate?: -90;
  readonly bold?: boolean;
};

export type Primitive =
  | { readonly kind: 'rect'; readonly x: number; readonly y: number; readonly w: number; readonly h: number; readonly fill?: Color; readonly stroke?: Color; readonly strokeWidth?: number }
  /** A polyline with round joins and caps; one whose points all coincide is a dot of diameter `width`. */
  | { readonly kind: 'line'; readonly points: readonly (readonly [number, number])[]; readonly color: Color; readonly width: number; readonly dash?: readonly number[] }
  | TextPrimitive;

export interface Scene {
  readonly width: number;
  readonly height: number;
  readonly background: Color;
  readonly items: Primitive[];
}

/** Horizontal advance of one character of the bitmap font at scale 1 (5 pixels + 1 of spacing). */
export const CHAR_ADVANCE = 6;
/** Cap height of the bitmap font at scale 1. */
export const CAP_HEIGHT = 7;

export function textWidth(text: string, scale: number): number {
  return Math.max(0, [...text].length * CHAR_ADVANCE - 1) * scale;
}

/** `text`, cut with an ellipsis where it would be wider than `width` (by {@link textWidth}). */
export function fitText(text: string, width: number, scale: number): string {
  if (textWidth(text, scale) <= width) return text;
  const chars = [...text];
  while (chars.length > 1 && textWidth(`${chars.join('')}…`, scale) > width) chars.pop();
  return `${chars.join('')}…`;
}

/** Font size (px) of an outline font whose cap height (≈ 0.72 em) matches the bitmap font's at `scale`. */
export function fontSize(scale: number): number {
  return (CAP_HEIGHT * scale) / 0.72;
}

/** How far below `y` an outline font's alphabetic baseline lies for the text's {@link TextPrimitive.baseline}. */
export function baselineShift(item: TextPrimitive): number {
  return item.baseline === 'top' ? CAP_HEIGHT * item.scale : item.baseline === 'middle' ? (CAP_HEIGHT * item.scale) / 2 : 0;
}
