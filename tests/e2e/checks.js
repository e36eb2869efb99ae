// The end-to-end suites' checks: each named check runs, prints TAP-style "ok"/"not ok" with its
// time and detail, and is counted; waitFor polls a (sync or async) predicate.
'use strict';

const results = [];

async function check(name, body) {
  const t0 = Date.now();
  try {
    const detail = await body();
    results.push(true);
    console.log(`ok - ${name} (${Date.now() - t0} ms)${detail ? ': ' + detail : ''}`);
  } catch (error) {
    results.push(false);
    console.log(`not ok - ${name}: ${error.stack || error}`);
  }
}

async function waitFor(predicate, ms, intervalMs = 20) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}

module.exports = { check, waitFor, results };
