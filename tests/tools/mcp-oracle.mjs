// Drives the official TypeScript MCP SDK's client (npm @modelcontextprotocol/sdk) against a Streamable HTTP endpoint and
// prints what it got as one JSON document on stdout: an independent client for the gateway's /mcp (issue 22). The C#
// tests decide what is right; this script only drives the client and reports.
//
//   node mcp-oracle.mjs --url URL [--key-header NAME --key VALUE | --bearer TOKEN] [--call NAME --args JSON]...
//
// Output: { connected, server, protocolVersion, tools: [...], calls: [{ name, result } | { name, error }] } once
// connected; { connected: false, error, refused } when the connection was refused, where refused is the refusal as the
// SDK's own auth code reads it (the WWW-Authenticate parameters, and the protected-resource metadata it points at).
// Exit code 0 whenever the document was printed, 2 for bad arguments.
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams, selectResourceURL } from '@modelcontextprotocol/sdk/client/auth.js';

const { values } = parseArgs({
    options: {
        url: { type: 'string' },
        'key-header': { type: 'string' },
        key: { type: 'string' },
        bearer: { type: 'string' },
        call: { type: 'string', multiple: true, default: [] },
        args: { type: 'string', multiple: true, default: [] }
    }
});
if (!values.url || values.call.length !== values.args.length || (values.key !== undefined) !== (values['key-header'] !== undefined)) {
    console.error('usage: node mcp-oracle.mjs --url URL [--key-header NAME --key VALUE | --bearer TOKEN] [--call NAME --args JSON]...');
    process.exit(2);
}

const url = new URL(values.url);
const headers = {};
if (values.key !== undefined) headers[values['key-header']] = values.key;
if (values.bearer !== undefined) headers['Authorization'] = `Bearer ${values.bearer}`;

// The last POST's response, kept so that a refusal can be read with the SDK's own WWW-Authenticate parser.
let lastPost;
const recordingFetch = async (input, init) => {
    const response = await fetch(input, init);
    if (init?.method === 'POST') lastPost = response;
    return response;
};

const errorOf = e => ({ name: e?.name, code: e?.code, message: String(e?.message ?? e), data: e?.data });
const out = { connected: false };
const client = new Client({ name: 'gatehouse-mcp-oracle', version: '1.0.0' });
const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: recordingFetch });
try {
    await client.connect(transport);
} catch (e) {
    out.error = errorOf(e);
    if (lastPost && !lastPost.ok) {
        const { resourceMetadataUrl, scope, error } = extractWWWAuthenticateParams(lastPost);
        out.refused = {
            status: lastPost.status,
            contentType: lastPost.headers.get('content-type'),
            wwwAuthenticate: lastPost.headers.get('www-authenticate'),
            resourceMetadataUrl: resourceMetadataUrl?.href,
            scope,
            error
        };
        if (resourceMetadataUrl) {
            // What a client does next (the MCP authorization spec): read the metadata, check that it names this resource.
            try {
                const metadata = await discoverOAuthProtectedResourceMetadata(url, { resourceMetadataUrl });
                out.refused.resourceMetadata = metadata;
                out.refused.resource = (await selectResourceURL(url, {}, metadata))?.href;
            } catch (e2) {
                out.refused.discoveryError = errorOf(e2);
            }
        }
    }
    console.log(JSON.stringify(out));
    process.exit(0);
}

out.connected = true;
out.server = client.getServerVersion();
out.protocolVersion = transport.protocolVersion;
out.capabilities = client.getServerCapabilities();
try {
    out.tools = [];
    let cursor;
    do {
        const page = await client.listTools(cursor === undefined ? undefined : { cursor });
        out.tools.push(...page.tools);
        cursor = page.nextCursor;
    } while (cursor !== undefined);
} catch (e) {
    out.listError = errorOf(e);
}

out.calls = [];
for (let i = 0; i < values.call.length; i++) {
    const name = values.call[i];
    try {
        out.calls.push({ name, result: await client.callTool({ name, arguments: JSON.parse(values.args[i]) }) });
    } catch (e) {
        out.calls.push({ name, error: errorOf(e) });
    }
}

await client.close();
console.log(JSON.stringify(out));
