#!/usr/bin/env node
// A static file server on 127.0.0.1 (a secure context for WebGPU), used by the browser tests and by
// `pnpm run web-demo`: sirv serves the files (node:http); in front of it, only GET and HEAD, and request paths
// confined to the served folder (no traversal through `..`, encoded separators or symbolic links leading out).
//
//   node scripts/serve-static.mjs <folder> [--port N] [--host 127.0.0.1] [--fallback-port]
//
// As a module: `const server = await startStaticServer({ root, port: 0 })`, then `server.url` and
// `await server.close()`.
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { parseCommandLine } from './args.mjs';

/** Content types by file extension (lower case, with the dot). Anything else is application/octet-stream. */
export const MIME_TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.gz': 'application/gzip',
});

export function contentType(path) {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file a request path names inside `root` (an absolute, real path), or undefined when the path is malformed
 * or leaves the folder.
 */
export function resolveRequestPath(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return undefined;
  }
  // NUL bytes and backslashes never name a file here; refusing them closes Windows-style traversal too.
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((s) => s.length > 0 && s !== '.');
  if (segments.includes('..')) return undefined;
  const target = resolve(root, ...segments);
  const rel = relative(root, target);
  return rel.startsWith('..') || isAbsolute(rel) ? undefined : target;
}

function send(res, status, message, headers = {}) {
  const body = `${status} ${message}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** Whether `path` exists and is, or leads through a link to, something outside `realRoot`. */
async function leavesRoot(realRoot, path) {
  const real = await realpath(path).catch(() => undefined);
  return real !== undefined && real !== realRoot && !real.startsWith(realRoot + sep);
}

/**
 * Starts serving `root` on `host` (default 127.0.0.1) and `port` (default 0: an ephemeral port).
 * Resolves once listening, with the base URL (ending in '/') and a close() that also drops open connections.
 */
export async function startStaticServer({ root, port = 0, host = '127.0.0.1', log } = {}) {
  if (!root) throw new Error('startStaticServer: root is required');
  const realRoot = await realpath(resolve(root)).catch(() => {
    throw new Error(`startStaticServer: folder ${resolve(root)} does not exist`);
  });
  if (!(await stat(realRoot)).isDirectory()) throw new Error(`startStaticServer: ${realRoot} is not a folder`);
  // dev: files are looked up per request (the tests write into the folder while it is served); etag: ETag and
  // cache-control no-cache; no extensions: a path names one file (a folder its index.html, below).
  const files = sirv(realRoot, {
    dev: true,
    etag: true,
    dotfiles: true,
    extensions: [],
    setHeaders: (res, pathname) => {
      res.setHeader('content-type', contentType(pathname));
      res.setHeader('x-content-type-options', 'nosniff');
    },
    onNoMatch: (req, res) => send(res, 404, 'Not Found'),
  });

  const server = createServer(async (req, res) => {
    log?.(`${req.method} ${req.url}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
      return;
    }
    const target = resolveRequestPath(realRoot, req.url ?? '/');
    if (!target) {
      send(res, 400, 'Bad Request');
      return;
    }
    let file = target;
    if ((await stat(target).catch(() => undefined))?.isDirectory()) {
      // A folder is its index.html (for sirv too, which then names the file to setHeaders).
      file = join(target, 'index.html');
      const [path, query] = (req.url ?? '/').split(/\?(.*)/s);
      req.url = `${path.endsWith('/') ? path : `${path}/`}index.html${query ? `?${query}` : ''}`;
    }
    if (await leavesRoot(realRoot, file)) {
      send(res, 403, 'Forbidden');
      return;
    }
    files(req, res);
  });
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const address = server.address();
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${address.port}/`;
  let closed;
  return {
    url,
    port: address.port,
    root: realRoot,
    close() {
      closed ??= new Promise((resolveClose) => {
        server.close(() => resolveClose());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const usage = '<folder> [--port N (0: any free port)] [--host 127.0.0.1] [--fallback-port]';
  const { values, positionals } = parseCommandLine({
    name: 'serve-static',
    usage,
    positionals: 1,
    options: {
      port: { type: 'integer', min: 0, max: 65535, default: 0 },
      host: { type: 'string', default: '127.0.0.1' },
      'fallback-port': { type: 'boolean', default: false },
    },
  });
  const root = positionals[0];
  if (!root) {
    console.error(`serve-static: the folder to serve is missing\nusage: serve-static ${usage}`);
    process.exit(2);
  }
  const options = { root, port: values.port, host: values.host };
  let server;
  try {
    server = await startStaticServer(options);
  } catch (err) {
    if (err?.code === 'EADDRINUSE' && values['fallback-port']) {
      console.error(`serve-static: port ${options.port} is in use; using a free port instead`);
      server = await startStaticServer({ ...options, port: 0 });
    } else {
      console.error(`serve-static: ${err?.code === 'EADDRINUSE' ? `port ${options.port} is in use` : err.message}`);
      process.exit(1);
    }
  }
  console.log(`Serving ${server.root} at ${server.url}  (Ctrl+C to stop)`);
  const stop = () => server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
