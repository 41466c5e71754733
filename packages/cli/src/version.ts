/** The CLI's version (kept in step with packages/cli/package.json). */
export const VERSION = '0.1.0';
