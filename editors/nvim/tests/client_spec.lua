-- The plugin's own logic against tests/fake_server.js (scripted answers, records what it got):
-- attach, status, debounce, cancellation, ghost text, accept + didAccept, cycling, fill, edit,
-- the code-action command and :checkhealth. The real server is tested by real_server_spec.lua.
-- The plugin's own ghost text is forced (native = false), so it is tested on 0.12 too, where
-- it is what `inline_completion.native = false` gives; native_spec.lua covers the 0.12 path.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
local maskfill = require('maskfill')
local ghost = require('maskfill.ghost')
local compat = require('maskfill.compat').new()

vim.cmd('filetype on')
vim.o.hidden = true
vim.o.showmode = false
local plugin_ghost = { debounce_ms = 80, native = false }
maskfill.setup({ cmd = { 'node', here .. '/fake_server.js' }, inline_completion = plugin_ghost })

local function fake_log()
  local response = compat.request_sync(maskfill.client(), 'fake/log', {}, 2000)
  return response and response.result or {}
end

local function events(kind)
  local found = {}
  for _, e in ipairs(fake_log()) do if e.event == kind then table.insert(found, e) end end
  return found
end

local bufnr

H.test('starts the server and attaches on FileType', function()
  bufnr = H.open_file('sample.py', { 'def add(a, b):', '    return a + b', '' })
  H.eq('python', vim.bo[bufnr].filetype, 'filetype')
  H.wait_for('client initialized', 5000, function() return maskfill.client() and maskfill.client().initialized end)
  H.truthy(vim.lsp.buf_is_attached(bufnr, maskfill.client_id), 'buffer attached')
  H.truthy(maskfill.inline_available(), 'inline completion advertised')
end)

H.test('maskfill/status notification and request', function()
  H.wait_for('ready status', 5000, function() return maskfill.status.state == 'ready' end)
  H.eq('fake', maskfill.status.model, 'model')
  local response = compat.request_sync(maskfill.client(), 'maskfill/status', {}, 2000)
  H.eq({ state = 'ready', model = 'fake' }, response.result, 'status request')
  H.eq('maskfill', maskfill.statusline(), 'statusline')
end)

H.test('ghost text appears once after a burst of typing (debounced)', function()
  local before = #events('inlineCompletion')
  H.type('Goresult = comp')
  H.wait_for('ghost text', 3000, function() return H.ghost_text(bufnr) end)
  H.eq('_ghost(comp)\nnext_line = 1', H.ghost_text(bufnr), 'ghost text')
  H.eq(1, #events('inlineCompletion') - before, 'requests for one burst of typing')
  H.eq('result = comp', H.lines(bufnr)[4], 'buffer untouched by ghost text')
end)

H.test('accept inserts the item and executes its command', function()
  H.type('<Tab>')
  H.eq({ 'result = comp_ghost(comp)', 'next_line = 1' }, vim.list_slice(H.lines(bufnr), 4, 5), 'inserted text')
  H.eq({ 5, 13 }, vim.api.nvim_win_get_cursor(0), 'cursor after the insertion')
  H.eq(0, #H.ghost_marks(bufnr), 'ghost cleared')
  local accepted = H.wait_for('didAccept', 2000, function()
    for _, e in ipairs(events('executeCommand')) do if e.command == 'maskfill.didAccept' then return e end end
  end)
  H.eq({ { id = 'auto-1' } }, accepted.arguments, 'didAccept arguments')
  H.type('<Esc>')
end)

H.test('new typing cancels the request in flight', function()
  H.type('ox', 0)
  H.wait_for('request sent', 2000, function() return #events('inlineCompletion') > 0 and maskfill.client().requests and next(maskfill.client().requests) end)
  local before = #events('cancel')
  H.type('y')
  local cancels = H.wait_for('cancel', 2000, function() local c = events('cancel') return #c > before and c end)
  H.truthy(cancels[#cancels].wasPending, 'cancelled while the server was still working')
  H.wait_for('ghost for the new text', 3000, function() return H.ghost_text(bufnr) end)
  H.eq('_ghost(xy)\nnext_line = 1', H.ghost_text(bufnr), 'ghost for the latest text')
end)

H.test('InsertLeave cancels and clears', function()
  H.type('z', 0)
  H.wait_for('request sent', 2000, function() return next(maskfill.client().requests) end)
  local before = #events('cancel')
  H.type('<Esc>')
  H.wait_for('cancel', 2000, function() return #events('cancel') > before end)
  H.sleep(400) -- longer than the fake's answer time: nothing may be drawn after leaving insert mode
  H.eq(0, #H.ghost_marks(bufnr), 'no ghost after InsertLeave')
end)

H.test('next cycles through invoked items; dismiss clears', function()
  H.type('oval = it')
  H.wait_for('automatic ghost', 3000, function() return H.ghost_text(bufnr) end)
  H.type('<M-]>')
  H.wait_for('invoked items', 3000, function() return H.ghost_text(bufnr) == '_first(it)' end)
  H.type('<M-]>')
  H.eq('_second(it)', H.ghost_text(bufnr), 'second item')
  H.type('<M-[>')
  H.eq('_first(it)', H.ghost_text(bufnr), 'back to the first')
  H.type('<C-]>')
  H.eq(0, #H.ghost_marks(bufnr), 'dismissed')
  H.eq('val = it', vim.api.nvim_get_current_line(), 'dismiss leaves the text')
  H.type('<Esc>')
end)

H.test('partial accept: next word, next line, then the rest (with didAccept)', function()
  local accepts = #events('executeCommand')
  H.type('opart = comp')
  H.wait_for('ghost text', 3000, function() return H.ghost_text(bufnr) end)
  H.eq('_ghost(comp)\nnext_line = 1', H.ghost_text(bufnr), 'ghost text')
  H.type('<C-Right>')
  H.eq('part = comp_ghost', vim.api.nvim_get_current_line(), 'one word accepted')
  H.eq('(comp)\nnext_line = 1', H.ghost_text(bufnr), 'the rest stays shown')
  H.type('<C-Down>')
  H.eq('part = comp_ghost(comp)', vim.api.nvim_get_current_line(), 'the rest of the line accepted')
  H.eq('\nnext_line = 1', H.ghost_text(bufnr), 'the next line still shown')
  H.eq(accepts, #events('executeCommand'), 'no didAccept for a partial accept')
  H.type('<C-Down>')
  local row = vim.api.nvim_win_get_cursor(0)[1]
  H.eq({ 'part = comp_ghost(comp)', 'next_line = 1' }, vim.api.nvim_buf_get_lines(bufnr, row - 2, row, false), 'all accepted')
  H.eq(0, #H.ghost_marks(bufnr), 'ghost cleared')
  H.wait_for('didAccept after the last piece', 2000, function() return #events('executeCommand') > accepts end)
  H.type('<Esc>')
end)

H.test('accept key falls back to a plain Tab without a suggestion', function()
  vim.bo[bufnr].expandtab = false
  H.type('o<Tab>x')
  H.eq('\tx', vim.api.nvim_get_current_line(), 'tab typed')
  H.type('<Esc>')
end)

H.test(':MaskfillFill on lines and on a characterwise selection', function()
  H.type('<Esc>')
  local fill_buf = H.open_file('fill.py', { 'alpha beta gamma', 'second line', 'third' })
  H.wait_for('attached', 3000, function() return vim.lsp.buf_is_attached(fill_buf, maskfill.client_id) end)
  vim.cmd('2MaskfillFill')
  H.wait_for('line fill', 3000, function() return H.lines(fill_buf)[2] == 'FILLED' end)
  H.type('gg0wve:MaskfillFill<CR>')
  H.wait_for('charwise fill', 3000, function() return H.lines(fill_buf)[1] == 'alpha FILLED gamma' end)
  H.eq({ 'alpha FILLED gamma', 'FILLED', 'third' }, H.lines(fill_buf), 'buffer after fills')
end)

H.test(':MaskfillEdit prompts with vim.ui.input and applies the server\'s edit', function()
  local prompts = {}
  local input = vim.ui.input
  vim.ui.input = function(opts, on_confirm) table.insert(prompts, opts.prompt) on_confirm('make it fast') end
  vim.cmd('3MaskfillEdit')
  vim.ui.input = input
  H.wait_for('edit applied', 3000, function() return H.lines()[3] == 'EDITED(make it fast)' end)
  H.eq({ 'maskfill instruction: ' }, prompts, 'prompted once')
  vim.cmd('1MaskfillEdit use a list')
  H.wait_for('edit with argument applied', 3000, function() return H.lines()[1] == 'EDITED(use a list)' end)
end)

H.test('code action "Edit with instruction…" runs the client-side prompt', function()
  local select, input = vim.ui.select, vim.ui.input
  local titles
  vim.ui.select = function(items, opts, on_choice)
    titles = {}
    for i, item in ipairs(items) do
      local action = item[2] or item.action or item
      titles[i] = action.title
      if action.title == 'Edit with instruction…' then on_choice(item, i) end
    end
  end
  vim.ui.input = function(_, on_confirm) on_confirm('from code action') end
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  if vim.fn.has('nvim-0.8') == 1 then -- range_code_action was deprecated in 0.8 and removed in 0.12
    vim.lsp.buf.code_action({ range = { start = { 2, 0 }, ['end'] = { 2, 5 } } })
  else
    vim.lsp.buf.range_code_action(nil, { 2, 0 }, { 2, 5 })
  end
  H.wait_for('code action edit', 3000, function() return H.lines()[2]:match('^EDITED%(from code action%)') end)
  vim.ui.select, vim.ui.input = select, input
  H.eq({ 'Fill selection with maskfill', 'Edit with instruction…' }, titles, 'code action titles')
end)

H.test('setup() again sends the new settings to the running server', function()
  local id = maskfill.client_id
  maskfill.setup({ cmd = { 'node', here .. '/fake_server.js' }, model_path = '/models/other', inline_completion = plugin_ghost })
  local change = H.wait_for('didChangeConfiguration', 2000, function() return events('didChangeConfiguration')[1] end)
  H.eq('/models/other', change.settings.maskfill.modelPath, 'new model path')
  H.eq({ enabled = true, debounceMs = 0 }, change.settings.maskfill.inlineCompletion, 'inline settings')
  H.eq(id, maskfill.client_id, 'same client: no restart')
end)

H.test(':checkhealth maskfill reports binary, server and model', function()
  vim.cmd('checkhealth maskfill')
  local report = table.concat(H.lines(), '\n')
  H.truthy(report:match('OK:? server binary'), 'binary found in:\n' .. report)
  H.truthy(report:match('OK:? server starts'), 'server starts in:\n' .. report)
  H.truthy(report:match('OK:? model ready %— fake'), 'model status in:\n' .. report)
end)

H.run()
