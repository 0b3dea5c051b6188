// OpenAI's Agents SDK for JavaScript (npm `@openai/agents`, the version package-lock.json holds) as an independent
// client of the gateway's Responses and Conversations APIs: an agent with one function tool, run the ways the SDK keeps
// a conversation. The tests read the report (issue 22).
//
//   node agents-oracle.mjs --base http://127.0.0.1:PORT/v1 --key KEY --model fast --mode MODE [--stream]
//
// MODE: `inline` (two runs, the second given the first's history), `previous` (the second run continues the first's
// last response by previousResponseId), `conversation` (both runs in one conversation the SDK makes, by conversationId),
// `session` (both runs with an OpenAIConversationsSession, which keeps the items through the Conversations API).
// Prints one JSON object: {"runs": [{"output", "lastResponseId", "toolCalls"}], "requests": [{"method", "path", "body"}]}
// or, when a run failed, those so far and {"error", "status"}.
import OpenAI from 'openai';
import { Agent, OpenAIConversationsSession, run, setDefaultOpenAIClient, setTracingDisabled, tool } from '@openai/agents';
import { flag, option } from './oracle-args.mjs';

const base = option('base');
const key = option('key');
const model = option('model', 'fast');
const mode = option('mode', 'inline');
const stream = flag('stream');
if (!base || !key || !['inline', 'previous', 'conversation', 'session'].includes(mode)) {
  console.error('usage: node agents-oracle.mjs --base URL --key KEY [--model NAME] --mode inline|previous|conversation|session [--stream]');
  process.exit(2);
}

// Every request the SDK makes is recorded at its fetch: the report shows what it sent where.
const requests = [];
const client = new OpenAI({
  baseURL: base,
  apiKey: key,
  maxRetries: 0,
  fetch: (url, init) => {
    const path = new URL(url).pathname;
    let body;
    try {
      body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    } catch {
      body = init.body;
    }
    requests.push({ method: init?.method ?? 'GET', path, body });
    return fetch(url, init);
  },
});
setDefaultOpenAIClient(client);
setTracingDisabled(true); // no export to OpenAI's trace endpoint (the tests run offline)

let toolCalls = 0;
const weather = tool({
  name: 'weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
  execute: async ({ city }) => {
    toolCalls++;
    return `sunny in ${city}`;
  },
});
const agent = new Agent({ name: 'forecaster', instructions: 'Answer briefly.', model, tools: [weather] });

const report = { runs: [], requests };
async function once(input, options) {
  const before = toolCalls;
  const result = await run(agent, input, { ...options, stream, maxTurns: 4 });
  if (stream) {
    for await (const _ of result.toStream()) {
      // drained: the run goes on as its events are read
    }
    await result.completed;
  }

  report.runs.push({ output: result.finalOutput, lastResponseId: result.lastResponseId, toolCalls: toolCalls - before });
  return result;
}

try {
  if (mode === 'inline') {
    const first = await once('What is the weather in Paris?');
    await once([...first.history, { role: 'user', content: 'And tomorrow?' }]);
  } else if (mode === 'previous') {
    const first = await once('What is the weather in Paris?');
    await once('And tomorrow?', { previousResponseId: first.lastResponseId });
  } else if (mode === 'conversation') {
    const conversation = await client.conversations.create({});
    report.conversationId = conversation.id;
    await once('What is the weather in Paris?', { conversationId: conversation.id });
    await once('And tomorrow?', { conversationId: conversation.id });
  } else {
    const session = new OpenAIConversationsSession({ client });
    await once('What is the weather in Paris?', { session });
    await once('And tomorrow?', { session });
    report.conversationId = await session.getSessionId();
    report.sessionItems = (await session.getItems()).length;
  }
} catch (error) {
  report.error = String(error?.message ?? error);
  report.status = error?.status ?? error?.error?.status ?? null;
}

console.log(JSON.stringify(report));
