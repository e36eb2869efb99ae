-- Next-edit suggestions (nextedit.lua) against tests/fake_server.js, whose maskfill/nextEdits
-- answers every `total` with `acc`: asked once after an edit (debounced, the edit sent by the
-- real LSP didChange), drawn with extmarks, <Tab> jumps then applies one site as one undo step,
-- <Esc> dismisses, a user change or leaving the buffer drops what is shown, a stale answer is
-- dropped, and the feedback (shown, accepted, rejected) reaches the server. Switched off, the
-- plugin asks and draws nothing. next_edit_real_spec.lua runs the same against `maskfill lsp`.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
local maskfill = require('maskfill')
local nextedit = require('maskfill.nextedit')
local compat = require('maskfill.compat').new()

vim.cmd('filetype on')
vim.o.hidden = true
vim.o.showmode = false
local options = {
  cmd = { 'node', here .. '/fake_server.js' },
  inline_completion = { enabled = false, native = false },
  next_edit = { debounce_ms = 50 },
}
maskfill.setup(options)

local function events(kind)
  local response = compat.request_sync(maskfill.client(), 'fake/log', {}, 2000)
  local found = {}
  for _, e in ipairs(response and response.result or {}) do if e.event == kind then table.insert(found, e) end end
  return found
end

local function ids(list)
  local out = {}
  for _, e in ipairs(list) do table.insert(out, e.id) end
  table.sort(out)
  return out
end

local sample = {
  'def mean(xs):',
  '    total = 0',
  '    for x in xs:',
  '        total += x',
  '    return total / len(xs)',
}
local bufnr

local function rename_on_line_2()
  vim.api.nvim_buf_set_text(bufnr, 1, 4, 1, 9, { 'acc' })
end

H.test('an edit is followed by one maskfill/nextEdits request once the buffer settles', function()
  bufnr = H.open_file('mean.py', sample)
  H.wait_for('client initialized', 5000, function() return maskfill.client() and maskfill.client().initialized end)
  H.wait_for('attached', 5000, function() return vim.lsp.buf_is_attached(bufnr, maskfill.client_id) end)
  rename_on_line_2()
  H.wait_for('sites drawn', 5000, function() return #nextedit.sites(bufnr) == 2 end)
  local requests = events('nextEdits')
  H.eq(1, #requests, 'requests for one edit')
  H.eq('    acc = 0', H.lines(bufnr)[2], 'the request came after the rename')
end)

H.test('the sites are drawn: old text struck through, new text beside it; each reported shown', function()
  local sites = nextedit.sites(bufnr)
  H.eq({ 3, 8, 3, 13 }, { sites[1].row, sites[1].col, sites[1].end_row, sites[1].end_col }, 'first site')
  H.eq({ 4, 11, 4, 16 }, { sites[2].row, sites[2].col, sites[2].end_row, sites[2].end_col }, 'second site')
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, nextedit.ns, 0, -1, { details = true })
  local struck, texts = 0, {}
  for _, m in ipairs(marks) do
    if m[4].hl_group == 'MaskfillNextEditDelete' then struck = struck + 1 end
    if m[4].virt_text then table.insert(texts, m[4].virt_text[1][1]) end
  end
  H.eq(2, struck, 'struck-through ranges')
  local shown_text = vim.fn.has('nvim-0.10') == 1 and 'acc' or ' → acc'
  H.eq({ shown_text, shown_text }, texts, 'new text')
  H.eq(sample[4], H.lines(bufnr)[4], 'buffer untouched by drawing')
  H.eq(ids(sites), H.wait_for('didShowNextEdit', 2000, function()
    local shown = events('didShowNextEdit')
    return #shown == 2 and ids(shown)
  end), 'shown ids')
  H.truthy(vim.fn.maparg('<Tab>', 'n', false, true).buffer == 1, '<Tab> mapped while shown')
end)

local before_apply
H.test('<Tab> jumps to the next site, then applies it as one undo step', function()
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  H.type('<Tab>')
  H.eq({ 4, 8 }, vim.api.nvim_win_get_cursor(0), 'cursor on the first site')
  before_apply = H.lines(bufnr)
  local accepted_id = nextedit.sites(bufnr)[1].id
  H.type('<Tab>')
  local expected = vim.deepcopy(before_apply)
  expected[4] = '        acc += x'
  H.eq(expected, H.lines(bufnr), 'only the site changed')
  H.eq(1, #nextedit.sites(bufnr), 'the other site is still shown')
  local accepted = H.wait_for('didAcceptNextEdit', 2000, function()
    for _, e in ipairs(events('executeCommand')) do if e.command == 'maskfill.didAcceptNextEdit' then return e end end
  end)
  H.eq({ accepted_id }, accepted.arguments, 'accepted id')
  H.sleep(200) -- our own apply is not an edit to ask about
  H.eq(1, #events('nextEdits'), 'no request after the apply')
end)

H.test('<Esc> dismisses the rest (reported rejected); one :undo takes back only the applied site', function()
  local left = nextedit.sites(bufnr)[1].id
  H.type('<Esc>')
  H.eq(0, #vim.api.nvim_buf_get_extmarks(bufnr, nextedit.ns, 0, -1, {}), 'marks cleared')
  H.eq({ left }, H.wait_for('didRejectNextEdit', 2000, function()
    local rejected = events('didRejectNextEdit')
    return #rejected > 0 and ids(rejected)
  end), 'rejected ids')
  H.truthy(vim.fn.maparg('<Tab>', 'n', false, true).buffer ~= 1, '<Tab> unmapped')
  vim.cmd('undo')
  H.eq(before_apply, H.lines(bufnr), 'text before the apply, rename kept')
end)

H.test('a user change drops the shown sites; a stale answer is not drawn', function()
  -- The :undo above was a user change: it is asked about again.
  H.wait_for('sites after the undo', 5000, function() return #nextedit.sites(bufnr) > 0 end)
  local shown = ids(nextedit.sites(bufnr))
  local rejected_before = #events('didRejectNextEdit')
  vim.api.nvim_buf_set_lines(bufnr, 2, 2, false, { '    # a comment' })
  H.wait_for('sites dropped', 2000, function() return #nextedit.sites(bufnr) == 0 end)
  H.eq(#shown, H.wait_for('rejects', 2000, function()
    local n = #events('didRejectNextEdit') - rejected_before
    return n == #shown and n
  end), 'each dropped site rejected')
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local canned = { edits = { { range = { start = { line = 4, character = 8 }, ['end'] = { line = 4, character = 13 } }, newText = 'acc', id = 'stale' } }, version = 1 }
  H.eq(false, nextedit.on_result(bufnr, tick - 1, nil, canned, 'utf-16'), 'stale answer dropped')
  H.eq(0, #nextedit.sites(bufnr), 'nothing drawn')
  H.truthy(nextedit.on_result(bufnr, tick, nil, canned, 'utf-16'), 'current answer drawn')
  H.eq(1, #nextedit.sites(bufnr), 'drawn')
  vim.cmd('enew')
  H.eq(0, #nextedit.sites(bufnr), 'leaving the buffer dismisses')
  vim.api.nvim_set_current_buf(bufnr)
end)

H.test('sites in another loaded buffer are drawn there; <Tab> goes on to it; <Esc> dismisses both', function()
  local report = H.open_file('report.py', { 'from mean import total', 'print(total)' })
  H.wait_for('report.py attached', 5000, function() return vim.lsp.buf_is_attached(report, maskfill.client_id) end)
  vim.api.nvim_set_current_buf(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, 0, 0, false, { '# statistics' })
  H.wait_for('sites in report.py', 5000, function() return #nextedit.sites(report) == 2 end)
  local own = nextedit.sites(bufnr)
  H.eq(2, #own, 'sites in mean.py')
  H.eq('from mean import total', H.lines(report)[1], 'report.py untouched by drawing')
  -- After mean.py's last site, <Tab> goes to report.py's first.
  vim.api.nvim_win_set_cursor(0, { own[2].row + 1, own[2].col + 6 })
  H.type('<Tab>')
  H.eq(report, vim.api.nvim_get_current_buf(), 'jumped to report.py')
  H.eq({ 1, 17 }, vim.api.nvim_win_get_cursor(0), 'on its first site')
  H.eq(2, #nextedit.sites(bufnr), "mean.py's sites kept while jumping")
  H.type('<Tab>')
  H.eq('from mean import acc', H.lines(report)[1], 'applied in report.py')
  H.type('<Esc>')
  H.eq(0, #nextedit.sites(report), "report.py's rest dismissed")
  H.eq(0, #nextedit.sites(bufnr), "mean.py's dismissed with them")
  vim.api.nvim_set_current_buf(bufnr)
end)

-- A workspace file the editor has not opened, written to disk only; its path and file:// uri.
local function disk_file(name, lines)
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, 'p')
  local path = dir .. '/' .. name
  vim.fn.writefile(lines, path)
  return path, vim.uri_from_fname(path)
end

-- An edit of `old` → `new` on one line, in a document named by uri and version (vim.NIL: not
-- open in the editor, read from disk by the server).
local function doc_edit(uri, version, line, from, to, old, new, id)
  return {
    range = { start = { line = line, character = from }, ['end'] = { line = line, character = to } },
    newText = new, id = id, textDocument = { uri = uri, version = version }, oldText = old,
  }
end

H.test('sites in a file not open (version null) are drawn in a hidden buffer loaded for it; <Tab> goes there', function()
  local path, uri = disk_file('lib.py', { 'from mean import total', 'print(total)' })
  H.eq(0, vim.fn.bufexists(path), 'no buffer for lib.py yet')
  -- As Neovim 0.7 to 0.9's LSP client decodes the server's JSON: luanil, so `version: null` is nil.
  local canned = vim.json.decode(vim.json.encode({ edits = {
    doc_edit(uri, vim.NIL, 0, 17, 22, 'total', 'acc', 'disk-1'),
    doc_edit(uri, vim.NIL, 1, 6, 11, 'total', 'acc', 'disk-2'),
  }, version = 1 }), { luanil = { object = true } })
  H.eq(nil, canned.edits[1].textDocument.version, 'null decoded to nil')
  H.truthy(nextedit.on_result(bufnr, vim.api.nvim_buf_get_changedtick(bufnr), nil, canned, 'utf-16'), 'answer drawn')
  local lib = vim.fn.bufnr(path)
  H.truthy(lib ~= -1 and vim.api.nvim_buf_is_loaded(lib), 'lib.py loaded')
  H.eq(-1, vim.fn.bufwinid(lib), 'hidden: in no window')
  H.eq(false, vim.bo[lib].buflisted, 'not listed until visited')
  H.eq({ 'from mean import total', 'print(total)' }, H.lines(lib), 'lib.py untouched by drawing')
  H.eq({ 'disk-1', 'disk-2' }, ids(nextedit.sites(lib)), 'sites in lib.py')
  H.eq({ bufnr, lib }, nextedit.state(bufnr).group, 'lib.py in the group')
  H.eq({ 'disk-1', 'disk-2' }, H.wait_for('didShowNextEdit for lib.py', 2000, function()
    local shown = {}
    for _, e in ipairs(events('didShowNextEdit')) do if e.id:match('^disk') then table.insert(shown, e) end end
    return #shown == 2 and ids(shown)
  end), 'shown ids')
  -- mean.py has no site: <Tab> goes straight to lib.py's first.
  H.type('<Tab>')
  H.eq(lib, vim.api.nvim_get_current_buf(), 'jumped to lib.py')
  H.eq({ 1, 17 }, vim.api.nvim_win_get_cursor(0), 'on its first site')
  H.eq(true, vim.bo[lib].buflisted, 'listed once visited')
  H.type('<Tab>')
  H.eq('from mean import acc', H.lines(lib)[1], 'applied in lib.py')
  H.type('<Esc>')
  H.eq(0, #nextedit.sites(lib), "lib.py's rest dismissed")
  vim.api.nvim_set_current_buf(bufnr)
end)

H.test('a file not open whose text is no longer oldText (changed on disk) gets no site and no loaded buffer', function()
  local path, uri = disk_file('changed.py', { 'from mean import acc' })
  local canned = { edits = { doc_edit(uri, vim.NIL, 0, 17, 22, 'total', 'acc', 'changed-1') }, version = 1 }
  H.eq(false, nextedit.on_result(bufnr, vim.api.nvim_buf_get_changedtick(bufnr), nil, canned, 'utf-16'), 'nothing drawn')
  H.eq(0, vim.fn.bufloaded(path), 'no buffer left loaded for changed.py')
  H.eq(0, vim.fn.bufexists(path), 'nor in the buffer list')
  H.eq({ bufnr }, nextedit.state(bufnr).group, 'group: the asking buffer alone')
  H.eq(bufnr, vim.api.nvim_get_current_buf(), 'still in mean.py')
end)

H.test('a file opened since the server read it (version null) is drawn only where it still holds oldText', function()
  local opened, path = H.open_file('opened.py', { 'from mean import total', 'print(total)' })
  vim.api.nvim_set_current_buf(bufnr)
  vim.api.nvim_buf_set_text(opened, 1, 6, 1, 11, { 'sum' }) -- the user changed the second use
  local uri = vim.uri_from_fname(path)
  local canned = { edits = {
    doc_edit(uri, vim.NIL, 0, 17, 22, 'total', 'acc', 'opened-1'),
    doc_edit(uri, vim.NIL, 1, 6, 11, 'total', 'acc', 'opened-2'),
  }, version = 1 }
  H.truthy(nextedit.on_result(bufnr, vim.api.nvim_buf_get_changedtick(bufnr), nil, canned, 'utf-16'), 'answer drawn')
  H.eq({ 'opened-1' }, ids(nextedit.sites(opened)), 'only the unchanged range drawn')
  H.eq({ 'from mean import total', 'print(sum)' }, H.lines(opened), 'the user buffer untouched')
  H.eq({ bufnr, opened }, nextedit.state(bufnr).group, 'the open buffer in the group')
  H.truthy(nextedit.dismiss(bufnr), 'dismissed')
  H.eq(0, #nextedit.sites(opened), 'gone from opened.py')
  -- Nothing drawn in it at all: the user's buffer stays loaded (only buffers we loaded go).
  local stale = { edits = { doc_edit(uri, vim.NIL, 1, 6, 11, 'total', 'acc', 'opened-3') }, version = 1 }
  H.eq(false, nextedit.on_result(bufnr, vim.api.nvim_buf_get_changedtick(bufnr), nil, stale, 'utf-16'), 'not drawn')
  H.truthy(vim.api.nvim_buf_is_loaded(opened), 'opened.py still loaded')
  H.eq('print(sum)', H.lines(opened)[2], 'with the user change')
end)

H.test('next_edit.enabled = false: nothing asked or drawn, and the server is told', function()
  H.sleep(200)
  local requests = #events('nextEdits')
  maskfill.setup(vim.tbl_deep_extend('force', options, { next_edit = { enabled = false } }))
  local sent = H.wait_for('didChangeConfiguration', 2000, function()
    local changes = events('didChangeConfiguration')
    return #changes > 0 and changes[#changes].settings.maskfill
  end)
  H.eq(false, sent.nextEdit.enabled, 'nextEdit.enabled sent')
  vim.api.nvim_buf_set_text(bufnr, 1, 4, 1, 7, { 'sum' })
  H.sleep(400)
  H.eq(requests, #events('nextEdits'), 'no request')
  H.eq(0, #nextedit.sites(bufnr), 'nothing drawn')
end)

H.run()
