// The Vercel AI SDK (npm `ai` and `@ai-sdk/openai`, the versions package-lock.json holds) as an independent client of
// the gateway's OpenAI-compatible Responses API: a multi-turn chat kept by the client, the way applications built on the
// SDK keep one. With its defaults (store on), the SDK sends each earlier answer back as an `item_reference` to the item
// the server returned, not as text. The tests read the report to check the gateway served that (issue 22).
//
//   node ai-sdk-oracle.mjs --base http://127.0.0.1:PORT/v1 --key KEY --model fast --turns 3 [--stream] [--store false]
//
// Prints one JSON object: {"turns": [{"text", "responseId", "sent"}...]} where `sent` is the request body the SDK sent for
// that turn; or {"error", "status", "body", "sent"} when a turn failed.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { flag, option } from './oracle-args.mjs';

const base = option('base');
const key = option('key');
const model = option('model', 'fast');
const turns = Number(option('turns', '3'));
const stream = flag('stream');
const store = option('store');
if (!base || !key || !(turns > 0)) {
  console.error('usage: node ai-sdk-oracle.mjs --base URL --key KEY [--model NAME] [--turns N] [--stream] [--store false]');
  process.exit(2);
}

// What the SDK sent is read at the fetch it makes: the report shows the references it chose.
let lastBody;
const openai = createOpenAI({
  baseURL: base,
  apiKey: key,
  fetch: (url, init) => {
    lastBody = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    return fetch(url, init);
  },
});
const providerOptions = store === undefined ? undefined : { openai: { store: store === 'true' } };
const messages = [];
const report = { turns: [] };
for (let turn = 1; turn <= turns; turn++) {
  messages.push({ role: 'user', content: `question ${turn}` });
  try {
    let text, response;
    lastBody = undefined;
    if (stream) {
      let failure;
      const result = streamText({ model: openai.responses(model), messages, providerOptions, maxRetries: 0, onError: ({ error }) => { failure = error; } });
      text = await result.text;
      if (failure) throw failure;
      response = await result.response;
    } else {
      const result = await generateText({ model: openai.responses(model), messages, providerOptions, maxRetries: 0 });
      ({ text, response } = result);
    }

    report.turns.push({ text, responseId: response.id, sent: lastBody });
    messages.push(...response.messages);
  } catch (error) {
    report.error = String(error?.message ?? error);
    report.status = error?.statusCode ?? null;
    report.body = error?.responseBody ?? null;
    report.sent = lastBody ?? null;
    break;
  }
}

console.log(JSON.stringify(report));
