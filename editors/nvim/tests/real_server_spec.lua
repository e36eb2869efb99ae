-- The plugin against the real `maskfill lsp` ($MASKFILL_BUILD_DIR/maskfill, put first on PATH by
-- tests/suites/nvim-client.sh so the default `server_path = 'maskfill'` finds it).
-- Always: the plugin (auto-setup from plugin/maskfill.lua) starts and attaches, maskfill/status
-- answers and settles, :checkhealth runs. With the bundled model (models/maskfill-tiny): ghost text
-- after typing (the native one on 0.12), accept, fill and instruction edit; without it those are reported as SKIP.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')
local repo = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h:h')
local has_model = vim.fn.filereadable(repo .. '/models/maskfill-tiny/config.json') == 1
local LOAD_MS = tonumber(os.getenv('MASKFILL_LOAD_TIMEOUT_MS') or '') or 180000
local MODEL_MS = tonumber(os.getenv('MASKFILL_MODEL_TIMEOUT_MS') or '') or 60000

vim.cmd('filetype on')
vim.o.hidden = true
vim.o.showmode = false
vim.cmd('runtime plugin/maskfill.lua')
local maskfill = require('maskfill')
local compat = require('maskfill.compat').new()

local sample = {
  'def add(a, b):',
  '    return a + b',
  '',
  '',
  'def mean(xs):',
  '    total = 0',
  '    for x in xs:',
  '        total += x',
  '    return ',
}
local bufnr

H.test('plugin/maskfill.lua sets up, starts `maskfill lsp` and attaches', function()
  H.truthy(maskfill.is_setup(), 'auto-setup ran')
  H.eq(2, vim.fn.exists(':MaskfillFill'), ':MaskfillFill defined')
  bufnr = H.open_file('mean.py', sample)
  H.wait_for('client initialized', 20000, function() local c = maskfill.client() return c and c.initialized end)
  H.truthy(vim.lsp.buf_is_attached(bufnr, maskfill.client_id), 'buffer attached')
end)

local status
H.test('maskfill/status answers and settles', function()
  local deadline = vim.loop.now() + LOAD_MS
  repeat
    local response = compat.request_sync(maskfill.client(), 'maskfill/status', {}, 5000)
    H.truthy(response and response.result, 'maskfill/status answered: ' .. vim.inspect(response))
    status = response.result
    H.truthy(vim.tbl_contains({ 'loading', 'ready', 'busy', 'error' }, status.state), 'valid state ' .. vim.inspect(status))
    if status.state == 'loading' then H.sleep(250) end
  until status.state ~= 'loading' or vim.loop.now() > deadline
  H.out('     status: ' .. vim.inspect(status, { newline = ' ', indent = '' }) .. '; bundled model: ' .. tostring(has_model))
  if status.state == 'error' then H.truthy(type(status.message) == 'string' and status.message ~= '', 'error status has a reason') end
  if has_model then H.eq('ready', status.state, 'status with the bundled model (' .. tostring(status.message) .. ')') end
  H.wait_for('plugin status follows the server', 5000, function() return maskfill.status.state == status.state end)
end)

H.test(':checkhealth maskfill finds the binary and starts the server', function()
  vim.cmd('checkhealth maskfill')
  local report = table.concat(H.lines(), '\n')
  H.truthy(report:match('OK:? server binary: [^\n]*maskfill'), 'binary line in:\n' .. report)
  H.truthy(report:match('OK:? server starts'), 'server starts in:\n' .. report)
  H.truthy(report:match('model ' .. status.state), 'model status in:\n' .. report)
  vim.cmd('bdelete')
  vim.api.nvim_set_current_buf(bufnr)
end)

if not has_model then
  local why = 'no bundled model at models/maskfill-tiny/config.json'
  H.skip('ghost text after typing, accept inserts it (real model)', why)
  H.skip(':MaskfillFill applies the model\'s fill (real model)', why)
  H.skip(':MaskfillEdit applies the model\'s instruction edit (real model)', why)
else
  H.test('ghost text after typing, accept inserts it (real model)', function()
    H.wait_for('inline completion registered', 10000, maskfill.inline_available)
    vim.api.nvim_win_set_cursor(0, { 9, 0 })
    H.type('A' .. 'tot')
    local shown = H.wait_for('automatic ghost text', MODEL_MS, function() return H.any_ghost_text(bufnr) end)
    H.out('     ghost' .. (H.native_ghost_text(bufnr) and ' (native)' or '') .. ': ' .. vim.inspect(shown))
    local before = vim.api.nvim_get_current_line()
    H.type('<Tab>')
    local after = table.concat(vim.api.nvim_buf_get_lines(bufnr, 8, -1, false), '\n')
    H.truthy(#after > #before and after:find(before, 1, true) == 1, ('accept extended %q to %q'):format(before, after))
    H.eq(nil, H.any_ghost_text(bufnr), 'ghost cleared after accept')
    H.type('<Esc>')
  end)

  H.test(':MaskfillFill applies the model\'s fill (real model)', function()
    local done
    local c = maskfill.client()
    local line = H.lines(bufnr)[2]
    local range = { start = { line = 1, character = 11 }, ['end'] = { line = 1, character = #line } }
    require('maskfill.commands').fill(bufnr, range, function(ok, message) done = { ok = ok, message = message } end)
    H.wait_for('fill answer', MODEL_MS, function() return done end)
    H.truthy(done.ok, 'fill applied: ' .. tostring(done.message))
    H.out('     filled line 2: ' .. vim.inspect(H.lines(bufnr)[2]))
    H.truthy(H.lines(bufnr)[2]:sub(1, 11) == '    return ', 'text before the range kept')
    H.truthy(c.initialized, 'client still up')
  end)

  H.test(':MaskfillEdit applies the model\'s instruction edit (real model)', function()
    local before = table.concat(H.lines(bufnr), '\n')
    local input = vim.ui.input
    vim.ui.input = function(_, on_confirm) on_confirm('return the sum of a and b times two') end
    local done
    require('maskfill.commands').edit(bufnr, { start = { line = 0, character = 0 }, ['end'] = { line = 1, character = #H.lines(bufnr)[2] } }, nil,
      function(ok, message) done = { ok = ok, message = message } end)
    vim.ui.input = input
    H.wait_for('edit answer', MODEL_MS, function() return done end)
    H.truthy(done.ok, 'edit command succeeded: ' .. tostring(done.message))
    local after = table.concat(H.lines(bufnr), '\n')
    H.out('     after edit: ' .. vim.inspect(vim.list_slice(H.lines(bufnr), 1, 3)))
    H.truthy(after ~= before, 'the instruction edit changed the buffer')
  end)
end

H.run()
