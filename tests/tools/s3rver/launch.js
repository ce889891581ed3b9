// Starts s3rver (an S3-protocol server, test only) for the S3 tier tests and
// tells the parent which port it got. s3rver itself ships no launcher.
//
//   NODE_PATH=build/s3rver/node_modules \
//     node --openssl-legacy-provider launch.js DATA_DIR BUCKET [BUCKET...]
//
// Serves http://127.0.0.1:<port>/ (path-style), keys "S3RVER"/"S3RVER",
// objects under DATA_DIR, with the buckets created. Prints exactly one line,
// "PORT <n>", once it accepts connections. Exits when its stdin closes (the
// test that started it is gone, however it ended) or on SIGTERM / SIGINT.
// --openssl-legacy-provider (or NODE_OPTIONS=--openssl-legacy-provider): s3rver
// encrypts listing continuation tokens with DES. Set S3RVER_VERBOSE=1 to log
// every request to stderr, and S3RVER_STATS=FILE to have the requests served
// so far by method written to FILE as JSON (bench/run.sh counts requests per
// GiB with it), at most every 100 ms. S3RVER_ALLOW_MISMATCHED_SIGNATURES=1
// accepts well-formed signatures that do not match: restic's S3 client
// (minio-go) signs bucket requests as "/bucket/", which s3rver computes as
// "/bucket" (the benchmark sets it, for both tools; the tests never do).
'use strict';

const crypto = require('crypto');
const fs = require('fs');

function fail(message) {
  process.stderr.write(`launch.js: ${message}\n`);
  process.exit(2);
}

const [dataDir, ...buckets] = process.argv.slice(2);
if (!dataDir || buckets.length === 0) {
  fail('usage: node launch.js DATA_DIR BUCKET [BUCKET...]');
}
try {
  crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
} catch (err) {
  fail(`DES is unavailable (${err.message}); run node with --openssl-legacy-provider`);
}

let S3rver;
try {
  S3rver = require('@20minutes/s3rver');
} catch (err) {
  fail(`cannot load @20minutes/s3rver (NODE_PATH=${process.env.NODE_PATH || ''}): ${err.message}`);
}

fs.mkdirSync(dataDir, { recursive: true });
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: process.env.S3RVER_VERBOSE !== '1',
  directory: dataDir,
  allowMismatchedSignatures: process.env.S3RVER_ALLOW_MISMATCHED_SIGNATURES === '1',
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  // Open keep-alive connections would hold close() up; a test server has
  // nothing to drain.
  if (server.httpServer) server.httpServer.closeAllConnections();
  setTimeout(() => process.exit(code), 1000).unref();
  server.close(() => process.exit(code));
  if (!server.httpServer) process.exit(code);
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('close', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

const counts = {};
let dirty = false;
function writeStats() {
  if (!dirty || !process.env.S3RVER_STATS) return;
  dirty = false;
  const tmp = `${process.env.S3RVER_STATS}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(counts));
  fs.renameSync(tmp, process.env.S3RVER_STATS);
}

server.run().then(
  ({ port }) => {
    if (process.env.S3RVER_STATS) {
      server.httpServer.on('request', (req) => {
        counts[req.method] = (counts[req.method] || 0) + 1;
        dirty = true;
      });
      dirty = true;
      writeStats();
      setInterval(writeStats, 100).unref();
    }
    process.stdout.write(`PORT ${port}\n`, () => {});
  },
  (err) => fail(`s3rver did not start: ${err.stack || err}`),
);
