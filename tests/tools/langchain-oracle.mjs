// LangChain.js's OpenAI chat model (npm `@langchain/openai`, the version package-lock.json holds) as an independent
// client of the gateway's OpenAI-compatible API: a multi-turn chat that LangChain keeps itself, over chat completions or
// the Responses API, with a function tool whose calls it answers. The tests read the report (issue 22).
//
//   node langchain-oracle.mjs --base http://127.0.0.1:PORT/v1 --key KEY --model fast --turns 2 [--responses] [--tools] [--stream]
//
// Prints one JSON object: {"turns": [{"text", "toolCalls"}], "requests": [{"path", "body"}]}, and "error" when a call failed.
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { flag, option } from './oracle-args.mjs';

const base = option('base');
const key = option('key');
const turns = Number(option('turns', '2'));
if (!base || !key || !(turns > 0)) {
  console.error('usage: node langchain-oracle.mjs --base URL --key KEY [--model NAME] [--turns N] [--responses] [--tools] [--stream]');
  process.exit(2);
}

// Every request LangChain makes is recorded at its fetch: the report shows what it sent.
const requests = [];
let model = new ChatOpenAI({
  model: option('model', 'fast'),
  apiKey: key,
  maxRetries: 0,
  useResponsesApi: flag('responses'),
  configuration: {
    baseURL: base,
    fetch: (url, init) => {
      requests.push({ path: new URL(url).pathname, body: typeof init?.body === 'string' ? JSON.parse(init.body) : null });
      return fetch(url, init);
    },
  },
});
if (flag('tools')) {
  model = model.bindTools([{
    type: 'function',
    function: {
      name: 'weather',
      description: 'The weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    },
  }]);
}

// Streamed: the answer is the chunks as they came, put together (as an application that shows them as they come does;
// invoke with streaming: true did not return here, against the provider directly too).
const stream = flag('stream');
async function ask(messages) {
  if (!stream) {
    return model.invoke(messages);
  }

  let whole;
  for await (const chunk of await model.stream(messages)) {
    whole = whole === undefined ? chunk : whole.concat(chunk);
  }

  return whole;
}

const report = { turns: [], requests };
const messages = [];
try {
  for (let turn = 1; turn <= turns; turn++) {
    messages.push(new HumanMessage(`question ${turn}`));
    let answer = await ask(messages);
    messages.push(answer);
    let toolCalls = 0;
    while (answer.tool_calls?.length && toolCalls < 3) {
      for (const call of answer.tool_calls) {
        toolCalls++;
        messages.push(new ToolMessage({ tool_call_id: call.id, content: `sunny in ${call.args.city}` }));
      }

      answer = await ask(messages);
      messages.push(answer);
    }

    report.turns.push({ text: typeof answer.content === 'string' ? answer.content : answer.text, toolCalls });
  }
} catch (error) {
  report.error = String(error?.message ?? error);
}

console.log(JSON.stringify(report));
