-- The Neovim-version decisions (lua/maskfill/compat.lua) and the 0.12 native inline-completion
-- path (ghost.native_actions / attach_native), against stub `vim` API tables shaped like 0.7,
-- 0.10, 0.11 and 0.12. Runs on Debian's 0.7.2; the real 0.11/0.12 runtimes are not available
-- here, so this pins what the plugin calls, not what those versions then do.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')
local compat_module = require('maskfill.compat')
local partial = require('maskfill.partial')

-- A stub API for `version` ('0.7' … '0.12'), recording calls in `calls`.
local function stub(version)
  local major_minor = tonumber(version:match('^0%.(%d+)'))
  local calls = {}
  local function record(name) return function(...) table.insert(calls, { name, ... }) return #calls end end
  local v = {
    NIL = vim.NIL,
    fn = { has = function(feature)
      local minor = feature:match('^nvim%-0%.(%d+)')
      return (minor and tonumber(minor) <= major_minor) and 1 or 0
    end },
    lsp = { handlers = {}, start_client = record('start_client'), buf_attach_client = record('buf_attach_client'),
            buf_is_attached = function() return false end },
    loop = { name = 'loop' },
    str_utfindex = function(...) table.insert(calls, { 'str_utfindex', ... }) return 7, 5 end,
    str_byteindex = function(...) table.insert(calls, { 'str_byteindex', ... }) return 3 end,
  }
  if major_minor >= 8 then v.lsp.start = record('start') end
  if major_minor >= 10 then v.uv = { name = 'uv' } end
  if major_minor >= 11 then
    local configs = {}
    v.lsp.config = setmetatable({}, {
      __call = function(_, name, cfg) table.insert(calls, { 'config', name, cfg }) configs[name] = vim.tbl_extend('force', { from_rtp = true }, cfg) end,
      __index = function(_, name) return configs[name] end,
    })
  end
  if major_minor >= 12 then
    v.lsp.inline_completion = { enable = record('inline.enable'), get = record('inline.get'), select = record('inline.select'),
                                is_enabled = function() return true end }
  end
  return v, calls
end

local function names(calls)
  local out = {}
  for _, call in ipairs(calls) do table.insert(out, call[1]) end
  return out
end

H.test('0.7: start_client + buf_attach_client, client.fn() calls, vim.loop, old str_utfindex', function()
  local v, calls = stub('0.7')
  local c = compat_module.new(v)
  H.eq('start_client', c.start_mode(), 'start mode')
  H.eq('loop', c.uv.name, 'libuv handle')
  H.eq(false, c.method_calls, 'dot calls')
  local id = c.start({ name = 'maskfill' }, 4)
  H.eq({ 'start_client', 'buf_attach_client' }, names(calls), 'calls')
  H.eq({ 'buf_attach_client', 4, id }, calls[2], 'attaches the buffer')
  H.eq(5, c.utf_index('héllo', 6, 'utf-16'), 'utf-16 index from the old (utf32, utf16) pair')
  H.eq(7, c.utf_index('héllo', 6, 'utf-32'), 'utf-32 index')
  H.eq({ 'str_utfindex', 'héllo', 6 }, calls[3], 'old signature (s, index)')
  c.byte_index('héllo', 2, 'utf-16')
  H.eq({ 'str_byteindex', 'héllo', 2, true }, calls[#calls], 'old signature (s, index, use_utf16)')
  H.eq(3, c.utf_index('abc', 3, 'utf-8'), 'utf-8 needs no conversion')
  H.eq(nil, c.native_inline({ native = true }), 'no native inline completion')
  local client = { request = function(method, params) return method, params end }
  H.eq('m', (c.request(client, 'm', {})), 'client.request(method, ...)')
end)

H.test('0.10: vim.lsp.start with the buffer, vim.uv', function()
  local v, calls = stub('0.10')
  local c = compat_module.new(v)
  H.eq('start', c.start_mode(), 'start mode')
  H.eq('uv', c.uv.name, 'vim.uv')
  c.start({ name = 'maskfill' }, 9)
  H.eq('start', calls[1][1], 'vim.lsp.start')
  H.eq({ bufnr = 9 }, calls[1][3], 'with the buffer')
end)

H.test('0.11: vim.lsp.config then vim.lsp.start with the merged config; client:method(); new str_utfindex', function()
  local v, calls = stub('0.11')
  local c = compat_module.new(v)
  H.eq('config', c.start_mode(), 'start mode')
  H.eq(true, c.method_calls, 'method calls')
  c.start({ name = 'maskfill', cmd = { 'maskfill', 'lsp' } }, 2)
  H.eq({ 'config', 'start' }, names(calls), 'vim.lsp.config, then vim.lsp.start')
  H.eq('maskfill', calls[1][2], 'config name')
  H.eq(true, calls[2][2].from_rtp, 'starts the merged config (lsp/maskfill.lua + ours)')
  H.eq({ 'maskfill', 'lsp' }, calls[2][2].cmd, 'our cmd wins')
  H.eq({ bufnr = 2 }, calls[2][3], 'with the buffer')
  c.utf_index('héllo', 6, 'utf-16')
  H.eq({ 'str_utfindex', 'héllo', 'utf-16', 6, false }, calls[#calls], 'new signature (s, encoding, index, strict)')
  c.byte_index('héllo', 2, 'utf-32')
  H.eq({ 'str_byteindex', 'héllo', 'utf-32', 2, false }, calls[#calls], 'new signature for str_byteindex')
  local client = { id = 1 }
  function client:request(method) return self.id, method end
  local id, method = c.request(client, 'maskfill/status', {})
  H.eq({ 1, 'maskfill/status' }, { id, method }, 'client:request(...) gets self')
  c.start_detached({ name = 'maskfill-health' })
  H.eq(false, calls[#calls][3].attach, 'checkhealth client attaches no buffer')
end)

H.test('0.12: registerCapability reaches Neovim\'s own handler (native inline completion attaches)', function()
  local v = stub('0.12')
  local c = compat_module.new(v)
  local seen, defaults = {}, {}
  v.lsp.handlers['client/registerCapability'] = function(_, params) table.insert(defaults, params) return 'default-result' end
  local handler = c.chain_handler('client/registerCapability', function(_, params) table.insert(seen, params) end)
  local params = { registrations = { { id = 'r', method = 'textDocument/inlineCompletion', registerOptions = {} } } }
  H.eq('default-result', handler(nil, params, { client_id = 1 }, {}), 'answers what the default answers')
  H.eq({ params }, seen, 'the plugin saw it')
  H.eq({ params }, defaults, 'and so did Neovim')
  v.lsp.handlers['client/registerCapability'] = nil
  H.eq(vim.NIL, c.chain_handler('client/registerCapability', function() end)(nil, params, {}, {}), 'no default: null result')
  H.truthy(c.native_inline({ native = true }), 'native module used')
  H.eq(nil, c.native_inline({ native = false }), 'unless the options say no')
end)

H.test('the plugin\'s handlers chain to Neovim\'s defaults', function()
  local maskfill = require('maskfill')
  local got
  local saved = vim.lsp.handlers['client/registerCapability']
  vim.lsp.handlers['client/registerCapability'] = function(_, params) got = params return vim.NIL end
  maskfill.handlers['client/registerCapability'](nil, { registrations = {} }, { client_id = 0 }, {})
  vim.lsp.handlers['client/registerCapability'] = saved
  H.eq({ registrations = {} }, got, 'default handler called')
  H.eq(nil, maskfill.handlers['window/workDoneProgress/create'], 'progress tokens are Neovim\'s business')
end)

H.test('0.12 native path honours the options: enabled, keymaps, partial accept via on_accept', function()
  local config = require('maskfill.config')
  local ghost = require('maskfill.ghost')
  local v = stub('0.12')
  local inline = v.lsp.inline_completion
  local bufnr = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_set_current_buf(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, { 'x = comp' })
  vim.o.virtualedit = 'onemore' -- the cursor after the last character, as in insert mode
  vim.api.nvim_win_set_cursor(0, { 1, 8 })

  local enabled = {}
  inline.enable = function(on, filter) table.insert(enabled, { on, filter }) end
  config.setup({ inline_completion = { enabled = false } })
  ghost.attach_native(inline, bufnr)
  H.eq({ { false, { bufnr = bufnr } } }, enabled, 'inline_completion.enabled = false is passed on')
  local maps = {}
  for _, m in ipairs(vim.api.nvim_buf_get_keymap(bufnr, 'i')) do maps[m.lhs] = m.desc end
  H.eq('maskfill: accept', maps['<Tab>'], 'accept mapped')
  H.eq('maskfill: accept_word', maps['<C-Right>'], 'accept word mapped')
  H.eq('maskfill: accept_line', maps['<C-Down>'], 'accept line mapped')
  config.setup({})

  -- get() with on_accept: the item as 0.12 hands it over (insert_text, vim.Range-like range).
  local item = { insert_text = 'comp_total(xs)\nreturn 1', range = { start = { row = 0, col = 4 }, end_ = { row = 0, col = 8 } } }
  local opts_seen
  inline.get = function(opts) opts_seen = opts if opts.on_accept then opts.on_accept(item) end return true end
  local selects = {}
  inline.select = function(opts) table.insert(selects, opts) end
  local actions = ghost.native_actions(inline, bufnr)
  H.eq(true, actions.accept_word(), 'word accepted')
  H.eq('x = comp_total', vim.api.nvim_get_current_line(), 'the typed prefix is skipped, one word inserted')
  H.eq(bufnr, opts_seen.bufnr, 'for this buffer')
  item.range = { start = { row = 0, col = 4 }, end_ = { row = 0, col = 14 } }
  item.insert_text = 'comp_total(xs)\nreturn 1'
  H.eq(true, actions.accept_line(), 'line accepted')
  H.eq('x = comp_total(xs)', vim.api.nvim_get_current_line(), 'the rest of the line')
  actions.next()
  actions.prev()
  H.eq({ { bufnr = bufnr, count = 1 }, { bufnr = bufnr, count = -1 } }, selects, 'cycling')
  inline.get = function() return false end
  H.eq(false, actions.accept(), 'nothing shown: the key falls through')
  vim.o.virtualedit = ''
  vim.api.nvim_buf_delete(bufnr, { force = true })
end)

H.test('partial accept pieces', function()
  H.eq('_ghost', partial.take('_ghost(comp)\nnext', 'word'), 'identifier')
  H.eq(' total', partial.take(' total += x', 'word'), 'leading blank and a word')
  H.eq('(', partial.take('(comp)', 'word'), 'punctuation run')
  H.eq(' +=', partial.take(' += x', 'word'), 'operator run with its blank')
  H.eq('\n    ', partial.take('\n    return x', 'word'), 'line break and indentation')
  H.eq('_ghost(comp)', partial.take('_ghost(comp)\nnext', 'line'), 'rest of the line')
  H.eq('\nnext', partial.take('\nnext\nmore', 'line'), 'at a break: the next line')
  H.eq('all', partial.take('all', 'line'), 'last line')
  H.eq('', partial.take('', 'word'), 'nothing')
end)

H.test('project root: vim.fs.root (0.10+), vim.fs.find upward (0.8), the cwd otherwise', function()
  local markers = { '.git' }
  local v10 = stub('0.10')
  v10.api = { nvim_buf_get_name = function() return '/p/sub/a.py' end }
  v10.uv.cwd = function() return '/cwd' end
  v10.fs = { root = function(bufnr, m) H.eq(markers, m, 'markers') return bufnr == 3 and '/p' or nil end }
  local c10 = compat_module.new(v10)
  H.eq('/p', c10.root_dir(3, markers), 'vim.fs.root')
  H.eq('/cwd', c10.root_dir(4, markers), 'no marker: the cwd')
  local v8 = stub('0.8')
  v8.api = v10.api
  v8.loop.cwd = function() return '/cwd' end
  v8.fs = {
    dirname = function(p) return (p:gsub('/[^/]*$', '')) end,
    find = function(m, opts)
      H.eq({ upward = true, path = '/p/sub' }, opts, 'searched upward from the file')
      return { '/p/' .. m[1] }
    end,
  }
  H.eq('/p', compat_module.new(v8).root_dir(3, markers), 'vim.fs.find')
  local v7 = stub('0.7')
  v7.api = v10.api
  v7.loop.cwd = function() return '/cwd' end
  H.eq('/cwd', compat_module.new(v7).root_dir(3, markers), '0.7: the cwd')
end)

H.run()
