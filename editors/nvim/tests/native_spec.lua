-- Neovim 0.12+ as users set it up there, against tests/fake_server.js: no setup() call, only
-- vim.lsp.enable('maskfill') with lsp/maskfill.lua; the :Maskfill* commands; the project root
-- from root_markers; native ghost text (vim.lsp.inline_completion) with the plugin's keys: Tab
-- accepts (and the item's didAccept runs), the next word and the next line; :checkhealth.
-- Older Neovims report every test as skipped.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')

local names = {
  'commands exist without setup()', 'vim.lsp.enable alone attaches, rooted by root_markers',
  'native ghost text shows; Tab accepts and runs didAccept', 'partial accept on the native path',
  ':MaskfillFill through the enabled client', ':checkhealth maskfill',
}
if vim.fn.has('nvim-0.12') ~= 1 or not vim.lsp.inline_completion then
  for _, name in ipairs(names) do H.skip(name, 'needs Neovim 0.12') end
  H.run()
  return
end

vim.g.maskfill_autosetup = false
vim.cmd('filetype on')
vim.cmd('runtime! plugin/maskfill.lua') -- -u NONE loads no plugins by itself
vim.o.hidden = true
vim.o.showmode = false
local maskfill = require('maskfill')
local compat = require('maskfill.compat').new()

local function fake_log(bufnr)
  local response = compat.request_sync(maskfill.client(bufnr), 'fake/log', {}, 2000)
  return response and response.result or {}
end

local function events(bufnr, kind)
  local found = {}
  for _, e in ipairs(fake_log(bufnr)) do if e.event == kind then table.insert(found, e) end end
  return found
end

local native_ghost = H.native_ghost_text

local project = vim.fn.tempname()
local bufnr

H.test(names[1], function()
  H.eq(false, maskfill.is_setup(), 'setup() not called')
  for _, command in ipairs({ 'MaskfillFill', 'MaskfillEdit', 'MaskfillStatus' }) do
    H.eq(2, vim.fn.exists(':' .. command), command)
  end
end)

H.test(names[2], function()
  vim.fn.mkdir(project .. '/.git', 'p')
  vim.fn.mkdir(project .. '/pkg/sub', 'p')
  vim.lsp.config('maskfill', { cmd = { 'node', here .. '/fake_server.js' } })
  vim.lsp.enable('maskfill')
  local path = project .. '/pkg/sub/sample.py'
  vim.fn.writefile({ 'def add(a, b):', '    return a + b', '' }, path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  bufnr = vim.api.nvim_get_current_buf()
  local client = H.wait_for('client attached', 5000, function()
    local c = maskfill.client(bufnr)
    return c and c.initialized and vim.lsp.buf_is_attached(bufnr, c.id) and c
  end)
  H.eq(vim.fn.resolve(project), vim.fn.resolve(client.root_dir), 'root from the .git marker, not the cwd')
  H.eq(vim.uri_from_fname(client.root_dir), client.workspace_folders[1].uri, 'workspace folder sent')
  H.wait_for('ready status', 5000, function() return maskfill.status.state == 'ready' end)
  H.truthy(vim.lsp.inline_completion.is_enabled({ bufnr = bufnr }), 'native inline completion enabled for the buffer')
end)

H.test(names[3], function()
  H.type('Goresult = comp')
  H.wait_for('native ghost text', 3000, function() return native_ghost(bufnr) end)
  H.eq('_ghost(comp)\nnext_line = 1', native_ghost(bufnr), 'ghost text')
  H.eq('result = comp', H.lines(bufnr)[4], 'buffer untouched by ghost text')
  H.type('<Tab>')
  H.wait_for('accepted', 3000, function() return H.lines(bufnr)[5] == 'next_line = 1' end)
  H.eq({ 'result = comp_ghost(comp)', 'next_line = 1' }, vim.list_slice(H.lines(bufnr), 4, 5), 'inserted text')
  local accepted = H.wait_for('didAccept', 3000, function()
    for _, e in ipairs(events(bufnr, 'executeCommand')) do if e.command == 'maskfill.didAccept' then return e end end
  end)
  H.eq({ { id = 'auto-1' } }, accepted.arguments, 'didAccept arguments')
  H.type('<Esc>')
end)

H.test(names[4], function()
  H.type('opart = comp')
  H.wait_for('native ghost text', 3000, function() return native_ghost(bufnr) end)
  H.type('<C-Right>')
  H.eq('part = comp_ghost', vim.api.nvim_get_current_line(), 'one word accepted')
  H.type('<Esc>')
  H.type('oline = comp')
  H.wait_for('native ghost text', 3000, function() return native_ghost(bufnr) end)
  H.type('<C-Down>')
  H.eq('line = comp_ghost(comp)', vim.api.nvim_get_current_line(), 'the rest of the line accepted')
  H.type('<Esc>')
end)

H.test(names[5], function()
  vim.cmd('1MaskfillFill')
  H.wait_for('line fill', 3000, function() return H.lines(bufnr)[1] == 'FILLED' end)
end)

H.test(names[6], function()
  vim.cmd('checkhealth maskfill')
  local report = table.concat(H.lines(), '\n')
  H.truthy(report:match('OK:? server binary'), 'binary found in:\n' .. report)
  H.truthy(report:match('OK:? model ready %— fake'), 'model status in:\n' .. report)
end)

H.run()
