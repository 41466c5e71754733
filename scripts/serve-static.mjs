#!/usr/bin/env node
// A small static file server on 127.0.0.1 (a secure context for WebGPU), used by the browser tests and by
// `pnpm run web-demo`. Only GET and HEAD; paths are decoded, normalised and confined to the served folder
// (no traversal through `..`, encoded separators or symbolic links leading out of it).
//
//   node scripts/serve-static.mjs <folder> [--port N] [--host 127.0.0.1]
//
// As a module: `const server = await startStaticServer({ root, port: 0 })`, then `server.url` and
// `await server.close()`.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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
 * or leaves the folder. `/` and folders map to their index.html.
 */
export function resolveRequestPath(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return undefined;
  }
  // NUL bytes and backslashes never name a file here; refusing them closes Windows-style traversal too.
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  if (!decoded.startsWith('/')) return undefined;
  const segments = decoded.split('/').filter((s) => s.length > 0 && s !== '.');
  if (segments.some((s) => s === '..')) return undefined;
  const target = resolve(root, ...segments);
  const rel = relative(root, target);
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return target;
}

function send(res, status, message, headOnly) {
  const body = `${status} ${message}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(headOnly ? undefined : body);
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

  const server = createServer(async (req, res) => {
    const headOnly = req.method === 'HEAD';
    if (req.method !== 'GET' && !headOnly) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'Method Not Allowed', false);
      return;
    }
    let target = resolveRequestPath(realRoot, req.url ?? '/');
    if (!target) {
      send(res, 400, 'Bad Request', headOnly);
      return;
    }
    try {
      let info = await stat(target);
      if (info.isDirectory()) {
        target = join(target, 'index.html');
        info = await stat(target);
      }
      // Symbolic links must not lead out of the folder.
      const real = await realpath(target);
      if (real !== realRoot && !real.startsWith(realRoot + sep)) {
        send(res, 403, 'Forbidden', headOnly);
        return;
      }
      if (!info.isFile()) {
        send(res, 404, 'Not Found', headOnly);
        return;
      }
      res.writeHead(200, {
        'content-type': contentType(target),
        'content-length': info.size,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      if (headOnly) {
        res.end();
        return;
      }
      const stream = createReadStream(target);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    } catch {
      send(res, 404, 'Not Found', headOnly);
    } finally {
      log?.(`${req.method} ${req.url}`);
    }
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

function parseArgs(argv) {
  const options = { root: undefined, port: 0, host: '127.0.0.1', fallback: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--port') options.port = Number(argv[++i]);
    else if (arg === '--host') options.host = argv[++i];
    else if (arg === '--fallback-port') options.fallback = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (!options.root) options.root = arg;
    else throw new Error(`serve-static: unexpected argument ${arg}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new Error('serve-static: --port must be an integer in 0…65535');
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  if (options.help || !options.root) {
    console.error('usage: node scripts/serve-static.mjs <folder> [--port N (0: any free port)] [--host 127.0.0.1] [--fallback-port]');
    process.exit(options.help ? 0 : 2);
  }
  let server;
  try {
    server = await startStaticServer(options);
  } catch (err) {
    if (err?.code === 'EADDRINUSE' && options.fallback) {
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
