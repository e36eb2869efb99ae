import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Site, afterApply, nextSite, nextSiteAcross, parseNextEdits, siteAt } from '../src/nextEdits';

const range = { start: { line: 3, character: 8 }, end: { line: 3, character: 13 } };

test('maskfill/nextEdits answers are checked', () => {
  assert.deepEqual(parseNextEdits({ edits: [{ range, newText: 'acc', id: '7', extra: 1 }], version: 3 }), [{ range, newText: 'acc', id: '7' }]);
  assert.deepEqual(parseNextEdits({ edits: [], version: 3 }), []);
  assert.deepEqual(parseNextEdits({ edits: [{ range, newText: 'acc', id: '8', textDocument: { uri: 'file:///b.py', version: 2 } }] }),
    [{ range, newText: 'acc', id: '8', uri: 'file:///b.py', version: 2 }], 'an edit in another open document');
  assert.throws(() => parseNextEdits({ edits: [{ range, newText: 'acc', id: '8', textDocument: { uri: 'file:///b.py' } }] }), /malformed edit/);
  assert.deepEqual(parseNextEdits({ edits: [{ range, newText: 'acc', id: '9', oldText: 'total', textDocument: { uri: 'file:///c.py', version: null } }] }),
    [{ range, newText: 'acc', id: '9', uri: 'file:///c.py', version: null, oldText: 'total' }], 'an edit in a file not open');
  assert.throws(() => parseNextEdits({ edits: [{ range, newText: 'acc', id: '9', textDocument: { uri: 'file:///c.py', version: null } }] }),
    /malformed edit/, 'a file not open needs the text the server saw');
  assert.throws(() => parseNextEdits({ edits: [{ range, newText: 'acc', id: '9', oldText: 3 }] }), /malformed edit/);
  assert.throws(() => parseNextEdits(null), /malformed maskfill\/nextEdits result/);
  assert.throws(() => parseNextEdits({ edits: [{ range, newText: 'acc', id: 7 }] }), /malformed edit/);
  assert.throws(() => parseNextEdits({ edits: [{ range: { start: range.start }, newText: 'acc', id: '7' }] }), /malformed edit/);
});

// "    total = 0\n    for x in xs:\n        total += x\n    return total" with `total` → `acc`.
const sites: Site[] = [
  { id: 'b', start: 60, end: 65, oldText: 'total', newText: 'acc' },
  { id: 'a', start: 40, end: 45, oldText: 'total', newText: 'acc' },
];

test('the site under the cursor, else the next one after it (wrapping)', () => {
  assert.equal(siteAt(sites, 40)?.id, 'a');
  assert.equal(siteAt(sites, 44)?.id, 'a');
  assert.equal(siteAt(sites, 45), undefined, 'the end is past the site');
  assert.equal(siteAt([{ id: 'e', start: 9, end: 9, oldText: '', newText: ', b' }], 9)?.id, 'e', 'an empty site at the cursor');
  assert.equal(nextSite(sites, 0)?.id, 'a');
  assert.equal(nextSite(sites, 40)?.id, 'b');
  assert.equal(nextSite(sites, 61)?.id, 'a', 'wraps');
  assert.equal(nextSite([], 0), undefined);
});

test('applying a site moves only the sites after it', () => {
  assert.deepEqual(afterApply(sites, sites[1]), [{ id: 'b', start: 58, end: 63, oldText: 'total', newText: 'acc' }]);
  assert.deepEqual(afterApply(sites, sites[0]), [sites[1]]);
});

test('Tab goes on to the next document with sites, then back to the first', () => {
  const other: Site[] = [{ id: 'c', start: 5, end: 10, oldText: 'total', newText: 'acc' }];
  const documents = [sites, [], other];
  assert.deepEqual(nextSiteAcross(documents, 0, 41), { document: 0, site: sites[0] }, 'the next one here first');
  assert.deepEqual(nextSiteAcross(documents, 0, 61), { document: 2, site: other[0] }, 'past the last one: the next document with sites');
  assert.deepEqual(nextSiteAcross(documents, 2, 7), { document: 0, site: sites[1] }, 'and round to the first document');
  assert.deepEqual(nextSiteAcross([sites], 0, 61), { document: 0, site: sites[1] }, 'one document: wraps');
  assert.equal(nextSiteAcross([[], []], 0, 0), undefined);
});
