/**
 * A chart as a list of drawing primitives in pixel coordinates (origin top left). The same scene is written as
 * SVG and rasterised to PNG, so both show exactly the same chart.
 */
export type Color = string; // #rrggbb

export type Primitive =
  | { readonly kind: 'rect'; readonly x: number; readonly y: number; readonly w: number; readonly h: number; readonly fill?: Color; readonly stroke?: Color; readonly strokeWidth?: number }
  | { readonly kind: 'line'; readonly points: readonly (readonly [number, number])[]; readonly color: Color; readonly width: number; readonly dash?: readonly number[] }
  | {
      readonly kind: 'text';
      readonly x: number;
      readonly y: number;
      readonly text: string;
      /** Pixel scale of the 5×7 bitmap font (the SVG uses a matching font size). */
      readonly scale: number;
      readonly anchor: 'start' | 'middle' | 'end';
      /** Vertical placement of the cap height relative to y. */
      readonly baseline: 'top' | 'middle' | 'bottom';
      readonly color: Color;
      readonly rotate?: -90;
      readonly bold?: boolean;
    };

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
