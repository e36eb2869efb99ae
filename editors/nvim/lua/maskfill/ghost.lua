-- Inline completion as ghost text. On Neovim 0.12+ the native vim.lsp.inline_completion does the
-- work; before that, this module requests textDocument/inlineCompletion itself (debounced with a
-- libuv timer, cancelled on new typing and InsertLeave) and draws the item with extmarks.
-- Both paths accept the whole suggestion, the next word or the next line.
local config = require('maskfill.config')
local util = require('maskfill.util')
local partial = require('maskfill.partial')
local compat = require('maskfill.compat').new()

local M = {}

M.ns = vim.api.nvim_create_namespace('maskfill_ghost')
local TRIGGER_INVOKED, TRIGGER_AUTOMATIC = 1, 2
local REQUEST_CANCELLED = -32800
local has_inline_virt_text = vim.fn.has('nvim-0.10') == 1

vim.api.nvim_set_hl(0, 'MaskfillGhost', { link = 'Comment', default = true })

local states = {} -- bufnr → { timer, request_id, items, index, row, col, key }

local function state(bufnr)
  states[bufnr] = states[bufnr] or { items = {}, index = 1 }
  return states[bufnr]
end

function M.native()
  return compat.native_inline(config.options.inline_completion) ~= nil
end

local function client(bufnr) return require('maskfill').client(bufnr) end

local function cursor_key(bufnr)
  local cursor = vim.api.nvim_win_get_cursor(0)
  return ('%d:%d:%d'):format(vim.api.nvim_buf_get_changedtick(bufnr), cursor[1], cursor[2])
end

function M.clear(bufnr)
  local st = state(bufnr)
  vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  st.items, st.index = {}, 1
end

function M.cancel(bufnr)
  util.stop_pending(state(bufnr), client(bufnr))
end

function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  M.cancel(bufnr)
  M.clear(bufnr)
  state(bufnr).key = nil
end

local function item_text(item)
  local text = item.insertText
  if type(text) == 'table' then text = vim.lsp.util.parse_snippet(text.value or '') end
  return type(text) == 'string' and text or ''
end

-- What the item would add at the cursor: its text minus what is already typed in its range.
-- nil when the item does not continue the typed text (it cannot be shown as ghost text).
local function ghost_of(bufnr, item, row, col, encoding)
  local text = item_text(item)
  if item.range then
    if item.range.start.line ~= row then return nil end
    local _, start_col = util.byte_position(bufnr, item.range.start, encoding)
    if start_col > col then return nil end
    local typed = util.line_text(bufnr, row):sub(start_col + 1, col)
    if text:sub(1, #typed) ~= typed then return nil end
    text = text:sub(#typed + 1)
  end
  if text:match('^%s*$') then return nil end
  return text
end

function M.render(bufnr)
  local st = state(bufnr)
  vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local item = st.items[st.index]
  if not item then return end
  local lines = vim.split(item.ghost, '\n', { plain = true })
  local line_len = #util.line_text(bufnr, st.row)
  local first = { { lines[1], 'MaskfillGhost' } }
  local opts = { virt_text = first, hl_mode = 'combine' }
  if has_inline_virt_text then opts.virt_text_pos = 'inline'
  elseif st.col >= line_len then opts.virt_text_pos = 'overlay' -- right after the cursor
  else opts.virt_text_pos = 'eol' end -- text right of the cursor stays visible
  if #lines > 1 then
    opts.virt_lines = {}
    for i = 2, #lines do table.insert(opts.virt_lines, { { lines[i], 'MaskfillGhost' } }) end
  end
  st.extmark = vim.api.nvim_buf_set_extmark(bufnr, M.ns, st.row, st.col, opts)
end

-- The item shown now (with its `ghost` text), or nil.
function M.current(bufnr)
  local st = state(bufnr or vim.api.nvim_get_current_buf())
  return st.items[st.index]
end

function M.request(bufnr, trigger_kind)
  local c = client(bufnr)
  if not c or not require('maskfill').inline_available(bufnr) then return false end
  M.cancel(bufnr)
  local st = state(bufnr)
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local key = cursor_key(bufnr)
  local encoding = c.offset_encoding or 'utf-16'
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = util.lsp_position(bufnr, row, col, encoding),
    context = { triggerKind = trigger_kind },
  }
  local ok, request_id
  ok, request_id = compat.request(c, 'textDocument/inlineCompletion', params, function(err, result)
    if st.request_id ~= request_id then return end -- superseded
    st.request_id = nil
    if err then
      if err.code ~= REQUEST_CANCELLED then util.notify('inline completion failed: ' .. tostring(err.message), vim.log.levels.DEBUG) end
      return
    end
    if vim.api.nvim_get_current_buf() ~= bufnr or cursor_key(bufnr) ~= key then return end -- moved on
    local items = {}
    for _, item in ipairs((result and (result.items or result)) or {}) do
      item.ghost = ghost_of(bufnr, item, row, col, encoding)
      if item.ghost then table.insert(items, item) end
    end
    st.items, st.index, st.row, st.col, st.trigger = items, 1, row, col, trigger_kind
    M.render(bufnr)
  end, bufnr)
  if ok then st.request_id = request_id end
  return ok
end

-- After typing or moving: drop the old suggestion and ask again once typing pauses.
function M.on_change(bufnr)
  if not config.options.inline_completion.enabled then return end
  local key = cursor_key(bufnr)
  local st = state(bufnr)
  if st.key == key then return end -- CursorMovedI right after TextChangedI, same spot
  st.key = key
  M.cancel(bufnr)
  M.clear(bufnr)
  st.timer = st.timer or compat.uv.new_timer()
  st.timer:start(config.options.inline_completion.debounce_ms, 0, vim.schedule_wrap(function()
    if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_get_current_buf() ~= bufnr then return end
    if not vim.api.nvim_get_mode().mode:match('^i') or cursor_key(bufnr) ~= key then return end
    M.request(bufnr, TRIGGER_AUTOMATIC)
  end))
end

local function execute(command, bufnr)
  if not command or type(command.command) ~= 'string' then return end
  local c = client(bufnr)
  local handler = vim.lsp.commands[command.command]
  if handler then return handler(command, { bufnr = bufnr, client_id = c and c.id }) end
  if c then compat.request(c, 'workspace/executeCommand', { command = command.command, arguments = command.arguments }, function() end, bufnr) end
end

-- Inserts the shown item and runs its command (maskfill.didAccept). False when nothing is shown.
function M.accept(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local st = state(bufnr)
  local item = st.items[st.index]
  local c = client(bufnr)
  if not item or not c then return false end
  local encoding = c.offset_encoding or 'utf-16'
  local range = item.range or { start = util.lsp_position(bufnr, st.row, st.col, encoding), ['end'] = util.lsp_position(bufnr, st.row, st.col, encoding) }
  local text = item_text(item)
  local start_row, start_col = util.byte_position(bufnr, range.start, encoding)
  M.dismiss(bufnr)
  vim.lsp.util.apply_text_edits({ { range = range, newText = text } }, bufnr, encoding)
  local lines = vim.split(text, '\n', { plain = true })
  local end_row = start_row + #lines - 1
  local end_col = (#lines == 1 and start_col or 0) + #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { end_row + 1, end_col })
  state(bufnr).key = cursor_key(bufnr) -- the insertion itself is not new typing
  execute(item.command, bufnr)
  return true
end

-- Inserts `piece` at the cursor and moves the cursor behind it; returns the new row, col.
local function insert_at_cursor(bufnr, row, col, piece)
  local lines = vim.split(piece, '\n', { plain = true })
  vim.api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
  local end_row = row + #lines - 1
  local end_col = (#lines == 1 and col or 0) + #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { end_row + 1, end_col })
  return end_row, end_col
end
M.insert_at_cursor = insert_at_cursor

-- Accepts the next word or line ('word' | 'line') of the shown item; the rest stays shown.
-- Accepting what is left is a full accept (with the item's didAccept command).
function M.accept_partial(bufnr, kind)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local st = state(bufnr)
  local item = st.items[st.index]
  if not item or not client(bufnr) then return false end
  local piece = partial.take(item.ghost, kind)
  if piece == item.ghost then return M.accept(bufnr) end
  M.cancel(bufnr)
  st.row, st.col = insert_at_cursor(bufnr, st.row, st.col, piece)
  -- What is left is inserted at the cursor from now on (the item's range is for the old text).
  item.ghost = item.ghost:sub(#piece + 1)
  item.insertText, item.range = item.ghost, nil
  st.items, st.index = { item }, 1
  st.key = cursor_key(bufnr) -- the insertion is not new typing: keep the rest on screen
  M.render(bufnr)
  return true
end

-- Cycles through items; asks for more (Invoked) when only the automatic one is there.
function M.next(bufnr, step)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local st = state(bufnr)
  if #st.items > 1 then
    st.index = (st.index - 1 + step) % #st.items + 1
    M.render(bufnr)
  elseif st.trigger ~= TRIGGER_INVOKED or #st.items == 0 then
    M.request(bufnr, TRIGGER_INVOKED)
  end
end

local function feed(key)
  -- 'i': right where the mapping was typed, before any keys typed after it
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(key, true, false, true), 'ni', false)
end

local function map(bufnr, name, action)
  local key = config.options.keymaps[name]
  if not key then return end
  vim.keymap.set('i', key, function()
    if not action() then feed(key) end
  end, { buffer = bufnr, desc = 'maskfill: ' .. name })
end

-- The keymap actions on the native path (0.12+), honouring the plugin's options. Returned
-- rather than mapped directly so tests/compat_spec.lua can drive them with a stub module.
function M.native_actions(inline, bufnr)
  local function partial_accept(kind)
    return inline.get({ bufnr = bufnr, on_accept = function(item)
      local text = type(item.insert_text) == 'string' and item.insert_text or (item.insert_text or {}).value or ''
      local cursor = vim.api.nvim_win_get_cursor(0)
      local row, col = cursor[1] - 1, cursor[2]
      local typed = ''
      local start = item.range and item.range.start
      if start and start.row == row and start.col <= col then
        typed = util.line_text(bufnr, row):sub(start.col + 1, col)
      end
      if text:sub(1, #typed) ~= typed then return end
      local rest = text:sub(#typed + 1)
      local piece = partial.take(rest, kind)
      insert_at_cursor(bufnr, row, col, piece)
      if piece == rest and item.command then execute(item.command, bufnr) end
    end }) == true
  end
  return {
    accept = function() return inline.get({ bufnr = bufnr }) == true end,
    accept_word = function() return partial_accept('word') end,
    accept_line = function() return partial_accept('line') end,
    next = function() inline.select({ bufnr = bufnr, count = 1 }) return true end,
    prev = function() inline.select({ bufnr = bufnr, count = -1 }) return true end,
  }
end

function M.attach_native(inline, bufnr)
  -- inline_completion.enabled = false keeps it off; the keymaps still accept/cycle on demand.
  inline.enable(config.options.inline_completion.enabled ~= false, { bufnr = bufnr })
  for name, action in pairs(M.native_actions(inline, bufnr)) do map(bufnr, name, action) end
end

function M.attach(bufnr)
  if state(bufnr).attached then return end
  state(bufnr).attached = true
  local inline = compat.native_inline(config.options.inline_completion)
  if inline then return M.attach_native(inline, bufnr) end
  local group = vim.api.nvim_create_augroup('maskfill_ghost_' .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'TextChangedP', 'CursorMovedI' }, {
    group = group, buffer = bufnr, callback = function() M.on_change(bufnr) end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group, buffer = bufnr, callback = function() M.dismiss(bufnr) end,
  })
  vim.api.nvim_create_autocmd('BufUnload', {
    group = group, buffer = bufnr, callback = function()
      M.cancel(bufnr)
      local st = states[bufnr]
      if st and st.timer then st.timer:close() end
      states[bufnr] = nil
    end,
  })
  map(bufnr, 'accept', function() return M.accept(bufnr) end)
  map(bufnr, 'accept_word', function() return M.accept_partial(bufnr, 'word') end)
  map(bufnr, 'accept_line', function() return M.accept_partial(bufnr, 'line') end)
  map(bufnr, 'next', function() M.next(bufnr, 1) return true end)
  map(bufnr, 'prev', function() M.next(bufnr, -1) return true end)
  map(bufnr, 'dismiss', function()
    local shown = M.current(bufnr) ~= nil
    M.dismiss(bufnr)
    return shown
  end)
end

return M
