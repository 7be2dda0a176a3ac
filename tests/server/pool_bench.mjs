// Does sharing the n-gram pool across requests help? Runs the same request
// sequence against `serve` with the shared pool (default) and with
// --no-shared-pool, and reports the compression (accepted tokens per decode
// step) of each. One slot, requests one after another, greedy, so both
// servers see the same sequence and produce the same text.
//
//   node tests/server/pool_bench.mjs [--rounds 3] [--max-tokens 128] [--lookahead W,N,G]
import { parseArgs } from 'node:util';
import { startServer, modelPath } from './lib/server.mjs';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'max-tokens': { type: 'string', default: '128' },
    lookahead: { type: 'string', default: '' },
  },
});

// "Repeated similar prompts": story openings that differ in a word or two,
// each asked `rounds` times (round 1 sees them all for the first time).
const subjects = ['a little girl named Lily', 'a little boy named Tim', 'a big dog', 'a small cat', 'a happy bird',
                  'a kind old man', 'a brave mouse', 'a funny frog'];
const prompts = subjects.map((s) => `Once upon a time, there was ${s}.`);

async function run(args) {
  const server = await startServer(['-m', modelPath, '-np', '1', ...args]);
  const rounds = [];
  const texts = [];
  for (let r = 0; r < +opt.rounds; r++) {
    let steps = 0, accepted = 0;
    for (const prompt of prompts) {
      const res = await fetch(server.url + '/v1/completions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt, max_tokens: +opt['max-tokens'], temperature: 0 }),
      });
      const j = await res.json();
      if (res.status !== 200) throw new Error(JSON.stringify(j));
      steps += j.lookahead.steps;
      accepted += j.lookahead.accepted_tokens;
      texts.push(j.choices[0].text);
    }
    rounds.push(+(accepted / steps).toFixed(3));
  }
  const metrics = await (await fetch(server.url + '/metrics')).text();
  const pool = +(metrics.match(/^lookahead_shared_pool_ngrams (\S+)/m)?.[1] ?? 0);
  await server.stop();
  return { rounds, texts, pool };
}

const la = opt.lookahead ? ['--lookahead', opt.lookahead] : [];
const shared = await run(la);
const fresh = await run([...la, '--no-shared-pool']);
if (shared.texts.join('\u0000') !== fresh.texts.join('\u0000')) {
  console.error('outputs differ between shared and fresh pools (lookahead must be exact)');
  process.exitCode = 1;
}
console.log(JSON.stringify({
  lookahead: opt.lookahead || '15,5,15',
  prompts: prompts.length,
  max_tokens: +opt['max-tokens'],
  compression_per_round: { shared_pool: shared.rounds, fresh_pool: fresh.rounds },
  shared_pool_ngrams_at_end: shared.pool,
}, null, 2));
