/**
 * The bare-pipe reference: the least a Node reverse proxy can do. Every request is forwarded
 * to one upstream as is, and the upstream's response is piped back (Node streams, with
 * their backpressure). No parsing of the body, no fan-out: one upstream request per player.
 *
 *   node --import tsx bench/refs/pipe-proxy.ts <port> <upstream base URL>
 *
 * Prints {"url": …} on its first stdout line once it listens.
 */
import http from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) are the pipe's own business, not forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
  return out;
}

const [portText, upstreamText] = process.argv.slice(2);
if (!portText || !upstreamText) {
  process.stderr.write('usage: pipe-proxy <port> <upstream base URL>\n');
  process.exit(2);
}
const upstream = new URL(upstreamText);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

const server = http.createServer((req, res) => {
  const up = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      // The player's Host stays: the engine builds its URLs from it, so they point back here.
      headers: endToEnd(req.headers),
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, endToEnd(upRes.headers));
      upRes.pipe(res);
    },
  );
  up.on('error', () => res.destroy());
  // The player left: so does the upstream request (the engine's session loses its reader).
  res.on('close', () => up.destroy());
  req.pipe(up);
});
server.keepAliveTimeout = 5_000;
server.requestTimeout = 0;

server.listen(Number(portText), '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : Number(portText);
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1_000).unref();
  });
}
