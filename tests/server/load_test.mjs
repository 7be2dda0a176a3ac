// Bounded load test of `lookahead serve` on loopback: C concurrent clients
// send R requests in total (a mix of completions/chat, streamed or not, all
// greedy so each answer can be checked against a reference) and report
// throughput, latency percentiles and failures. Exits 1 on any failure.
//
//   node tests/server/load_test.mjs [--clients 16] [--requests 200] [--max-tokens 64] [--np 4] [--url URL]
// Without --url it starts build/lookahead itself (LOOKAHEAD_CLI overrides).
import { parseArgs } from 'node:util';
import { startServer, modelPath, chatTemplate, percentile } from './lib/server.mjs';

const { values: opt } = parseArgs({
  options: {
    clients: { type: 'string', default: '16' },
    requests: { type: 'string', default: '200' },
    'max-tokens': { type: 'string', default: '64' },
    np: { type: 'string', default: '4' },
    url: { type: 'string' },
    json: { type: 'boolean', default: false },
    'server-args': { type: 'string', default: '' }, // extra serve flags, e.g. --no-lookahead
  },
});
const C = +opt.clients, R = +opt.requests, maxTokens = +opt['max-tokens'];

const extra = opt['server-args'].split(' ').filter(Boolean);
const server = opt.url ? null : await startServer(['-m', modelPath, '-np', opt.np, '--chat-template-file', chatTemplate, ...extra]);
const url = opt.url ?? server.url;

const subjects = ['girl', 'boy', 'dog', 'cat', 'bird', 'fish', 'bear', 'frog'];
function makeRequest(i) {
  const chat = i % 2 === 1;
  const stream = i % 3 === 0;
  const subject = subjects[i % subjects.length];
  const body = chat
    ? { messages: [{ role: 'user', content: `Tell me about a ${subject}.` }] }
    : { prompt: `Once upon a time, there was a ${subject} who` };
  Object.assign(body, { max_tokens: maxTokens, temperature: 0, stream });
  if (stream) body.stream_options = { include_usage: true };
  return { path: chat ? '/v1/chat/completions' : '/v1/completions', body, chat, stream, key: `${chat}:${subject}` };
}

// Returns { text, ttft, tokens } or throws.
async function send(req) {
  const t0 = performance.now();
  const res = await fetch(url + req.path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(req.body),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  if (!req.stream) {
    const j = await res.json();
    const c = j.choices[0];
    return { text: req.chat ? c.message.content : c.text, tokens: j.usage.completion_tokens, ttft: null };
  }
  let buf = '', text = '', ttft = null, done = false, tokens = 0;
  const dec = new TextDecoder();
  for await (const part of res.body) {
    buf += dec.decode(part, { stream: true });
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, at);
      buf = buf.slice(at + 2);
      if (!ev.startsWith('data: ')) continue;
      const data = ev.slice(6);
      if (data === '[DONE]') { done = true; continue; }
      const j = JSON.parse(data);
      if (j.error) throw new Error('stream error: ' + JSON.stringify(j.error));
      if (j.usage) tokens = j.usage.completion_tokens;
      const c = j.choices[0];
      if (!c) continue;
      const piece = req.chat ? c.delta.content ?? '' : c.text;
      if (piece && ttft === null) ttft = performance.now() - t0;
      text += piece;
    }
  }
  if (!done) throw new Error('stream ended without [DONE]');
  return { text, ttft, tokens };
}

const reference = new Map();  // greedy: the same request must give the same text
const latencies = [], ttfts = [], failures = [];
let next = 0, tokens = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: C }, async () => {
    for (let i = next++; i < R; i = next++) {
      const req = makeRequest(i);
      const start = performance.now();
      try {
        const r = await send(req);
        latencies.push(performance.now() - start);
        if (r.ttft !== null) ttfts.push(r.ttft);
        tokens += r.tokens;
        if (!reference.has(req.key)) reference.set(req.key, r.text);
        else if (reference.get(req.key) !== r.text) throw new Error(`request ${i}: text differs from an earlier identical request`);
      } catch (e) {
        failures.push(`request ${i}: ${e.message}`);
      }
    }
  }),
);
const wall = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
ttfts.sort((a, b) => a - b);
const result = {
  clients: C,
  requests: R,
  max_tokens: maxTokens,
  slots: opt.url ? null : +opt.np,
  server_args: opt['server-args'],
  failures: failures.length,
  wall_s: +wall.toFixed(2),
  requests_per_s: +(R / wall).toFixed(1),
  generated_tokens_per_s: +(tokens / wall).toFixed(0),
  latency_ms: Object.fromEntries([50, 90, 99].map((p) => [`p${p}`, +percentile(latencies, p).toFixed(1)])),
  ttft_ms_streamed: Object.fromEntries([50, 90, 99].map((p) => [`p${p}`, +percentile(ttfts, p).toFixed(1)])),
};
console.log(JSON.stringify(result, null, opt.json ? 0 : 2));
for (const f of failures.slice(0, 10)) console.error(f);
if (server) {
  const code = await server.stop();
  if (code !== 0) { console.error(`server exited ${code}`); process.exitCode = 1; }
}
if (failures.length) process.exitCode = 1;
