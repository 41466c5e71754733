/**
 * Headless Chromium for the browser tests: the system Chromium (Debian's `chromium`, or $CHROMIUM_PATH) driven by
 * puppeteer-core, with WebGPU on SwiftShader (see docs/design.md, "Machines"), a fresh temporary
 * profile, and a page served from 127.0.0.1 (a secure context). Every wait is bounded.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type ConsoleMessage, type Page } from 'puppeteer-core';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Flags for headless WebGPU on SwiftShader on machines without a GPU or internet access. */
export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
  '--window-size=1400,1000',
];

/** The Chromium executable: $CHROMIUM_PATH or /usr/bin/chromium. Throws at once, with the fix, when it is missing. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  if (!existsSync(path)) {
    throw new Error(`Chromium not found at ${path}; run scripts/setup.sh (it installs Debian's chromium package) or set CHROMIUM_PATH`);
  }
  return path;
}

/** Rejects with a message naming `what` when `promise` takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${(ms / 1000).toFixed(0)} s: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface LaunchedBrowser {
  readonly browser: Browser;
  readonly userDataDir: string;
  /** Console lines and page errors of every page opened with {@link LaunchedBrowser.newPage}. */
  readonly console: string[];
  newPage(): Promise<Page>;
  /** Closes the browser (killing it if it does not close in time) and removes the profile. Idempotent. */
  close(): Promise<void>;
}

export async function launchChromium(options: { timeoutMs?: number; extraArgs?: readonly string[] } = {}): Promise<LaunchedBrowser> {
  const executablePath = chromiumPath();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const userDataDir = mkdtempSync(join(tmpdir(), 'nladmm-chromium-'));
  let browser: Browser;
  try {
    browser = await withTimeout(
      puppeteer.launch({
        executablePath,
        headless: true,
        userDataDir,
        args: [...CHROMIUM_FLAGS, ...(options.extraArgs ?? [])],
        timeout: timeoutMs,
        protocolTimeout: 180_000,
        defaultViewport: { width: 1400, height: 1000 },
      }),
      timeoutMs + 5_000,
      `launching ${executablePath}`,
    );
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  const lines: string[] = [];
  let closing: Promise<void> | undefined;
  return {
    browser,
    userDataDir,
    console: lines,
    async newPage() {
      const page = await withTimeout(browser.newPage(), 30_000, 'opening a page');
      page.setDefaultTimeout(60_000);
      page.setDefaultNavigationTimeout(60_000);
      page.on('console', (msg: ConsoleMessage) => lines.push(`[console.${msg.type()}] ${msg.text()}`));
      page.on('pageerror', (err: unknown) => lines.push(`[pageerror] ${err instanceof Error ? err.message : String(err)}`));
      page.on('requestfailed', (req) => lines.push(`[requestfailed] ${req.url()} ${req.failure()?.errorText ?? ''}`));
      return page;
    },
    close() {
      closing ??= (async () => {
        try {
          await withTimeout(browser.close(), 15_000, 'closing Chromium');
        } catch {
          browser.process()?.kill('SIGKILL');
        } finally {
          rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
        }
      })();
      return closing;
    },
  };
}
