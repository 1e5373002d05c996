// Runs the graphql-http server audits against a live hub and prints ONE JSON
// document: a list of {id, name, status, reason, responseStatus}.
// status is graphql-http's: 'ok', or on failure 'error' (MUST), 'warn' (SHOULD), 'notice' (MAY).
// Usage: URL=http://127.0.0.1:8000/graphql TOKEN=... node audit.mjs
import { serverAudits } from 'graphql-http';

const url = process.env.URL;
const token = process.env.TOKEN;
if (!url || !token) {
  console.error('Set URL (the GraphQL endpoint) and TOKEN (a bearer token).');
  process.exit(2);
}

// The status of the last response: graphql-http reports a response only for
// failed audits, and each audit sends one request.
let lastStatus = null;

// Every request needs the bearer token; the audits pass headers either as a
// plain object or as a Headers instance, and new Headers() takes both.
async function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(input, { ...init, headers });
  lastStatus = res.status;
  return res;
}

const results = [];
// One at a time, so that lastStatus belongs to the audit that just ran.
for (const { id, name, fn } of serverAudits({ url, fetchFn })) {
  lastStatus = null;
  try {
    const result = await fn();
    results.push({
      id,
      name,
      status: result.status,
      reason: result.reason ?? null,
      responseStatus: result.response?.status ?? lastStatus,
    });
  } catch (error) {
    // graphql-http rethrows anything that is not an assertion failure (e.g. a
    // refused connection): report it as an error rather than losing the rest.
    results.push({ id, name, status: 'error', reason: `fatal: ${error}`, responseStatus: lastStatus });
  }
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
